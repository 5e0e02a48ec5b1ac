//! `golive diff [RUN_A] [RUN_B]`: what changed between two stored runs (default: the last
//! run against the one before it, of the same checklist); exit 1 when something newly fails.

use clap::{Args, ValueEnum};

use super::exit;
use super::history::StoreArgs;
use crate::history::{RunSpec, block_on};
use crate::report::diff::Diff;

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The earlier run (last, last~N, last-pass or a run id; default: the run before RUN_B).
    run_a: Option<RunSpec>,
    /// The later run (default: last).
    run_b: Option<RunSpec>,
    /// Compare RUN_B (default last) with this run instead of RUN_A: last-pass, or any run.
    #[arg(long, value_name = "RUN", conflicts_with = "run_b")]
    against: Option<RunSpec>,
    /// Only runs of this checklist name for last, last~N and last-pass (default: the
    /// checklist of the later run).
    #[arg(long, value_name = "NAME")]
    checklist: Option<String>,
    /// Compare duration and timestamp facts too (latency, modified_age…), which differ on
    /// almost every run.
    #[arg(long)]
    all_facts: bool,
    #[command(flatten)]
    store: StoreArgs,
    /// text or json.
    #[arg(long, value_enum, default_value = "text")]
    format: DiffFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    Text,
    Json,
}

pub fn run(args: DiffArgs) -> u8 {
    let store = match args.store.open() {
        Ok(store) => store,
        Err(code) => return code,
    };
    // `diff A` alone compares A with the last run; `--against X` compares the last run with X.
    let (earlier, later) = match (args.against, args.run_a, args.run_b) {
        (Some(against), None, None) => (Some(against), RunSpec::Last(0)),
        (Some(against), Some(b), None) => (Some(against), b),
        (None, Some(a), Some(b)) => (Some(a), b),
        (None, Some(a), None) => (Some(a), RunSpec::Last(0)),
        (None, None, _) => (None, RunSpec::Last(0)),
        (Some(_), _, Some(_)) => unreachable!("clap rejects --against with RUN_B"),
    };
    let all_facts = args.all_facts;
    let checklist = args.checklist.unwrap_or_default();
    let result = block_on(async {
        let Some(later_id) = store.resolve(&later, &checklist).await? else {
            return Ok(Err(format!("the history store holds no run `{later}`")));
        };
        let Some(after) = store.report(&later_id).await? else {
            return Ok(Err(format!("run {later_id} vanished from the store")));
        };
        // Relative specs are read among runs of the later run's checklist.
        let name = if checklist.is_empty() { after.checklist.name.clone() } else { checklist.clone() };
        let earlier = match earlier {
            Some(spec) => spec,
            None => match later {
                RunSpec::Last(n) => RunSpec::Last(n + 1),
                _ => return Ok(Err("give RUN_A too when RUN_B is not last or last~N".to_string())),
            },
        };
        let earlier = match (earlier, &later) {
            // `last` is relative to the later run when that is `last~N`.
            (RunSpec::Last(n), RunSpec::Last(m)) if n <= *m => RunSpec::Last(m + 1),
            (spec, _) => spec,
        };
        let Some(earlier_id) = store.resolve(&earlier, &name).await? else {
            return Ok(Err(format!("the history store holds no run `{earlier}` of `{name}` to compare with")));
        };
        let before = store
            .report(&earlier_id)
            .await?
            .ok_or_else(|| crate::history::StoreError::Usage(format!("run {earlier_id} vanished from the store")))?;
        Ok::<_, crate::history::StoreError>(Ok(Diff::between(&before, &after, all_facts)))
    });
    let diff = match result {
        Ok(Ok(diff)) => diff,
        Ok(Err(message)) => {
            eprintln!("golive: {message}");
            return exit::INVALID;
        }
        Err(e) => {
            eprintln!("golive: {e}");
            return exit::INTERNAL;
        }
    };
    match args.format {
        DiffFormat::Text => print!("{}", diff.render_text()),
        DiffFormat::Json => {
            let mut text = serde_json::to_string_pretty(&diff).unwrap_or_default();
            text.push('\n');
            print!("{text}");
        }
    }
    if diff.newly_failing.is_empty() { exit::PASSED } else { exit::GATE_FAILED }
}

//! `golive report merge`: one report from the reports of the shards of a run (`golive run
//! --shard K/N`) or of runs of the same checklist on several hosts, with one gate
//! recomputed from the items by the run's rule. Every reason not to merge is found at once
//! (different checklists, fail-on or splits, a duplicate or missing item) and nothing is
//! merged then: a merged report never passes over what no input checked (docs/shards.md).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use super::{Gate, ItemReport, MergeInput, OptionsInfo, Report, ShardRef, Summary};
use crate::engine::{State, WaiverStatus};
use crate::value::{duration_ms, format_time};

/// One report to merge and the file it was read from.
pub struct Input {
    /// The file as given on the command line.
    pub file: String,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    pub report: Report,
}

/// A reason not to merge. Each names the files it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{file}: {why}")]
    Unreadable { file: String, why: String },
    #[error(
        "{file} is a signed report: merge the JSON reports `golive run -o json=…` wrote, then sign the merged report (a signature covers one report and does not carry over to a merge; `golive report {file} -o json=FILE` writes the report inside)"
    )]
    Signed { file: String },
    #[error("{file} is a report of another checklist than {first}: {detail}")]
    DifferentChecklist { file: String, first: String, detail: String },
    #[error("{file} read another attestations file than {first} (sha256 {theirs} vs {ours})")]
    DifferentAttestations { file: String, first: String, theirs: String, ours: String },
    #[error("the reports were run with different --fail-on: {listing}; run every part with the same --fail-on")]
    FailOnDiffers { listing: String },
    #[error(
        "some reports are shards and some are whole runs: shards {sharded}; whole runs {whole}; merge the shards of one run, or whole runs"
    )]
    MixedShards { sharded: String, whole: String },
    #[error("the shard reports are of different splits: {listing}; every shard of one run has the same N")]
    ShardTotals { listing: String },
    #[error("shard {shard} is given twice: {files}")]
    ShardTwice { shard: String, files: String },
    #[error("shard {shard} is missing: no input is its report")]
    ShardMissing { shard: String },
    #[error(
        "{file} selected items with other filters than {first} ({theirs} vs {ours}); the shards of one run use the same --tag, --section, --only and --skip"
    )]
    FiltersDiffer { file: String, first: String, theirs: String, ours: String },
    #[error(
        "target `{name}` is `{theirs}` in {file} and `{ours}` in {first}: the inputs ran against different machines of that name"
    )]
    TargetDiffers { name: String, file: String, first: String, theirs: String, ours: String },
    #[error("item `{id}` has a result in more than one input: {files}")]
    Duplicate { id: String, files: String },
    #[error("item `{id}` is missing: {planned_by} plans it and no input has a result for it")]
    Missing { id: String, planned_by: String },
}

/// Every checklist file's sha256, by path.
fn files_of(report: &Report) -> BTreeMap<String, String> {
    report.checklist.files.iter().map(|f| (f.path.display().to_string(), f.sha256.clone())).collect()
}

/// The checklist a report ran: the sha256 of each of its files, whatever their paths.
fn checklist_key(report: &Report) -> BTreeSet<String> {
    report.checklist.files.iter().map(|f| f.sha256.clone()).collect()
}

/// What differs between two reports' checklist files, file by file.
fn checklist_difference(theirs: &Report, ours: &Report) -> String {
    let (theirs, ours) = (files_of(theirs), files_of(ours));
    let short = |sha: &str| sha.chars().take(12).collect::<String>();
    let ours_shas: BTreeSet<&String> = ours.values().collect();
    let theirs_shas: BTreeSet<&String> = theirs.values().collect();
    let mut parts = Vec::new();
    for (path, sha) in &theirs {
        if ours_shas.contains(sha) {
            continue;
        }
        match ours.get(path) {
            Some(other) => parts.push(format!("{path} has sha256 {} (not {})", short(sha), short(other))),
            None => parts.push(format!("{path} (sha256 {}) is not among its files", short(sha))),
        }
    }
    for (path, sha) in &ours {
        if !theirs_shas.contains(sha) && !theirs.contains_key(path) {
            parts.push(format!("its {path} (sha256 {}) is not among this report's files", short(sha)));
        }
    }
    parts.join("; ")
}

fn filters(o: &OptionsInfo) -> String {
    let mut parts = Vec::new();
    for (flag, values) in [("--tag", &o.tags), ("--section", &o.sections), ("--only", &o.only), ("--skip", &o.skip)] {
        if !values.is_empty() {
            parts.push(format!("{flag} {}", values.join(",")));
        }
    }
    if parts.is_empty() { "no filters".into() } else { parts.join(" ") }
}

fn parse_time(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// The merged report's run id: a UUID (version 8) made from the SHA-256 of the inputs' run
/// ids, sorted, so merging the same reports again gives the same id.
fn derived_run_id(inputs: &[Input]) -> String {
    let mut ids: Vec<&str> = inputs.iter().map(|i| i.report.run_id.as_str()).collect();
    ids.sort_unstable();
    let digest = Sha256::digest(format!("golive report merge\n{}", ids.join("\n")).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// Merges the reports, or says every reason it will not.
pub fn merge(inputs: &[Input]) -> Result<Report, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(first) = inputs.first() else {
        return Err(problems);
    };
    let base = &first.report;
    for input in &inputs[1..] {
        let r = &input.report;
        if checklist_key(r) != checklist_key(base) {
            problems.push(Problem::DifferentChecklist {
                file: input.file.clone(),
                first: first.file.clone(),
                detail: checklist_difference(r, base),
            });
        }
        if r.checklist.attestations.sha256 != base.checklist.attestations.sha256 {
            let shown = |s: &Option<String>| s.clone().unwrap_or_else(|| "none: no file".into());
            problems.push(Problem::DifferentAttestations {
                file: input.file.clone(),
                first: first.file.clone(),
                theirs: shown(&r.checklist.attestations.sha256),
                ours: shown(&base.checklist.attestations.sha256),
            });
        }
    }
    // A target name means one machine across the inputs (its `ssh` as written).
    let mut machines: HashMap<&str, (&str, &str)> = HashMap::new();
    for input in inputs {
        for t in &input.report.targets {
            match machines.get(t.name.as_str()) {
                Some((ssh, file)) if *ssh != t.ssh => problems.push(Problem::TargetDiffers {
                    name: t.name.clone(),
                    file: input.file.clone(),
                    first: file.to_string(),
                    theirs: t.ssh.clone(),
                    ours: ssh.to_string(),
                }),
                Some(_) => {}
                None => {
                    machines.insert(&t.name, (&t.ssh, &input.file));
                }
            }
        }
    }
    let fail_ons: BTreeSet<_> = inputs.iter().map(|i| i.report.options.fail_on).collect();
    if fail_ons.len() > 1 {
        let listing =
            inputs.iter().map(|i| format!("{} {}", i.file, i.report.options.fail_on.as_str())).collect::<Vec<_>>();
        problems.push(Problem::FailOnDiffers { listing: listing.join(", ") });
    }
    shard_problems(inputs, &mut problems);

    // Every row, by id: the first result (a row that is not "not selected") and the inputs
    // that have one; else the first "not selected" row.
    let mut results: HashMap<&str, (usize, usize, Vec<&str>)> = HashMap::new();
    let mut not_selected: HashMap<&str, (usize, usize)> = HashMap::new();
    for (n, input) in inputs.iter().enumerate() {
        for (k, item) in input.report.items.iter().enumerate() {
            if item.state == State::SkippedByFilter {
                not_selected.entry(item.id.as_str()).or_insert((n, k));
            } else {
                results.entry(item.id.as_str()).or_insert((n, k, Vec::new())).2.push(input.file.as_str());
            }
        }
    }
    // The order of the whole run: each input's planned items, first seen first.
    let mut order: Vec<&str> = Vec::new();
    let mut planned_by: HashMap<&str, &str> = HashMap::new();
    for input in inputs {
        let planned: Vec<&str> = match &input.report.shard {
            Some(shard) => shard.planned_items.iter().map(String::as_str).collect(),
            None => input.report.items.iter().map(|i| i.id.as_str()).collect(),
        };
        for id in planned {
            if !planned_by.contains_key(id) {
                planned_by.insert(id, input.file.as_str());
                order.push(id);
            }
        }
    }
    for id in &order {
        match results.get(id) {
            Some((_, _, files)) if files.len() > 1 => {
                problems.push(Problem::Duplicate { id: id.to_string(), files: files.join(", ") })
            }
            Some(_) => {}
            None if not_selected.contains_key(id) => {}
            None => problems.push(Problem::Missing { id: id.to_string(), planned_by: planned_by[id].to_string() }),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let fail_on = base.options.fail_on;
    let mut summary = Summary::default();
    let mut blocking_ids = Vec::new();
    let mut items = Vec::new();
    for id in &order {
        let (n, k) = match (results.get(id), not_selected.get(id)) {
            (Some((n, k, _)), _) => (*n, *k),
            (None, Some(&(n, k))) => (n, k),
            (None, None) => continue,
        };
        let mut item = inputs[n].report.items[k].clone();
        let verdict = item.verdict();
        summary.total += 1;
        summary.count(verdict);
        if item.waiver.as_ref().is_some_and(|w| w.status == WaiverStatus::Expired) {
            summary.waivers_expired += 1;
        }
        item.blocking = verdict.blocks(item.severity, fail_on);
        if item.blocking {
            blocking_ids.push(item.id.clone());
        }
        items.push(item);
    }

    let times = |pick: fn(&Report) -> &String| -> Vec<(Option<time::OffsetDateTime>, &String)> {
        inputs.iter().map(|i| (parse_time(pick(&i.report)), pick(&i.report))).collect()
    };
    let started = times(|r| &r.started_at).into_iter().min().map(|(t, s)| (t, s.clone()));
    let finished = times(|r| &r.finished_at).into_iter().max().map(|(t, s)| (t, s.clone()));
    let duration = match (&started, &finished) {
        (Some((Some(a), _)), Some((Some(b), _))) if b > a => duration_ms((*b - *a).unsigned_abs()),
        _ => 0.0,
    };
    let union = |pick: fn(&OptionsInfo) -> &Vec<String>| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for value in inputs.iter().flat_map(|i| pick(&i.report.options)) {
            if !out.contains(value) {
                out.push(value.clone());
            }
        }
        out
    };
    let options = OptionsInfo {
        fail_on,
        concurrency: inputs.iter().map(|i| i.report.options.concurrency).max().unwrap_or(0),
        deadline_ms: inputs.iter().filter_map(|i| i.report.options.deadline_ms).reduce(f64::max),
        tags: union(|o| &o.tags),
        sections: union(|o| &o.sections),
        only: union(|o| &o.only),
        skip: union(|o| &o.skip),
    };
    let merged_inputs = inputs
        .iter()
        .map(|i| MergeInput {
            file: i.file.clone(),
            sha256: i.sha256.clone(),
            run_id: i.report.run_id.clone(),
            golive_version: i.report.golive_version.clone(),
            started_at: i.report.started_at.clone(),
            finished_at: i.report.finished_at.clone(),
            host: i.report.host.clone(),
            shard: i.report.shard.as_ref().map(|s| ShardRef { index: s.index, total: s.total }),
            items: i.report.items.len(),
            gate_passed: i.report.gate.passed,
        })
        .collect();
    // Each target once, as the input that reached it best saw it (a per-host report has the
    // other targets `unused`).
    // A target that failed in any input shows as failed, with why.
    let rank = |state: &str| match state {
        "failed" => 0,
        "connected" => 1,
        _ => 2,
    };
    let mut targets: Vec<crate::fleet::TargetReport> = Vec::new();
    for t in inputs.iter().flat_map(|i| &i.report.targets) {
        match targets.iter_mut().find(|x| x.name == t.name) {
            Some(x) if rank(&t.state) < rank(&x.state) => *x = t.clone(),
            Some(_) => {}
            None => targets.push(t.clone()),
        }
    }
    // Grouped by target as a run's report is: where golive ran first, then each target.
    let position: HashMap<&str, usize> = targets.iter().enumerate().map(|(n, t)| (t.name.as_str(), n + 1)).collect();
    items.sort_by_key(|i: &ItemReport| {
        i.target.as_deref().map_or(0, |t| position.get(t).copied().unwrap_or(usize::MAX))
    });
    let now = format_time(time::OffsetDateTime::now_utc());
    Ok(Report {
        schema: super::SCHEMA.to_string(),
        golive_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: derived_run_id(inputs),
        started_at: started.map_or_else(|| now.clone(), |(_, s)| s),
        finished_at: finished.map_or(now, |(_, s)| s),
        duration_ms: duration,
        host: super::host_info(),
        checklist: base.checklist.clone(),
        options,
        targets,
        items,
        summary,
        gate: Gate { passed: blocking_ids.is_empty(), fail_on, blocking: blocking_ids },
        signoff: base.signoff.clone(),
        baseline: None,
        shard: None,
        inputs: Some(merged_inputs),
        recent: None,
        signatures: None,
    })
}

/// Shards of one run: all inputs shards or none, one N, each K once, none missing, and the
/// same filters (the split depends on them).
fn shard_problems(inputs: &[Input], problems: &mut Vec<Problem>) {
    let (sharded, whole): (Vec<&Input>, Vec<&Input>) = inputs.iter().partition(|i| i.report.shard.is_some());
    if sharded.is_empty() {
        return;
    }
    let names = |list: &[&Input]| list.iter().map(|i| i.file.as_str()).collect::<Vec<_>>().join(", ");
    if !whole.is_empty() {
        problems.push(Problem::MixedShards { sharded: names(&sharded), whole: names(&whole) });
        return;
    }
    let shard = |i: &Input| i.report.shard.clone().expect("partitioned on shard");
    let totals: BTreeSet<usize> = sharded.iter().map(|i| shard(i).total).collect();
    if totals.len() > 1 {
        let listing = sharded.iter().map(|i| format!("{} {}/{}", i.file, shard(i).index, shard(i).total));
        problems.push(Problem::ShardTotals { listing: listing.collect::<Vec<_>>().join(", ") });
        return;
    }
    let total = totals.into_iter().next().unwrap_or(1);
    let mut by_index: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for input in &sharded {
        by_index.entry(shard(input).index).or_default().push(input.file.as_str());
    }
    for (index, files) in &by_index {
        if files.len() > 1 {
            problems.push(Problem::ShardTwice { shard: format!("{index}/{total}"), files: files.join(", ") });
        }
    }
    for index in (1..=total).filter(|k| !by_index.contains_key(k)) {
        problems.push(Problem::ShardMissing { shard: format!("{index}/{total}") });
    }
    let first = sharded[0];
    let ours = filters(&first.report.options);
    for input in &sharded[1..] {
        let theirs = filters(&input.report.options);
        if theirs != ours {
            problems.push(Problem::FiltersDiffer {
                file: input.file.clone(),
                first: first.file.clone(),
                theirs,
                ours: ours.clone(),
            });
        }
    }
}

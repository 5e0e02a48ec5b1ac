//! `command`: runs a program (no shell unless `shell = true`) and observes its exit code,
//! output and duration. The program runs in its own process group with a minimal
//! environment (`probe::process`), and the whole group is killed when the item ends: when
//! the program exits (so a background child it left cannot outlive golive), when the item
//! times out, or when the run is interrupted.
//! An exit code in `error_exit_codes` (by default 126 and 127, a POSIX shell's "cannot
//! execute" and "command not found") means the program could not observe: the item is an
//! error with the first line of stderr as the reason, never a fail.
//! golive cannot make an arbitrary command read-only: run only commands that observe.

use futures::future::BoxFuture;

use super::process::{ChildEnv, run_captured};
use super::{FactSpec, Facts, ParamProblem, ParamSpec, ParamType, Params, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "command",
    summary: "Runs a program; observes exit code, stdout, stderr (text or JSON) and duration.",
    params: &[
        ParamSpec::required(
            "argv",
            ParamType::StringList,
            "program and arguments, e.g. [\"pg_isready\", \"-h\", \"db\"]; with shell = true, one command line for /bin/sh",
        ),
        ParamSpec::with_default(
            "shell",
            ParamType::Bool,
            "false",
            "run argv joined by spaces through /bin/sh -c (pipes, redirections)",
        ),
        super::process::ENV,
        super::process::PASS_ENV,
        super::process::INHERIT_ENV,
        ParamSpec::optional("dir", ParamType::Path, "working directory"),
        ParamSpec::with_default(
            "max_output",
            ParamType::Integer,
            "1048576",
            "keep at most this many bytes of stdout and of stderr",
        ),
        ParamSpec::with_default(
            "error_exit_codes",
            ParamType::IntegerList,
            "[126, 127]",
            "exit codes that mean the program could not observe (126: cannot execute, 127: command not found, as POSIX shells exit when a tool is missing): the item is an error with the first line of stderr as the reason, not a fail; [] judges every exit code",
        ),
    ],
    facts: &[
        FactSpec::new("exit_code", FactType::Integer, "the exit status (128 + signal number when killed by a signal)"),
        FactSpec::new("stdout", FactType::String, "standard output as text"),
        FactSpec::new("stderr", FactType::String, "standard error as text"),
        FactSpec::new(
            "stdout_json.<pointer>",
            FactType::Any,
            "a value in stdout parsed as JSON, by JSON pointer, e.g. stdout_json./0/status",
        ),
        FactSpec::new("duration", FactType::Duration, "how long the program ran"),
    ],
    default_expect: &[("exit_code", "0")],
    observe: Some(observe),
    check: Some(check),
    notes: &[],
};

const EMPTY_ARGV: &str = "argv is empty; give the program to run";

/// An empty `argv` without `shell` names no program. (A missing one the loader reports.)
fn check(p: &Params) -> Vec<ParamProblem> {
    if p.get("argv").is_some() && p.list("argv").is_empty() && !p.bool("shell") {
        return vec![ParamProblem::new("argv", EMPTY_ARGV).hint("write argv = [\"program\", \"arg\", …]")];
    }
    Vec::new()
}

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let p = &input.params;
        let argv = p.list("argv");
        let (program, args): (String, Vec<String>) = if p.bool("shell") {
            ("/bin/sh".into(), vec!["-c".into(), argv.join(" ")])
        } else {
            match argv.split_first() {
                Some((program, args)) => (program.clone(), args.to_vec()),
                None => return Err(ProbeError::new(EMPTY_ARGV)),
            }
        };
        let mut command = tokio::process::Command::new(&program);
        command.args(&args);
        ChildEnv::from_params(p).apply(command.as_std_mut());
        if let Some(dir) = p.str("dir") {
            command.current_dir(dir);
        }
        let max = p.int("max_output").unwrap_or(1 << 20).max(0) as usize;
        let run = run_captured(command, None, max)
            .await
            .map_err(|e| ProbeError::new(format!("cannot run {program:?}: {e}")))?;
        if error_exit_codes(p).contains(&i64::from(run.exit_code)) {
            return Err(ProbeError::new(could_not_observe(run.exit_code, &run.stderr)));
        }
        let mut facts = Facts::default();
        facts.set("exit_code", Value::Int(run.exit_code.into()));
        facts.set("duration", Value::Duration(run.duration));
        if input.wants("stdout_json") {
            let json: serde_json::Value = serde_json::from_slice(&run.stdout)
                .map_err(|e| ProbeError::new(format!("stdout is not JSON ({e}); stdout_json needs JSON output")))?;
            super::json_pointer_facts(&mut facts, &input.wanted, "stdout_json", &json);
        }
        facts.set("stdout", Value::Str(String::from_utf8_lossy(&run.stdout).into_owned()));
        facts.set("stderr", Value::Str(String::from_utf8_lossy(&run.stderr).into_owned()));
        Ok(facts)
    })
}

/// The exit codes that make the item an error; the declared default when not set.
fn error_exit_codes(p: &Params) -> Vec<i64> {
    match p.values.get("error_exit_codes") {
        Some(Value::List(codes)) => {
            codes.iter().filter_map(|c| if let Value::Int(i) = c { Some(*i) } else { None }).collect()
        }
        _ => vec![126, 127],
    }
}

/// Why an exit in `error_exit_codes` is an error: the program's first line on stderr (a
/// shell's `sh: 1: ufw: not found`), bounded.
fn could_not_observe(code: i32, stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        // Cut with a `…`, where masking looks for a secret cut in half.
        Some(line) => format!("{} (exit code {code})", crate::diag::clip(line, 300)),
        None => format!(
            "exit code {code}: the program could not run or observe (error_exit_codes), and said nothing on stderr"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, Value)]) -> Params {
        Params { values: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect() }
    }

    #[test]
    fn an_empty_argv_without_shell_is_a_problem() {
        let empty = Value::List(Vec::new());
        let problems = check(&params(&[("argv", empty.clone()), ("shell", Value::Bool(false))]));
        assert_eq!(problems.iter().map(|p| (p.param, p.message.as_str())).collect::<Vec<_>>(), [("argv", EMPTY_ARGV)]);
        assert!(check(&params(&[("argv", empty), ("shell", Value::Bool(true))])).is_empty());
        assert!(check(&params(&[("argv", Value::string_list(["true"]))])).is_empty());
        assert!(check(&params(&[])).is_empty(), "a missing argv is the loader's to report");
    }

    #[test]
    fn an_error_exit_code_names_the_first_line_of_stderr() {
        assert_eq!(could_not_observe(127, b"\nsh: 1: ufw: not found\nmore\n"), "sh: 1: ufw: not found (exit code 127)");
        assert!(could_not_observe(126, b"").starts_with("exit code 126: the program could not run"));
        // A long line is cut with a `…`, so a secret cut in half there is still masked.
        let long = format!("{}token=Zx81-secret-value-here and more", "x".repeat(290));
        let why = could_not_observe(1, long.as_bytes());
        assert!(why.ends_with("token=Zx81… (exit code 1)"), "{why}");
        let mut redactor = crate::redact::Redactor::default();
        redactor.add("Zx81-secret-value-here");
        assert!(redactor.redact(&why).ends_with("token=***… (exit code 1)"), "{}", redactor.redact(&why));
        assert_eq!(error_exit_codes(&params(&[])), [126, 127]);
        let set = Value::List(vec![Value::Int(3)]);
        assert_eq!(error_exit_codes(&params(&[("error_exit_codes", set)])), [3]);
        assert!(error_exit_codes(&params(&[("error_exit_codes", Value::List(Vec::new()))])).is_empty());
    }
}

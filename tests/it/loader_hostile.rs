//! Hostile input to the loader: every case is made here, at test time, and must end in a
//! located diagnostic (or a valid load), exit 2 where invalid, bounded output, and no hang
//! or crash. A hang guard kills golive after two minutes (far above what any case needs)
//! so a regression fails the test instead of blocking CI; no case asserts a duration.

use crate::support as common;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{Workdir, stderr, stdout};

/// Runs golive in the work dir; panics if it has not ended after the guard time, or if it
/// died from a signal (a stack overflow aborts with SIGABRT, memory exhaustion with SIGKILL).
fn guarded(w: &Workdir, args: &[&str]) -> Output {
    let child = w
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("golive starts");
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let started = Instant::now();
    let out = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.expect("golive ran"),
        Err(_) => {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            panic!("golive {args:?} hung (killed after {:?})", started.elapsed());
        }
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), None, "golive {args:?} died from a signal: {}", stderr(&out));
    out
}

fn short(w: &Workdir, file: &str) -> Output {
    guarded(w, &["validate", "--format", "short", file])
}

fn fifo(w: &Workdir, name: &str) -> std::path::PathBuf {
    let path = w.path(name);
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    path
}

const ONE_ITEM: &str = "[[item]]\nid = \"a\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:1\"\n";

#[test]
fn fifos_devices_and_directories_are_refused_not_read() {
    let w = Workdir::new();
    fifo(&w, "pipe.toml");
    for args in [
        &["validate", "pipe.toml"][..],
        &["list", "pipe.toml"],
        &["run", "pipe.toml"],
        &["validate", "--format", "json", "pipe.toml"],
    ] {
        let out = guarded(&w, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(text.contains("GL017") && text.contains("named pipe (FIFO), not a regular file"), "{args:?}: {text}");
    }

    // An include that is a FIFO, a device, or a directory: located at the include.
    w.write("root.toml", &format!("[checklist]\ninclude = [\"pipe.toml\", \"/dev/zero\", \"sub\"]\n\n{ONE_ITEM}"));
    std::fs::create_dir(w.path("sub")).unwrap();
    let out = short(&w, "root.toml");
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.contains("root.toml:2:12: error[GL011]: cannot read included file") && text.contains("named pipe"),
        "{text}"
    );
    assert!(text.contains("/dev/zero: it is a device, not a regular file"), "{text}");
    assert!(text.contains("it is a directory, not a file"), "{text}");

    // The attestations file as a FIFO: `validate`, `run` and `attest` refuse it.
    w.write("c.toml", "[[item]]\nid = \"ops.ok\"\nprobe = \"manual\"\ntitle = \"t\"\n");
    fifo(&w, "c.attestations.toml");
    for args in [
        &["validate", "c.toml"][..],
        &["run", "c.toml"],
        &["attest", "ops.ok", "--file", "c.toml", "--by", "A", "--evidence", "e"],
    ] {
        let out = guarded(&w, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("attestations file"), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn files_above_the_size_cap_are_refused() {
    let w = Workdir::new();
    let mut big = String::from("[checklist]\nname = \"big\"\n");
    big.push_str(&"# padding padding padding padding padding padding padding padding padding\n".repeat(240_000));
    assert!(big.len() as u64 > golive::fsread::MAX_INPUT_BYTES);
    w.write("big.toml", &big);
    let out = short(&w, "big.toml");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("larger than 16 MiB"), "{}", stderr(&out));
}

#[test]
fn a_chain_of_fifty_thousand_vars_resolves_without_recursion() {
    let w = Workdir::new();
    let mut text = String::from("[vars]\nv0 = \"127.0.0.1\"\n");
    for i in 1..50_000 {
        text.push_str(&format!("v{i} = \"${{v{}}}\"\n", i - 1));
    }
    text.push_str("\n[[item]]\nid = \"a\"\nprobe = \"tcp\"\naddress = \"${v49999}:1\"\ntitle = \"at ${v49999}\"\n");
    w.write("chain.toml", &text);
    let out = short(&w, "chain.toml");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = guarded(&w, &["list", "chain.toml"]);
    assert!(stdout(&out).contains("at 127.0.0.1"), "the title's var resolved: {}", stdout(&out));

    // The same chain closed into a cycle is reported once.
    let cyclic = text.replace("v0 = \"127.0.0.1\"", "v0 = \"${v49999}\"");
    w.write("cycle.toml", &cyclic);
    let out = short(&w, "cycle.toml");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).matches("vars refer to each other in a cycle").count(), 1, "{}", &stderr(&out)[..2000]);
}

#[test]
fn a_dependency_cycle_through_twenty_thousand_items_is_reported() {
    let w = Workdir::new();
    let n = 20_000;
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "[[item]]\nid = \"i{i}\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:1\"\ndepends_on = [\"i{}\"]\n",
            (i + 1) % n
        ));
    }
    w.write("deps.toml", &text);
    let out = short(&w, "deps.toml");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(
        err.matches("error[GL010]: dependency cycle: i0 → i1 → i2").count(),
        1,
        "{}",
        &err[..err.len().min(500)]
    );
}

#[test]
fn vars_that_double_at_each_level_hit_the_size_cap() {
    let w = Workdir::new();
    let mut text = String::from("[vars]\nv0 = \"xx\"\n");
    for i in 1..=30 {
        text.push_str(&format!("v{i} = \"${{v{p}}}${{v{p}}}\"\n", p = i - 1));
    }
    text.push_str("\n[[item]]\nid = \"a\"\nprobe = \"tcp\"\naddress = \"${v30}\"\n");
    w.write("double.toml", &text);
    let out = short(&w, "double.toml");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("error[GL023]: this value expands to more than 1 MiB"), "{err}");
    assert!(err.len() < 10_000, "one diagnostic, not one per level: {err}");
}

#[test]
fn a_hundred_thousand_signoff_roles_validate_and_duplicates_are_found() {
    let w = Workdir::new();
    let mut roles: Vec<String> = (0..100_000).map(|i| format!("\"Role {i}\"")).collect();
    roles.push("\"Role 7\"".into());
    w.write("roles.toml", &format!("{ONE_ITEM}\n[signoff]\nroles = [{}]\n", roles.join(", ")));
    let out = short(&w, "roles.toml");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.matches("sign-off role \"Role 7\" is listed twice").count(), 1, "{err}");
}

#[test]
fn a_million_unknown_dependencies_give_a_bounded_report() {
    let w = Workdir::new();
    let ids: Vec<String> = (0..1_000_000).map(|i| format!("\"x{i}\"")).collect();
    w.write("many.toml", &format!("{ONE_ITEM}depends_on = [{}]\n", ids.join(",")));
    let out = guarded(&w, &["validate", "--format", "json", "many.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON diagnostics");
    let list = json.as_array().unwrap();
    assert_eq!(list.len(), golive::checklist::load::MAX_PER_CODE + 1);
    assert_eq!(list.last().unwrap()["message"], "and 999900 more problems like these");
    assert_eq!(list.last().unwrap()["code"], "GL009");
    let out = short(&w, "many.toml");
    assert!(out.stderr.len() < 100_000, "{} bytes of diagnostics", out.stderr.len());
    let out = guarded(&w, &["validate", "many.toml"]);
    assert!(out.stderr.len() < 1_000_000, "{} bytes of diagnostics", out.stderr.len());
}

#[test]
fn a_var_no_file_declares_is_an_error_with_a_suggestion() {
    let w = Workdir::new();
    w.write(
        "c.toml",
        "[vars]\nmigrations_table = { description = \"t\", default = \"schema_migrations\" }\n\n[[item]]\nid = \"a\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:1\"\ntitle = \"${migrations_table}\"\n",
    );
    let out = guarded(&w, &["validate", "--format", "short", "c.toml", "--var", "migration_table=x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "error[GL013]: --var migration_table=…: no checklist file or check declares var `migration_table`"
        ) && err.contains("did you mean `migrations_table`?"),
        "{err}"
    );
    // The same for run, and a declared name is fine.
    let out = guarded(&w, &["run", "c.toml", "--var", "migration_table=x"]);
    assert_eq!(out.status.code(), Some(2));
    let out = guarded(&w, &["validate", "c.toml", "--var", "migrations_table=x"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A var a used catalogue check declares may be set too.
    w.write("u.toml", "[[item]]\nuse = \"infrastructure.os-up-to-date\"\n");
    let out = guarded(&w, &["validate", "u.toml", "--var", "pending_updates_command=echo 0"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_duplicate_id_is_reported_even_when_the_other_copy_is_invalid() {
    let w = Workdir::new();
    w.write(
        "dup.toml",
        "[[item]]\nid = \"a\"\nprobe = \"nope\"\n\n[[item]]\nid = \"a\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    let out = short(&w, "dup.toml");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("dup.toml:3:9: error[GL005]"), "{err}");
    assert!(err.contains("dup.toml:5:1: error[GL008]: duplicate item id `a`"), "{err}");
}

#[test]
fn includes_nest_a_bounded_depth() {
    let w = Workdir::new();
    for i in 0..100 {
        w.write(&format!("f{i}.toml"), &format!("[checklist]\ninclude = [\"f{}.toml\"]\n", i + 1));
    }
    w.write("f100.toml", ONE_ITEM);
    let out = short(&w, "f0.toml");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error[GL023]: includes nest more than 64 deep"), "{}", stderr(&out));
}

#[test]
fn deeply_nested_values_do_not_overflow_the_stack() {
    let w = Workdir::new();
    let n = 100_000;
    w.write("arrays.toml", &format!("x = {}{}\n", "[".repeat(n), "]".repeat(n)));
    w.write("tables.toml", &format!("x = {}1{}\n", "{a = ".repeat(n), "}".repeat(n)));
    let mut expect =
        String::from("[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:1/\"\nexpect = { headers = ");
    expect.push_str(&"{ a = ".repeat(n));
    expect.push('1');
    expect.push_str(&" }".repeat(n));
    expect.push_str(" }\n");
    w.write("expect.toml", &expect);
    for file in ["arrays.toml", "tables.toml", "expect.toml"] {
        let out = short(&w, file);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains("error[GL"), "{file}: {}", stderr(&out));
    }
}

#[test]
fn a_writing_http_method_without_allow_write_fails_validation() {
    let w = Workdir::new();
    let item = |method: &str, extra: &str| {
        format!("[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:1/\"\nmethod = \"{method}\"\n{extra}")
    };
    for method in ["DELETE", "POST", "PUT", "PATCH"] {
        w.write("w.toml", &item(method, ""));
        let out = short(&w, "w.toml");
        assert_eq!(out.status.code(), Some(2), "{method}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("w.toml:5:10: error[GL003]: item `a`: method"), "{method}: {err}");
        assert!(err.contains("allow_write = true"), "{method}: {err}");
    }
    w.write("w.toml", &item("DELETE", "allow_write = true\n"));
    assert_eq!(short(&w, "w.toml").status.code(), Some(0));
    w.write("w.toml", &item("HEAD", ""));
    assert_eq!(short(&w, "w.toml").status.code(), Some(0));
}

/// A message that quotes a long secret is cut short in every form; the secret is masked
/// before the cut, so no prefix of it survives.
#[test]
fn a_long_secret_in_a_clipped_message_is_masked_whole() {
    let w = Workdir::new();
    w.write("s.toml", "[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:1/\"\nmethod = \"${env:GOLIVE_CLIP_SECRET}\"\n");
    let secret = format!("S3cr{}", "q".repeat(3000));
    for format in ["short", "text", "json"] {
        let out =
            w.command(&["validate", "--format", format, "s.toml"]).env("GOLIVE_CLIP_SECRET", &secret).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{format}: {}", stderr(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(all.contains("must be one of"), "{format}: {all}");
        assert!(!all.contains("S3crqqqq") && !all.contains("qqqqqqqqqqqqqqqq"), "{format}: a part of the secret shows");
    }
}

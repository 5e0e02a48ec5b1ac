//! Hostile input and small counts in the terminal outputs: a 1 MiB title cannot make a
//! table slow or huge (`golive list`, `run`, `report`, `checks`), while JSON keeps it whole;
//! counts of one read "1 item", not "1 items".

use crate::support as common;

use common::{Workdir, item, stderr, stdout};

const MIB: usize = 1024 * 1024;

#[test]
fn a_huge_title_is_cut_in_tables_and_kept_in_json() {
    let w = Workdir::new();
    // One line of 1 MiB, and a title of many short lines.
    let long = "x".repeat(MIB);
    let many_lines = "line\\n".repeat(50_000);
    w.write(
        "golive.toml",
        &format!(
            "[checklist]\nname = \"hostile\"\n\n[[item]]\nid = \"long\"\ntitle = \"{long}\"\nprobe = \"command\"\nargv = [\"true\"]\n\n[[item]]\nid = \"tall\"\ntitle = \"{many_lines}\"\nprobe = \"command\"\nargv = [\"true\"]\n"
        ),
    );
    let list = w.run_blocking(&["list"], &[]);
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    assert!(list.stdout.len() < 64 * 1024, "golive list printed {} bytes", list.stdout.len());
    assert!(stdout(&list).contains('…') && stdout(&list).contains("2 items"), "{}", stdout(&list));

    let run = w.run_blocking(&["run", "-o", "table", "-o", "json=report.json"], &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(run.stdout.len() < 64 * 1024, "golive run printed {} bytes", run.stdout.len());
    let table = stdout(&run);
    assert!(table.contains('…') && table.contains("2 items: 2 pass"), "{table}");
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(item(&report, "long")["title"].as_str().map(str::len), Some(MIB), "JSON keeps the whole title");
    assert_eq!(item(&report, "tall")["title"].as_str().map(|t| t.lines().count()), Some(50_000));

    let saved = w.run_blocking(&["report", "report.json"], &[]);
    assert!(saved.stdout.len() < 64 * 1024, "golive report printed {} bytes", saved.stdout.len());
}

#[test]
fn a_huge_check_title_is_cut_in_the_catalogue_listing() {
    let w = Workdir::new();
    let long = "y".repeat(MIB);
    w.write(
        "mine/area/huge.toml",
        &format!("[check]\nid = \"area.huge\"\ntitle = \"{long}\"\nprobe = \"command\"\nargv = [\"true\"]\n"),
    );
    let out = w.run_blocking(&["checks", "--dir", "mine"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("area.huge"), "{text}");
    assert!(out.stdout.len() < 256 * 1024, "golive checks printed {} bytes", out.stdout.len());
    assert!(text.lines().all(|l| l.chars().count() < 400), "a line longer than the table");
}

#[test]
fn counts_of_one_are_singular() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        "[checklist]\nname = \"one\"\n\n[[item]]\nid = \"only\"\nprobe = \"command\"\nargv = [\"true\"]\n",
    );
    let validate = w.run_blocking(&["validate"], &[]);
    assert!(stderr(&validate).contains("golive.toml: valid: 1 item in 1 file\n"), "{}", stderr(&validate));
    let list = w.run_blocking(&["list"], &[]);
    assert!(stdout(&list).ends_with("\n1 item\n"), "{}", stdout(&list));
    let run = w.run_blocking(&["run"], &[]);
    let table = stdout(&run);
    assert!(table.contains("default (1 item)") || table.contains("(1 item)\n"), "{table}");
    assert!(table.contains("\n1 item: 1 pass, 0 fail, 0 error — gate PASSED"), "{table}");
    let to_file = w.run_blocking(&["run", "-o", "json=report.json"], &[]);
    assert!(stderr(&to_file).starts_with("1 item: 1 pass"), "the summary on stderr: {}", stderr(&to_file));
    let html = w.run_blocking(&["report", "report.json", "-o", "html"], &[]);
    assert!(stdout(&html).contains("<b>1</b><span>item</span>"), "the total card");

    let broken = Workdir::new();
    broken.write("golive.toml", "[[item]]\nid = \"a\"\nprobe = \"nope\"\n");
    let invalid = broken.run_blocking(&["validate"], &[]);
    assert!(stderr(&invalid).contains("invalid: 1 error, 0 warnings"), "{}", stderr(&invalid));
}

//! The docs cannot drift from the code: each probe page is exactly what `golive probes KIND
//! --format markdown` prints, and the README's quickstart checklist validates.

use std::process::Command;

fn golive(args: &[&str]) -> String {
    let out =
        Command::new(env!("CARGO_BIN_EXE_golive")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    assert!(out.status.success(), "golive {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn probe_pages_match_the_declarations() {
    let json: serde_json::Value = serde_json::from_str(&golive(&["probes", "--format", "json"])).unwrap();
    for kind in json.as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()) {
        let page = format!("{}/docs/probes/{kind}.md", env!("CARGO_MANIFEST_DIR"));
        let written = std::fs::read_to_string(&page).unwrap_or_else(|_| panic!("{page} is missing"));
        let generated = golive(&["probes", kind, "--format", "markdown"]);
        assert!(
            written == generated,
            "{page} is out of date; regenerate it with: golive probes {kind} --format markdown > docs/probes/{kind}.md"
        );
    }
}

#[test]
fn shipped_checklists_validate() {
    let dir = format!("{}/checklists", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out = Command::new(env!("CARGO_BIN_EXE_golive")).arg("validate").arg(&path).output().unwrap();
            assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        }
    }
}

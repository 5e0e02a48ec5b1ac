//! docs/coverage.md maps every item of the reference checklists to a catalogue check. The
//! page and the catalogue must not drift apart: every check the page names exists, every
//! item id it names is an item of a shipped checklist, and every check of the catalogue is
//! used by a shipped checklist or named on the page.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Check ids of the catalogue, from the checks/AREA/NAME.toml tree.
fn catalogue() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for area in std::fs::read_dir(root().join("checks")).unwrap() {
        let area = area.unwrap().path();
        if !area.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&area).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "toml") {
                let name = file.file_stem().unwrap().to_string_lossy();
                ids.insert(format!("{}.{name}", area.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    ids
}

/// The `use` and the item ids of every shipped checklist.
fn shipped() -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut uses, mut items) = (BTreeSet::new(), BTreeSet::new());
    for entry in std::fs::read_dir(root().join("checklists")).unwrap() {
        let path = entry.unwrap().path();
        let table: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for item in table.get("item").and_then(|i| i.as_array()).cloned().unwrap_or_default() {
            let used = item.get("use").and_then(|u| u.as_str()).map(str::to_string);
            if let Some(used) = &used {
                uses.insert(used.clone());
            }
            if let Some(id) = item.get("id").and_then(|i| i.as_str()).map(str::to_string).or(used) {
                items.insert(id);
            }
        }
    }
    (uses, items)
}

/// The first `backticked` word of a table cell.
fn code(cell: &str) -> Option<String> {
    let start = cell.find('`')? + 1;
    let end = start + cell[start..].find('`')?;
    Some(cell[start..end].to_string())
}

#[test]
fn coverage_page_and_catalogue_agree() {
    let page = std::fs::read_to_string(root().join("docs/coverage.md")).unwrap();
    let catalogue = catalogue();
    let (uses, items) = shipped();
    let mut named = BTreeSet::new();
    let mut rows = 0;
    for line in page.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        // Mapping rows: | # | item | section | check | item in the shipped checklists | kind |
        if cells.len() == 6 && cells[0].trim_start_matches("| ").parse::<u32>().is_ok() {
            rows += 1;
            let check = code(cells[3]).unwrap_or_else(|| panic!("no check in: {line}"));
            if check == "[signoff] roles" {
                continue;
            }
            assert!(catalogue.contains(&check), "coverage.md names `{check}`, which is not in the catalogue: {line}");
            named.insert(check.clone());
            if let Some(item) = code(cells[4]) {
                assert!(items.contains(&item), "coverage.md names item `{item}`, no shipped checklist has it: {line}");
            }
            let manual = std::fs::read_to_string(root().join(format!("checks/{}.toml", check.replacen('.', "/", 1))))
                .unwrap()
                .contains("probe = \"manual\"");
            let kind = cells[5];
            assert_eq!(kind.starts_with("manual"), manual, "kind of `{check}` is wrong: {line}");
        }
        // Rows of the table of checks no shipped checklist uses: | `id` | when |
        if cells.len() == 2
            && let Some(check) = code(cells[0])
        {
            assert!(catalogue.contains(&check), "coverage.md names `{check}`, which is not in the catalogue");
            named.insert(check);
        }
    }
    assert!(rows >= 450, "only {rows} reference items mapped");
    for check in &catalogue {
        assert!(
            uses.contains(check) || named.contains(check),
            "check `{check}` is used by no shipped checklist and not named in docs/coverage.md"
        );
    }
}

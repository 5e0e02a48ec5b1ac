//! docs/coverage.md maps every line of the reference checklists to a catalogue check. The
//! page and the catalogue must not drift apart, and the page must not claim more than the
//! checks do: every check the page names exists; every automated or partial row names an
//! item of a shipped checklist and every opt-in row says which item to add; the probe a
//! row names is its check's and the owner a manual row names is its check's owner; the
//! summary table's figures are the counts of the rows' kinds; and every check of the
//! catalogue is used by a shipped checklist or named on the page. (The reference files
//! themselves are not part of the repository: only the page's own consistency is tested.)

use std::collections::{BTreeMap, BTreeSet};
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

/// The `[check]` table of a catalogue check.
fn check_table(id: &str) -> toml::Table {
    let path = root().join(format!("checks/{}.toml", id.replacen('.', "/", 1)));
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    table["check"].as_table().unwrap().clone()
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

/// The kinds a row may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Automated,
    Partial,
    OptIn,
    Manual,
    SignOff,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Automated => "automated",
            Kind::Partial => "partial",
            Kind::OptIn => "opt-in",
            Kind::Manual => "manual",
            Kind::SignOff => "sign-off",
        }
    }
}

/// A kind cell parsed: the kind, what is in the parentheses (probes or the owner role), and
/// for partial rows what is left to a person. None when the cell is not of the fixed forms:
///   automated (PROBE[, PROBE])            partial (PROBE): WHAT IS CHECKED; WHAT IS LEFT
///   opt-in (PROBE)                        opt-in, partial (PROBE): …
///   manual (ROLE)                         sign-off
fn parse_kind(cell: &str) -> Option<(Kind, String, Option<String>)> {
    if cell == "sign-off" {
        return Some((Kind::SignOff, String::new(), None));
    }
    let (kind, rest) = [
        ("automated (", Kind::Automated),
        ("partial (", Kind::Partial),
        ("opt-in, partial (", Kind::OptIn),
        ("opt-in (", Kind::OptIn),
        ("manual (", Kind::Manual),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| cell.strip_prefix(prefix).map(|rest| (kind, rest)))?;
    let (inside, after) = rest.split_once(')')?;
    let partial = cell.starts_with("partial") || cell.starts_with("opt-in, partial");
    match after.strip_prefix(": ") {
        Some(left) if partial && !left.trim().is_empty() => Some((kind, inside.to_string(), Some(left.to_string()))),
        // A manual row says why no probe observes it, or what one could.
        Some(why) if kind == Kind::Manual && (MANUAL_WHY.contains(&why) || why.starts_with("observable: ")) => {
            Some((kind, inside.to_string(), Some(why.to_string())))
        }
        None if !partial && kind != Kind::Manual && after.is_empty() => Some((kind, inside.to_string(), None)),
        _ => None,
    }
}

/// Why a manual row is left to a person: the reasons docs/coverage.md may give. Any other
/// manual row starts `observable:` and says what could observe it.
const MANUAL_WHY: &[&str] = &[
    "a decision about how to release",
    "a judgement by people",
    "a test people run and judge",
    "a drill people run",
    "a plan and a test in staging",
    "a review by people",
    "the application's code, read in review",
    "the application's code and policies, read in review",
    "a legal or compliance review",
    "a document's quality, judged by a person",
    "a practice kept up over time",
    "people: availability, training, communication",
    "a step people take during an incident",
    "judged after launch, over time",
    "a comparison of two environments",
    "outside what golive reaches: a provider's console",
];

/// At most this share of the manual rows may be ones a probe could observe (issue 9, §3).
const MAX_OBSERVABLE_MANUAL_PERCENT: usize = 10;

/// The figures of the summary table at the top of the page: | kind | rows |.
fn summary(page: &str) -> BTreeMap<String, usize> {
    let mut figures = BTreeMap::new();
    let table = page.split("| kind | rows |").nth(1).expect("coverage.md has no summary table (| kind | rows |)");
    for line in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(|c| c.trim().trim_matches('*')).collect();
        figures.insert(cells[0].to_string(), cells[1].parse().unwrap_or_else(|_| panic!("summary figure: {line}")));
    }
    figures
}

#[test]
fn coverage_page_and_catalogue_agree() {
    let page = std::fs::read_to_string(root().join("docs/coverage.md")).unwrap();
    let catalogue = catalogue();
    let (uses, items) = shipped();
    let mut named = BTreeSet::new();
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut observable_manual = 0;
    let mut number = 0;
    for line in page.lines() {
        if line.starts_with("## ") {
            number = 0;
        }
        if !line.starts_with("| ") {
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").collect();
        // Mapping rows: | # | item | section | check | item in the shipped checklists | kind |
        if cells.len() == 6
            && let Ok(n) = cells[0].trim_start_matches("| ").parse::<u32>()
        {
            number += 1;
            assert_eq!(n, number, "rows of a table are numbered 1, 2, 3…: {line}");
            let kind_cell = cells[5].trim_end_matches(" |");
            let (kind, inside, note) = parse_kind(kind_cell).unwrap_or_else(|| {
                panic!("kind must be automated (PROBE), partial (PROBE): WHAT IS LEFT, opt-in (PROBE), opt-in, partial (PROBE): …, manual (ROLE): WHY (one of MANUAL_WHY, or observable: HOW) or sign-off: {line}")
            });
            *counts.entry(kind).or_default() += 1;
            if kind == Kind::Manual && note.as_deref().is_some_and(|n| n.starts_with("observable: ")) {
                observable_manual += 1;
            }
            let check = code(cells[3]).unwrap_or_else(|| panic!("no check in: {line}"));
            if kind == Kind::SignOff {
                assert_eq!(check, "[signoff] roles", "a sign-off row maps to the [signoff] roles: {line}");
                continue;
            }
            assert!(catalogue.contains(&check), "coverage.md names `{check}`, which is not in the catalogue: {line}");
            named.insert(check.clone());
            let definition = check_table(&check);
            let probe = definition["probe"].as_str().unwrap();
            match kind {
                Kind::Manual => {
                    assert_eq!(probe, "manual", "`{check}` is not a manual check, the row says manual: {line}");
                    let owner = definition.get("owner").and_then(|o| o.as_str()).unwrap_or_default();
                    assert_eq!(inside, owner, "the owner of `{check}` is {owner:?}: {line}");
                }
                _ => {
                    assert_ne!(probe, "manual", "`{check}` is a manual check, the row says {}: {line}", kind.label());
                    assert!(
                        inside.split(", ").any(|p| p == probe),
                        "`{check}` uses the {probe} probe, the row names {inside:?}: {line}"
                    );
                }
            }
            let item_cell = cells[4];
            if kind == Kind::OptIn {
                let add = format!("not in a shipped checklist: add `[[item]] use = \"{check}\"`");
                assert!(item_cell.starts_with(&add), "an opt-in row says what to add: {add}: {line}");
            } else {
                let item = code(item_cell).unwrap_or_else(|| panic!("no item of a shipped checklist in: {line}"));
                assert!(items.contains(&item), "coverage.md names item `{item}`, no shipped checklist has it: {line}");
                assert!(
                    !item_cell.contains("not in a shipped checklist"),
                    "a row not in a shipped checklist is opt-in: {line}"
                );
            }
        }
        // Rows of the table of checks no shipped checklist uses: | `id` | when |
        if cells.len() == 2
            && let Some(check) = code(cells[0])
        {
            assert!(catalogue.contains(&check), "coverage.md names `{check}`, which is not in the catalogue");
            named.insert(check);
        }
    }
    let total: usize = counts.values().sum();
    assert!(total >= 515, "only {total} reference items mapped");
    let mut expected: BTreeMap<String, usize> = counts.iter().map(|(kind, n)| (kind.label().to_string(), *n)).collect();
    for kind in [Kind::Automated, Kind::Partial, Kind::OptIn, Kind::Manual, Kind::SignOff] {
        expected.entry(kind.label().to_string()).or_insert(0);
    }
    expected.insert("total".to_string(), total);
    assert_eq!(summary(&page), expected, "the summary table of coverage.md does not match the rows");
    let manual = counts.get(&Kind::Manual).copied().unwrap_or_default();
    assert!(
        observable_manual * 100 <= manual * MAX_OBSERVABLE_MANUAL_PERCENT,
        "{observable_manual} of {manual} manual rows could be observed by a probe: automate them"
    );
    let said = format!("{observable_manual} of the {manual} manual rows");
    assert!(page.contains(&said), "coverage.md must say how many manual rows a probe could observe: {said:?}");
    for check in &catalogue {
        assert!(
            uses.contains(check) || named.contains(check),
            "check `{check}` is used by no shipped checklist and not named in docs/coverage.md"
        );
    }
}

#[test]
fn coverage_kinds_parse() {
    assert_eq!(parse_kind("automated (http)").map(|k| k.0), Some(Kind::Automated));
    assert_eq!(parse_kind("automated (command, systemd)").map(|k| k.1), Some("command, systemd".into()));
    assert_eq!(
        parse_kind("partial (http): the status is checked; the page is left to a person").map(|k| k.0),
        Some(Kind::Partial)
    );
    assert_eq!(parse_kind("opt-in (file)").map(|k| k.0), Some(Kind::OptIn));
    assert_eq!(parse_kind("opt-in, partial (http): one asset; the rest").map(|k| k.0), Some(Kind::OptIn));
    assert_eq!(parse_kind("manual (Operations Lead): a drill people run").map(|k| k.1), Some("Operations Lead".into()));
    assert!(parse_kind("manual (Operations Lead): observable: Grafana's API").is_some());
    // A manual row says why; a reason outside the list is refused.
    assert_eq!(parse_kind("manual (Operations Lead)"), None);
    assert_eq!(parse_kind("manual (Operations Lead): too hard"), None);
    assert_eq!(parse_kind("sign-off").map(|k| k.0), Some(Kind::SignOff));
    // A partial row must say what is left; an automated one must not qualify itself.
    assert_eq!(parse_kind("partial (http)"), None);
    assert_eq!(parse_kind("automated (http): mostly"), None);
    assert_eq!(parse_kind("automated"), None);
    assert_eq!(parse_kind("semi-automated (http)"), None);
}

//! Editor support: docs/golive.schema.json and docs/check.schema.json are exactly what
//! `golive schema checklist|check` prints; every shipped checklist, every catalogue check file
//! and every docs example golive accepts validates against them with an independent
//! validator (check-jsonschema from PyPI, the TOML read by Python's tomllib); checklists
//! golive rejects for an unknown probe, a misspelt parameter or a wrong type are rejected
//! by it too; and the schemas name every probe kind, parameter and fact of `golive probes`
//! and every key the loader accepts.

use crate::support as common;
use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Workdir, stderr, stdout};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Schema {
    Checklist,
    Check,
}

impl Schema {
    fn file(self) -> PathBuf {
        Path::new(ROOT).join("docs").join(match self {
            Schema::Checklist => "golive.schema.json",
            Schema::Check => "check.schema.json",
        })
    }

    fn json(self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.file()).unwrap()).unwrap()
    }
}

fn golive(args: &[&str]) -> String {
    let out = Command::new(common::golive_binary()).args(args).current_dir(ROOT).output().unwrap();
    assert!(out.status.success(), "golive {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// check-jsonschema, the independent validator (./scripts/test.sh installs it too).
fn validator_installed() {
    support::python::ensure_package("check-jsonschema", &["python3", "-m", "check_jsonschema", "--version"]);
}

/// taplo, the TOML toolkit behind Even Better TOML (its CLI, from PyPI's prebuilt wheel).
fn taplo_installed() {
    support::python::ensure_package("taplo", &["taplo", "--version"]);
}

/// TOML files as JSON documents, numbered in order, read by Python's tomllib (dates and
/// times become their ISO text, as an editor's TOML support presents them to a schema).
const TOML_TO_JSON: &str = r#"
import datetime, json, sys, tomllib
def plain(value):
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    raise TypeError(type(value).__name__)
out = sys.argv[1]
for index, path in enumerate(sys.argv[2:]):
    with open(path, "rb") as f:
        document = tomllib.load(f)
    with open(f"{out}/{index}.json", "w") as f:
        json.dump(document, f, default=plain)
"#;

/// Validates TOML files against a schema with check-jsonschema: each file's errors (path:
/// message), in the order given.
fn validate(schema: Schema, files: &[PathBuf]) -> Vec<Vec<String>> {
    assert!(!files.is_empty());
    validator_installed();
    let w = Workdir::new();
    let out = Command::new("python3").args(["-c", TOML_TO_JSON]).arg(w.dir.path()).args(files).output().unwrap();
    assert!(out.status.success(), "tomllib: {}", stderr(&out));
    let documents: Vec<PathBuf> = (0..files.len()).map(|i| w.path(&format!("{i}.json"))).collect();
    let out = Command::new("python3")
        .args(["-m", "check_jsonschema", "--output-format", "json", "--schemafile"])
        .arg(schema.file())
        .args(&documents)
        .output()
        .unwrap();
    let result: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("check-jsonschema printed no JSON ({e}): {}{}", stdout(&out), stderr(&out)));
    assert!(result["parse_errors"].as_array().is_none_or(|e| e.is_empty()), "{result:#}");
    let mut errors = vec![Vec::new(); files.len()];
    for e in result["errors"].as_array().into_iter().flatten() {
        let index = documents.iter().position(|d| Path::new(e["filename"].as_str().unwrap()) == d).unwrap();
        let mut text = format!("{}: {}", e["path"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or(""));
        if let Some(deep) = e.get("best_deep_match") {
            text.push_str(&format!(" (best match {}: {})", deep["path"], deep["message"]));
        }
        errors[index].push(text);
    }
    assert_eq!(out.status.success(), errors.iter().all(Vec::is_empty), "{result:#}");
    errors
}

fn assert_all_valid(schema: Schema, files: &[PathBuf]) {
    let errors = validate(schema, files);
    let invalid: Vec<String> = files
        .iter()
        .zip(&errors)
        .filter(|(_, e)| !e.is_empty())
        .map(|(f, e)| format!("{}:\n  {}", f.display(), e.join("\n  ")))
        .collect();
    assert!(invalid.is_empty(), "not valid against {}:\n{}", schema.file().display(), invalid.join("\n"));
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

#[test]
fn schema_files_are_the_commands_output() {
    for (schema, args) in [(Schema::Checklist, &["schema", "checklist"][..]), (Schema::Check, &["schema", "check"])] {
        let written = std::fs::read_to_string(schema.file()).unwrap();
        let name = schema.file().file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            written == golive(args),
            "docs/{name} is out of date; regenerate it with: golive {} > docs/{name}",
            args.join(" ")
        );
    }
    assert_eq!(golive(&["schema"]), golive(&["schema", "checklist"]), "a checklist's schema is the default");
    let help = golive(&["schema", "--help"]);
    assert!(help.contains("checklist") && help.contains("check"), "{help}");
}

#[test]
fn shipped_checklists_and_check_files_validate() {
    let mut checklists = Vec::new();
    toml_files(&Path::new(ROOT).join("checklists"), &mut checklists);
    let mut checks = Vec::new();
    toml_files(&Path::new(ROOT).join("checks"), &mut checks);
    assert!(checklists.len() >= 5 && checks.len() >= 50, "{} checklists, {} checks", checklists.len(), checks.len());
    assert_all_valid(Schema::Checklist, &checklists);
    assert_all_valid(Schema::Check, &checks);
}

/// The ```toml blocks of the docs and the README that golive itself accepts as a checklist
/// validate against the checklist schema; check files shown in the docs against the check
/// schema.
#[test]
fn docs_examples_validate() {
    let mut pages = vec![Path::new(ROOT).join("README.md")];
    let mut stack = vec![Path::new(ROOT).join("docs")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    let w = Workdir::new();
    let (mut checklists, mut checks) = (Vec::new(), Vec::new());
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for (n, block) in text.split("```toml\n").skip(1).filter_map(|b| b.split("```").next()).enumerate() {
            let stem = page.file_stem().unwrap().to_string_lossy();
            let file = w.write(&format!("{stem}-{n}.toml"), block);
            let Ok(table) = block.parse::<toml::Table>() else { continue };
            if table.contains_key("check") {
                checks.push(file);
            } else if Command::new(common::golive_binary())
                .arg("validate")
                .arg(&file)
                .output()
                .unwrap()
                .status
                .success()
            {
                checklists.push(file);
            }
        }
    }
    assert!(checklists.len() >= 20, "only {} docs examples validate with golive", checklists.len());
    assert!(!checks.is_empty(), "docs/catalogue.md shows a check file");
    assert_all_valid(Schema::Checklist, &checklists);
    assert_all_valid(Schema::Check, &checks);
}

/// Each invalid checklist is rejected by golive and by the validator, and the same
/// checklist with that one mistake corrected passes both: the schema rejects it for that
/// mistake, not for something else.
#[test]
fn invalid_checklists_are_rejected() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "unknown probe kind",
            "probe = \"htpt\"\nurl = \"https://api.example.com\"",
            "probe = \"http\"\nurl = \"https://api.example.com\"",
        ),
        (
            "misspelt parameter",
            "probe = \"http\"\nurll = \"https://api.example.com\"",
            "probe = \"http\"\nurl = \"https://api.example.com\"",
        ),
        ("missing required parameter", "probe = \"tcp\"", "probe = \"tcp\"\naddress = \"db:5432\""),
        ("parameter of the wrong type", "probe = \"tcp\"\naddress = 5432", "probe = \"tcp\"\naddress = \"db:5432\""),
        (
            "unknown choice",
            "probe = \"http\"\nurl = \"https://x.example\"\nmethod = \"FETCH\"",
            "probe = \"http\"\nurl = \"https://x.example\"\nmethod = \"head\"",
        ),
        (
            "matcher of the wrong type",
            "probe = \"tcp\"\naddress = \"db:5432\"\nexpect = { open = \"true\" }",
            "probe = \"tcp\"\naddress = \"db:5432\"\nexpect = { open = true }",
        ),
        (
            "unknown fact",
            "probe = \"tcp\"\naddress = \"db:5432\"\nexpect = { opne = true }",
            "probe = \"tcp\"\naddress = \"db:5432\"\nexpect = { open = true }",
        ),
        (
            "misspelt matcher",
            "probe = \"http\"\nurl = \"https://x.example\"\nexpect = { body = { contians = \"ok\" } }",
            "probe = \"http\"\nurl = \"https://x.example\"\nexpect = { body = { contains = \"ok\" } }",
        ),
        (
            "a parameter of another probe",
            "probe = \"tcp\"\naddress = \"db:5432\"\nurl = \"https://x.example\"",
            "probe = \"tcp\"\naddress = \"db:5432\"",
        ),
        (
            "expect on a manual item",
            "probe = \"manual\"\nexpect = { status = 200 }",
            "probe = \"manual\"\ninstructions = \"Roll back staging.\"",
        ),
        (
            "duration without a unit",
            "probe = \"tcp\"\naddress = \"db:5432\"\ntimeout = \"30\"",
            "probe = \"tcp\"\naddress = \"db:5432\"\ntimeout = \"30s\"",
        ),
        (
            "unknown severity",
            "probe = \"tcp\"\naddress = \"db:5432\"\nseverity = \"hihg\"",
            "probe = \"tcp\"\naddress = \"db:5432\"\nseverity = \"high\"",
        ),
        (
            "an operator that does not apply to the fact's type",
            "probe = \"http\"\nurl = \"https://x.example\"\nexpect = { status = { contains = \"20\" } }",
            "probe = \"http\"\nurl = \"https://x.example\"\nexpect = { status = { one_of = [200, 204] } }",
        ),
        (
            "family member of the wrong type",
            "probe = \"http\"\nurl = \"https://x.example\"\nexpect = { headers = { server = 1 } }",
            "probe = \"http\"\nurl = \"https://x.example\"\nexpect = { headers = { server = \"nginx\" } }",
        ),
    ];
    let w = Workdir::new();
    let mut files = Vec::new();
    for (n, (what, bad, good)) in cases.iter().enumerate() {
        for (kind, body) in [("bad", bad), ("good", good)] {
            let file = w.write(&format!("{kind}-{n}.toml"), &format!("[[item]]\nid = \"a\"\n{body}\n"));
            let ok = w.command(&["validate", &file.to_string_lossy()]).output().unwrap().status.success();
            assert_eq!(ok, kind == "good", "golive validate on the {kind} checklist of `{what}`");
            files.push(file);
        }
    }
    let errors = validate(Schema::Checklist, &files);
    for (n, (what, _, _)) in cases.iter().enumerate() {
        assert!(!errors[2 * n].is_empty(), "the schema accepts a checklist with {what}");
        assert!(
            errors[2 * n + 1].is_empty(),
            "the schema rejects the corrected checklist of `{what}`: {:?}",
            errors[2 * n + 1]
        );
    }
    // The validator names the mistake, where it is.
    assert!(errors[0].iter().any(|e| e.contains("$.item[0].probe") && e.contains("htpt")), "{:?}", errors[0]);
    assert!(
        errors[2].iter().any(|e| e.contains("$.item[0]") && e.contains("'urll' was unexpected")),
        "{:?}",
        errors[2]
    );
    assert!(errors[10].iter().any(|e| e.contains("$.item[0].expect.open")), "{:?}", errors[10]);

    // A waiver's date: a TOML date or its text, never another form.
    let waiver = |until: &str| {
        format!(
            "[[item]]\nid = \"a\"\nprobe = \"tcp\"\naddress = \"db:5432\"\n[[waiver]]\nitem = \"a\"\nreason = \"r\"\napproved_by = \"CTO\"\nuntil = {until}\n"
        )
    };
    let dated: Vec<PathBuf> = ["2026-12-31", "\"2026-12-31\"", "\"31/12/2026\""]
        .iter()
        .enumerate()
        .map(|(n, until)| w.write(&format!("waiver-{n}.toml"), &waiver(until)))
        .collect();
    for (file, ok) in dated.iter().zip([true, true, false]) {
        assert_eq!(w.command(&["validate", &file.to_string_lossy()]).output().unwrap().status.success(), ok);
    }
    let errors = validate(Schema::Checklist, &dated);
    assert!(errors[0].is_empty() && errors[1].is_empty() && !errors[2].is_empty(), "{errors:?}");

    // An item that uses a check may name the members of a fact family, nested.
    let used = w.write(
        "use.toml",
        "[[item]]\nuse = \"infrastructure.health-endpoint\"\nvars = { base_url = \"https://api.example.com\" }\nexpect = { headers = { server = { present = false } }, \"body_json./status\" = \"ok\" }\n",
    );
    assert!(w.command(&["validate", &used.to_string_lossy()]).output().unwrap().status.success());
    assert_eq!(validate(Schema::Checklist, std::slice::from_ref(&used)), vec![Vec::<String>::new()]);

    // Top-level keys and check files.
    let bad_top = w.write("top.toml", "[checklsit]\nname = \"x\"\n");
    let bad_check = w.write("check.toml", "[check]\nprobe = \"tcp\"\naddres = \"db:5432\"\n");
    let good_check = w.write("good-check.toml", "[check]\nprobe = \"tcp\"\naddress = \"${host}:5432\"\n[vars]\nhost = { description = \"the database host\" }\n");
    assert!(!validate(Schema::Checklist, std::slice::from_ref(&bad_top))[0].is_empty());
    let errors = validate(Schema::Check, &[bad_check, good_check]);
    assert!(!errors[0].is_empty() && errors[1].is_empty(), "{errors:?}");
}

/// Every probe kind, parameter and fact `golive probes --format json` lists is in both
/// schemas, in the branch of its kind.
#[test]
fn every_probe_kind_parameter_and_fact_is_in_the_schemas() {
    let probes: Value = serde_json::from_str(&golive(&["probes", "--format", "json"])).unwrap();
    let probes = probes.as_array().unwrap();
    assert!(probes.len() >= 17);
    for (schema, prefix) in [(Schema::Checklist, "item"), (Schema::Check, "check")] {
        let s = schema.json();
        let defs = &s["definitions"];
        let kinds: BTreeSet<&str> = probes.iter().map(|p| p["kind"].as_str().unwrap()).collect();
        let listed: BTreeSet<&str> = defs[prefix]["properties"]["probe"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(listed, kinds, "{schema:?}: the probe kinds");
        // `probe = "KIND"` selects the kind's branch; every branch is offered for completion.
        let dispatch = match schema {
            Schema::Checklist => defs[prefix]["else"]["allOf"].as_array().unwrap(),
            Schema::Check => defs[prefix]["allOf"].as_array().unwrap(),
        };
        let offered = defs[prefix]["anyOf"].as_array().unwrap();
        assert!(offered.contains(&serde_json::json!({})), "completion hints never fail validation");
        for p in probes {
            let kind = p["kind"].as_str().unwrap();
            let name = format!("{prefix}.{kind}");
            let branch = &defs[&name];
            let target = serde_json::json!({ "$ref": format!("#/definitions/{name}") });
            assert!(
                dispatch.iter().any(|d| d["if"]["properties"]["probe"]["const"] == kind && d["then"] == target),
                "{schema:?}: probe = {kind:?} selects {name}"
            );
            assert!(offered.contains(&target), "{schema:?}: {name} offered for completion");
            assert_eq!(branch["properties"]["probe"]["const"], kind, "{schema:?}: {name}");
            assert_eq!(branch["additionalProperties"], false, "{schema:?}: {name} is closed");
            let required: Vec<&str> =
                branch["required"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
            for param in p["params"].as_array().unwrap() {
                let pname = param["name"].as_str().unwrap();
                let declared = &branch["properties"][pname];
                assert!(declared.is_object(), "{schema:?}: `{kind}` parameter `{pname}`");
                assert!(declared["description"].as_str().unwrap().contains(param["doc"].as_str().unwrap()));
                if schema == Schema::Checklist {
                    assert_eq!(param["required"] == true, required.contains(&pname), "{kind}.{pname} required");
                }
            }
            let expect = &defs[format!("expect.{kind}")];
            for fact in p["facts"].as_array().unwrap() {
                let fname = fact["name"].as_str().unwrap();
                match fname.find('<') {
                    None => assert!(expect["properties"][fname].is_object(), "{schema:?}: `{kind}` fact `{fname}`"),
                    Some(0) => {
                        assert!(expect["additionalProperties"].is_object(), "{schema:?}: `{kind}` takes any fact")
                    }
                    Some(open) => {
                        let prefix = &fname[..open];
                        let patterns = expect["patternProperties"].as_object().unwrap();
                        let pattern = patterns
                            .keys()
                            .find(|p| {
                                regex::Regex::new(p).unwrap().is_match(&format!("{prefix}x")) && p.starts_with('^')
                            })
                            .unwrap_or_else(|| panic!("{schema:?}: `{kind}` fact family `{fname}`"));
                        assert!(!regex::Regex::new(pattern).unwrap().is_match(&prefix[..prefix.len() - 1]));
                        let root = prefix.trim_end_matches('.');
                        assert!(expect["properties"][root].is_object(), "{schema:?}: `{kind}` nested `{root}`");
                    }
                }
            }
        }
    }
}

/// The key names of a schema object's `properties`.
fn keys(schema: &Value) -> BTreeSet<String> {
    schema["properties"].as_object().unwrap_or_else(|| panic!("no properties: {schema}")).keys().cloned().collect()
}

/// The keys golive's loader lists for one place, from its "known keys here: …" hint on an
/// unknown key.
fn listed(diagnostics: &Value, place: &str) -> BTreeSet<String> {
    let d = diagnostics
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["message"].as_str().unwrap().ends_with(&format!("in {place}")))
        .unwrap_or_else(|| panic!("no unknown key reported in {place}: {diagnostics:#}"));
    let hint = d["hint"].as_str().unwrap();
    let list = hint.strip_prefix("known keys here: ").unwrap_or_else(|| panic!("{hint}"));
    list.split(", ").map(str::to_string).collect()
}

/// Every key the loader accepts, at every level, is a key of the schema there, and no other:
/// an unknown key in each place makes golive list the keys it knows.
#[test]
fn the_schemas_take_the_keys_the_loader_takes() {
    let w = Workdir::new();
    w.write("team/area/thing.toml", "[check]\nprobe = \"tcp\"\naddress = \"db:5432\"\nzzqqxx = 1\n[zzqqxx]\n");
    w.write(
        "golive.toml",
        r#"zzqqxx = 1
[checklist]
zzqqxx = "a"
checks = ["team"]
[defaults]
zzqqxx = "a"
[signoff]
zzqqxx = []
[vars]
v = { zzqqxx = "a", default = "x" }
[[item]]
id = "a"
probe = "tcp"
address = "db:5432"
zzqqxx = 1
when = { zzqqxx = "a", var = "v", is = "x" }
[[item]]
id = "b"
probe = "http"
url = "https://api.example.com"
headers = { Accept = { zzqqxx = "1", value = "text/plain" } }
[[item]]
use = "area.thing"
[[waiver]]
item = "a"
reason = "r"
approved_by = "x"
until = 2030-01-01
zzqqxx = 1
"#,
    );
    let out = w.command(&["validate", "golive.toml", "--format", "json"]).output().unwrap();
    assert!(!out.status.success());
    let d: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let s = Schema::Checklist.json();
    let defs = &s["definitions"];
    assert_eq!(listed(&d, "the checklist file"), keys(&s));
    assert_eq!(listed(&d, "[checklist]"), keys(&s["properties"]["checklist"]));
    assert_eq!(listed(&d, "[defaults]"), keys(&s["properties"]["defaults"]));
    assert_eq!(listed(&d, "[signoff]"), keys(&s["properties"]["signoff"]));
    assert_eq!(listed(&d, "var `v`"), keys(&defs["var"]["anyOf"][1]));
    assert_eq!(listed(&d, "a `when` condition"), keys(&defs["condition"]));
    assert_eq!(listed(&d, "[[waiver]]"), keys(&defs["waiver"]));
    assert_eq!(
        listed(&d, "header `Accept`"),
        keys(&defs["item.http"]["properties"]["headers"]["additionalProperties"]["anyOf"][1])
    );
    assert_eq!(listed(&d, "the check file"), keys(&Schema::Check.json()));

    // An item: "probe `tcp` takes: …; every item takes: …".
    let item = d.as_array().unwrap().iter().find(|d| d["message"] == "unknown key `zzqqxx` in item `a`").unwrap();
    let hint = item["hint"].as_str().unwrap();
    let (params, common) =
        hint.strip_prefix("probe `tcp` takes: ").unwrap().split_once("; every item takes: ").unwrap();
    let params: BTreeSet<String> = params.split(", ").map(str::to_string).collect();
    let common: BTreeSet<String> = common.split(", ").map(str::to_string).collect();
    let tcp = keys(&defs["item.tcp"]);
    let mut without_params: BTreeSet<String> = tcp.difference(&params).cloned().collect();
    assert_eq!(params.len() + without_params.len(), tcp.len(), "every tcp parameter is in item.tcp");
    // `drop_expect` goes with `use`: the `use` branch takes it, with `use` and `vars`.
    without_params.insert("drop_expect".into());
    assert_eq!(common, without_params);
    let used = keys(&defs["item.use"]);
    assert!(common.iter().all(|k| used.contains(k)) && used.contains("use") && used.contains("vars"), "{used:?}");
    // A check file's [check] is an item without `use`, and so the same keys for tcp.
    let mut check_tcp = keys(&Schema::Check.json()["definitions"]["check.tcp"]);
    check_tcp.insert("drop_expect".into());
    assert_eq!(check_tcp.difference(&params).cloned().collect::<BTreeSet<_>>(), common);
}

/// What an editor does with `#:schema ./golive.schema.json`, as taplo (the engine of Even
/// Better TOML) does it: the schema written by `golive schema` beside the checklist is read
/// from the directive, a misspelt parameter is reported on its line, and the corrected
/// checklist passes; the shipped checklists and check files pass taplo too.
#[test]
fn taplo_reads_the_schema_directive() {
    taplo_installed();
    let w = Workdir::new();
    w.write("golive.schema.json", &golive(&["schema"]));
    let item = "[[item]]\nid = \"api.health\"\nprobe = \"http\"\n";
    w.write("bad.toml", &format!("#:schema ./golive.schema.json\n{item}urll = \"https://api.example.com/health\"\n"));
    w.write("good.toml", &format!("#:schema ./golive.schema.json\n{item}url = \"https://api.example.com/health\"\n"));
    let taplo = |args: &[&str]| Command::new("taplo").args(args).current_dir(w.dir.path()).output().unwrap();
    let bad = taplo(&["check", "bad.toml"]);
    assert!(!bad.status.success(), "taplo accepts a misspelt parameter");
    assert!(
        stderr(&bad).contains("'urll' was unexpected") && stderr(&bad).contains("bad.toml:5:1"),
        "{}",
        stderr(&bad)
    );
    let good = taplo(&["check", "good.toml"]);
    assert!(good.status.success(), "{}", stderr(&good));

    let url = |schema: Schema| format!("file://{}", schema.file().display());
    let mut checklists = Vec::new();
    toml_files(&Path::new(ROOT).join("checklists"), &mut checklists);
    let mut checks = Vec::new();
    toml_files(&Path::new(ROOT).join("checks"), &mut checks);
    for (schema, files) in [(Schema::Checklist, &checklists), (Schema::Check, &checks)] {
        let out = Command::new("taplo").args(["check", "--schema", &url(schema)]).args(files).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains(&format!("total={}", files.len())), "{}", stderr(&out));
    }
}

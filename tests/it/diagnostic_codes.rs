//! One snapshot per diagnostic code: a small checklist in, what `golive validate --format
//! short` prints out (file:line:column, code, message, hint). docs/diagnostics.md lists the
//! codes; a code added without a case here fails `every_code_has_a_snapshot`.

use std::path::Path;

use golive::checklist::{LoadMode, LoadOptions, load};
use golive::diag::render_short;

/// Writes `files` (name, text) into a temp dir, validates the first one, and returns the
/// short form with the temp dir written as `DIR`.
fn validate(files: &[(&str, &str)], vars: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        if name.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let opts = LoadOptions {
        vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        mode: LoadMode::Validate,
        attestations: None,
        targets: Vec::new(),
    };
    let loaded = load(&[dir.path().join(files[0].0)], &opts);
    let text = render_short(&loaded.sources, &loaded.diagnostics);
    text.replace(&dir.path().display().to_string(), "DIR")
}

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ prepend_module_to_snapshot => false, snapshot_path => "snapshots/diagnostics", omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

const TCP: &str = "probe = \"tcp\"\naddress = \"127.0.0.1:1\"\n";

fn item(id: &str, rest: &str) -> String {
    format!("[[item]]\nid = \"{id}\"\n{rest}")
}

/// A code, the files of its checklist (the first is validated) and the --var values.
type Case = (&'static str, Vec<(&'static str, String)>, Vec<(&'static str, &'static str)>);

fn cases() -> Vec<Case> {
    let doubling: String = std::iter::once("[vars]\nv0 = \"xx\"\n".to_string())
        .chain((1..=21).map(|i| format!("v{i} = \"${{v{p}}}${{v{p}}}\"\n", p = i - 1)))
        .chain([item("a", "probe = \"tcp\"\naddress = \"${v21}\"\n")])
        .collect();
    vec![
        ("GL001", vec![("c.toml", "[[item]\nid = \"a\"\n".into())], vec![]),
        ("GL002", vec![("c.toml", item("a", &format!("{TCP}timout = \"5s\"\n")))], vec![]),
        ("GL003", vec![("c.toml", item("a", &format!("{TCP}severity = \"hihg\"\n")))], vec![]),
        ("GL004", vec![("c.toml", format!("[[item]]\n{TCP}"))], vec![]),
        ("GL005", vec![("c.toml", item("a", "probe = \"htp\"\n"))], vec![]),
        ("GL006", vec![("c.toml", item("a", &format!("{TCP}expect = {{ conected = true }}\n")))], vec![]),
        ("GL007", vec![("c.toml", item("a", &format!("{TCP}expect = {{ latency = \"fast\" }}\n")))], vec![]),
        ("GL008", vec![("c.toml", format!("{}\n{}", item("a", TCP), item("a", TCP)))], vec![]),
        ("GL009", vec![("c.toml", item("a", &format!("{TCP}depends_on = [\"db.reachble\"]\n")))], vec![]),
        (
            "GL010",
            vec![(
                "c.toml",
                format!(
                    "{}\n{}",
                    item("a", &format!("{TCP}depends_on = [\"b\"]\n")),
                    item("b", &format!("{TCP}depends_on = [\"a\"]\n"))
                ),
            )],
            vec![],
        ),
        ("GL011", vec![("c.toml", format!("[checklist]\ninclude = [\"missing.toml\"]\n\n{}", item("a", TCP)))], vec![]),
        (
            "GL012",
            vec![
                ("c.toml", format!("[checklist]\ninclude = [\"d.toml\"]\n\n{}", item("a", TCP))),
                ("d.toml", "[checklist]\ninclude = [\"c.toml\"]\n".into()),
            ],
            vec![],
        ),
        ("GL013", vec![("c.toml", item("a", "probe = \"tcp\"\naddress = \"${db_hots}:5432\"\n"))], vec![]),
        (
            "GL014",
            vec![("c.toml", item("a", "probe = \"tcp\"\naddress = \"${env:GOLIVE_TEST_UNSET_VARIABLE}:1\"\n"))],
            vec![],
        ),
        (
            "GL015",
            vec![
                ("c.toml", format!("[checklist]\ninclude = [\"x.toml\", \"y.toml\"]\n\n{}", item("a", TCP))),
                ("x.toml", "[vars]\nhost = \"a.example\"\n".into()),
                ("y.toml", "[vars]\nhost = \"b.example\"\n".into()),
            ],
            vec![],
        ),
        (
            "GL016",
            vec![(
                "c.toml",
                format!("[vars]\nhost = {{ description = \"the database host\" }}\n\n{}", item("a", "probe = \"tcp\"\naddress = \"${host}:5432\"\n")),
            )],
            vec![],
        ),
        ("GL017", vec![], vec![]),
        (
            "GL018",
            vec![(
                "c.toml",
                format!("{}\n[[waiver]]\nitem = \"b\"\nreason = \"r\"\napproved_by = \"CTO\"\nuntil = 2099-12-31\n", item("a", TCP)),
            )],
            vec![],
        ),
        (
            "GL019",
            vec![(
                "c.toml",
                format!(
                    "{}\n[[waiver]]\nitem = \"a\"\nreason = \"r\"\napproved_by = \"CTO\"\nuntil = 2099-12-31\n\n[[waiver]]\nitem = \"a\"\nreason = \"r\"\napproved_by = \"CTO\"\nuntil = 2099-12-31\n",
                    item("a", TCP)
                ),
            )],
            vec![],
        ),
        (
            "GL020",
            vec![
                ("c.toml", item("ops.rollback", "probe = \"manual\"\ntitle = \"Rollback tested\"\n")),
                (
                    "c.attestations.toml",
                    "[[attestation]]\nitem = \"ops.rolback\"\nby = \"A\"\nat = 2026-11-21T10:00:00Z\nevidence = \"e\"\n".into(),
                ),
            ],
            vec![],
        ),
        ("GL021", vec![("c.toml", "[[item]]\nuse = \"security.tls-not-expring\"\n".into())], vec![]),
        (
            "GL022",
            vec![
                ("c.toml", item("a", "probe = \"exec\"\nprogram = \"./probe.sh\"\n")),
                ("probe.sh", "#!/bin/sh\necho 'not json'\n".into()),
            ],
            vec![],
        ),
        ("GL023", vec![("c.toml", doubling)], vec![]),
        (
            "GL013-var",
            vec![("c.toml", format!("[vars]\nmigrations_table = \"m\"\n\n{}", item("a", TCP)))],
            vec![("migration_table", "x")],
        ),
    ]
}

#[test]
fn each_code_snapshot() {
    for (code, files, vars) in cases() {
        let text = if code == "GL017" {
            let opts =
                LoadOptions { vars: Vec::new(), mode: LoadMode::Validate, attestations: None, targets: Vec::new() };
            let loaded = load(&[Path::new("no/such/checklist.toml").to_path_buf()], &opts);
            render_short(&loaded.sources, &loaded.diagnostics)
        } else {
            let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
            validate(&files, &vars)
        };
        let base = code.split('-').next().unwrap();
        assert!(text.contains(&format!("[{base}]")), "{code}: {text}");
        snapshot(code, text);
    }
}

#[test]
fn every_code_has_a_snapshot() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/diagnostics.md")).unwrap();
    let covered: Vec<&str> = cases().iter().map(|(c, _, _)| *c).collect();
    let mut documented = 0;
    for n in 1..100 {
        let code = format!("GL{n:03}");
        if docs.contains(&format!("### {code}\n")) {
            documented += 1;
            assert!(covered.contains(&code.as_str()), "{code} is documented but has no snapshot case");
        }
    }
    assert!(documented >= 23, "docs/diagnostics.md lists {documented} codes");
}

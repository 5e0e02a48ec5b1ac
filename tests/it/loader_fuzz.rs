//! A bounded fuzz test of the checklist loader, through its public API only
//! (`golive::checklist::load`): many mutated checklists, from the shipped ones
//! (checklists/*.toml, checks/**/*.toml) and small hand-written seeds with vars, includes,
//! depends_on, waivers, attestations, sign-off and catalogue checks (`use =`), mutated by
//! byte flips, deleted, duplicated and swapped lines, swapped values, `${…}` references,
//! deep nesting, huge numbers, unicode, truncation and spliced-in TOML.
//!
//! For every case the loader must not panic, must return within a generous bound (it runs
//! on a worker thread, waited for with `recv_timeout`), and every diagnostic it returns
//! must render (`render_short`, `render`, `to_json`) and point inside its file. A result
//! without a checklist must say why (an error), and one with errors has no checklist.
//!
//! Deterministic by default (fixed seed, bounded case count). To fuzz longer:
//!
//!     GOLIVE_FUZZ_CASES=20000 GOLIVE_FUZZ_SEED=7 cargo test --release --test loader_fuzz
//!
//! Failing cases are written to a directory that is kept and named in the failure message.
//! Items that would run a program while loading (`exec` items run `PROGRAM --describe`) are
//! never generated: cases containing `program` or a `\u` escape are skipped.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use golive::checklist::{LoadMode, LoadOptions, Loaded, load};
use golive::diag::{Level, render, render_short, to_json};

/// Cases run by default: a few seconds in a debug build on two cores.
const DEFAULT_CASES: usize = 500;
const DEFAULT_SEED: u64 = 0x601d_11fe;
/// How long one load may take before it counts as a hang: generous, for slow machines.
const CASE_BOUND: Duration = Duration::from_secs(10);

// ── A small deterministic generator (splitmix64) ───────────────────────────────────────

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ── Seeds ──────────────────────────────────────────────────────────────────────────────

/// A set of files written together; `root` is loaded, `mutable` are the files a case may
/// mutate (the root and the files it includes).
#[derive(Clone)]
struct Seed {
    name: String,
    files: Vec<(String, Vec<u8>)>,
    root: String,
    mutable: Vec<String>,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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

const SEED_ROOT: &str = r#"[checklist]
name = "fuzz seed"
version = "1.2.3"
description = "vars, includes, defaults, catalogue checks, waivers, sign-off"
include = ["inc/db.toml"]
checks = ["catalogue"]
attestations = "seed.attestations.toml"

[vars]
api = "https://api.example.test"
base = "${api}/v1"
port = { description = "the API's port", default = "443" }
secret = "${env:GOLIVE_FUZZ_SECRET}"
host = { description = "where the API runs" }

[defaults]
timeout = "5s"
retries = 1
retry_delay = "100ms"
severity = "high"
section = "infrastructure"

[[item]]
id = "infra.health"
title = "Health endpoint of ${base}"
probe = "http"
url = "${base}/health"
tags = ["smoke", "api"]
references = ["https://example.test/runbook"]
expect = { status = 200, latency = "< 500ms", body = { contains = "ok" } }

[[item]]
id = "net.port"
probe = "tcp"
address = "127.0.0.1:${port}"
depends_on = ["infra.health", "db.reachable"]
severity = "critical"
timeout = "2s"
expect = { open = true, latency = "< 1s" }

[[item]]
id = "security.tls"
use = "security.tls-certificate"
vars = { address = "${host}:443", min_days = 30 }
expect = { days_remaining = ">= 14" }

[[item]]
id = "local.ping"
use = "local.ping"
vars = { target = "${host}" }

[[item]]
id = "ops.rollback"
probe = "manual"
title = "Rollback procedure tested"
owner = "Operations Lead"
rationale = "a release that cannot be undone is a bet"

[[waiver]]
item = "net.port"
reason = "the port opens after DNS moves"
approved_by = "CTO"
until = "2099-12-31"

[signoff]
roles = ["Technical Lead", "Operations Lead", "Security Lead"]
"#;

const SEED_DB: &str = r#"[vars]
db_url = "postgres://app:${secret}@db.example.test:5432/app"

[[item]]
id = "db.reachable"
section = "database"
probe = "tcp"
address = "db.example.test:5432"
expect = { open = true }

[[item]]
id = "db.version"
section = "database"
probe = "postgres"
url = "${db_url}"
depends_on = ["db.reachable"]
expect = { server_version = ">= 14", extensions = { includes = ["pgcrypto"] }, role_superuser = false }
"#;

const SEED_CHECK: &str = r#"# A team's own check.
[check]
id = "local.ping"
section = "network"
title = "${target} answers on 443"
severity = "medium"
probe = "tcp"
address = "${target}:443"
expect = { open = true }

[vars]
target = { description = "the host to reach" }
"#;

const SEED_ATTESTATIONS: &str = r#"[[attestation]]
item = "ops.rollback"
by = "Dana"
at = 2025-05-01T10:00:00Z
evidence = "https://tickets.example.test/OPS-1"
note = "staging rolled back"
until = 2099-12-31
"#;

/// A checklist of many small items with dependencies and tags.
fn seed_many_items() -> String {
    let mut s = String::from("[checklist]\nname = \"many\"\n[vars]\nh = \"example.test\"\n");
    for i in 0..40 {
        s.push_str(&format!(
            "\n[[item]]\nid = \"s{}.i{i}\"\nsection = \"s{}\"\ntitle = \"item {i} on ${{h}}\"\nprobe = \"{}\"\n",
            i % 4,
            i % 4,
            ["http", "tcp", "tls"][i % 3]
        ));
        match i % 3 {
            0 => s.push_str("url = \"https://${h}/\"\nexpect = { status = 200 }\n"),
            1 => s.push_str("address = \"${h}:80\"\nexpect = { open = true }\n"),
            _ => s.push_str("address = \"${h}:443\"\nexpect = { days_remaining = \">= 30\" }\n"),
        }
        if i > 0 && i % 5 == 0 {
            s.push_str(&format!("depends_on = [\"s{}.i{}\"]\ntags = [\"t{}\"]\n", (i - 1) % 4, i - 1, i % 3));
        }
    }
    s
}

fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    // Each shipped checklist, with its siblings so that its includes resolve.
    let mut shipped = Vec::new();
    toml_files(&repo().join("checklists"), &mut shipped);
    let siblings: Vec<(String, Vec<u8>)> = shipped
        .iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(p).unwrap()))
        .collect();
    for (name, _) in &siblings {
        seeds.push(Seed {
            name: format!("checklists/{name}"),
            files: siblings.clone(),
            root: name.clone(),
            mutable: siblings.iter().map(|(n, _)| n.clone()).collect(),
        });
    }
    // Each catalogue check: as a team's own check that an item uses, and loaded directly
    // as if it were a checklist.
    let mut checks = Vec::new();
    toml_files(&repo().join("checks"), &mut checks);
    for path in &checks {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("id = \"").and_then(|r| r.strip_suffix('"')))
            .unwrap_or("x.y")
            .to_string();
        let area = id.split('.').next().unwrap_or("x").to_string();
        let name = id.split('.').nth(1).unwrap_or("y").to_string();
        let check_path = format!("mine/{area}/{name}.toml");
        let root = format!(
            "[checklist]\nname = \"uses {id}\"\nchecks = [\"mine\"]\n\n[[item]]\nid = \"it.{name}\"\nuse = \"{id}\"\n"
        );
        let shown = path.strip_prefix(repo()).unwrap().display().to_string();
        seeds.push(Seed {
            name: format!("{shown} (used)"),
            files: vec![("golive.toml".into(), root.into_bytes()), (check_path.clone(), bytes.clone())],
            root: "golive.toml".into(),
            mutable: vec![check_path, "golive.toml".into()],
        });
        seeds.push(Seed {
            name: format!("{shown} (as a checklist)"),
            files: vec![("golive.toml".into(), bytes)],
            root: "golive.toml".into(),
            mutable: vec!["golive.toml".into()],
        });
    }
    // Hand-written seeds.
    let hand = vec![
        ("golive.toml".to_string(), SEED_ROOT.as_bytes().to_vec()),
        ("inc/db.toml".to_string(), SEED_DB.as_bytes().to_vec()),
        ("catalogue/local/ping.toml".to_string(), SEED_CHECK.as_bytes().to_vec()),
        ("seed.attestations.toml".to_string(), SEED_ATTESTATIONS.as_bytes().to_vec()),
    ];
    for _ in 0..4 {
        // Weighted: these touch every part of the loader.
        seeds.push(Seed {
            name: "hand-written seed".into(),
            files: hand.clone(),
            root: "golive.toml".into(),
            mutable: hand.iter().map(|(n, _)| n.clone()).collect(),
        });
    }
    seeds.push(Seed {
        name: "many items".into(),
        files: vec![("golive.toml".into(), seed_many_items().into_bytes())],
        root: "golive.toml".into(),
        mutable: vec!["golive.toml".into()],
    });
    seeds.push(Seed {
        name: "includes a built-in checklist".into(),
        files: vec![(
            "golive.toml".into(),
            b"[checklist]\nname = \"b\"\ninclude = [\"golive:database\", \"golive:security\"]\n[vars]\ndatabase_url = \"postgres://a@b/c\"\n".to_vec(),
        )],
        root: "golive.toml".into(),
        mutable: vec!["golive.toml".into()],
    });
    seeds
}

// ── Mutations ──────────────────────────────────────────────────────────────────────────

const REFERENCES: &[&str] = &[
    "${api}",
    "${base}",
    "${h}",
    "${host}",
    "${nope}",
    "${env:GOLIVE_FUZZ_SECRET}",
    "${env:HOME}",
    "${env:}",
    "${}",
    "${",
    "}",
    "$${api}",
    "${${api}}",
    "${api",
    "${env:GOLIVE_FUZZ_UNSET_0}",
    "${target}",
    "${port}${port}${port}",
];

const HUGE: &[&str] = &[
    "99999999999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "-0",
    "0x7fffffffffffffff",
    "\"18446744073709551615s\"",
    "\"99999999999999999999h\"",
    "\"1e300ms\"",
    "\">= 99999999999999999999\"",
    "\"< 18446744073709551616ms\"",
    "\">= 9999999999999TiB\"",
    "4294967296",
    "-1",
];

const UNICODE: &[&str] = &[
    "é",
    "\u{202e}",
    "\u{200b}",
    "\u{feff}",
    "😀",
    "日本",
    "\u{0301}",
    "\u{10ffff}",
    "Ω≈ç√",
    "\u{7f}",
    "\t",
    "\r",
    "\r\n",
    "\0",
];

const SNIPPETS: &[&str] = &[
    "[[item]]\n",
    "[[item]]\nid = \"dup\"\nprobe = \"tcp\"\naddress = \"a:1\"\n",
    "[[item]]\nid = \"dup\"\nprobe = \"manual\"\n",
    "[vars]\n",
    "[vars]\na = \"${b}\"\nb = \"${a}\"\n",
    "[vars]\nself = \"${self}\"\n",
    "[defaults]\ntimeout = \"0s\"\nretries = 9999999999\n",
    "[[waiver]]\nitem = \"infra.health\"\nreason = \"r\"\napproved_by = \"x\"\nuntil = 1970-01-01\n",
    "[[waiver]]\nitem = \"nope\"\n",
    "[signoff]\nroles = []\n",
    "[signoff]\nroles = [\"A\", \"A\", 1]\n",
    "[checklist]\ninclude = [\"golive.toml\"]\n",
    "[checklist]\ninclude = [\"inc/db.toml\", \"inc/db.toml\", \"../golive.toml\", \"missing.toml\", \"golive:nope\"]\n",
    "[checklist]\nchecks = [\"catalogue\", \"nowhere\", \"golive.toml\"]\n",
    "depends_on = [\"infra.health\", \"net.port\", \"security.tls\"]\n",
    "depends_on = [\"self\"]\nid = \"self\"\n",
    "use = \"cache.redis-maxmemory\"\n",
    "use = \"security.tls-certificate\"\n",
    "use = \"local.ping\"\n",
    "use = \"nope.nope\"\n",
    "vars = { target = \"${host}\", min_days = 1 }\n",
    "expect = { status = \"2xx\", latency = \"< 1s\", body = { contains = \"ok\", matches = \"(\" } }\n",
    "expect = { open = [true, false], \"a.b\" = 1 }\n",
    "expect = { \"stdout_json./a/b\" = true }\n",
    "tags = [\"a\", 1, { x = 1 }]\n",
    "when = \"${api}\"\n",
    "severity = \"criticality\"\n",
    "timeout = \"\"\n",
    "a.b.c.d = 1\n",
    "[item]\n",
    "[[checklist]]\n",
    "item = 1\n",
    "x = \"\"\"\nmulti\nline\n\"\"\"\n",
    "x = '''\n${api}\n'''\n",
];

/// `depth` nested inline tables or arrays.
fn nested(rng: &mut Rng, depth: usize) -> String {
    let (open, close) = if rng.chance(50) { ("{ a = ", " }") } else { ("[", "]") };
    format!("{}1{}", open.repeat(depth), close.repeat(depth))
}

fn line_spans(text: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, b) in text.iter().enumerate() {
        if *b == b'\n' {
            spans.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < text.len() {
        spans.push((start, text.len()));
    }
    spans
}

/// Byte offsets just after a ` = `, where a value starts.
fn value_starts(text: &[u8]) -> Vec<usize> {
    text.windows(3).enumerate().filter(|(_, w)| *w == b" = ").map(|(i, _)| i + 3).collect()
}

/// The value starting at `start`: to the end of its line.
fn value_end(text: &[u8], start: usize) -> usize {
    text[start..].iter().position(|b| *b == b'\n').map_or(text.len(), |p| start + p)
}

/// Positions inside double-quoted strings (after a quote), to put references in.
fn string_starts(text: &[u8]) -> Vec<usize> {
    text.iter().enumerate().filter(|(_, b)| **b == b'"').map(|(i, _)| i + 1).collect()
}

fn insert(text: &mut Vec<u8>, at: usize, what: &[u8]) {
    let at = at.min(text.len());
    text.splice(at..at, what.iter().copied());
}

/// One mutation of `text`; returns its name.
fn mutate(rng: &mut Rng, text: &mut Vec<u8>) -> &'static str {
    let lines = line_spans(text);
    match rng.below(16) {
        0 if !text.is_empty() => {
            let at = rng.below(text.len());
            text[at] = (rng.next() & 0xff) as u8;
            "byte"
        }
        1 if !text.is_empty() => {
            let at = rng.below(text.len());
            text[at] ^= 1 << rng.below(8);
            "bit"
        }
        2 if !lines.is_empty() => {
            let (s, e) = *rng.pick(&lines);
            text.drain(s..e);
            "delete line"
        }
        3 if !lines.is_empty() => {
            let (s, e) = *rng.pick(&lines);
            let line = text[s..e].to_vec();
            let (at, _) = *rng.pick(&lines);
            insert(text, at, &line);
            "duplicate line"
        }
        4 if lines.len() > 1 => {
            let (a, b) = (*rng.pick(&lines), *rng.pick(&lines));
            let (first, second) = if a.0 <= b.0 { (a, b) } else { (b, a) };
            if first == second {
                return "swap lines (same)";
            }
            let mut out = text[..first.0].to_vec();
            out.extend_from_slice(&text[second.0..second.1]);
            out.extend_from_slice(&text[first.1..second.0]);
            out.extend_from_slice(&text[first.0..first.1]);
            out.extend_from_slice(&text[second.1..]);
            *text = out;
            "swap lines"
        }
        5 => {
            let starts = value_starts(text);
            if starts.len() < 2 {
                return "swap values (none)";
            }
            let (a, b) = (*rng.pick(&starts), *rng.pick(&starts));
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            let (a_end, b_end) = (value_end(text, a), value_end(text, b));
            if a == b || a_end >= b {
                return "swap values (same)";
            }
            let mut out = text[..a].to_vec();
            out.extend_from_slice(&text[b..b_end]);
            out.extend_from_slice(&text[a_end..b]);
            out.extend_from_slice(&text[a..a_end]);
            out.extend_from_slice(&text[b_end..]);
            *text = out;
            "swap values"
        }
        6 | 7 => {
            let starts = string_starts(text);
            let at = if starts.is_empty() { 0 } else { *rng.pick(&starts) };
            let reference = *rng.pick(REFERENCES);
            insert(text, at, reference.as_bytes());
            "reference"
        }
        8 => {
            let starts = value_starts(text);
            let depth = *rng.pick(&[8usize, 64, 300, 2_000, 20_000]);
            let value = nested(rng, depth);
            match starts.is_empty() {
                true => insert(text, text.len(), format!("\nx = {value}\n").as_bytes()),
                false => {
                    let at = *rng.pick(&starts);
                    let end = value_end(text, at);
                    text.splice(at..end, value.into_bytes());
                }
            }
            "deep nesting"
        }
        9 => {
            let depth = *rng.pick(&[8usize, 100, 1_000]);
            let headers: String = (0..depth).map(|i| format!("k{i}.")).collect();
            insert(text, text.len(), format!("\n[{headers}end]\nx = 1\n").as_bytes());
            "deep table header"
        }
        10 | 11 => {
            let starts = value_starts(text);
            let huge = rng.pick(HUGE).as_bytes();
            match starts.is_empty() {
                true => insert(text, text.len(), b"\nretries = 99999999999999999999\n"),
                false => {
                    let at = *rng.pick(&starts);
                    let end = value_end(text, at);
                    text.splice(at..end, huge.iter().copied());
                }
            }
            "huge number"
        }
        12 => {
            let at = if rng.chance(50) || text.is_empty() {
                let starts = string_starts(text);
                if starts.is_empty() { 0 } else { *rng.pick(&starts) }
            } else {
                rng.below(text.len())
            };
            let what = rng.pick(UNICODE).as_bytes();
            insert(text, at, what);
            "unicode"
        }
        13 if !text.is_empty() => {
            let at = rng.below(text.len());
            text.truncate(at);
            "truncate"
        }
        14 | 15 => {
            let snippet = rng.pick(SNIPPETS).as_bytes();
            let at = if lines.is_empty() { 0 } else { rng.pick(&lines).0 };
            insert(text, at, snippet);
            "snippet"
        }
        _ => "none",
    }
}

// ── Running one case ───────────────────────────────────────────────────────────────────

struct Case {
    number: usize,
    seed_name: String,
    mutations: Vec<String>,
    files: Vec<(String, Vec<u8>)>,
    root: String,
    opts: LoadOptions,
}

/// Would loading this case run a program? (`exec` items run `PROGRAM --describe`.)
fn runs_a_program(case: &Case) -> bool {
    case.files.iter().any(|(_, bytes)| {
        let text = String::from_utf8_lossy(bytes).to_lowercase();
        text.contains("program") || text.contains("\\u")
    })
}

fn write_case(dir: &Path, case: &Case) {
    for (name, bytes) in &case.files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// What is wrong with one load's result, if anything.
fn check_result(loaded: &Loaded) -> Result<(), String> {
    let short = render_short(&loaded.sources, &loaded.diagnostics);
    let _ = render(&loaded.sources, &loaded.diagnostics);
    let json = to_json(&loaded.sources, &loaded.diagnostics);
    for d in &loaded.diagnostics {
        let one = render_short(&loaded.sources, std::slice::from_ref(d));
        if !one.contains(&format!("[{}]: ", d.code.as_str())) || !short.contains(&one) {
            return Err(format!("diagnostic renders without its code: {one:?}"));
        }
        for loc in d.loc.iter().chain(d.related.iter().map(|(l, _)| l)) {
            let text = loaded.sources.text(loc.file);
            if loc.span.start > loc.span.end
                || loc.span.end > text.len()
                || !text.is_char_boundary(loc.span.start)
                || !text.is_char_boundary(loc.span.end)
            {
                return Err(format!(
                    "diagnostic points outside its file or inside a character: {:?} in a file of {} bytes: {one}",
                    loc.span,
                    text.len()
                ));
            }
        }
    }
    if json.as_array().map(Vec::len) != Some(loaded.diagnostics.len()) {
        return Err(format!("to_json gave {json} for {} diagnostics", loaded.diagnostics.len()));
    }
    let errors = loaded.diagnostics.iter().filter(|d| d.level == Level::Error).count();
    match (&loaded.checklist, errors) {
        (Some(_), n) if n > 0 => Err(format!("a checklist despite {n} errors:\n{short}")),
        (None, 0) => Err(format!("no checklist and no error to say why:\n{short}")),
        _ => Ok(()),
    }
}

enum Verdict {
    Ok { diagnostics: usize },
    Wrong(String),
    Panicked(String),
    Hung,
}

fn run_case(dir: &Path, case: &Case) -> Verdict {
    let paths = vec![dir.join(&case.root)];
    let opts = case.opts.clone();
    let (tx, rx) = mpsc::channel();
    // A thread of the size libtest gives a test; golive's own main thread has 8 MiB.
    let worker = std::thread::Builder::new().name(format!("case-{}", case.number)).spawn(move || {
        let outcome = std::panic::catch_unwind(move || {
            let loaded = load(&paths, &opts);
            check_result(&loaded).map(|()| loaded.diagnostics.len())
        });
        let _ = tx.send(outcome);
    });
    if let Err(e) = worker {
        return Verdict::Wrong(format!("cannot start a worker thread: {e}"));
    }
    match rx.recv_timeout(CASE_BOUND) {
        Ok(Ok(Ok(diagnostics))) => Verdict::Ok { diagnostics },
        Ok(Ok(Err(why))) => Verdict::Wrong(why),
        Ok(Err(panic)) => Verdict::Panicked(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into()),
        ),
        // The worker still runs; it is left behind (the process ends with the tests).
        Err(_) => Verdict::Hung,
    }
}

fn make_case(rng: &mut Rng, seeds: &[Seed], number: usize) -> Case {
    let seed = rng.pick(seeds).clone();
    let mut files = seed.files.clone();
    let mut mutations = Vec::new();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let target = rng.pick(&seed.mutable).clone();
        let file = files.iter_mut().find(|(n, _)| *n == target).unwrap();
        let what = mutate(rng, &mut file.1);
        mutations.push(format!("{what} in {target}"));
    }
    let mode = if rng.chance(50) { LoadMode::Run } else { LoadMode::Validate };
    let mut vars = Vec::new();
    if rng.chance(30) {
        let name = rng.pick(&["api", "host", "port", "secret", "nope", "", "${api}", "h"]).to_string();
        let value = rng.pick(&["x", "", "${api}", "${host}", "127.0.0.1", "é\u{202e}", "99999999999999999999"]);
        vars.push((name, value.to_string()));
    }
    let attestations = rng.chance(5).then(|| PathBuf::from(*rng.pick(&["missing.toml", "golive.toml", "."])));
    Case {
        number,
        seed_name: seed.name,
        mutations,
        files,
        root: seed.root,
        opts: LoadOptions { vars, mode, attestations, targets: Vec::new() },
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

#[test]
fn the_loader_survives_mutated_checklists() {
    let cases = env_number("GOLIVE_FUZZ_CASES", DEFAULT_CASES as u64) as usize;
    let seed = env_number("GOLIVE_FUZZ_SEED", DEFAULT_SEED);
    let seeds = seeds();
    assert!(seeds.len() > 100, "seeds from checklists/ and checks/: {}", seeds.len());
    let mut rng = Rng(seed);
    let scratch = tempfile::Builder::new().prefix("golive-loader-fuzz-").tempdir().unwrap();
    let mut findings = Vec::new();
    let (mut loaded, mut skipped, mut with_diagnostics) = (0, 0, 0);
    for number in 0..cases {
        let case = make_case(&mut rng, &seeds, number);
        if runs_a_program(&case) {
            skipped += 1;
            continue;
        }
        let dir = scratch.path().join(format!("case-{number}"));
        write_case(&dir, &case);
        let verdict = run_case(&dir, &case);
        let problem = match verdict {
            Verdict::Ok { diagnostics } => {
                loaded += 1;
                with_diagnostics += usize::from(diagnostics > 0);
                let _ = std::fs::remove_dir_all(&dir);
                continue;
            }
            Verdict::Wrong(why) => format!("wrong result: {why}"),
            Verdict::Panicked(message) => format!("panicked: {message}"),
            Verdict::Hung => format!("no result after {CASE_BOUND:?}"),
        };
        findings.push(format!(
            "case {number} (seed {seed}, from {}; {}; {:?}) {problem}\n  files in {}",
            case.seed_name,
            case.mutations.join(", "),
            case.opts.mode,
            dir.display()
        ));
    }
    eprintln!(
        "loader fuzz: seed {seed}, {cases} cases: {loaded} loaded ({with_diagnostics} with diagnostics), {skipped} skipped, {} findings",
        findings.len()
    );
    // Most cases must really have been loaded, and most mutations must have been noticed.
    assert!(loaded + findings.len() >= cases * 9 / 10, "too many skipped: {skipped} of {cases}");
    assert!(with_diagnostics >= loaded / 2, "only {with_diagnostics} of {loaded} mutated cases had diagnostics");
    if !findings.is_empty() {
        let kept = scratch.keep();
        panic!("{} findings (cases kept in {}):\n{}", findings.len(), kept.display(), findings.join("\n"));
    }
}

/// An include that names a FIFO (or /dev/stdin, or a terminal) must not block the loader
/// forever: golive validate in CI would hang instead of reporting the checklist invalid.
///
/// (`std::fs::read` blocks in `open` until a writer comes; the loader reads through
/// `fsread`, which refuses what is not a regular file.)
#[test]
fn an_include_naming_a_fifo_does_not_block_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    nix::unistd::mkfifo(&dir.path().join("pipe.toml"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    std::fs::write(dir.path().join("golive.toml"), "[checklist]\nname = \"f\"\ninclude = [\"pipe.toml\"]\n").unwrap();
    let case = Case {
        number: 0,
        seed_name: "fifo".into(),
        mutations: Vec::new(),
        files: Vec::new(),
        root: "golive.toml".into(),
        opts: LoadOptions { vars: Vec::new(), mode: LoadMode::Validate, attestations: None, targets: Vec::new() },
    };
    match run_case(dir.path(), &case) {
        Verdict::Ok { diagnostics } => assert!(diagnostics > 0, "a FIFO include must be an error"),
        Verdict::Wrong(why) => panic!("{why}"),
        Verdict::Panicked(message) => panic!("panicked: {message}"),
        Verdict::Hung => panic!("the loader blocks on an include that names a FIFO"),
    }
}

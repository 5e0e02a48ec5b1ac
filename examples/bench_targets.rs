//! Benchmark harness for `golive run`: starts local targets on 127.0.0.1 (the integration
//! tests' support servers), writes a generated checklist, runs the release `golive` binary on
//! it and measures wall time, peak RSS and CPU time of the golive process and items per
//! second. It then reads golive's JSON report and checks every outcome against what the
//! scenario expects; a mismatch is printed and makes the exit status non-zero.
//!
//! Usage:
//!   bench_targets [--golive PATH] [--runs N] [--concurrency N] [--keep] [--strict] [SCENARIO...]
//!
//! Scenarios (default: all):
//!   mixed1000  1,000 items: 500 http, 200 tcp (150 open, 50 closed), 200 tls,
//!              100 file/env/host. Every item must pass.
//!              Target: well under 2 s wall, < 60 MB peak RSS on 2 cores.
//!   hung10     10 items (5 http, 5 tls) against a listener that accepts and never answers,
//!              each with timeout = "2s". Every item must end `error: timed out`.
//!              Target: about 2 s wall (the timeouts run concurrently), not 20 s.
//!
//! The golive binary is `--golive PATH`, else `$GOLIVE_BIN`, else `golive` next to the
//! directory of this example (target/release/golive), else `<crate>/target/release/golive`.
//! `--keep` keeps each scenario's directory (checklist, report, logs) and prints its path;
//! the targets are gone once the scenario ends, so re-running the checklist needs a new run.
//! `--strict` also exits non-zero when a timing or memory target is missed.
//!
//! Measuring: golive is spawned by a small helper process (this executable, started first in
//! `main`) and reaped with `wait4(2)`, which gives its wall time, peak RSS (`ru_maxrss`) and
//! user+sys CPU time. See `mod spawner` for why not straight from this process.
//!
//! Exit status: 0 all outcomes as expected (and targets met with --strict), 1 otherwise,
//! 2 bad usage or setup failure.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use support::{HttpServer, HungListener, Route, TestPki, TlsServer, closed_port};

const SCENARIOS: &[&str] = &["mixed1000", "hung10", "scale1k", "scale10k", "scale50k"];

/// Targets from bench/README.md.
const MIXED_WALL_TARGET: Duration = Duration::from_secs(2);
const MIXED_RSS_TARGET_MIB: f64 = 60.0;
const HUNG_TIMEOUT: Duration = Duration::from_secs(2);
/// "About 2 s": the timeout plus start-up and report, with some slack for a loaded machine.
const HUNG_WALL_TARGET: Duration = Duration::from_millis(2600);
/// Issue 15, for `scale50k` (mixed http/tcp/tls, JSON and table written): peak RSS and
/// golive's CPU per item.
const SCALE_RSS_TARGET_MIB: f64 = 150.0;
const SCALE_CPU_US_TARGET: f64 = 80.0;

struct Options {
    golive: PathBuf,
    runs: usize,
    concurrency: Option<u32>,
    keep: bool,
    strict: bool,
    scenarios: Vec<String>,
    spawner: Arc<spawner::Spawner>,
}

/// What one run of one scenario measured.
struct Measurement {
    scenario: &'static str,
    run: usize,
    items: usize,
    wall: Duration,
    /// The engine's own duration from the report (`duration_ms`): probes only, no start-up,
    /// loading or rendering.
    engine: Duration,
    peak_rss_kib: Option<u64>,
    cpu: Option<Duration>,
    notes: Vec<String>,
    /// Outcome mismatches: the run is wrong, not just slow.
    problems: Vec<String>,
    /// Targets missed (wall time, memory).
    misses: Vec<String>,
}

impl Measurement {
    fn new(scenario: &'static str, run: usize, items: usize, out: &GoliveRun) -> Measurement {
        let mut notes = Vec::new();
        if let (Some(peak), Some(floor)) = (out.max_rss_kib, out.rss_floor_kib)
            && peak <= floor + 1024
        {
            notes.push(format!("rss is only a bound: <= spawner floor {:.1}MB", floor as f64 / 1024.0));
        }
        if let Some(n) = out.listen_overflows.filter(|n| *n > 0) {
            // A connection the target did not accept in time: the client's SYN is dropped
            // and retried after 1 s, which shows up as ~1 s latency and wall time.
            notes.push(format!("{n} listen-queue overflows (system-wide; 1 s SYN retries)"));
        }
        Measurement {
            scenario,
            run,
            items,
            wall: out.wall,
            engine: Duration::ZERO,
            peak_rss_kib: out.max_rss_kib,
            cpu: out.cpu,
            notes,
            problems: Vec::new(),
            misses: Vec::new(),
        }
    }

    fn items_per_s(&self) -> f64 {
        self.items as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn rss_mib(&self) -> Option<f64> {
        self.peak_rss_kib.map(|k| k as f64 / 1024.0)
    }
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(spawner::HELPER_ARG) {
        return spawner::serve();
    }
    // Start the helper that spawns golive before this process grows: see `spawner`.
    let spawner = match spawner::Spawner::start() {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("bench_targets: cannot start the spawner helper: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench_targets: cannot start the tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(bench(spawner.clone()));
    drop(runtime);
    spawner.stop();
    code
}

async fn bench(spawner: Arc<spawner::Spawner>) -> ExitCode {
    let opts = match parse_args(spawner) {
        Ok(o) => o,
        Err(e) => {
            let usage = format!(
                "usage: bench_targets [--golive PATH] [--runs N] [--concurrency N] [--keep] [--strict] [{}|all]...\n(see the top of examples/bench_targets.rs)",
                SCENARIOS.join("|")
            );
            if e == "help" {
                println!("{usage}");
                return ExitCode::SUCCESS;
            }
            eprintln!("bench_targets: {e}\n{usage}");
            return ExitCode::from(2);
        }
    };
    if !opts.golive.is_file() {
        eprintln!(
            "bench_targets: golive binary not found at {}; build it with `cargo build --release` or pass --golive PATH",
            opts.golive.display()
        );
        return ExitCode::from(2);
    }
    println!(
        "golive: {}  runs: {}  cpus: {}",
        opts.golive.display(),
        opts.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let mut all = Vec::new();
    for scenario in &opts.scenarios {
        for run in 1..=opts.runs {
            let result = match scenario.as_str() {
                "mixed1000" => mixed1000(&opts, run).await,
                "hung10" => hung10(&opts, run).await,
                "scale1k" => scale(&opts, run, "scale1k", 1_000).await,
                "scale10k" => scale(&opts, run, "scale10k", 10_000).await,
                "scale50k" => scale(&opts, run, "scale50k", 50_000).await,
                other => unreachable!("scenario {other} was validated"),
            };
            match result {
                Ok(m) => {
                    for p in &m.problems {
                        println!("FAIL {} run {}: {p}", m.scenario, m.run);
                    }
                    all.push(m);
                }
                Err(e) => {
                    eprintln!("bench_targets: {scenario} run {run}: setup failed: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }

    print_table(&all);
    if opts.runs > 1 {
        print_summary(&all);
    }
    let wrong = all.iter().any(|m| !m.problems.is_empty());
    let missed = all.iter().any(|m| !m.misses.is_empty());
    if wrong {
        println!("RESULT: FAILED: some outcomes were not what the scenario expects (see FAIL lines)");
        ExitCode::from(1)
    } else if missed {
        println!("RESULT: outcomes as expected; some targets MISSED (see notes)");
        ExitCode::from(if opts.strict { 1 } else { 0 })
    } else {
        println!("RESULT: ok: outcomes as expected, targets met");
        ExitCode::SUCCESS
    }
}

fn parse_args(spawner: Arc<spawner::Spawner>) -> Result<Options, String> {
    let mut golive = None;
    let mut runs = 1;
    let mut concurrency = None;
    let mut keep = false;
    let mut strict = false;
    let mut scenarios = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--golive" => golive = Some(PathBuf::from(value("--golive")?)),
            "--runs" => {
                runs = value("--runs")?.parse().ok().filter(|n| *n >= 1).ok_or("--runs needs a positive integer")?;
            }
            "--concurrency" => {
                concurrency =
                    Some(value("--concurrency")?.parse().map_err(|_| "--concurrency needs a positive integer")?);
            }
            "--keep" => keep = true,
            "--strict" => strict = true,
            "-h" | "--help" => return Err("help".into()),
            "all" => scenarios.extend(SCENARIOS.iter().map(|s| s.to_string())),
            s if SCENARIOS.contains(&s) => scenarios.push(s.to_string()),
            s => {
                return Err(format!("unknown argument `{s}`; scenarios: {}", SCENARIOS.join(", ")));
            }
        }
    }
    if scenarios.is_empty() {
        scenarios = SCENARIOS.iter().map(|s| s.to_string()).collect();
    }
    Ok(Options { golive: golive.unwrap_or_else(find_golive), runs, concurrency, keep, strict, scenarios, spawner })
}

fn find_golive() -> PathBuf {
    if let Some(p) = std::env::var_os("GOLIVE_BIN") {
        return PathBuf::from(p);
    }
    // target/release/examples/bench_targets -> target/release/golive
    if let Some(profile_dir) =
        std::env::current_exe().ok().and_then(|me| me.parent().and_then(Path::parent).map(Path::to_path_buf))
    {
        let candidate = profile_dir.join("golive");
        if candidate.is_file() {
            return candidate;
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/golive")
}

/// A TOML string literal.
fn q(s: impl Into<String>) -> String {
    toml::Value::String(s.into()).to_string()
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

// ---------------------------------------------------------------------------------------
// mixed1000

async fn mixed1000(opts: &Options, run: usize) -> Result<Measurement, String> {
    let dir =
        tempfile::Builder::new().prefix("golive-bench-mixed1000-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let http = HttpServer::start(vec![Route::new("/health").body("ok")]).await;
    let pki = TestPki::new();
    let leaf = pki.valid(&["localhost", "127.0.0.1"]);
    let tls = TlsServer::with_cert(&leaf).await;
    let ca_file = pki.write_ca_file(dir.path());
    // A few distinct closed ports, reused by the closed-port tcp items.
    let closed: Vec<u16> = (0..5).map(|_| closed_port()).collect();

    // Files for the file items.
    let files_dir = dir.path().join("files");
    std::fs::create_dir(&files_dir).map_err(|e| format!("create {files_dir:?}: {e}"))?;
    let mut files = Vec::new();
    for i in 0..10 {
        let path = files_dir.join(format!("config-{i}.txt"));
        let text = format!("golive bench file {i}\nsetting = {}\n", i * 7);
        std::fs::write(&path, &text).map_err(|e| format!("write {path:?}: {e}"))?;
        files.push((path, hex::encode(Sha256::digest(text.as_bytes()))));
    }

    let mut toml =
        String::from("[checklist]\nname = \"bench mixed1000\"\nversion = \"1\"\n\n[defaults]\ntimeout = \"5s\"\n\n");
    let mut expected_by_probe: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut n_http, mut n_tcp, mut n_tls, mut n_other) = (0usize, 0usize, 0usize, 0usize);
    let mut tcp_open = 0usize;
    // Interleave kinds so every concurrency window mixes probes: per 10 items,
    // 5 http, 2 tcp, 2 tls, 1 file/env/host.
    for i in 0..1000usize {
        let slot = i % 10;
        let item = match slot {
            0..=4 => {
                n_http += 1;
                *expected_by_probe.entry("http").or_default() += 1;
                format!(
                    "id = \"http.{n_http:04}\"\nprobe = \"http\"\nurl = {}\nexpect = {{ status = 200, latency = \"< 2s\" }}\n",
                    q(http.url("/health"))
                )
            }
            5 | 6 => {
                n_tcp += 1;
                *expected_by_probe.entry("tcp").or_default() += 1;
                // 3 of 4 open (the HTTP server's port), 1 of 4 closed.
                if n_tcp % 4 != 0 {
                    tcp_open += 1;
                    format!(
                        "id = \"tcp.{n_tcp:04}\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:{}\"\nexpect = {{ open = true, latency = \"< 2s\" }}\n",
                        http.port()
                    )
                } else {
                    format!(
                        "id = \"tcp.{n_tcp:04}\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:{}\"\nexpect = {{ open = false, closed_reason = \"refused\" }}\n",
                        closed[n_tcp % closed.len()]
                    )
                }
            }
            7 | 8 => {
                n_tls += 1;
                *expected_by_probe.entry("tls").or_default() += 1;
                format!(
                    "id = \"tls.{n_tls:04}\"\nprobe = \"tls\"\naddress = \"127.0.0.1:{}\"\nca_file = {}\nexpect = {{ days_remaining = \">= 14\", chain_trusted = true, hostname_valid = true }}\n",
                    tls.port(),
                    q(path_str(&ca_file))
                )
            }
            _ => {
                n_other += 1;
                let id = n_other;
                // Per 10: 5 file, 4 env, 1 host.
                match id % 10 {
                    0 => {
                        *expected_by_probe.entry("host").or_default() += 1;
                        format!(
                            "id = \"host.{id:04}\"\nprobe = \"host\"\nexpect = {{ cpu_count = \">= 1\", memory_total = \">= 1MiB\", disk_free = \"> 0B\" }}\n"
                        )
                    }
                    1..=5 => {
                        *expected_by_probe.entry("file").or_default() += 1;
                        let (path, sha) = &files[id % files.len()];
                        match id % 3 {
                            0 => format!(
                                "id = \"file.{id:04}\"\nprobe = \"file\"\npath = {}\nexpect = {{ exists = true, kind = \"file\", size = \"> 0B\", world_writable = false }}\n",
                                q(path_str(path))
                            ),
                            1 => format!(
                                "id = \"file.{id:04}\"\nprobe = \"file\"\npath = {}\nexpect = {{ sha256 = {}, contents = {{ contains = \"golive bench\" }} }}\n",
                                q(path_str(path)),
                                q(sha.clone())
                            ),
                            _ => format!(
                                "id = \"file.{id:04}\"\nprobe = \"file\"\npath = {}\nexpect = {{ exists = false }}\n",
                                q(path_str(&files_dir.join(format!("missing-{id}.txt"))))
                            ),
                        }
                    }
                    _ => {
                        *expected_by_probe.entry("env").or_default() += 1;
                        match id % 3 {
                            0 => format!(
                                "id = \"env.{id:04}\"\nprobe = \"env\"\nname = \"PATH\"\nexpect = {{ set = true, empty = false }}\n"
                            ),
                            1 => format!(
                                "id = \"env.{id:04}\"\nprobe = \"env\"\nname = \"GOLIVE_BENCH_TOKEN\"\nsecret = false\nexpect = {{ value = \"bench-value\" }}\n"
                            ),
                            _ => format!(
                                "id = \"env.{id:04}\"\nprobe = \"env\"\nname = \"GOLIVE_BENCH_UNSET\"\nexpect = {{ set = false }}\n"
                            ),
                        }
                    }
                }
            }
        };
        toml.push_str("[[item]]\n");
        toml.push_str(&item);
        toml.push('\n');
    }
    debug_assert_eq!((n_http, n_tcp, n_tls, n_other), (500, 200, 200, 100));

    let checklist = dir.path().join("mixed1000.toml");
    std::fs::write(&checklist, &toml).map_err(|e| format!("write checklist: {e}"))?;
    let out = run_golive(opts, dir.path(), &checklist).await?;

    let mut m = Measurement::new("mixed1000", run, 1000, &out);
    if out.code != Some(0) {
        m.problems.push(format!(
            "golive exit {} (want 0, the gate passes){}",
            describe_exit(&out),
            stderr_tail(&out.stderr)
        ));
    }
    match read_report(&out.report) {
        Ok(report) => {
            m.engine = report.duration;
            check_outcomes(&report, "pass", None, &expected_by_probe, &mut m.problems);
        }
        Err(e) => m.problems.push(e),
    }

    // Keep-alive: every tcp "open" item is one accepted connection too.
    let accepted = http.connections();
    let requests = http.requests().len();
    m.notes.push(format!(
        "http: {requests} reqs over {} conns (+{tcp_open} tcp opens)",
        accepted.saturating_sub(tcp_open)
    ));
    m.notes.push(format!("tls: {} handshakes", tls.handshakes() + tls.failed_handshakes()));
    if requests != n_http {
        m.problems.push(format!("the HTTP server saw {requests} requests, want {n_http}"));
    }
    if m.wall >= MIXED_WALL_TARGET {
        m.misses.push(format!("wall {:.2}s >= {:.0}s", m.wall.as_secs_f64(), MIXED_WALL_TARGET.as_secs_f64()));
    }
    if m.rss_mib().is_some_and(|r| r >= MIXED_RSS_TARGET_MIB) {
        m.misses.push(format!("rss {:.1}MB >= {MIXED_RSS_TARGET_MIB:.0}MB", m.rss_mib().unwrap_or_default()));
    }
    finish_dir(opts, dir, &mut m);
    Ok(m)
}

// ---------------------------------------------------------------------------------------
// scale1k, scale10k, scale50k

/// N loopback items, per 10: 5 http (`status = 200`), 3 tcp (open), 2 tls (valid chain from a
/// test CA), run with the JSON report and the table both written, as CI would. Every item
/// must pass; the notes give golive's CPU per item.
async fn scale(opts: &Options, run: usize, name: &'static str, n: usize) -> Result<Measurement, String> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("golive-bench-{name}-"))
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let http = HttpServer::start(vec![Route::new("/health").body("ok")]).await;
    let pki = TestPki::new();
    let leaf = pki.valid(&["localhost", "127.0.0.1"]);
    let tls = TlsServer::with_cert(&leaf).await;
    let ca_file = pki.write_ca_file(dir.path());
    let mut toml =
        format!("[checklist]\nname = \"bench {name}\"\nversion = \"1\"\n\n[defaults]\ntimeout = \"30s\"\n\n");
    let mut expected_by_probe: BTreeMap<&str, usize> = BTreeMap::new();
    let health = q(http.url("/health"));
    let ca = q(path_str(&ca_file));
    for i in 0..n {
        let item = match i % 10 {
            0..=4 => {
                *expected_by_probe.entry("http").or_default() += 1;
                format!("id = \"http.{i:06}\"\nprobe = \"http\"\nurl = {health}\nexpect = {{ status = 200 }}\n")
            }
            5..=7 => {
                *expected_by_probe.entry("tcp").or_default() += 1;
                format!(
                    "id = \"tcp.{i:06}\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:{}\"\nexpect = {{ open = true }}\n",
                    http.port()
                )
            }
            _ => {
                *expected_by_probe.entry("tls").or_default() += 1;
                format!(
                    "id = \"tls.{i:06}\"\nprobe = \"tls\"\naddress = \"127.0.0.1:{}\"\nca_file = {ca}\nexpect = {{ chain_trusted = true, hostname_valid = true }}\n",
                    tls.port()
                )
            }
        };
        toml.push_str("[[item]]\n");
        toml.push_str(&item);
        toml.push('\n');
    }
    let checklist = dir.path().join(format!("{name}.toml"));
    std::fs::write(&checklist, &toml).map_err(|e| format!("write checklist: {e}"))?;
    let table = dir.path().join("table.txt");
    let out = run_golive_with(opts, dir.path(), &checklist, &["--output".into(), format!("table={}", table.display())])
        .await?;
    let mut m = Measurement::new(name, run, n, &out);
    if out.code != Some(0) {
        m.problems.push(format!("golive exit {} (want 0){}", describe_exit(&out), stderr_tail(&out.stderr)));
    }
    match read_report(&out.report) {
        Ok(report) => {
            m.engine = report.duration;
            check_outcomes(&report, "pass", None, &expected_by_probe, &mut m.problems);
        }
        Err(e) => m.problems.push(e),
    }
    if let Some(cpu) = out.cpu {
        m.notes.push(format!("{:.0} us CPU/item", cpu.as_secs_f64() * 1e6 / n as f64));
    }
    if let Some(kib) = out.max_rss_kib {
        m.notes.push(format!("{:.2} KiB RSS/item", kib as f64 / n as f64));
    }
    let size = std::fs::metadata(&out.report).map(|m| m.len()).unwrap_or(0);
    m.notes.push(format!("report {:.1} MiB", size as f64 / (1024.0 * 1024.0)));
    // Issue 15's targets are set for 50,000 items; the smaller scenarios show the trend.
    if n == 50_000 {
        if let Some(rss) = m.rss_mib().filter(|mib| *mib > SCALE_RSS_TARGET_MIB) {
            m.misses.push(format!("rss {rss:.1}MiB > {SCALE_RSS_TARGET_MIB:.0}MiB"));
        }
        if let Some(per_item) = out.cpu.map(|c| c.as_secs_f64() * 1e6 / n as f64).filter(|us| *us > SCALE_CPU_US_TARGET)
        {
            m.misses.push(format!("{per_item:.0} us CPU/item > {SCALE_CPU_US_TARGET:.0}"));
        }
    }
    finish_dir(opts, dir, &mut m);
    Ok(m)
}

// ---------------------------------------------------------------------------------------
// hung10

async fn hung10(opts: &Options, run: usize) -> Result<Measurement, String> {
    let dir =
        tempfile::Builder::new().prefix("golive-bench-hung10-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let hung = HungListener::start().await;
    let timeout = format!("{}s", HUNG_TIMEOUT.as_secs());
    let mut toml = String::from("[checklist]\nname = \"bench hung10\"\n\n");
    let mut expected_by_probe: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 1..=10 {
        toml.push_str("[[item]]\n");
        if i % 2 == 1 {
            *expected_by_probe.entry("http").or_default() += 1;
            let _ = write!(
                toml,
                "id = \"hung.http.{i:02}\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:{}/health\"\ntimeout = {}\nexpect = {{ status = 200 }}\n\n",
                hung.port(),
                q(timeout.clone())
            );
        } else {
            *expected_by_probe.entry("tls").or_default() += 1;
            let _ = write!(
                toml,
                "id = \"hung.tls.{i:02}\"\nprobe = \"tls\"\naddress = \"127.0.0.1:{}\"\ntimeout = {}\n\n",
                hung.port(),
                q(timeout.clone())
            );
        }
    }
    let checklist = dir.path().join("hung10.toml");
    std::fs::write(&checklist, &toml).map_err(|e| format!("write checklist: {e}"))?;
    let out = run_golive(opts, dir.path(), &checklist).await?;

    let mut m = Measurement::new("hung10", run, 10, &out);
    if out.code != Some(1) {
        m.problems.push(format!(
            "golive exit {} (want 1, the gate fails on the errors){}",
            describe_exit(&out),
            stderr_tail(&out.stderr)
        ));
    }
    match read_report(&out.report) {
        Ok(report) => {
            m.engine = report.duration;
            check_outcomes(&report, "error", Some("timed out"), &expected_by_probe, &mut m.problems);
        }
        Err(e) => m.problems.push(e),
    }
    m.notes.push(format!("hung listener: {} conns", hung.connections()));
    m.notes.push(format!("serial would be {}s", HUNG_TIMEOUT.as_secs() * m.items as u64));
    if m.wall > HUNG_WALL_TARGET || m.wall < HUNG_TIMEOUT {
        m.misses.push(format!(
            "wall {:.2}s, want {:.1}..{:.1}s",
            m.wall.as_secs_f64(),
            HUNG_TIMEOUT.as_secs_f64(),
            HUNG_WALL_TARGET.as_secs_f64()
        ));
    }
    finish_dir(opts, dir, &mut m);
    Ok(m)
}

fn finish_dir(opts: &Options, dir: tempfile::TempDir, m: &mut Measurement) {
    if opts.keep || !m.problems.is_empty() {
        let kept = dir.keep();
        m.notes.push(format!("kept {}", kept.display()));
    }
}

// ---------------------------------------------------------------------------------------
// Running golive and reading its report

struct GoliveRun {
    wall: Duration,
    code: Option<i32>,
    signal: Option<i32>,
    max_rss_kib: Option<u64>,
    /// The spawner's own peak RSS when it started golive: golive's ru_maxrss cannot be lower.
    rss_floor_kib: Option<u64>,
    cpu: Option<Duration>,
    /// Growth of the system-wide TcpExt ListenOverflows counter during the run.
    listen_overflows: Option<u64>,
    report: PathBuf,
    stderr: String,
}

async fn run_golive(opts: &Options, dir: &Path, checklist: &Path) -> Result<GoliveRun, String> {
    run_golive_with(opts, dir, checklist, &[]).await
}

/// `golive run CHECKLIST --output json=REPORT` and `extra` arguments (more outputs).
async fn run_golive_with(opts: &Options, dir: &Path, checklist: &Path, extra: &[String]) -> Result<GoliveRun, String> {
    let report = dir.join("report.json");
    let stderr_path = dir.join("golive.stderr");
    let mut args = vec![
        "run".to_string(),
        path_str(checklist),
        "--output".into(),
        format!("json={}", report.display()),
        "--quiet".into(),
        "--color".into(),
        "never".into(),
        // Measure the run, not the history store: every run would otherwise be recorded in
        // .golive/history.db beside the checklist.
        "--no-store".into(),
    ];
    args.extend(extra.iter().cloned());
    if let Some(c) = opts.concurrency {
        args.extend(["--concurrency".to_string(), c.to_string()]);
    }
    let request = spawner::Request {
        program: opts.golive.clone(),
        args,
        env: vec![("GOLIVE_BENCH_TOKEN".into(), "bench-value".into())],
        env_remove: vec!["GOLIVE_BENCH_UNSET".into()],
        stdout: dir.join("golive.stdout"),
        stderr: stderr_path.clone(),
    };
    // The targets run on this process's tokio runtime; wait for golive on a blocking thread
    // so they keep serving.
    let spawner = opts.spawner.clone();
    let overflows_before = listen_overflows();
    let exit = tokio::task::spawn_blocking(move || spawner.run(&request))
        .await
        .map_err(|e| format!("waiting for golive: {e}"))??;
    Ok(GoliveRun {
        wall: exit.wall,
        code: exit.code,
        signal: exit.signal,
        max_rss_kib: exit.max_rss_kib,
        rss_floor_kib: exit.rss_floor_kib,
        cpu: exit.cpu,
        listen_overflows: overflows_before.zip(listen_overflows()).map(|(a, b)| b.saturating_sub(a)),
        report,
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
    })
}

/// TcpExt ListenOverflows from /proc/net/netstat (Linux): connections dropped because a
/// listener's accept queue was full. The support servers listen with tokio's backlog of 128.
fn listen_overflows() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let index = names.split_whitespace().position(|n| n == "ListenOverflows")?;
    values.split_whitespace().nth(index)?.parse().ok()
}

fn describe_exit(out: &GoliveRun) -> String {
    match (out.code, out.signal) {
        (Some(c), _) => c.to_string(),
        (None, Some(s)) => format!("by signal {s}"),
        _ => "unknown".into(),
    }
}

fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(15)..];
    format!("; stderr:\n    {}", tail.join("\n    "))
}

struct ReportItem {
    id: String,
    probe: String,
    outcome: String,
    reason: String,
}

struct ParsedReport {
    duration: Duration,
    items: Vec<ReportItem>,
}

fn read_report(path: &Path) -> Result<ParsedReport, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the JSON report {}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("the JSON report is not JSON: {e}"))?;
    let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let items = json
        .get("items")
        .and_then(|i| i.as_array())
        .ok_or("the JSON report has no items array")?
        .iter()
        .map(|i| ReportItem { id: s(i, "id"), probe: s(i, "probe"), outcome: s(i, "outcome"), reason: s(i, "reason") })
        .collect();
    let ms = json.get("duration_ms").and_then(|d| d.as_f64()).unwrap_or(0.0);
    Ok(ParsedReport { duration: Duration::from_secs_f64(ms.max(0.0) / 1000.0), items })
}

/// Every item must end `want` (with `reason_contains` in its reason), and the items per probe
/// kind must be as generated.
fn check_outcomes(
    report: &ParsedReport,
    want: &str,
    reason_contains: Option<&str>,
    expected_by_probe: &BTreeMap<&str, usize>,
    problems: &mut Vec<String>,
) {
    let total: usize = expected_by_probe.values().sum();
    if report.items.len() != total {
        problems.push(format!("the report has {} items, want {total}", report.items.len()));
    }
    let mut by_probe: BTreeMap<&str, usize> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for item in &report.items {
        *by_probe.entry(item.probe.as_str()).or_default() += 1;
        *outcomes.entry(item.outcome.as_str()).or_default() += 1;
        let reason_ok = reason_contains.is_none_or(|r| item.reason.contains(r));
        if item.outcome != want || !reason_ok {
            wrong.push(item);
        }
    }
    let want_probes: BTreeMap<&str, usize> = expected_by_probe.iter().map(|(k, v)| (*k, *v)).collect();
    if by_probe != want_probes {
        problems.push(format!("items per probe {by_probe:?}, want {want_probes:?}"));
    }
    if !wrong.is_empty() {
        let mut msg = format!(
            "{} of {} items did not end `{want}`{} (outcomes: {outcomes:?}); first ones:",
            wrong.len(),
            report.items.len(),
            reason_contains.map_or(String::new(), |r| format!(" with reason containing {r:?}"))
        );
        for item in wrong.iter().take(8) {
            let _ = write!(msg, "\n    {} ({}): {}: {}", item.id, item.probe, item.outcome, item.reason);
        }
        problems.push(msg);
    }
}

// ---------------------------------------------------------------------------------------
// Output

fn print_table(all: &[Measurement]) {
    println!();
    println!(
        "{:<10} {:>3} {:>6} {:>7} {:>7} {:>11} {:>11} {:>6}  notes",
        "scenario", "run", "items", "wall_s", "run_s", "items_per_s", "peak_rss_mb", "cpu_s"
    );
    for m in all {
        let rss = m.rss_mib().map_or("n/a".to_string(), |r| format!("{r:.1}"));
        let cpu = m.cpu.map_or("n/a".to_string(), |c| format!("{:.2}", c.as_secs_f64()));
        let mut notes = m.notes.clone();
        if !m.problems.is_empty() {
            notes.insert(0, "OUTCOMES WRONG".into());
        }
        if m.misses.is_empty() {
            notes.push("targets ok".into());
        } else {
            notes.push(format!("MISS: {}", m.misses.join(", ")));
        }
        println!(
            "{:<10} {:>3} {:>6} {:>7.3} {:>7.3} {:>11.0} {:>11} {:>6}  {}",
            m.scenario,
            m.run,
            m.items,
            m.wall.as_secs_f64(),
            m.engine.as_secs_f64(),
            m.items_per_s(),
            rss,
            cpu,
            notes.join("; ")
        );
    }
    println!(
        "(wall_s: spawn to exit of golive; run_s: the engine's duration_ms from the report; peak_rss_mb: golive's ru_maxrss in MiB; cpu_s: golive's user+sys)"
    );
}

fn print_summary(all: &[Measurement]) {
    println!();
    println!("median [min..max] over runs:");
    let mut names: Vec<&str> = all.iter().map(|m| m.scenario).collect();
    names.dedup();
    for name in names {
        let runs: Vec<&Measurement> = all.iter().filter(|m| m.scenario == name).collect();
        let stat = |f: &dyn Fn(&Measurement) -> Option<f64>, prec: usize| {
            let mut v: Vec<f64> = runs.iter().filter_map(|m| f(m)).collect();
            if v.is_empty() {
                return "n/a".to_string();
            }
            v.sort_by(f64::total_cmp);
            let median = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
            format!("{median:.prec$} [{:.prec$}..{:.prec$}]", v[0], v[v.len() - 1])
        };
        println!(
            "{name:<10} wall_s {}  run_s {}  items_per_s {}  peak_rss_mb {}  cpu_s {}",
            stat(&|m| Some(m.wall.as_secs_f64()), 3),
            stat(&|m| Some(m.engine.as_secs_f64()), 3),
            stat(&|m| Some(m.items_per_s()), 0),
            stat(&|m| m.rss_mib(), 1),
            stat(&|m| m.cpu.map(|c| c.as_secs_f64()), 2),
        );
    }
}

// ---------------------------------------------------------------------------------------
// Spawning golive and measuring it

/// Runs golive and measures it with `wait4(2)`, from a small helper process.
///
/// Why a helper: `std::process::Command` spawns with `posix_spawn`, i.e.
/// `clone(CLONE_VM | CLONE_VFORK)`, and when the child execs, Linux folds the peak RSS of the
/// address space it leaves (the parent's) into the child's `ru_maxrss`. Spawned from this
/// process, which runs the targets and grows to ~20 MB, golive's peak RSS could never read
/// lower than ours. The helper is this same executable, started first thing in `main` while
/// it is still small; it spawns golive on request, so the floor is the helper's own few MB
/// (reported as `rss_floor_kib`, and flagged when golive's figure does not exceed it).
///
/// `wait4` is declared here: `nix::sys::resource::getrusage` needs nix's `resource` feature,
/// which golive's Cargo.toml does not enable, and `libc` is not a dependency.
mod spawner {
    use std::io::{BufRead, BufReader, Write};
    use std::path::PathBuf;
    use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, ExitStatus, Stdio};
    use std::sync::{Mutex, MutexGuard};
    use std::time::{Duration, Instant};

    use serde::{Deserialize, Serialize};

    /// `bench_targets __bench_spawner` runs the helper loop.
    pub const HELPER_ARG: &str = "__bench_spawner";

    /// Run `program args` with these environment changes, stdout and stderr to these files.
    #[derive(Serialize, Deserialize)]
    pub struct Request {
        pub program: PathBuf,
        pub args: Vec<String>,
        pub env: Vec<(String, String)>,
        pub env_remove: Vec<String>,
        pub stdout: PathBuf,
        pub stderr: PathBuf,
    }

    #[derive(Serialize, Deserialize, Default)]
    struct Reply {
        error: Option<String>,
        code: Option<i32>,
        signal: Option<i32>,
        max_rss_kib: Option<u64>,
        rss_floor_kib: Option<u64>,
        cpu_us: Option<u64>,
        wall_us: u64,
    }

    impl Reply {
        fn error(message: String) -> Reply {
            Reply { error: Some(message), ..Reply::default() }
        }
    }

    /// How the child ended and what it used.
    pub struct Exit {
        /// Spawn to reaped.
        pub wall: Duration,
        pub code: Option<i32>,
        pub signal: Option<i32>,
        /// ru_maxrss (KiB on Linux).
        pub max_rss_kib: Option<u64>,
        pub rss_floor_kib: Option<u64>,
        /// ru_utime + ru_stime.
        pub cpu: Option<Duration>,
    }

    /// Handle to the helper process.
    pub struct Spawner {
        io: Mutex<Option<(ChildStdin, BufReader<ChildStdout>)>>,
        child: Mutex<Option<Child>>,
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    impl Spawner {
        pub fn start() -> Result<Spawner, String> {
            let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
            let mut child = Command::new(exe)
                .arg(HELPER_ARG)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("spawn: {e}"))?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                return Err("the helper has no pipes".into());
            };
            Ok(Spawner { io: Mutex::new(Some((stdin, BufReader::new(stdout)))), child: Mutex::new(Some(child)) })
        }

        /// Runs one child to completion (blocking).
        pub fn run(&self, request: &Request) -> Result<Exit, String> {
            let mut io = lock(&self.io);
            let (stdin, stdout) = io.as_mut().ok_or("the spawner helper has stopped")?;
            let mut line = serde_json::to_string(request).map_err(|e| format!("encode request: {e}"))?;
            line.push('\n');
            stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush())
                .map_err(|e| format!("write to the spawner helper: {e}"))?;
            let mut text = String::new();
            let n = stdout.read_line(&mut text).map_err(|e| format!("read from the spawner helper: {e}"))?;
            if n == 0 {
                return Err("the spawner helper exited".into());
            }
            let reply: Reply =
                serde_json::from_str(&text).map_err(|e| format!("bad reply from the spawner helper: {e}"))?;
            if let Some(e) = reply.error {
                return Err(e);
            }
            Ok(Exit {
                wall: Duration::from_micros(reply.wall_us),
                code: reply.code,
                signal: reply.signal,
                max_rss_kib: reply.max_rss_kib,
                rss_floor_kib: reply.rss_floor_kib,
                cpu: reply.cpu_us.map(Duration::from_micros),
            })
        }

        /// Closes the helper's stdin (it exits) and reaps it.
        pub fn stop(&self) {
            lock(&self.io).take();
            if let Some(mut child) = lock(&self.child).take() {
                let _ = child.wait();
            }
        }
    }

    /// The helper: one JSON request per line on stdin, one JSON reply per line on stdout,
    /// until stdin closes.
    pub fn serve() -> ExitCode {
        let stdin = std::io::stdin().lock();
        let mut stdout = std::io::stdout().lock();
        for line in stdin.lines() {
            let Ok(line) = line else { break };
            let reply = match serde_json::from_str::<Request>(&line) {
                Ok(request) => run_one(&request),
                Err(e) => Reply::error(format!("bad request: {e}")),
            };
            let text = serde_json::to_string(&reply)
                .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode the reply: {e}\",\"wall_us\":0}}"));
            if writeln!(stdout, "{text}").and_then(|()| stdout.flush()).is_err() {
                break;
            }
        }
        ExitCode::SUCCESS
    }

    fn run_one(request: &Request) -> Reply {
        let create = |p: &PathBuf| std::fs::File::create(p).map_err(|e| format!("create {}: {e}", p.display()));
        let (out, err) = match (create(&request.stdout), create(&request.stderr)) {
            (Ok(out), Ok(err)) => (out, err),
            (Err(e), _) | (_, Err(e)) => return Reply::error(e),
        };
        let mut cmd = Command::new(&request.program);
        cmd.args(&request.args).stdin(Stdio::null()).stdout(out).stderr(err);
        for (name, value) in &request.env {
            cmd.env(name, value);
        }
        for name in &request.env_remove {
            cmd.env_remove(name);
        }
        let rss_floor_kib = own_peak_rss_kib();
        let started = Instant::now();
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return Reply::error(format!("spawn {}: {e}", request.program.display())),
        };
        match wait(child) {
            Ok(usage) => Reply {
                error: None,
                code: usage.status.code(),
                signal: std::os::unix::process::ExitStatusExt::signal(&usage.status),
                max_rss_kib: usage.max_rss_kib,
                rss_floor_kib,
                cpu_us: usage.cpu.map(|c| c.as_micros() as u64),
                wall_us: started.elapsed().as_micros() as u64,
            },
            Err(e) => Reply::error(format!("wait for {}: {e}", request.program.display())),
        }
    }

    /// This process's peak RSS (VmHWM), KiB.
    fn own_peak_rss_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
        line.trim().trim_end_matches("kB").trim().parse().ok()
    }

    struct Usage {
        status: ExitStatus,
        max_rss_kib: Option<u64>,
        cpu: Option<Duration>,
    }

    /// Waits for `child` with `wait4(2)`, which reports the resource usage of exactly that
    /// child. Its `struct rusage` is two `timeval`s then 14 `long`s on Linux.
    #[cfg(target_os = "linux")]
    fn wait(child: Child) -> std::io::Result<Usage> {
        use std::ffi::{c_int, c_long};
        use std::os::unix::process::ExitStatusExt;

        #[repr(C)]
        #[derive(Default)]
        struct Timeval {
            tv_sec: c_long,
            tv_usec: c_long,
        }

        #[repr(C)]
        #[derive(Default)]
        struct Rusage {
            ru_utime: Timeval,
            ru_stime: Timeval,
            ru_maxrss: c_long,
            _rest: [c_long; 13],
        }

        unsafe extern "C" {
            fn wait4(pid: c_int, status: *mut c_int, options: c_int, rusage: *mut Rusage) -> c_int;
        }

        let pid = c_int::try_from(child.id()).map_err(std::io::Error::other)?;
        let mut status: c_int = 0;
        let mut usage = Rusage::default();
        loop {
            // SAFETY: both pointers are to live, properly sized and aligned locals; `pid` is
            // our own child, not yet reaped (std never waits on `child`).
            let r = unsafe { wait4(pid, &mut status, 0, &mut usage) };
            if r == pid {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        // Reaped above: dropping the handle neither waits nor kills.
        drop(child);
        let tv =
            |t: &Timeval| Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64);
        Ok(Usage {
            status: ExitStatus::from_raw(status),
            max_rss_kib: Some(usage.ru_maxrss.max(0) as u64),
            cpu: Some(tv(&usage.ru_utime) + tv(&usage.ru_stime)),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn wait(mut child: Child) -> std::io::Result<Usage> {
        Ok(Usage { status: child.wait()?, max_rss_kib: None, cpu: None })
    }
}

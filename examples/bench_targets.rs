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
//!              Target (issue 15): 2.0 s wall + at most 50 ms, spawn to exit; the notes
//!              give the overshoot past 2 s, of the wall and of the engine's duration.
//!   scale1k, scale10k, scale50k  1,000 / 10,000 / 50,000 http/tcp/tls items, JSON and
//!              table written. Target at 50,000: <= 150 MiB RSS, <= 80 us CPU per item.
//!   body50     50 http items with a `body` expectation (`contains`) against a 2 MiB page,
//!              read up to the default max_body (1 MiB). Every item must pass. Issue 15:
//!              a large body must not stay in memory or in the report whole (before: 8.5 MB
//!              of memory and 2 MB of report per item); the notes give RSS and report size.
//!   compare200 issue 15's 200 checks (100 http, 50 tcp, 20 tls, 20 postgres, 10 redis)
//!              against one set of targets (HTTP, TLS with a test CA, a PostgreSQL from
//!              initdb, a redis-server), run by golive and by Prometheus blackbox_exporter
//!              (`$BLACKBOX_EXPORTER`, else prometheus-blackbox-exporter or
//!              blackbox_exporter on PATH; golive alone when it is absent), A/B alternating,
//!              `--runs` pairs after one unmeasured round of each. The exporter runs as a
//!              daemon for the whole scenario; the bench sends it the 200 /probe requests,
//!              at most 64 (golive's default --concurrency, or --concurrency) in flight.
//!              golive: wait4 as for every scenario; the exporter: wall from the first
//!              request to the last answer, CPU from its process CPU clock before and after.
//!              Every golive item must pass and every /probe answer be probe_success 1.
//!              Target (issue 15): blackbox_exporter/golive >= 3 for wall, >= 6 for CPU.
//!   startup1   `golive run one.toml --no-store --quiet` with one tcp item and with one
//!              http item against a local server, 30 runs each after one unmeasured one;
//!              one row per kind with the median. Target (issue 15): <= 5 ms wall.
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
use support::{HttpServer, HungListener, PgServer, RedisServer, Route, TestPki, TlsServer, closed_port};

const SCENARIOS: &[&str] =
    &["mixed1000", "hung10", "scale1k", "scale10k", "scale50k", "body50", "compare200", "startup1"];

/// Targets from bench/README.md.
const MIXED_WALL_TARGET: Duration = Duration::from_secs(2);
const MIXED_RSS_TARGET_MIB: f64 = 60.0;
const HUNG_TIMEOUT: Duration = Duration::from_secs(2);
/// Issue 15: "10 checks at a 2 s timeout still end in 2.0 s (+ at most 50 ms)", spawn to exit
/// (start-up and the report included).
const HUNG_WALL_TARGET: Duration = Duration::from_millis(2050);
/// Issue 15, for `scale50k` (mixed http/tcp/tls, JSON and table written): peak RSS and
/// golive's CPU per item.
const SCALE_RSS_TARGET_MIB: f64 = 150.0;
const SCALE_CPU_US_TARGET: f64 = 80.0;
/// Issue 15, for `compare200`: blackbox_exporter's wall and CPU over golive's, in one run.
const COMPARE_WALL_RATIO_TARGET: f64 = 3.0;
const COMPARE_CPU_RATIO_TARGET: f64 = 6.0;
/// `golive run`'s default `--concurrency`: `compare200` keeps as many /probe requests in flight.
const GOLIVE_DEFAULT_CONCURRENCY: usize = 64;
/// How long after its last /probe answer the exporter's CPU is read.
const BLACKBOX_SETTLE: Duration = Duration::from_millis(200);
/// Issue 15: start-up of a one-item run (`startup1`, median wall), and how many runs of each.
const STARTUP_TARGET: Duration = Duration::from_millis(5);
const STARTUP_RUNS: usize = 30;

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
        // compare200 and startup1 start their targets once and do their own runs.
        let once = matches!(scenario.as_str(), "compare200" | "startup1");
        let runs = if once { 1 } else { opts.runs };
        for run in 1..=runs {
            let result = match scenario.as_str() {
                "mixed1000" => mixed1000(&opts, run).await.map(|m| vec![m]),
                "hung10" => hung10(&opts, run).await.map(|m| vec![m]),
                "scale1k" => scale(&opts, run, "scale1k", 1_000).await.map(|m| vec![m]),
                "scale10k" => scale(&opts, run, "scale10k", 10_000).await.map(|m| vec![m]),
                "scale50k" => scale(&opts, run, "scale50k", 50_000).await.map(|m| vec![m]),
                "body50" => body50(&opts, run).await.map(|m| vec![m]),
                "compare200" => compare200(&opts).await,
                "startup1" => startup1(&opts, STARTUP_RUNS).await,
                other => unreachable!("scenario {other} was validated"),
            };
            match result {
                Ok(ms) => {
                    for m in ms {
                        for p in &m.problems {
                            println!("FAIL {} run {}: {p}", m.scenario, m.run);
                        }
                        all.push(m);
                    }
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
    print_compare_verdict(&all);
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
// body50

/// Items and page size of `body50`.
const BODY_ITEMS: usize = 50;
const BODY_PAGE_BYTES: usize = 2 << 20;

async fn body50(opts: &Options, run: usize) -> Result<Measurement, String> {
    let dir =
        tempfile::Builder::new().prefix("golive-bench-body50-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
    // Numbered lines of text, the needle a quarter of the way in (within the first MiB).
    let mut page = String::with_capacity(BODY_PAGE_BYTES + 128);
    let mut line = 0;
    while page.len() < BODY_PAGE_BYTES {
        line += 1;
        if page.len() >= BODY_PAGE_BYTES / 4 && !page.contains("needle") {
            page.push_str("<p>the needle is here</p>\n");
        }
        let _ = writeln!(page, "<p>line {line:07}: the quick brown fox jumps over the lazy dog, again and again</p>");
    }
    let http = HttpServer::start(vec![Route::new("/page").header("content-type", "text/html").body(page)]).await;
    let url = q(http.url("/page"));
    let mut toml = String::from("[checklist]\nname = \"bench body50\"\nversion = \"1\"\n\n");
    for i in 0..BODY_ITEMS {
        let _ = write!(
            toml,
            "[[item]]\nid = \"page.{i:03}\"\nprobe = \"http\"\nurl = {url}\nexpect = {{ status = 200, body = {{ contains = \"needle\" }} }}\n\n"
        );
    }
    let checklist = dir.path().join("body50.toml");
    std::fs::write(&checklist, &toml).map_err(|e| format!("write checklist: {e}"))?;
    let out = run_golive(opts, dir.path(), &checklist).await?;
    let mut m = Measurement::new("body50", run, BODY_ITEMS, &out);
    if out.code != Some(0) {
        m.problems.push(format!("golive exit {} (want 0){}", describe_exit(&out), stderr_tail(&out.stderr)));
    }
    match read_report(&out.report) {
        Ok(report) => {
            m.engine = report.duration;
            check_outcomes(&report, "pass", None, &BTreeMap::from([("http", BODY_ITEMS)]), &mut m.problems);
        }
        Err(e) => m.problems.push(e),
    }
    let size = std::fs::metadata(&out.report).map(|m| m.len()).unwrap_or(0);
    m.notes.push(format!(
        "report {:.1} KiB ({:.1} KiB/item)",
        size as f64 / 1024.0,
        size as f64 / 1024.0 / BODY_ITEMS as f64
    ));
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
    let over_ms = |d: Duration| (d.as_secs_f64() - HUNG_TIMEOUT.as_secs_f64()) * 1e3;
    m.notes.push(format!("overshoot {:+.0} ms (engine {:+.0} ms)", over_ms(m.wall), over_ms(m.engine)));
    if m.wall > HUNG_WALL_TARGET || m.wall < HUNG_TIMEOUT {
        m.misses.push(format!(
            "wall {:.3}s, want {:.2}..{:.2}s",
            m.wall.as_secs_f64(),
            HUNG_TIMEOUT.as_secs_f64(),
            HUNG_WALL_TARGET.as_secs_f64()
        ));
    }
    finish_dir(opts, dir, &mut m);
    Ok(m)
}

// ---------------------------------------------------------------------------------------
// compare200: golive and Prometheus blackbox_exporter on the same 200 checks

/// One of the 200 checks, as a golive item and as a blackbox_exporter /probe request.
struct Check {
    /// golive's probe name (the report's `probe`).
    probe: &'static str,
    /// The blackbox_exporter module (generated in `blackbox_config`).
    module: &'static str,
    /// The blackbox_exporter target.
    target: String,
    /// The `[[item]]` body.
    item: String,
}

/// The role the PostgreSQL items log in as: a plain login role (golive refuses `query` for a
/// superuser unless allow_write_functions is set).
const BENCH_PG_USER: &str = "bench";
const BENCH_PG_PASSWORD: &str = "Bench-s3cret-51a7";

/// Issue 15's 200-check workload on loopback, per 20 checks: 10 http, 5 tcp, 2 tls, 2
/// postgres, 1 redis.
fn compare_checks(http: &HttpServer, tls: &TlsServer, ca: &Path, pg_port: u16, redis_port: u16) -> Vec<Check> {
    let mut checks = Vec::with_capacity(200);
    let health = http.url("/health");
    for i in 0..200usize {
        let n = i + 1;
        let check = match i % 20 {
            0..=9 => Check {
                probe: "http",
                module: "http_2xx",
                target: health.clone(),
                item: format!(
                    "id = \"http.{n:03}\"\nprobe = \"http\"\nurl = {}\nexpect = {{ status = 200 }}\n",
                    q(&*health)
                ),
            },
            10..=14 => Check {
                probe: "tcp",
                module: "tcp_connect",
                target: format!("127.0.0.1:{}", http.port()),
                item: format!(
                    "id = \"tcp.{n:03}\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:{}\"\nexpect = {{ open = true }}\n",
                    http.port()
                ),
            },
            15 | 16 => Check {
                probe: "tls",
                module: "tls_connect",
                target: format!("127.0.0.1:{}", tls.port()),
                item: format!(
                    "id = \"tls.{n:03}\"\nprobe = \"tls\"\naddress = \"127.0.0.1:{}\"\nca_file = {}\nexpect = {{ chain_trusted = true, hostname_valid = true, days_remaining = \">= 14\" }}\n",
                    tls.port(),
                    q(path_str(ca))
                ),
            },
            17 | 18 => Check {
                probe: "postgres",
                module: "tcp_connect",
                target: format!("127.0.0.1:{pg_port}"),
                item: format!(
                    "id = \"postgres.{n:03}\"\nprobe = \"postgres\"\nurl = \"postgres://{BENCH_PG_USER}@127.0.0.1:{pg_port}/postgres\"\npassword = {}\nsslmode = \"disable\"\nquery = \"SELECT 1\"\nexpect = {{ reachable = true, value = 1 }}\n",
                    q(BENCH_PG_PASSWORD)
                ),
            },
            _ => Check {
                probe: "redis",
                module: "redis_ping",
                target: format!("127.0.0.1:{redis_port}"),
                item: format!(
                    "id = \"redis.{n:03}\"\nprobe = \"redis\"\nurl = \"redis://127.0.0.1:{redis_port}\"\nexpect = {{ reachable = true }}\n"
                ),
            },
        };
        checks.push(check);
    }
    checks
}

/// blackbox_exporter's modules for the same checks. `http_2xx`: GET, status 200.
/// `tcp_connect`: connect (the tcp and the PostgreSQL checks). `tls_connect`: connect and a
/// TLS handshake verified against the test CA (chain and the target's name; expiry is only
/// exported as `probe_ssl_earliest_cert_expiry`, for an alert rule to compare). `redis_ping`:
/// send `PING`, expect a `+PONG` line.
fn blackbox_config(ca: &Path) -> String {
    let ca = path_str(ca).replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      method: GET
      valid_status_codes: [200]
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
  tls_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: "{ca}"
  redis_ping:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - send: "PING"
        - expect: '^\+PONG'
"#
    )
}

/// `$BLACKBOX_EXPORTER`, else `prometheus-blackbox-exporter` (Debian's name) or
/// `blackbox_exporter` on PATH.
fn find_blackbox() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BLACKBOX_EXPORTER") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).find_map(|dir| {
        ["prometheus-blackbox-exporter", "blackbox_exporter"].iter().map(|name| dir.join(name)).find(|p| p.is_file())
    })
}

/// A running blackbox_exporter, stopped (SIGTERM, then reaped) when dropped; registered with
/// the support module's reaper so that it cannot outlive the bench either.
struct Blackbox {
    child: std::process::Child,
    base: String,
}

impl Blackbox {
    async fn start(binary: &Path, dir: &Path, config: &Path) -> Result<Blackbox, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("pick a port: {e}"))?
            .port();
        let log = std::fs::File::create(dir.join("blackbox.log")).map_err(|e| format!("create blackbox.log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| format!("blackbox.log: {e}"))?;
        let mut cmd = std::process::Command::new(binary);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log2);
        let child =
            support::reaper::spawn(cmd, support::reaper::Stop { signal: nix::sys::signal::Signal::SIGKILL, dir: None })
                .map_err(|e| format!("start {}: {e}", binary.display()))?;
        let bb = Blackbox { child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::builder().no_proxy().build().map_err(|e| format!("http client: {e}"))?;
        let until = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            match client.get(format!("{}/metrics", bb.base)).send().await {
                Ok(r) if r.status().is_success() => return Ok(bb),
                _ if std::time::Instant::now() > until => {
                    return Err(format!(
                        "blackbox_exporter did not answer on {} within 15 s; its log:\n{}",
                        bb.base,
                        std::fs::read_to_string(dir.join("blackbox.log")).unwrap_or_default()
                    ));
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Blackbox {
    fn drop(&mut self) {
        let pid = self.pid();
        support::reaper::unregister(pid);
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
        support::reaper::wait_gone(pid, Duration::from_secs(10));
    }
}

/// user + system CPU of process `pid` so far (all its threads, those that ended included):
/// its process CPU clock (`clock_getcpuclockid`, nanoseconds), else /proc/PID/stat, whose
/// clock ticks are 10 ms steps at the usual 100 Hz, a tenth of what the exporter uses for
/// 200 checks.
fn proc_cpu(pid: i32) -> Result<Duration, String> {
    let mut clock: libc::clockid_t = 0;
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: both calls only write to the locals passed to them.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } == 0
        && unsafe { libc::clock_gettime(clock, &mut now) } == 0
    {
        return Ok(Duration::new(now.tv_sec as u64, now.tv_nsec as u32));
    }
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("read /proc/{pid}/stat: {e}"))?;
    // `pid (comm) state ppid ...`: utime and stime are fields 14 and 15, the 12th and 13th
    // after the comm's closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad /proc/PID/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).ok_or("bad /proc/PID/stat");
    let (utime, stime) = (ticks(11)?, ticks(12)?);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().filter(|h| *h > 0).unwrap_or(100);
    Ok(Duration::from_secs_f64((utime + stime) as f64 / hz as f64))
}

/// VmHWM of process `pid` (KiB): its peak RSS since it started.
fn proc_peak_rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

struct BlackboxRound {
    wall: Duration,
    cpu: Duration,
    /// Checks whose /probe answer was not `probe_success 1`, with why.
    failed: Vec<String>,
}

/// The 200 /probe requests, at most `concurrency` in flight (golive's default), as a
/// Prometheus server scraping them would. Wall: first request sent to last answer read;
/// CPU: the exporter's CPU clock before, and `BLACKBOX_SETTLE` after the last answer.
async fn blackbox_round(
    client: &reqwest::Client,
    bb: &Blackbox,
    checks: &[Check],
    concurrency: usize,
) -> Result<BlackboxRound, String> {
    use futures::StreamExt;
    let mut urls = Vec::with_capacity(checks.len());
    for c in checks {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/probe", bb.base),
            &[("module", c.module), ("target", c.target.as_str())],
        )
        .map_err(|e| format!("probe url: {e}"))?;
        urls.push(url);
    }
    let cpu_before = proc_cpu(bb.pid())?;
    let started = std::time::Instant::now();
    let answers: Vec<(usize, Result<String, String>)> = futures::stream::iter(urls.into_iter().enumerate())
        .map(|(i, url)| {
            let client = client.clone();
            async move {
                let answer = async {
                    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
                    let status = response.status();
                    let body = response.text().await.map_err(|e| e.to_string())?;
                    if status.is_success() { Ok(body) } else { Err(format!("HTTP {status}: {body}")) }
                }
                .await;
                (i, answer)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let wall = started.elapsed();
    // What the exporter still does after its last answer (closing the probes' connections,
    // its goroutines' clean-up) is part of the 200 probes' cost: read its CPU a little later.
    tokio::time::sleep(BLACKBOX_SETTLE).await;
    let cpu = proc_cpu(bb.pid())?.saturating_sub(cpu_before);
    let mut failed = Vec::new();
    for (i, answer) in answers {
        let c = &checks[i];
        match answer {
            Ok(body) if body.lines().any(|l| l == "probe_success 1") => {}
            Ok(body) => failed.push(format!(
                "{} {} ({}): {}",
                c.module,
                c.target,
                c.probe,
                body.lines().find(|l| l.starts_with("probe_success")).unwrap_or("no probe_success line")
            )),
            Err(e) => failed.push(format!("{} {} ({}): {e}", c.module, c.target, c.probe)),
        }
    }
    Ok(BlackboxRound { wall, cpu, failed })
}

async fn compare200(opts: &Options) -> Result<Vec<Measurement>, String> {
    let dir =
        tempfile::Builder::new().prefix("golive-bench-compare200-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
    // reqwest is built with rustls-no-provider (the bench's client speaks plain HTTP only).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let blackbox_bin = find_blackbox();
    if blackbox_bin.is_none() {
        println!(
            "compare200: blackbox_exporter not found (apt-get install prometheus-blackbox-exporter, or set BLACKBOX_EXPORTER=PATH): golive only, no comparison"
        );
    }

    // The targets, once for all runs.
    let http = HttpServer::start(vec![Route::new("/health").body("ok")]).await;
    let pki = TestPki::new();
    let leaf = pki.valid(&["localhost", "127.0.0.1"]);
    let tls = TlsServer::with_cert(&leaf).await;
    let ca_file = pki.write_ca_file(dir.path());
    let (pg, redis) = tokio::task::spawn_blocking(|| {
        if support::pg::bin_dir().is_none() {
            return Err("PostgreSQL binaries (initdb) not found: apt-get install postgresql".to_string());
        }
        let pg = PgServer::start(support::pg::PgConfig {
            settings: Vec::new(),
            hba: support::pg::SCRAM_HBA.into(),
            tls: None,
        });
        pg.sql("postgres", &format!("create role {BENCH_PG_USER} login password '{BENCH_PG_PASSWORD}'"));
        Ok((pg, RedisServer::start()))
    })
    .await
    .map_err(|e| format!("starting PostgreSQL and Redis: {e}"))??;

    let checks = compare_checks(&http, &tls, &ca_file, pg.port, redis.port());
    let mut expected_by_probe: BTreeMap<&str, usize> = BTreeMap::new();
    let mut toml =
        String::from("[checklist]\nname = \"bench compare200\"\nversion = \"1\"\n\n[defaults]\ntimeout = \"5s\"\n\n");
    for c in &checks {
        *expected_by_probe.entry(c.probe).or_default() += 1;
        toml.push_str("[[item]]\n");
        toml.push_str(&c.item);
        toml.push('\n');
    }
    let checklist = dir.path().join("compare200.toml");
    std::fs::write(&checklist, &toml).map_err(|e| format!("write checklist: {e}"))?;
    let config = dir.path().join("blackbox.yml");
    std::fs::write(&config, blackbox_config(&ca_file)).map_err(|e| format!("write blackbox.yml: {e}"))?;

    let blackbox = match &blackbox_bin {
        Some(bin) => Some(Blackbox::start(bin, dir.path(), &config).await?),
        None => None,
    };
    let concurrency = opts.concurrency.map_or(GOLIVE_DEFAULT_CONCURRENCY, |c| c as usize);
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| format!("http client: {e}"))?;

    let golive_once = |run: usize| {
        let checklist = checklist.clone();
        let expected_by_probe = expected_by_probe.clone();
        let dir = dir.path().to_path_buf();
        async move {
            let out = run_golive(opts, &dir, &checklist).await?;
            let mut m = Measurement::new("compare200:golive", run, 200, &out);
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
            Ok::<Measurement, String>(m)
        }
    };
    let blackbox_once = |run: usize| {
        let (client, checks, blackbox) = (&client, &checks, &blackbox);
        async move {
            let Some(bb) = blackbox else { return Ok(None) };
            let round = blackbox_round(client, bb, checks, concurrency).await?;
            let mut m = Measurement {
                scenario: "compare200:blackbox",
                run,
                items: checks.len(),
                wall: round.wall,
                engine: Duration::ZERO,
                peak_rss_kib: proc_peak_rss_kib(bb.pid()),
                cpu: Some(round.cpu),
                notes: Vec::new(),
                problems: Vec::new(),
                misses: Vec::new(),
            };
            if !round.failed.is_empty() {
                let mut msg = format!(
                    "{} of {} /probe answers were not probe_success 1; first ones:",
                    round.failed.len(),
                    checks.len()
                );
                for f in round.failed.iter().take(8) {
                    let _ = write!(msg, "\n    {f}");
                }
                m.problems.push(msg);
            }
            Ok::<Option<Measurement>, String>(Some(m))
        }
    };

    // One unmeasured round of each first: page cache, the exporter's first connections.
    let warm = golive_once(0).await?;
    if let Some(p) = warm.problems.first() {
        println!("FAIL compare200 warm-up (golive): {p}");
    }
    if let Some(w) = blackbox_once(0).await?
        && let Some(p) = w.problems.first()
    {
        println!("FAIL compare200 warm-up (blackbox_exporter): {p}");
    }

    let mut out = Vec::new();
    for run in 1..=opts.runs {
        // Alternate which side goes first.
        let (g, b) = if run % 2 == 1 {
            let g = golive_once(run).await?;
            (g, blackbox_once(run).await?)
        } else {
            let b = blackbox_once(run).await?;
            (golive_once(run).await?, b)
        };
        let mut g = g;
        match b {
            Some(mut b) => {
                g.notes.push(if run % 2 == 1 { "ran first" } else { "ran second" }.into());
                let wall_ratio = b.wall.as_secs_f64() / g.wall.as_secs_f64().max(1e-9);
                let cpu_ratio = match (b.cpu, g.cpu) {
                    (Some(bc), Some(gc)) => Some(bc.as_secs_f64() / gc.as_secs_f64().max(1e-9)),
                    _ => None,
                };
                b.notes.push(format!(
                    "CPU clock delta, {} in flight; vs golive: wall x{wall_ratio:.2}, cpu {}",
                    concurrency,
                    cpu_ratio.map_or("n/a".into(), |r| format!("x{r:.2}"))
                ));
                if wall_ratio < COMPARE_WALL_RATIO_TARGET {
                    b.misses.push(format!("wall ratio {wall_ratio:.2} < {COMPARE_WALL_RATIO_TARGET:.0}"));
                }
                if let Some(r) = cpu_ratio.filter(|r| *r < COMPARE_CPU_RATIO_TARGET) {
                    b.misses.push(format!("cpu ratio {r:.2} < {COMPARE_CPU_RATIO_TARGET:.0}"));
                }
                out.push(g);
                out.push(b);
            }
            None => {
                g.notes.push("blackbox_exporter absent: not compared".into());
                out.push(g);
            }
        }
    }
    drop(blackbox);
    drop(redis);
    drop(pg);
    if opts.keep || out.iter().any(|m| !m.problems.is_empty()) {
        let kept = dir.keep();
        if let Some(m) = out.first_mut() {
            m.notes.push(format!("kept {}", kept.display()));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// startup1: a one-item run, start to exit

/// `golive run one.toml --no-store --quiet` with one `tcp` item and with one `http` item
/// against a local server, `runs` times each (alternating), one row per kind with the
/// medians. Issue 15: start-up of a one-item run at most 5 ms.
async fn startup1(opts: &Options, runs: usize) -> Result<Vec<Measurement>, String> {
    let dir =
        tempfile::Builder::new().prefix("golive-bench-startup1-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let http = HttpServer::start(vec![Route::new("/health").body("ok")]).await;
    let kinds = [
        (
            "startup1:tcp",
            format!(
                "id = \"one.tcp\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:{}\"\nexpect = {{ open = true }}\n",
                http.port()
            ),
        ),
        (
            "startup1:http",
            format!(
                "id = \"one.http\"\nprobe = \"http\"\nurl = {}\nexpect = {{ status = 200 }}\n",
                q(http.url("/health"))
            ),
        ),
    ];
    let mut checklists = Vec::new();
    for (name, item) in &kinds {
        let path = dir.path().join(format!("{}.toml", name.replace(':', "-")));
        std::fs::write(&path, format!("[checklist]\nname = \"one item\"\n\n[[item]]\n{item}"))
            .map_err(|e| format!("write {path:?}: {e}"))?;
        checklists.push(path);
    }
    // walls and cpus per kind; one unmeasured run of each first.
    let mut samples: Vec<(Vec<Duration>, Vec<Duration>, Vec<String>)> = vec![Default::default(); kinds.len()];
    for round in 0..=runs {
        for (k, checklist) in checklists.iter().enumerate() {
            let request = spawner::Request {
                program: opts.golive.clone(),
                args: vec!["run".into(), path_str(checklist), "--no-store".into(), "--quiet".into()],
                env: Vec::new(),
                env_remove: Vec::new(),
                stdout: dir.path().join("golive.stdout"),
                stderr: dir.path().join("golive.stderr"),
            };
            let spawner = opts.spawner.clone();
            let exit = tokio::task::spawn_blocking(move || spawner.run(&request))
                .await
                .map_err(|e| format!("waiting for golive: {e}"))??;
            if round == 0 {
                continue;
            }
            let (walls, cpus, problems) = &mut samples[k];
            walls.push(exit.wall);
            if let Some(c) = exit.cpu {
                cpus.push(c);
            }
            if exit.code != Some(0) {
                let stderr = std::fs::read_to_string(dir.path().join("golive.stderr")).unwrap_or_default();
                problems.push(format!("run {round}: golive exit {:?} (want 0){}", exit.code, stderr_tail(&stderr)));
            }
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        match v.len() {
            0 => None,
            n if n % 2 == 1 => Some(v[n / 2]),
            n => Some((v[n / 2 - 1] + v[n / 2]) / 2),
        }
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut out = Vec::new();
    for ((name, _), (mut walls, mut cpus, problems)) in kinds.iter().zip(samples) {
        let wall = median(&mut walls).unwrap_or_default();
        let cpu = median(&mut cpus);
        let mut notes = vec![format!(
            "median of {runs}: wall {:.1} ms [{:.1}..{:.1}]",
            ms(wall),
            walls.first().map_or(0.0, |d| ms(*d)),
            walls.last().map_or(0.0, |d| ms(*d))
        )];
        if let (Some(c), Some(lo), Some(hi)) = (cpu, cpus.first(), cpus.last()) {
            notes.push(format!("cpu {:.1} ms [{:.1}..{:.1}]", ms(c), ms(*lo), ms(*hi)));
        }
        let mut misses = Vec::new();
        if wall > STARTUP_TARGET {
            misses.push(format!("median wall {:.1} ms > {:.0} ms", ms(wall), ms(STARTUP_TARGET)));
        }
        out.push(Measurement {
            scenario: name,
            run: 1,
            items: 1,
            wall,
            engine: Duration::ZERO,
            peak_rss_kib: None,
            cpu,
            notes,
            problems: problems.into_iter().take(5).collect(),
            misses,
        });
    }
    if opts.keep || out.iter().any(|m| !m.problems.is_empty()) {
        let kept = dir.keep();
        if let Some(m) = out.first_mut() {
            m.notes.push(format!("kept {}", kept.display()));
        }
    }
    Ok(out)
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
        "{:<19} {:>3} {:>6} {:>7} {:>7} {:>11} {:>11} {:>6}  notes",
        "scenario", "run", "items", "wall_s", "run_s", "items_per_s", "peak_rss_mb", "cpu_s"
    );
    for m in all {
        let rss = m.rss_mib().map_or("n/a".to_string(), |r| format!("{r:.1}"));
        let cpu = m.cpu.map_or("n/a".to_string(), |c| format!("{:.3}", c.as_secs_f64()));
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
            "{:<19} {:>3} {:>6} {:>7.3} {:>7.3} {:>11.0} {:>11} {:>6}  {}",
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
    if all.iter().any(|m| m.scenario == "compare200:blackbox") {
        println!(
            "(compare200:blackbox: wall_s from the first /probe request to the last answer; cpu_s: the exporter's user+sys over them, from its process CPU clock; peak_rss_mb: its VmHWM since it started)"
        );
    }
}

fn print_summary(all: &[Measurement]) {
    println!();
    println!("median [min..max] over runs:");
    let mut names: Vec<&str> = Vec::new();
    for m in all {
        if !names.contains(&m.scenario) {
            names.push(m.scenario);
        }
    }
    for name in names {
        let runs: Vec<&Measurement> = all.iter().filter(|m| m.scenario == name).collect();
        if runs.len() < 2 {
            continue;
        }
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
            "{name:<19} wall_s {}  run_s {}  items_per_s {}  peak_rss_mb {}  cpu_s {}",
            stat(&|m| Some(m.wall.as_secs_f64()), 3),
            stat(&|m| Some(m.engine.as_secs_f64()), 3),
            stat(&|m| Some(m.items_per_s()), 0),
            stat(&|m| m.rss_mib(), 1),
            stat(&|m| m.cpu.map(|c| c.as_secs_f64()), 3),
        );
    }
}

/// compare200: blackbox_exporter's wall and CPU over golive's, pair by pair (the same run
/// number), their median and range, and pass or miss against issue 15's 3x and 6x.
fn print_compare_verdict(all: &[Measurement]) {
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for b in all.iter().filter(|m| m.scenario == "compare200:blackbox") {
        let Some(g) = all.iter().find(|m| m.scenario == "compare200:golive" && m.run == b.run) else { continue };
        wall.push(b.wall.as_secs_f64() / g.wall.as_secs_f64().max(1e-9));
        if let (Some(bc), Some(gc)) = (b.cpu, g.cpu) {
            cpu.push(bc.as_secs_f64() / gc.as_secs_f64().max(1e-9));
        }
    }
    if wall.is_empty() {
        return;
    }
    let describe = |v: &mut Vec<f64>, target: f64| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        let verdict = if median >= target { "ok" } else { "MISS" };
        format!("x{median:.2} [{:.2}..{:.2}] (target >= {target:.0}: {verdict})", v[0], v[n - 1])
    };
    println!();
    println!(
        "compare200, blackbox_exporter / golive over {} pairs, median [min..max]: wall {}, cpu {}",
        wall.len(),
        describe(&mut wall, COMPARE_WALL_RATIO_TARGET),
        if cpu.is_empty() { "n/a".to_string() } else { describe(&mut cpu, COMPARE_CPU_RATIO_TARGET) }
    );
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

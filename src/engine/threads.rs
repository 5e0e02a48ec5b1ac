//! How many threads run a run's probes (`--threads`, docs/cli.md#threads).
//!
//! Probing is mostly waiting: for a connection, a login, an answer. A second thread only
//! shortens a run whose own CPU work is long enough to keep one thread busy, and it has a
//! price: the threads wake each other and steal work from each other, and each gets its own
//! allocator heap. On the 200-check `compare200` benchmark one thread took 12 % less CPU
//! for the same wall time, while the 1,000-item `scale1k` (200 TLS handshakes) took 16 %
//! longer and `body50` (50 large bodies judged) 59 % longer (docs/benchmarks.md, "Tenth
//! round"). So `auto` estimates the CPU the run's items will cost golive
//! ([`estimated_cpu`]) and uses one thread below [`ONE_THREAD_UP_TO`], else one per core.
//! Blocking work (files, process tables, backups) runs on separate threads either way.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use crate::checklist::Item;

/// Below this estimated CPU a run's waits (start-up, a database login, round trips) are
/// longer than its work, and a second thread would not shorten it.
pub const ONE_THREAD_UP_TO: Duration = Duration::from_millis(25);

/// What `--threads` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// One thread for a small run, one per core for a large one.
    Auto,
    /// Exactly this many (at least 1).
    Exactly(usize),
}

impl std::str::FromStr for Threads {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(Threads::Auto);
        }
        match s.parse::<usize>() {
            Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(Threads::Exactly(n)),
            _ => Err(format!("expected auto or a number of threads from 1 to {MAX_THREADS}, not `{s}`")),
        }
    }
}

/// More threads than any machine golive runs on would use.
const MAX_THREADS: usize = 1024;

/// Roughly what golive's own CPU costs per item (measured on the benchmarks'
/// loopback targets, docs/benchmarks.md): a quick exchange, plus a TLS handshake (key
/// exchange and signature checks), plus a response body read and judged.
const PER_ITEM: Duration = Duration::from_micros(50);
const PER_HANDSHAKE: Duration = Duration::from_micros(200);
const PER_BODY: Duration = Duration::from_millis(2);

/// The CPU golive's probe threads are expected to spend on these items. Manual items cost
/// nothing; an http item with `requests = N` counts N times.
pub fn estimated_cpu<'a>(items: impl IntoIterator<Item = &'a Item>) -> Duration {
    items.into_iter().filter(|item| !item.is_manual()).map(item_cpu).sum()
}

fn item_cpu(item: &Item) -> Duration {
    let url = item.params.str("url").unwrap_or_default();
    let handshake = item.probe.kind == "tls" || url.starts_with("https://") || url.starts_with("rediss://");
    let body = item.probe.kind == "http" && item.expect.iter().any(|e| e.fact.starts_with("body"));
    let one = PER_ITEM
        + if handshake { PER_HANDSHAKE } else { Duration::ZERO }
        + if body { PER_BODY } else { Duration::ZERO };
    let repeats = if item.probe.kind == "http" { item.params.int("requests").unwrap_or(1).clamp(1, 1000) } else { 1 };
    one * repeats as u32
}

/// The number of threads: `Exactly` as asked; `Auto`, one when the estimate is below
/// [`ONE_THREAD_UP_TO`] (or the machine has one core), else one per core.
pub fn choose(asked: Threads, estimate: Duration, cores: usize) -> usize {
    match asked {
        Threads::Exactly(n) => n,
        Threads::Auto if estimate < ONE_THREAD_UP_TO => 1,
        Threads::Auto => cores.max(1),
    }
}

/// The runtime for `threads` threads: one thread is the current-thread runtime (the run's
/// own thread drives it, no worker threads at all); more are worker threads. Either way its
/// threads are named `golive-worker` (with one thread, those of blocking work), which the
/// panic hook keeps quiet for ([`quiet_panic_here`]).
pub fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().thread_name(WORKER).build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().thread_name(WORKER).build()
    }
}

const WORKER: &str = "golive-worker";

thread_local! {
    /// Tasks of the engine being polled on this thread, nested.
    static IN_TASK: Cell<usize> = const { Cell::new(0) };
}

/// Counts this thread as polling an engine task while `fut` is polled.
struct InTask;

impl InTask {
    fn enter() -> InTask {
        IN_TASK.with(|n| n.set(n.get() + 1));
        InTask
    }
}

impl Drop for InTask {
    fn drop(&mut self) {
        IN_TASK.with(|n| n.set(n.get() - 1));
    }
}

/// `fut`, marked as an engine task while it is polled: a panic in it becomes the item's
/// `error` outcome, so the panic hook does not print it ([`quiet_panic_here`]), also when
/// it runs on the thread that started the run (one probe thread).
pub async fn quiet_panics<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        let _in = InTask::enter();
        fut.as_mut().poll(cx)
    })
    .await
}

/// Whether a panic here is an engine task's (reported as its item's outcome, so not
/// printed by the panic hook): on a runtime thread, or inside [`quiet_panics`].
pub fn quiet_panic_here() -> bool {
    IN_TASK.with(Cell::get) > 0 || std::thread::current().name().is_some_and(|n| n.starts_with(WORKER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_quiet_only_inside_an_engine_task_or_on_a_runtime_thread() {
        let runtime = runtime(1).unwrap();
        runtime.block_on(async {
            assert!(!quiet_panic_here(), "the run's own code, outside a task");
            assert!(quiet_panics(async { quiet_panic_here() }).await);
            assert!(tokio::spawn(quiet_panics(async { quiet_panic_here() })).await.unwrap());
            assert!(!tokio::spawn(async { quiet_panic_here() }).await.unwrap());
            assert!(tokio::task::spawn_blocking(quiet_panic_here).await.unwrap(), "blocking work of a probe");
            // A panicking task leaves the count as it was.
            assert!(tokio::spawn(quiet_panics(async { panic!("probe bug") })).await.unwrap_err().is_panic());
            assert!(!quiet_panic_here());
        });
        assert!(!quiet_panic_here());
        let workers = runtime_on_workers();
        assert!(workers.block_on(async { tokio::spawn(async { quiet_panic_here() }).await.unwrap() }));
    }

    fn runtime_on_workers() -> tokio::runtime::Runtime {
        runtime(2).unwrap()
    }

    #[test]
    fn threads_parse_auto_or_a_count() {
        assert_eq!("auto".parse::<Threads>(), Ok(Threads::Auto));
        assert_eq!("1".parse::<Threads>(), Ok(Threads::Exactly(1)));
        assert_eq!("8".parse::<Threads>(), Ok(Threads::Exactly(8)));
        for bad in ["0", "-1", "many", "", "1025"] {
            let e = bad.parse::<Threads>().unwrap_err();
            assert!(e.contains("auto or a number of threads"), "{bad}: {e}");
        }
    }

    #[test]
    fn auto_takes_one_thread_below_the_line_and_every_core_above() {
        assert_eq!(choose(Threads::Auto, Duration::from_millis(12), 8), 1);
        assert_eq!(choose(Threads::Auto, ONE_THREAD_UP_TO, 8), 8);
        assert_eq!(choose(Threads::Auto, Duration::from_millis(80), 2), 2);
        assert_eq!(choose(Threads::Auto, Duration::from_secs(5), 1), 1);
        assert_eq!(choose(Threads::Exactly(3), Duration::ZERO, 8), 3);
        assert_eq!(choose(Threads::Exactly(1), Duration::from_secs(5), 8), 1);
    }
}

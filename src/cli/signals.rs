//! SIGINT, SIGTERM and SIGHUP, for every command. While `golive run` runs its items, the
//! first signal stops the run: no item starts, running ones are cancelled, every program
//! they started is ended, the reports are written with the unfinished items as
//! `error: interrupted`, and golive exits 128 + the signal's number. At any other moment
//! (loading a checklist, signing), and at a second signal, golive ends every program it
//! started, removes the temporary file it is writing, and exits at once with that code.
//! Programs golive starts run in their own process groups, so a terminal's Ctrl-C reaches
//! only golive: it is golive that ends them.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::engine::Interrupt;

/// A signal golive handles: how tokio names it, its name, the exit code it gives.
type Handled = (fn() -> SignalKind, &'static str, u8);

/// The signals golive handles.
const HANDLED: [Handled; 3] = [
    (SignalKind::interrupt, "SIGINT", super::exit::SIGINT),
    (SignalKind::terminate, "SIGTERM", super::exit::SIGTERM),
    (SignalKind::hangup, "SIGHUP", super::exit::SIGHUP),
];

/// The exit code of a run stopped by `signal`: 128 + its number, as shells report it.
pub fn exit_code(signal: &str) -> u8 {
    HANDLED.iter().find(|(_, name, _)| *name == signal).map_or(super::exit::INTERNAL, |(_, _, code)| *code)
}

/// True while a run's first signal should stop the run rather than exit.
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// From now on the first signal stops the run gracefully (see the module comment).
pub fn graceful(on: bool) {
    GRACEFUL.store(on, Ordering::SeqCst);
}

/// Set once a signal's exit is under way: from then on golive's exit code is the signal's.
static EXITING: AtomicBool = AtomicBool::new(false);

/// Ends everything golive started and exits at once.
///
/// The decision comes first, then stderr is held: ending the programs can make what another
/// thread waits on fail (a checklist's `--describe` program, killed while loading), and
/// that thread must neither print its error nor exit with its own code (2, say) before this
/// one exits with the signal's. It waits in [`settle`] and at its next message.
fn exit_now(signal: &'static str, why: &str) -> ! {
    use std::io::Write;
    EXITING.store(true, Ordering::SeqCst);
    let mut stderr = std::io::stderr().lock();
    crate::probe::process::end_all();
    crate::fswrite::discard_temp_files();
    let code = exit_code(signal);
    let _ = writeln!(stderr, "golive: {signal}: {why}; exit {code}");
    std::process::exit(code.into())
}

/// Called before golive exits with a code of its own: while a signal's exit is under way
/// (see [`exit_now`]) it waits for that exit instead, which ends the process.
pub fn settle() {
    if EXITING.load(Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
}

async fn next(streams: &mut [(Signal, &'static str)]) -> &'static str {
    if streams.is_empty() {
        std::future::pending::<()>().await;
    }
    let waits = streams.iter_mut().map(|(s, name)| {
        Box::pin(async move {
            s.recv().await;
            *name
        })
    });
    futures::future::select_all(waits).await.0
}

/// Handles the signals from now on, on a thread of its own (it outlives the run's runtime,
/// so a signal while the reports are written is handled too). Returns what a run watches
/// for its first signal.
pub fn install() -> Interrupt {
    let (tx, rx) = watch::channel(None);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("golive-signals".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_io().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("golive: cannot watch for signals: {e}");
                let _ = ready_tx.send(());
                return;
            }
        };
        runtime.block_on(async move {
            let mut streams = Vec::new();
            for (kind, name, _) in HANDLED {
                match signal(kind()) {
                    Ok(s) => streams.push((s, name)),
                    Err(e) => eprintln!("golive: cannot handle {name}: {e}"),
                }
            }
            let _ = ready_tx.send(());
            let first = next(&mut streams).await;
            if !GRACEFUL.load(Ordering::SeqCst) {
                exit_now(first, "stopping at once; nothing more is written");
            }
            let _ = tx.send(Some(first));
            eprintln!(
                "golive: {first}: stopping: no more items start, running ones are cancelled, the reports are written; a second signal exits at once"
            );
            let second = next(&mut streams).await;
            exit_now(second, "exiting at once; the reports are not written");
        });
    });
    if spawned.is_ok() {
        // Until the handlers are in place a signal would kill golive without ending anything.
        let _ = ready_rx.recv();
    }
    rx
}

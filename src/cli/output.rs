//! Writing to stdout and stderr without panicking. std's `print!` family panics when a write
//! fails, and a closed pipe (`golive checks | head`) is such a failure: golive would die with
//! a panic message instead of ending like other Unix tools. Every command prints through
//! these functions (the `print!`, `println!`, `eprint!` and `eprintln!` macros of `cli` call
//! them; see `cli/mod.rs`).
//!
//! A closed stdout (`EPIPE`) means the reader has what it wanted: golive stops writing to
//! stdout, says nothing, and finishes the command as usual (`run` still writes its file
//! outputs and exits by the gate). Any other failure to write stdout (a full disk behind
//! `> report.txt`) is said once on stderr and makes a command that would have succeeded exit
//! 3. Failures to write stderr are ignored: there is nowhere left to say them.
//!
//! golive keeps `SIGPIPE` ignored (Rust's default) rather than resetting it to the default
//! action, which would kill golive at the first write to a closed pipe: golive also writes to
//! the pipes of programs it starts and to sockets, and being killed there would leave those
//! programs running and the reports unwritten (see docs/cli.md, "Pipes").

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// The reader of stdout has gone: nothing more is written there.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Writing stdout failed for another reason than a closed pipe.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout and flushes. `Ok` when the text was written or stdout is closed (a closed
/// pipe is not an error); `Err` for any other failure, which was said on stderr.
pub fn stdout(args: fmt::Arguments) -> io::Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => {
            if !STDOUT_FAILED.swap(true, Ordering::Relaxed) {
                stderr(format_args!("golive: cannot write to stdout: {e}\n"));
            }
            Err(e)
        }
    }
}

/// Lends stdout to `write` as a buffered writer (a report streamed piece by piece, never
/// whole in memory), then flushes; the same rules as [`stdout`]: once the pipe is closed
/// every write is taken and dropped, and another failure is said once on stderr.
pub fn stdout_with(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    struct Sink<W: Write>(W);
    impl<W: Write> Sink<W> {
        fn closed_is_ok<T>(result: io::Result<T>, taken: T) -> io::Result<T> {
            match result {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    STDOUT_CLOSED.store(true, Ordering::Relaxed);
                    Ok(taken)
                }
                other => other,
            }
        }
    }
    impl<W: Write> Write for Sink<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if STDOUT_CLOSED.load(Ordering::Relaxed) {
                return Ok(buf.len());
            }
            Self::closed_is_ok(self.0.write(buf), buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            if STDOUT_CLOSED.load(Ordering::Relaxed) {
                return Ok(());
            }
            Self::closed_is_ok(self.0.flush(), ())
        }
    }
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    // The buffer outside the closed-pipe check: what it holds is dropped once the pipe is
    // closed, as a write would be.
    let mut out = io::BufWriter::with_capacity(64 * 1024, Sink(io::stdout().lock()));
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) => {
            if !STDOUT_FAILED.swap(true, Ordering::Relaxed) {
                stderr(format_args!("golive: cannot write to stdout: {e}\n"));
            }
            Err(e)
        }
    }
}

/// Writes to stderr; a failure is ignored.
pub fn stderr(args: fmt::Arguments) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.flush());
}

/// Whether a write to stdout failed for another reason than a closed pipe.
pub fn stdout_failed() -> bool {
    STDOUT_FAILED.load(Ordering::Relaxed)
}

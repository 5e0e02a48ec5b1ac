//! `-v`/`-vv`, `GOLIVE_LOG` and `RUST_LOG`: what golive does (loading, what each item
//! connects to, attempts, retries, timings, reports written), logged with `tracing` to
//! stderr. Without any of them nothing is logged and no subscriber is installed.
//!
//! Never a secret: golive's own events name items, probe kinds, durations and the
//! parameters as reports show them (URL passwords and secret headers masked, `${env:…}`
//! references kept). Each log line also passes through every redactor the loaded checklist
//! made (its `${env:…}` values, secret vars) and the URL-password mask before it is
//! written, so a dependency's event (enabled with `RUST_LOG=debug`) cannot show one either.

use std::io;
use std::sync::RwLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::redact::{Redactor, mask_url_passwords};

/// The secrets known so far, for masking log lines: one redactor per loaded checklist.
static SECRETS: RwLock<Vec<Redactor>> = RwLock::new(Vec::new());

/// Masks the secrets of `redactor` in every later log line.
pub fn add_secrets(redactor: &Redactor) {
    if redactor.is_empty() {
        return;
    }
    if let Ok(mut secrets) = SECRETS.write() {
        secrets.push(redactor.clone());
    }
}

/// The filter: `GOLIVE_LOG`, else `RUST_LOG` (not with `--quiet`: a `RUST_LOG` set for the
/// service being checked is often in golive's environment too), else nothing; then `-v`
/// makes golive's own events at least `info`, `-vv` `debug`, `-vvv` `trace`. `None` when
/// nothing is to be logged.
fn filter(verbose: u8, quiet: bool) -> Option<EnvFilter> {
    let names: &[&str] = if quiet { &["GOLIVE_LOG"] } else { &["GOLIVE_LOG", "RUST_LOG"] };
    let from_env =
        names.iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()).map(|v| (*name, v)));
    let mut filter = match &from_env {
        Some((name, value)) => match EnvFilter::builder().parse(value) {
            Ok(filter) => filter,
            Err(e) => {
                eprintln!("golive: warning: {name}={value} is not a log filter ({e}); it is ignored");
                EnvFilter::new("off")
            }
        },
        None if verbose == 0 => return None,
        None => EnvFilter::new("off"),
    };
    let level = match verbose {
        0 => None,
        1 => Some("info"),
        2 => Some("debug"),
        _ => Some("trace"),
    };
    if let Some(level) = level
        && let Ok(directive) = format!("golive={level}").parse()
    {
        filter = filter.add_directive(directive);
    }
    Some(filter)
}

/// Whether a subscriber logs to stderr (then `run` draws no progress indicator there).
static ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether golive logs to stderr.
pub fn enabled() -> bool {
    ENABLED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Installs the stderr subscriber, when `-v` or a log variable asks for one.
pub fn init(verbose: u8, quiet: bool) {
    let Some(filter) = filter(verbose, quiet) else {
        return;
    };
    ENABLED.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(MaskingStderr)
        .with_target(true)
        .log_internal_errors(false)
        .try_init();
}

/// Writes each log line to stderr with every known secret masked.
struct MaskingStderr;

impl<'a> MakeWriter<'a> for MaskingStderr {
    type Writer = MaskingStderr;

    fn make_writer(&'a self) -> Self::Writer {
        MaskingStderr
    }
}

impl io::Write for MaskingStderr {
    /// The formatter hands over one whole event per call: it is masked as a whole.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut masked = mask_url_passwords(&text).into_owned();
        if let Ok(secrets) = SECRETS.read() {
            for redactor in secrets.iter() {
                masked = redactor.redact(&masked).into_owned();
            }
        }
        super::output::stderr(format_args!("{masked}"));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

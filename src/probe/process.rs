//! The programs probes start: each runs in its own process group, with a minimal environment
//! unless its item asks for more, and with the open-file limit golive was started with. The
//! whole group is ended when the item is done with it: when the program exits (so a
//! background child it left cannot outlive golive), when the item times out, and when the
//! run is interrupted ([`end_all`]). Every group golive has started and not yet ended is
//! recorded here, so nothing is missed.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{ParamSpec, ParamType, Params};

/// What every program gets from golive's environment: where programs are, who and where the
/// user is, the language and time zone, the temporary directory. Plus every `LC_*`.
pub const BASE_ENV: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"];

/// The parameters that choose a program's environment, the same for every probe that runs
/// a program of the checklist's choosing (`command`, `exec`, `backup`'s restore test).
pub const ENV: ParamSpec =
    ParamSpec::optional("env", ParamType::StringMap, "environment variables set for the program");
pub const PASS_ENV: ParamSpec = ParamSpec::optional(
    "pass_env",
    ParamType::EnvNames,
    "names of golive's environment variables the program also gets, e.g. [\"AWS_PROFILE\", \"PGPASSFILE\"]; NAME_* passes every variable starting with NAME_; their values are masked like ${env:NAME}",
);
pub const INHERIT_ENV: ParamSpec = ParamSpec::with_default(
    "inherit_env",
    ParamType::Bool,
    "false",
    "give the program golive's whole environment (every variable, secrets included) instead of PATH, HOME, USER, LOGNAME, LANG, LANGUAGE, LC_*, TZ, TMPDIR and pass_env",
);

/// Is `name` in the base environment every program gets?
pub fn is_base_env(name: &str) -> bool {
    BASE_ENV.contains(&name) || name.starts_with("LC_")
}

/// Why a `pass_env` entry names no variable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name:?} is not an environment variable name (letters, digits and _, not starting with a digit; NAME_* for a prefix)"
)]
pub struct BadEnvName {
    pub name: String,
}

/// A `pass_env` entry: one name, or several separated by spaces or commas (so one var can
/// hold a list), each a name or a prefix ending in `*`.
pub fn env_names(entry: &str) -> Result<Vec<&str>, BadEnvName> {
    let mut names = Vec::new();
    for name in crate::value::list_items(entry) {
        let plain = name.strip_suffix('*').unwrap_or(name);
        let valid = plain.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !plain.starts_with(|c: char| c.is_ascii_digit())
            && !plain.is_empty();
        if !valid {
            return Err(BadEnvName { name: name.to_string() });
        }
        names.push(name);
    }
    Ok(names)
}

/// Does a `pass_env` name or `PREFIX*` pattern cover the variable `var`?
pub fn env_name_matches(pattern: &str, var: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => var.starts_with(prefix),
        None => var == pattern,
    }
}

/// The environment a program gets: golive's whole environment (`inherit_env = true`) or the
/// base variables plus `pass_env`, then `env` on top.
#[derive(Clone, Debug, Default)]
pub struct ChildEnv {
    pub inherit: bool,
    pub pass: Vec<String>,
    pub set: BTreeMap<String, String>,
}

impl ChildEnv {
    /// The base environment only.
    pub fn minimal() -> Self {
        ChildEnv::default()
    }

    /// From an item's `env`, `pass_env` and `inherit_env` parameters ([`ENV`], [`PASS_ENV`], [`INHERIT_ENV`]).
    pub fn from_params(p: &Params) -> Self {
        let pass = p
            .list("pass_env")
            .iter()
            .flat_map(|entry| env_names(entry).unwrap_or_default().into_iter().map(str::to_string).collect::<Vec<_>>())
            .collect();
        ChildEnv { inherit: p.bool("inherit_env"), pass, set: p.map("env") }
    }

    /// The variables, from `from` (golive's environment), the program gets.
    pub fn resolve(&self, from: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = from
            .filter(|(name, _)| {
                self.inherit || is_base_env(name) || self.pass.iter().any(|p| env_name_matches(p, name))
            })
            .collect();
        out.extend(self.set.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    /// Replaces the command's environment with this one.
    pub fn apply(&self, command: &mut std::process::Command) {
        let vars =
            self.resolve(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))));
        command.env_clear().envs(vars);
    }
}

/// Every process group golive started that has not been ended yet.
static LIVE_GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn live_groups() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    LIVE_GROUPS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kills every process group golive started and has not ended yet (an interrupted run);
/// returns how many there were.
pub fn end_all() -> usize {
    let mut groups = live_groups();
    for &pgid in groups.iter() {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
    }
    let n = groups.len();
    groups.clear();
    n
}

/// How many process groups are live now (tests and diagnostics).
pub fn live_count() -> usize {
    live_groups().len()
}

/// A process group golive started, recorded while it may have members. [`Group::end`] (or
/// dropping it) kills every process still in it, once. Call it while the leader is not yet
/// reaped, so its pid, which is the group's id, cannot have been reused.
pub(crate) struct Group(Option<i32>);

impl Group {
    pub(crate) fn started(pid: Option<u32>) -> Group {
        let pgid = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0);
        if let Some(pgid) = pgid {
            live_groups().insert(pgid);
        }
        Group(pgid)
    }

    pub(crate) fn end(&mut self) {
        if let Some(pgid) = self.0.take() {
            let mut groups = live_groups();
            // end_all may have ended it already: then its id may be free again.
            if groups.remove(&pgid) {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.end();
    }
}

/// The open-file limit golive was started with: programs get it back (golive raises its own
/// soft limit at start), so a program that loops over every possible descriptor is not slowed
/// down, and a `select()`-based one keeps working.
static CHILD_NOFILE: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();

/// Records the limit programs get (their soft and hard `RLIMIT_NOFILE`); set once at start.
pub fn set_child_nofile(soft: u64, hard: u64) {
    let _ = CHILD_NOFILE.set((soft, hard));
}

/// Runs the program in its own process group (its id is the program's pid), and gives it
/// back the open-file limit golive started with.
pub(crate) fn prepare(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
    if let Some(&(soft, hard)) = CHILD_NOFILE.get() {
        // SAFETY: the closure runs in the child between fork and exec; it only makes the
        // setrlimit system call (async-signal-safe), allocating nothing and taking no lock.
        unsafe {
            command.pre_exec(move || {
                nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, soft, hard)
                    .map_err(std::io::Error::from)
            });
        }
    }
}

/// Resolves once the process has exited, without reaping it, so its pid (the group's id)
/// stays reserved until it is waited for. `None` where pidfds are not available (Linux
/// before 5.3) or no descriptor is left: the caller then ends the group right after reaping.
fn exit_notifier(pid: Option<u32>) -> Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    use std::os::fd::FromRawFd;
    let pid = libc::pid_t::try_from(pid?).ok()?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, libc::PIDFD_NONBLOCK) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the descriptor was just returned by pidfd_open and is owned by nobody else.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: an OwnedFd stays open, and is the same descriptor, until the AsyncFd drops it.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE) }.ok()
}

/// Whether the child `pid` has exited, without reaping it; `None` when that cannot be told.
fn has_exited(pid: nix::unistd::Pid) -> Option<bool> {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    loop {
        match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT) {
            Ok(WaitStatus::StillAlive) => return Some(false),
            Ok(_) => return Some(true),
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
}

/// What a finished program left behind.
pub(crate) struct Captured {
    /// The exit status (128 + signal number when killed by a signal).
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub duration: Duration,
}

/// How a program run by [`run_blocking`] ended.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why [`run_blocking`] has no [`Finished`] program to give.
#[derive(Clone, Debug, thiserror::Error)]
pub enum BlockingRunError {
    #[error("cannot run it: {0}")]
    Start(#[source] std::sync::Arc<std::io::Error>),
    #[error("waiting for it failed: {0}")]
    Wait(#[source] std::sync::Arc<std::io::Error>),
    #[error("it did not finish within {}", crate::value::format_duration(*after))]
    Timeout { after: Duration },
    #[error("it exited, but a process it started outside its process group kept its output open")]
    OutputHeld,
}

/// Runs a program to its end outside any async runtime (while loading): stdin is empty,
/// at most `max` bytes of each output are kept, and it runs in its own process group, which
/// is ended when the program exits or after `timeout`, so a background child it started
/// cannot outlive golive.
pub(crate) fn run_blocking(
    mut command: std::process::Command,
    timeout: Duration,
    max: usize,
) -> Result<Finished, BlockingRunError> {
    use std::io::Read;
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    prepare(&mut command);
    let mut child = command.spawn().map_err(|e| BlockingRunError::Start(e.into()))?;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut group = Group::started(Some(child.id()));
    // Each pipe is read on a thread that reports over a channel, so a process that escaped
    // the group (`setsid`) and keeps a pipe open cannot hold golive once the program ended.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = (&mut pipe).take(max as u64).read_to_end(&mut kept);
                // Drain the rest so the program never blocks on a full pipe.
                let _ = std::io::copy(&mut pipe, &mut std::io::sink());
            }
            let _ = tx.send(kept);
        });
        rx
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    // Wait for the program to exit without reaping it: while it is a zombie its pid stays
    // the group's id, so ending the group cannot reach an unrelated process.
    let exited = loop {
        use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::StillAlive) if started.elapsed() > timeout => break false,
            Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(5)),
            Ok(_) => break true,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                group.end();
                let _ = child.wait();
                return Err(BlockingRunError::Wait(std::sync::Arc::new(e.into())));
            }
        }
    };
    // Ends the background children too; their copies of the pipes close with them.
    group.end();
    let status = child.wait().map_err(|e| BlockingRunError::Wait(e.into()))?;
    if !exited {
        return Err(BlockingRunError::Timeout { after: timeout });
    }
    // The group is ended: its members' copies of the pipes are closed. Only a process that
    // left the group can keep one open; give the readers a moment, then stop waiting.
    let grace = Instant::now() + Duration::from_secs(2);
    let collect = |rx: std::sync::mpsc::Receiver<Vec<u8>>| {
        rx.recv_timeout(grace.saturating_duration_since(Instant::now())).map_err(|_| BlockingRunError::OutputHeld)
    };
    let stdout = collect(out)?;
    let stderr = collect(err)?;
    Ok(Finished { status, stdout, stderr })
}

/// The first non-empty line of a program's output, at most 300 characters (then `…`, where
/// masking looks for a secret cut in half).
pub(crate) fn first_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(crate::diag::clip(line, 300).into_owned())
}

/// `status 3`, or `a signal` for a program killed by one.
pub(crate) fn exit_code_text(status: &std::process::ExitStatus) -> String {
    status.code().map_or_else(|| "a signal".to_string(), |c| format!("status {c}"))
}

/// Runs a command (its environment already chosen) in its own process group, feeding it
/// `stdin` (or nothing) and keeping at most `max` bytes of each output. As soon as the
/// program exits, what is left of its process group (background children) is killed, which
/// also closes their copies of the output pipes; if the future is dropped (the item timed
/// out, the run was interrupted), the whole group is killed. Errors are those of starting
/// or waiting for it.
pub(crate) async fn run_captured(
    mut command: tokio::process::Command,
    stdin: Option<Vec<u8>>,
    max: usize,
) -> std::io::Result<Captured> {
    command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    prepare(command.as_std_mut());
    command.kill_on_drop(true);
    let started = Instant::now();
    let mut child = command.spawn()?;
    let mut group = Group::started(child.id());
    let exited = exit_notifier(child.id());
    let (input, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let feed = async move {
        if let (Some(mut pipe), Some(bytes)) = (input, stdin) {
            // A program that exits without reading its input is not an error here.
            let _ = pipe.write_all(&bytes).await;
        }
    };
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).map(nix::unistd::Pid::from_raw);
    let wait = async {
        if let (Some(exited), Some(pid)) = (&exited, pid) {
            while let Ok(mut ready) = exited.readable().await {
                match has_exited(pid) {
                    // Exited and not reaped yet: its group id is still its own.
                    Some(true) => {
                        group.end();
                        break;
                    }
                    // Readiness can be spurious: look again when the descriptor says so.
                    Some(false) => ready.clear_ready(),
                    None => break,
                }
            }
        }
        let status = child.wait().await;
        // Without a pidfd: the pid was just reaped; the group id stays reserved while any
        // member lives, so this reaches only processes the program left behind.
        group.end();
        status
    };
    let (_, out, err, status) = tokio::join!(feed, read_capped(stdout, max), read_capped(stderr, max), wait);
    let status = status?;
    let exit_code = match status.code() {
        Some(code) => code,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
    };
    Ok(Captured { exit_code, stdout: out, stderr: err, duration: started.elapsed() })
}

/// Reads a pipe to its end, keeping at most `max` bytes (the rest is drained so the
/// program never blocks on a full pipe).
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, max: usize) -> Vec<u8> {
    let Some(mut pipe) = pipe else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = max.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_env_entries_are_names_prefixes_or_lists_of_them() {
        assert_eq!(env_names("AWS_PROFILE").unwrap(), ["AWS_PROFILE"]);
        assert_eq!(env_names(" A, B_C  RESTIC_* ").unwrap(), ["A", "B_C", "RESTIC_*"]);
        assert!(env_names("").unwrap().is_empty(), "an empty var adds nothing");
        for bad in ["1ABC", "A-B", "*", "A*B", "$HOME"] {
            assert_eq!(env_names(bad), Err(BadEnvName { name: bad.to_string() }), "{bad}");
        }
        assert!(env_name_matches("RESTIC_*", "RESTIC_PASSWORD"));
        assert!(!env_name_matches("RESTIC_*", "RESTICX"));
        assert!(env_name_matches("A", "A") && !env_name_matches("A", "AB"));
    }

    #[test]
    fn a_program_gets_the_base_environment_what_it_asks_for_and_its_env() {
        let golive = || {
            [("PATH", "/bin"), ("HOME", "/h"), ("LC_TIME", "C"), ("DB_PASSWORD", "s3cret"), ("AWS_KEY", "k")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
        };
        let names = |env: &ChildEnv| env.resolve(golive()).into_keys().collect::<Vec<_>>();
        assert_eq!(names(&ChildEnv::minimal()), ["HOME", "LC_TIME", "PATH"]);
        let passing = ChildEnv { pass: vec!["AWS_*".into()], ..Default::default() };
        assert_eq!(names(&passing), ["AWS_KEY", "HOME", "LC_TIME", "PATH"]);
        let everything = ChildEnv { inherit: true, ..Default::default() };
        assert_eq!(names(&everything), ["AWS_KEY", "DB_PASSWORD", "HOME", "LC_TIME", "PATH"]);
        let set = ChildEnv { set: [("PATH".to_string(), "/opt".to_string())].into(), ..Default::default() };
        assert_eq!(set.resolve(golive())["PATH"], "/opt", "env wins");
    }
}

//! The transport: the system's OpenSSH client, one multiplexed connection per target.
//!
//! For each target golive starts a control master (`ssh -M -N`, its socket in a private
//! directory of golive's), so ssh reads the user's config (or `--ssh-config`) for aliases,
//! ports, users, identity files, agents and ProxyJump exactly as `ssh HOST` would. Over that
//! connection it copies itself into a new temporary directory on the target, starts the copy
//! as `golive __agent` (which deletes the copy before it reads anything), and sends it every
//! item of that target. Host keys are checked against known_hosts with
//! `StrictHostKeyChecking=yes`, whatever the config says: an unknown or changed key fails
//! the target. Answers to password and passphrase prompts come from golive itself as
//! `SSH_ASKPASS`, from its environment, never from a file or the command line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, oneshot};

use super::wire::{PROTOCOL, Reply, Request};
use crate::checklist::Target;
use crate::probe::{Facts, ProbeError, ProbeInput};

/// Environment variables that make golive answer ssh's prompt (see `askpass`).
pub const ASKPASS_ENV: &str = "GOLIVE_ASKPASS";
pub const ASKPASS_PASSWORD_ENV: &str = "GOLIVE_ASKPASS_PASSWORD";
pub const ASKPASS_PASSPHRASE_ENV: &str = "GOLIVE_ASKPASS_PASSPHRASE";
/// `user@hostname` of the target, as ssh resolves it: the only login a password answers.
pub const ASKPASS_LOGIN_ENV: &str = "GOLIVE_ASKPASS_LOGIN";

/// The longest answer line read from a helper (facts of one item).
const MAX_REPLY: usize = 64 << 20;
/// How much of ssh's stderr is kept for messages.
const MAX_STDERR: usize = 16 << 10;

#[derive(Clone, Debug)]
pub struct SshOptions {
    /// `--ssh-config`: the OpenSSH client config to read instead of the user's.
    pub config: Option<PathBuf>,
    /// Connecting, authenticating and starting the helper must end within this.
    pub setup_timeout: Duration,
    /// `--ssh-helper`: the golive binary to copy to targets (default: this one).
    pub helper: Option<PathBuf>,
    /// The ssh program (tests and unusual systems: `ssh` from `PATH` otherwise).
    pub program: PathBuf,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions { config: None, setup_timeout: Duration::from_secs(30), helper: None, program: PathBuf::from("ssh") }
    }
}

/// What golive knows of a connected target.
#[derive(Clone, Debug)]
pub struct Remote {
    pub hostname: String,
    pub os: String,
    pub arch: String,
}

/// A connected target: its control master and its helper.
pub struct Link {
    pub remote: Remote,
    helper: Helper,
    master: StdMutex<Option<Child>>,
    ssh: SshCommand,
}

impl Link {
    pub async fn observe(&self, kind: &str, input: &ProbeInput) -> Result<Facts, ProbeError> {
        self.helper.ask(kind, input).await.map_err(ProbeError::new)
    }

    /// False once the helper's session has ended (the target rebooted, the connection broke).
    pub fn alive(&self) -> bool {
        self.helper.ended.lock().unwrap().is_none()
    }

    /// Ends the helper (its stdin closes), then the control master.
    pub async fn close(&self) {
        self.helper.stdin.lock().await.take();
        let child = self.helper.child.lock().unwrap().take();
        if let Some(mut child) = child
            && tokio::time::timeout(Duration::from_secs(3), child.wait()).await.is_err()
        {
            let _ = child.kill().await;
        }
        let mut exit = self.ssh.command(&["-O", "exit"]);
        exit.stdout(Stdio::null()).stderr(Stdio::null()).stdin(Stdio::null());
        if let Ok(mut c) = exit.spawn() {
            let _ = tokio::time::timeout(Duration::from_secs(3), c.wait()).await;
        }
        let master = self.master.lock().unwrap().take();
        if let Some(mut master) = master
            && tokio::time::timeout(Duration::from_secs(3), master.wait()).await.is_err()
        {
            let _ = master.kill().await;
        }
    }
}

/// How to run ssh for one target: its options, then `--`, then the destination.
#[derive(Clone)]
struct SshCommand {
    program: PathBuf,
    args: Vec<String>,
    host: String,
    askpass: Vec<(&'static str, String)>,
}

impl SshCommand {
    fn new(target: &Target, opts: &SshOptions, socket: &Path, reach: Duration) -> SshCommand {
        let mut args = Vec::new();
        if let Some(config) = &opts.config {
            args.push("-F".into());
            args.push(config.to_string_lossy().into_owned());
        }
        let secret = target.password.is_some() || target.passphrase.is_some();
        // Reaching the target (TCP connect, the server's greeting) is bounded by the longest
        // timeout of its items, so an unreachable target fails them within their timeouts;
        // the whole setup (with the copy) by `setup_timeout`.
        let connect = reach.min(opts.setup_timeout).as_secs_f64().ceil().max(1.0) as u64;
        for o in [
            // Options given here win over the config's: these keep the run safe and bounded.
            "StrictHostKeyChecking=yes".to_string(),
            "UpdateHostKeys=no".into(),
            format!("BatchMode={}", if secret { "no" } else { "yes" }),
            format!("ConnectTimeout={connect}"),
            "ServerAliveInterval=10".into(),
            "ServerAliveCountMax=3".into(),
            // Quoted, and `%` doubled: ssh expands `%` tokens and splits at spaces.
            format!("ControlPath=\"{}\"", socket.display().to_string().replace('%', "%%")),
            "ControlPersist=no".into(),
            "ForwardAgent=no".into(),
            "ClearAllForwardings=yes".into(),
            "RequestTTY=no".into(),
            "PermitLocalCommand=no".into(),
            // golive's own commands run, not the config's; no variable of golive's is sent.
            "RemoteCommand=none".into(),
            "SendEnv=-*".into(),
        ] {
            args.push("-o".into());
            args.push(o);
        }
        if let Some(user) = &target.user {
            args.push("-l".into());
            args.push(user.clone());
        }
        if let Some(port) = target.port {
            args.push("-p".into());
            args.push(port.to_string());
        }
        let mut askpass = Vec::new();
        if secret {
            askpass.push((ASKPASS_ENV, "1".to_string()));
            if let Some(p) = &target.password {
                askpass.push((ASKPASS_PASSWORD_ENV, p.clone()));
            }
            if let Some(p) = &target.passphrase {
                askpass.push((ASKPASS_PASSPHRASE_ENV, p.clone()));
            }
        }
        SshCommand { program: opts.program.clone(), args, host: target.host.clone(), askpass }
    }

    /// `ssh OPTIONS EXTRA -- HOST [COMMAND]`: a session over the control master (`-M` in
    /// `extra` makes the master itself).
    fn command(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        if !extra.contains(&"-M") {
            c.args(["-o", "ControlMaster=no"]);
        }
        c.args(extra).arg("--").arg(&self.host);
        c.kill_on_drop(true);
        // Gone with golive however it ends (SIGKILL included): a control master left behind
        // would hold the connection open. (The parent is the forking thread: a runtime worker,
        // which lives as long as the run.)
        // SAFETY: prctl is async-signal-safe, as code between fork and exec must be.
        unsafe {
            c.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).map_err(std::io::Error::from)
            });
        }
        for k in [ASKPASS_ENV, ASKPASS_PASSWORD_ENV, ASKPASS_PASSPHRASE_ENV, ASKPASS_LOGIN_ENV] {
            c.env_remove(k);
        }
        c
    }

    /// `login`: `user@hostname` as ssh resolves the target (`ssh -G`), the one login a
    /// password prompt is answered for.
    fn master(&self, login: Option<&str>) -> Command {
        let mut c = self.command(&["-M", "-N"]);
        if !self.askpass.is_empty() {
            let me = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("golive"));
            c.env("SSH_ASKPASS", me).env("SSH_ASKPASS_REQUIRE", "force");
            for (k, v) in &self.askpass {
                c.env(k, v);
            }
            if let Some(login) = login {
                c.env(ASKPASS_LOGIN_ENV, login);
            }
        }
        c
    }

    /// `user@hostname` the target resolves to in the config (`ssh -G`), when ssh says.
    async fn login(&self) -> Option<String> {
        let mut c = self.command(&["-G"]);
        c.stdin(Stdio::null()).stderr(Stdio::null());
        let out = tokio::time::timeout(Duration::from_secs(10), c.output()).await.ok()?.ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ').map(str::to_string));
        Some(format!("{}@{}", field("user")?, field("hostname")?))
    }
}

/// Collects a child's stderr (bounded) in the background.
fn collect(stderr: Option<tokio::process::ChildStderr>) -> Arc<StdMutex<String>> {
    let text = Arc::new(StdMutex::new(String::new()));
    if let Some(mut stderr) = stderr {
        let text = text.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut t = text.lock().unwrap();
                if t.len() < MAX_STDERR {
                    t.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
    }
    text
}

/// ssh's words for why it failed, with what to do for the failures a user meets first.
fn explain(stderr: &str, target: &Target) -> String {
    let said: Vec<&str> = stderr
        .lines()
        .map(|l| l.trim().trim_start_matches("ssh: "))
        .filter(|l| !l.is_empty() && !l.starts_with("@@@") && !l.chars().all(|c| c == '@'))
        .collect();
    let last = said.iter().rev().take(3).rev().copied().collect::<Vec<_>>().join(" / ");
    let host = &target.host;
    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        return format!(
            "the host key of `{host}` is not the one known_hosts records: it changed, or someone is in between; golive does not connect. If the change is expected, verify the new key's fingerprint and replace the old one (ssh-keygen -R {host}) (ssh: {last})"
        );
    }
    if stderr.contains("Host key verification failed")
        || (stderr.contains("No ") && stderr.contains("host key is known"))
    {
        return format!(
            "the host key of `{host}` is not in known_hosts, and golive never accepts a key unseen; verify its fingerprint, then add it (ssh-keyscan, or one interactive `ssh {host}`) (ssh: {last})"
        );
    }
    if stderr.contains("Permission denied") {
        return format!(
            "`{host}` refused every key and password offered: check the user, the identity file (or ssh-agent), and `password`/`passphrase` (ssh: {last})"
        );
    }
    if last.is_empty() { format!("ssh to `{host}` failed with no message") } else { format!("ssh: {last}") }
}

/// Connects to `target`: control master, helper copy, helper start. Every step is bounded
/// by `opts.setup_timeout` in all.
pub async fn connect(
    target: &Target,
    opts: &SshOptions,
    sockets: &Path,
    n: usize,
    reach: Duration,
) -> Result<Link, String> {
    let socket = sockets.join(format!("{n}.sock"));
    let ssh = SshCommand::new(target, opts, &socket, reach);
    let started = Instant::now();
    let left = || opts.setup_timeout.saturating_sub(started.elapsed());

    // 1. The control master: it authenticates; its socket appears once it has.
    let login = if target.password.is_some() { ssh.login().await } else { None };
    let mut master = ssh.master(login.as_deref());
    master.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = master.spawn().map_err(|e| format!("cannot run {}: {e}", ssh.program.display()))?;
    let stderr = collect(child.stderr.take());
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            // Give the reader a moment to take the last words.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let said = stderr.lock().unwrap().clone();
            let why = explain(&said, target);
            return Err(if status.code() == Some(255) || !said.is_empty() {
                why
            } else {
                format!("ssh ended ({status}) before connecting: {why}")
            });
        }
        if socket.exists() {
            break;
        }
        if left().is_zero() {
            let _ = child.kill().await;
            return Err(format!("no SSH connection to `{}` within {}s", target.host, opts.setup_timeout.as_secs_f64()));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let link_master = StdMutex::new(Some(child));
    tracing::debug!(target = %target.name, elapsed = ?started.elapsed(), "ssh connected");

    // 2. The helper's copy, in a new private temporary directory.
    let helper_path = match &opts.helper {
        Some(p) => p.clone(),
        // The running binary itself, even if the file it came from was replaced since.
        None if cfg!(target_os = "linux") => PathBuf::from("/proc/self/exe"),
        None => std::env::current_exe().map_err(|e| format!("cannot find golive's own binary to copy: {e}"))?,
    };
    // Streamed from the file, not read into memory: targets connect several at a time.
    let mut helper = tokio::fs::File::open(&helper_path)
        .await
        .map_err(|e| format!("cannot read the helper {}: {e}", helper_path.display()))?;
    let size =
        helper.metadata().await.map_err(|e| format!("cannot read the helper {}: {e}", helper_path.display()))?.len();
    let arch_check = if opts.helper.is_some() {
        String::new()
    } else {
        format!(
            "case \"$(uname -s)/$(uname -m)\" in {}) ;; *) echo \"the target runs $(uname -s) on $(uname -m), this golive is for {} on {}: give --ssh-helper a golive built for the target\" >&2; exit 97;; esac; ",
            uname_machines().split('|').map(|m| format!("{}/{m}", uname_os())).collect::<Vec<_>>().join("|"),
            uname_os(),
            std::env::consts::ARCH
        )
    };
    // The directory must be a plain path (it goes into the helper's command line): one that
    // is not is removed at once. Until the copy is whole and its path sent, any end (a
    // failed `cat`, a cut connection, a signal) removes it. Shell start-up files may print
    // before the marker line: the last `golive-dir` line is the answer.
    let script = format!(
        "set -e; {arch_check}umask 077; d=$(mktemp -d \"${{TMPDIR:-/tmp}}/golive.XXXXXXXX\"); case \"$d\" in *[!A-Za-z0-9/._-]*) rm -rf \"$d\"; echo \"the target TMPDIR gives $d, a path with characters golive does not put on a command line: set TMPDIR to a plain path\" >&2; exit 96;; esac; trap \"rm -rf $d\" EXIT HUP INT TERM PIPE; cat > \"$d/golive\"; n=$(wc -c < \"$d/golive\" | tr -d \" \"); if [ \"$n\" != {size} ]; then echo \"the copy of golive arrived with $n of {size} bytes\" >&2; exit 95; fi; chmod 700 \"$d/golive\"; echo \"golive-dir $d\"; trap - EXIT HUP INT TERM PIPE"
    );
    let mut upload = ssh.command(&[]);
    upload.arg(format!("/bin/sh -c '{script}'"));
    upload.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut up = upload.spawn().map_err(|e| format!("cannot run ssh: {e}"))?;
    let mut stdin = up.stdin.take().expect("piped");
    let up_err = collect(up.stderr.take());
    let up_out = up.stdout.take().expect("piped");
    let copy = async {
        // A target that refuses the copy (arch check) closes its end: that is not the error.
        let _ = tokio::io::copy_buf(&mut BufReader::with_capacity(1 << 18, &mut helper), &mut stdin).await;
        drop(stdin);
        let mut said = String::new();
        let _ = up_out.take(64 << 10).read_to_string(&mut said).await;
        (up.wait().await, said)
    };
    let (status, said) = tokio::time::timeout(left(), copy).await.map_err(|_| {
        format!(
            "copying golive to `{}` took more than {}",
            target.host,
            crate::value::format_duration(opts.setup_timeout)
        )
    })?;
    let status = status.map_err(|e| e.to_string())?;
    if !status.success() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let said = up_err.lock().unwrap().trim().to_string();
        return Err(format!(
            "cannot copy golive to `{}`: {}",
            target.host,
            if said.is_empty() { status.to_string() } else { said }
        ));
    }
    let dir = said.lines().rev().find_map(|l| l.strip_prefix("golive-dir ")).unwrap_or_default().trim().to_string();
    tracing::debug!(target = %target.name, elapsed = ?started.elapsed(), dir = %dir, "golive copied");
    let plain =
        dir.starts_with('/') && dir.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
    if !plain {
        let said = crate::diag::clip(said.trim(), 300);
        return Err(format!("`{}` did not say where it put golive's copy (it answered {said:?})", target.host));
    }

    // 3. The helper: it deletes its copy and directory first, then answers.
    let mut start = ssh.command(&[]);
    start.arg(format!(
        "/bin/sh -c '\"{dir}/golive\" __agent --remove \"{dir}\" || {{ rc=$?; rm -rf \"{dir}\"; exit $rc; }}'"
    ));
    start.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = start.spawn().map_err(|e| format!("cannot run ssh: {e}"))?;
    let stdin = child.stdin.take().expect("piped");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let stderr = collect(child.stderr.take());
    let hello = tokio::time::timeout(left(), read_line(&mut stdout)).await;
    let remote = match hello {
        Ok(Ok(Some(line))) => match serde_json::from_slice::<Reply>(&line) {
            Ok(Reply::Hello { protocol, hostname, os, arch, .. }) if protocol == PROTOCOL => {
                Remote { hostname, os, arch }
            }
            Ok(Reply::Hello { protocol, version, .. }) => {
                return Err(format!(
                    "the helper on `{}` is golive {version} speaking protocol {protocol}; this golive speaks {PROTOCOL}",
                    target.host
                ));
            }
            _ => {
                let got = crate::diag::clip(String::from_utf8_lossy(&line).trim(), 200).into_owned();
                return Err(format!("the helper on `{}` did not greet as golive does; it said {got:?}", target.host));
            }
        },
        Ok(_) => {
            let _ = child.wait().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let said = stderr.lock().unwrap().trim().to_string();
            return Err(format!(
                "golive's helper did not start on `{}`: {}",
                target.host,
                if said.is_empty() { "no message".to_string() } else { said }
            ));
        }
        Err(_) => return Err(format!("golive's helper on `{}` did not start in time", target.host)),
    };
    tracing::debug!(target = %target.name, elapsed = ?started.elapsed(), host = %remote.hostname, "helper started");
    let helper = Helper::start(child, stdin, stdout, stderr);
    Ok(Link { remote, helper, master: link_master, ssh })
}

/// The `uname -m` names of this golive's architecture, as a `case` pattern.
fn uname_machines() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x86_64|amd64",
        "aarch64" => "aarch64|arm64",
        "x86" => "i386|i486|i586|i686",
        "arm" => "armv6l|armv7l|armv7|arm",
        "riscv64" => "riscv64",
        "powerpc64" => "ppc64|ppc64le",
        "s390x" => "s390x",
        other => other,
    }
}

fn uname_os() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "freebsd" => "FreeBSD",
        other => other,
    }
}

async fn read_line(reader: &mut BufReader<ChildStdout>) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = reader.take(MAX_REPLY as u64 + 1).read_until(b'\n', &mut line).await?;
    if n == 0 {
        return Ok(None);
    }
    if line.len() > MAX_REPLY {
        return Err(std::io::Error::other("answer too long"));
    }
    Ok(Some(line))
}

type Pending = Arc<StdMutex<Option<HashMap<u64, oneshot::Sender<Result<Facts, String>>>>>>;

/// The helper's session: requests go in on its stdin, answers come back on its stdout and
/// are handed to whoever asked.
struct Helper {
    stdin: Mutex<Option<ChildStdin>>,
    child: StdMutex<Option<Child>>,
    pending: Pending,
    next: AtomicU64,
    /// Why the helper ended, once it has.
    ended: Arc<StdMutex<Option<String>>>,
}

impl Helper {
    fn start(
        child: Child,
        stdin: ChildStdin,
        mut stdout: BufReader<ChildStdout>,
        stderr: Arc<StdMutex<String>>,
    ) -> Helper {
        let pending: Pending = Arc::new(StdMutex::new(Some(HashMap::new())));
        let ended = Arc::new(StdMutex::new(None));
        let (p, e) = (pending.clone(), ended.clone());
        tokio::spawn(async move {
            let why = loop {
                match read_line(&mut stdout).await {
                    Ok(Some(line)) => {
                        let (id, answer) = match serde_json::from_slice::<Reply>(&line) {
                            Ok(Reply::Facts { id, facts }) => (id, Ok(facts.into_facts())),
                            Ok(Reply::Error { id, message }) => (id, Err(message)),
                            Ok(Reply::Hello { .. }) => continue,
                            Err(err) => break format!("the helper said something unreadable: {err}"),
                        };
                        let tx = p.lock().unwrap().as_mut().and_then(|m| m.remove(&id));
                        if let Some(tx) = tx {
                            let _ = tx.send(answer);
                        }
                    }
                    Ok(None) => break "the helper's session ended".to_string(),
                    Err(err) => break format!("reading the helper: {err}"),
                }
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
            let said = stderr.lock().unwrap().trim().to_string();
            let why = if said.is_empty() { why } else { format!("{why}: {said}") };
            *e.lock().unwrap() = Some(why.clone());
            // Everyone still waiting hears why.
            if let Some(waiting) = p.lock().unwrap().take() {
                for (_, tx) in waiting {
                    let _ = tx.send(Err(why.clone()));
                }
            }
        });
        Helper {
            stdin: Mutex::new(Some(stdin)),
            child: StdMutex::new(Some(child)),
            pending,
            next: AtomicU64::new(1),
            ended,
        }
    }

    async fn ask(&self, kind: &str, input: &ProbeInput) -> Result<Facts, String> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.pending.lock().unwrap();
            match pending.as_mut() {
                Some(p) => {
                    p.insert(id, tx);
                }
                None => return Err(self.ended.lock().unwrap().clone().unwrap_or_else(|| "the helper ended".into())),
            }
        }
        // Forgotten when the item stops waiting (its timeout), so the map does not grow.
        struct Forget<'a>(&'a Pending, u64);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                if let Some(p) = self.0.lock().unwrap().as_mut() {
                    p.remove(&self.1);
                }
            }
        }
        let _forget = Forget(&self.pending, id);
        let mut line = serde_json::to_vec(&Request::new(id, kind, input)).map_err(|e| e.to_string())?;
        line.push(b'\n');
        {
            let mut stdin = self.stdin.lock().await;
            let Some(stdin) = stdin.as_mut() else { return Err("the helper was closed".into()) };
            if let Err(e) = stdin.write_all(&line).await {
                return Err(format!("cannot reach the helper: {e}"));
            }
        }
        match rx.await {
            Ok(answer) => answer,
            Err(_) => Err(self.ended.lock().unwrap().clone().unwrap_or_else(|| "the helper ended".into())),
        }
    }
}

/// `golive` as ssh's `SSH_ASKPASS`: prints the password or passphrase golive was given, for
/// the prompts it was given them for only. `None` when golive was not started as askpass.
///
/// ssh writes these prompts itself: `Enter passphrase for key 'PATH': ` (a local key), and
/// `USER@HOST's password: ` (password authentication). A server's keyboard-interactive
/// prompts come as `(USER@HOST) TEXT`, where the server writes TEXT. So the passphrase goes
/// only to ssh's own key prompt, never to a server's text that mentions a passphrase; and
/// the password only to the target's own login (`ssh -G`'s user and host name), never to a
/// jump host's prompt, whose host differs.
pub fn askpass() -> Option<u8> {
    std::env::var_os(ASKPASS_ENV)?;
    let prompt = std::env::args().nth(1).unwrap_or_default();
    Some(match answer(&prompt, |k| std::env::var(k).ok()) {
        Some(a) => {
            println!("{a}");
            0
        }
        None => 1,
    })
}

fn answer(prompt: &str, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    if prompt.starts_with("Enter passphrase for key '") {
        return env(ASKPASS_PASSPHRASE_ENV);
    }
    let login = env(ASKPASS_LOGIN_ENV)?;
    let ours = prompt == format!("{login}'s password: ")
        || prompt == format!("({login}) Password: ")
        || prompt == format!("({login}) Password:");
    if ours { env(ASKPASS_PASSWORD_ENV) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each secret answers its own prompt only: not a server's text, not a jump host.
    #[test]
    fn askpass_answers_only_the_prompts_its_secrets_are_for() {
        let env = |k: &str| match k {
            ASKPASS_PASSPHRASE_ENV => Some("pp".to_string()),
            ASKPASS_PASSWORD_ENV => Some("pw".to_string()),
            ASKPASS_LOGIN_ENV => Some("deploy@10.0.0.11".to_string()),
            _ => None,
        };
        assert_eq!(answer("Enter passphrase for key '/home/u/.ssh/id_ed25519': ", env).as_deref(), Some("pp"));
        assert_eq!(answer("deploy@10.0.0.11's password: ", env).as_deref(), Some("pw"));
        assert_eq!(answer("(deploy@10.0.0.11) Password: ", env).as_deref(), Some("pw"));
        for other in [
            "(deploy@10.0.0.11) Enter passphrase for key '/x': ",
            "(deploy@10.0.0.11) Enter your passphrase:",
            "deploy@bastion's password: ",
            "deploy@passphrase-vault's password: ",
            "Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
            "(deploy@10.0.0.11) Verification code: ",
        ] {
            assert_eq!(answer(other, env), None, "{other}");
        }
    }
}

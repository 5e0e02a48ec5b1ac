//! Real OpenSSH servers for fleet tests: Debian's `sshd -D` on a random loopback port, with a
//! host key and client keys made at start, each in its own mount namespace (`unshare
//! --mount`) whose `/tmp` is a fresh tmpfs holding a marker file. The marker exists inside
//! the namespace only, so an item that finds it observed the target, not this machine; and
//! whatever golive leaves in the target's `/tmp` can be listed there.
//!
//! Each server's files live under /var/tmp (the namespace hides the real `/tmp`). The server is stopped when the test binary exits (support/reaper.rs). Needs
//! root (for the namespace and for sshd), as the CI runs: scripts/test.sh installs
//! openssh-server.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::reaper;

/// The file only the namespace has, and the text in it (the server's name).
pub const MARKER: &str = "/tmp/golive-fleet-marker";

pub struct Sshd {
    pub name: String,
    pub dir: PathBuf,
    pub port: u16,
    /// Stopped by the reaper when the test binary exits (servers live in a static).
    _child: std::process::Child,
}

fn keygen(path: &Path, passphrase: &str) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-C", "golive-test", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen runs (scripts/test.sh installs openssh-client)");
    assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
}

fn sshd_binary() -> PathBuf {
    let p = PathBuf::from("/usr/sbin/sshd");
    assert!(p.is_file(), "sshd is not installed: run scripts/test.sh, which installs openssh-server");
    p
}

/// Where servers keep their files: outside `/tmp`, which the namespace replaces (and where
/// a CI checkout, with Cargo's target directory, may live).
fn state_root() -> PathBuf {
    let root = PathBuf::from("/var/tmp");
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// root's password inside every test server's namespace.
pub const PASSWORD: &str = "staple-7731-horse-battery";

/// The passphrase of the `client-locked` key.
pub const PASSPHRASE: &str = "correct-horse-battery-7731";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

impl Sshd {
    pub fn start(name: &str) -> Sshd {
        assert!(nix::unistd::geteuid().is_root(), "fleet tests start sshd in a mount namespace: run them as root");
        let dir = state_root().join(format!("golive-sshd-{name}-{}", reaper::tag()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        keygen(&dir.join("host"), "");
        keygen(&dir.join("client"), "");
        keygen(&dir.join("client-locked"), PASSPHRASE);
        // A host key this server does not use: a known_hosts line with it is a changed key.
        keygen(&dir.join("other-host"), "");
        let mut authorized = std::fs::read_to_string(dir.join("client.pub")).unwrap();
        authorized.push_str(&std::fs::read_to_string(dir.join("client-locked.pub")).unwrap());
        std::fs::write(dir.join("authorized_keys"), authorized).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nMaxStartups 100\nMaxSessions 100\nLogLevel ERROR\n",
            d = dir.display()
        );
        std::fs::write(dir.join("sshd_config"), config).unwrap();
        // Inside the namespace only, root's password is PASSWORD (a copy of /etc/shadow with
        // that hash, mounted over it there): the machine's own accounts are not touched.
        let hash = Command::new("openssl")
            .args(["passwd", "-6", "-salt", "golivetest", PASSWORD])
            .output()
            .expect("openssl runs");
        assert!(hash.status.success());
        let hash = String::from_utf8(hash.stdout).unwrap().trim().to_string();
        let shadow: String = std::fs::read_to_string("/etc/shadow")
            .expect("read /etc/shadow (as root)")
            .lines()
            .map(|l| match l.strip_prefix("root:").and_then(|rest| rest.split_once(':')) {
                Some((_, rest)) => format!("root:{hash}:{rest}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        std::fs::write(dir.join("shadow"), shadow).unwrap();
        std::fs::set_permissions(dir.join("shadow"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let script = format!(
            "set -e; mount --bind {d}/shadow /etc/shadow; mount -t tmpfs -o size=1g,mode=1777 golive-fleet-test /tmp; printf %s {name} > {MARKER}; exec {} -D -e -f {d}/sshd_config",
            sshd_binary().display(),
            d = dir.display()
        );
        let mut command = Command::new("unshare");
        command
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap());
        let stop = reaper::Stop { signal: nix::sys::signal::Signal::SIGTERM, dir: Some(dir.clone()) };
        let child = reaper::spawn(command, stop).expect("start sshd");
        let server = Sshd { name: name.to_string(), dir, port, _child: child };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let log = std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(20), "sshd did not start: {log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `[127.0.0.1]:PORT KEY`: the known_hosts line of this server's host key.
    pub fn known_hosts_line(&self) -> String {
        let key = std::fs::read_to_string(self.dir.join("host.pub")).unwrap();
        let key: Vec<&str> = key.split_whitespace().take(2).collect();
        format!("[127.0.0.1]:{} {}\n", self.port, key.join(" "))
    }

    /// A known_hosts line that records another key for this server: a changed host key.
    pub fn wrong_known_hosts_line(&self) -> String {
        let key = std::fs::read_to_string(self.dir.join("other-host.pub")).unwrap();
        let key: Vec<&str> = key.split_whitespace().take(2).collect();
        format!("[127.0.0.1]:{} {}\n", self.port, key.join(" "))
    }

    /// An OpenSSH client config `Host ALIAS` block reaching this server as root with the test
    /// key (`locked`: the key with a passphrase), checking its key against `known_hosts`.
    pub fn config_block(&self, alias: &str, known_hosts: &Path, locked: bool) -> String {
        let key = self.dir.join(if locked { "client-locked" } else { "client" });
        format!(
            "Host {alias}\n  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n\n",
            self.port,
            key.display(),
            known_hosts.display()
        )
    }

    /// A `Host ALIAS` block that logs in as root with the password only (no key).
    pub fn password_block(&self, alias: &str, known_hosts: &Path) -> String {
        format!(
            "Host {alias}\n  HostName 127.0.0.1\n  Port {}\n  User root\n  PubkeyAuthentication no\n  PreferredAuthentications password\n  IdentityAgent none\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n\n",
            self.port,
            known_hosts.display()
        )
    }

    /// Runs a shell command on the server (inside its namespace) as the tests' own ssh
    /// would; its stdout.
    pub fn shell(&self, command: &str) -> String {
        let kh = self.dir.join("known_hosts.self");
        std::fs::write(&kh, self.known_hosts_line()).unwrap();
        let cfg = self.dir.join("ssh_config.self");
        std::fs::write(&cfg, self.config_block("self", &kh, false)).unwrap();
        let out = Command::new("ssh")
            .arg("-F")
            .arg(&cfg)
            .args(["-o", "BatchMode=yes", "self", command])
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .expect("ssh runs");
        assert!(out.status.success(), "ssh {command}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Two servers shared by the fleet tests of this binary: `alpha` and `beta`.
pub fn pair() -> &'static (Sshd, Sshd) {
    static PAIR: OnceLock<(Sshd, Sshd)> = OnceLock::new();
    PAIR.get_or_init(|| (Sshd::start("alpha"), Sshd::start("beta")))
}

/// golive with its debug information stripped, to copy to targets quickly (`--ssh-helper`);
/// one test copies the full binary, as a run without the option does.
pub fn small_helper() -> &'static PathBuf {
    static SMALL: OnceLock<PathBuf> = OnceLock::new();
    SMALL.get_or_init(|| {
        // One file per target directory, replaced whole (rename), never accumulating.
        let out = option_env!("CARGO_TARGET_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join("golive-helper");
        let partial = out.with_extension(reaper::tag());
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let status = Command::new("objcopy")
            .arg("--strip-debug")
            .arg(super::workdir::golive_binary())
            .arg(&partial)
            .status()
            .expect("objcopy runs (binutils)");
        assert!(status.success(), "objcopy --strip-debug failed");
        std::fs::rename(&partial, &out).unwrap();
        out
    })
}

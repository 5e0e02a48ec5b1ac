//! Real `openssl s_server` processes for the legacy-protocol tests: rustls (golive's and
//! the in-process test servers') cannot speak TLS 1.0/1.1 or weak suites, OpenSSL 3 can
//! when asked (`-min_protocol TLSv1`, `-cipher '…:@SECLEVEL=0'`). Each server runs in its own
//! temporary directory with a fresh rcgen certificate (P-256, for localhost and 127.0.0.1),
//! listens on 127.0.0.1 on a random port, and is killed when its handle is dropped, also
//! when a test panics, and when the test binary ends (reaper.rs, as redis-server is).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::certs::TestPki;
use super::reaper;

/// A running `openssl s_server`; dropping it kills the process and removes its directory.
pub struct OpensslServer {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    ca_file: PathBuf,
}

impl OpensslServer {
    /// `openssl s_server` with `args` after the listening address, certificate and key
    /// (e.g. `["-min_protocol", "TLSv1", "-cipher", "DEFAULT:@SECLEVEL=0"]`). Waits until
    /// it accepts connections; panics with its output when it does not start.
    pub fn start(args: &[&str]) -> OpensslServer {
        let mut last_log = String::new();
        // A port picked free can be taken before the server binds it: try a few.
        for _ in 0..5 {
            let dir = tempfile::Builder::new()
                .prefix(&format!("golive-openssl-{}-", reaper::tag()))
                .tempdir()
                .expect("temp dir");
            let pki = TestPki::new();
            let (cert, key) = pki.valid(&["localhost", "127.0.0.1"]).write_files(dir.path());
            let ca_file = pki.write_ca_file(dir.path());
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("s_server.log")).expect("log file");
            let mut command = Command::new("openssl");
            command
                .arg("s_server")
                .arg("-accept")
                .arg(format!("127.0.0.1:{port}"))
                .arg("-cert")
                .arg(&cert)
                .arg("-key")
                .arg(&key)
                .arg("-quiet")
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log);
            let stop = reaper::Stop { signal: nix::sys::signal::Signal::SIGKILL, dir: Some(dir.path().to_path_buf()) };
            let child = reaper::spawn(command, stop).unwrap_or_else(|e| panic!("cannot start openssl s_server: {e}"));
            let mut server = OpensslServer { child, dir, port, ca_file };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(log) => last_log = log,
            }
        }
        panic!("openssl s_server did not start; its output:\n{last_log}");
    }

    /// Serves TLS 1.0 to 1.3 with OpenSSL's default suites at security level 0.
    pub fn legacy() -> OpensslServer {
        OpensslServer::start(&["-min_protocol", "TLSv1", "-cipher", "DEFAULT:@SECLEVEL=0"])
    }

    /// Serves TLS 1.2 and 1.3 only, with OpenSSL's default (strong) suites.
    pub fn modern() -> OpensslServer {
        OpensslServer::start(&["-min_protocol", "TLSv1.2"])
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The PEM file of the CA that issued the server's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("s_server.log")).unwrap_or_default()
    }

    /// Ready once a TCP connection to its port succeeds (the connection is then closed,
    /// which s_server logs and survives).
    fn wait_ready(&mut self) -> Result<(), String> {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}: {}", self.log()));
            }
            if TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        reaper::unregister(self.pid());
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(format!("not accepting on 127.0.0.1:{} after 10 s: {}", self.port, self.log()))
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        reaper::unregister(self.pid());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().expect("local addr").port()
}

//! Hostile servers for fault tests: a raw TCP server on 127.0.0.1 that answers every request
//! it reads with scripted bytes (invalid protocol, huge announced lengths, endless streams),
//! and a way to run golive and learn its peak memory.
//!
//! The server runs on the test's tokio runtime and stops when its handle is dropped (the
//! task holding every socket is aborted), or with the test binary.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server does after writing an answer's bytes.
#[derive(Clone, Debug)]
pub enum Then {
    /// Read the next request and answer it too.
    Continue,
    /// Close the connection.
    Close,
    /// Keep the connection open and silent until the client goes.
    Hang,
    /// Write `chunk` again and again until `total` bytes are written (or the client goes),
    /// then hang.
    Stream { chunk: Vec<u8>, total: u64 },
}

#[derive(Clone, Debug)]
pub struct Answer {
    pub bytes: Vec<u8>,
    pub then: Then,
}

impl Answer {
    pub fn new(bytes: impl Into<Vec<u8>>, then: Then) -> Answer {
        Answer { bytes: bytes.into(), then }
    }
}

type Script = dyn Fn(&[u8]) -> Answer + Send + Sync;

/// A TCP server that answers what it reads with `script(bytes read)`. It reads whatever one
/// `read` returns as one request: the clients tested write each request at once.
pub struct RawServer {
    port: u16,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl RawServer {
    pub async fn start(script: impl Fn(&[u8]) -> Answer + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        let script: Arc<Script> = Arc::new(script);
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                sessions.spawn(serve(stream, script.clone()));
            }
        });
        RawServer { port, connections, task }
    }

    /// Answers every request with the same bytes, then does `then`.
    pub async fn always(bytes: impl Into<Vec<u8>>, then: Then) -> RawServer {
        let answer = Answer::new(bytes, then);
        RawServer::start(move |_| answer.clone()).await
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        // The JoinSet of sessions lives in the task: aborting it aborts them all.
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, script: Arc<Script>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let answer = script(&buf[..n]);
        if stream.write_all(&answer.bytes).await.is_err() {
            return;
        }
        match answer.then {
            Then::Continue => {}
            Then::Close => return,
            Then::Hang => break,
            Then::Stream { chunk, total } => {
                let mut sent = 0u64;
                while sent < total {
                    let part = &chunk[..chunk.len().min((total - sent) as usize)];
                    if stream.write_all(part).await.is_err() {
                        return;
                    }
                    sent += part.len() as u64;
                }
                break;
            }
        }
    }
    // Silent until the client closes.
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// Runs `command` (golive) to its end and returns its output with its peak resident memory
/// in KiB. Measured by GNU time (`%M`), which forks golive from its own small process: a
/// child spawned straight from this test binary would be charged the test binary's whole
/// peak RSS (the kernel keeps the larger of the pre-exec and post-exec peaks, and the
/// pre-exec memory is ours), so `wait4`'s `ru_maxrss` here measured other tests' memory.
/// Output goes through files in `dir`, so no pipe can fill up while we wait.
pub fn run_measuring_memory(command: Command, dir: &Path) -> (Output, u64) {
    let out_path = dir.join(".measured.stdout");
    let err_path = dir.join(".measured.stderr");
    let rss_path = dir.join(".measured.rss");
    let mut timed = Command::new("/usr/bin/time");
    timed.arg("-f").arg("%M").arg("-o").arg(&rss_path).arg(command.get_program()).args(command.get_args());
    if let Some(cwd) = command.get_current_dir() {
        timed.current_dir(cwd);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(v) => timed.env(key, v),
            None => timed.env_remove(key),
        };
    }
    let status = timed
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .status()
        .expect("/usr/bin/time runs golive (Debian: apt-get install time)");
    let output = Output {
        status,
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
    };
    let rss = std::fs::read_to_string(&rss_path).unwrap_or_default();
    // The last line is the figure (GNU time writes a "Command exited with…" line before it).
    let kib = rss.lines().last().and_then(|l| l.trim().parse().ok()).expect("GNU time printed the peak RSS");
    (output, kib)
}

//! The helper's side: `golive __agent`, which golive starts on a target over SSH. It reads
//! one request per line on stdin, runs the probe the request names exactly as a local run
//! would (the same code, over the target's files, processes and network), and answers on
//! stdout, one line per answer. It deletes its own copy (and the temporary directory it was
//! copied to) before it reads anything, so it leaves nothing behind however it ends, and it
//! ends when its stdin closes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

use super::wire::{PROTOCOL, Reply, Request, WireFacts};
use crate::probe::{self, Shared};

/// The longest request line read (a request is an item's parameters).
const MAX_REQUEST: usize = 16 << 20;

pub async fn serve(remove: Option<PathBuf>) -> u8 {
    if let Some(dir) = remove {
        let _ = std::fs::remove_file(dir.join("golive"));
        let _ = std::fs::remove_dir(&dir);
    }
    let out = Arc::new(Mutex::new(tokio::io::stdout()));
    let hello = Reply::Hello {
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").to_string(),
        hostname: nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
    };
    if send(&out, &hello).await.is_err() {
        return 1;
    }
    let shared = Arc::new(Shared::default());
    let mut input = BufReader::new(tokio::io::stdin());
    let mut line = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        line.clear();
        let read = (&mut input).take(MAX_REQUEST as u64 + 1).read_until(b'\n', &mut line).await;
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) if line.len() > MAX_REQUEST => {
                let _ = send(&out, &Reply::Error { id: 0, message: "request too long".into() }).await;
                break;
            }
            Ok(_) => {}
        }
        let request: Request = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(e) => {
                let _ = send(&out, &Reply::Error { id: 0, message: format!("unreadable request: {e}") }).await;
                continue;
            }
        };
        let (out, shared) = (out.clone(), shared.clone());
        tasks.spawn(async move {
            let reply = answer(request, shared).await;
            let _ = send(&out, &reply).await;
        });
    }
    // stdin closed: the run is over. What is still running is dropped with its processes.
    tasks.abort_all();
    shared.close().await;
    0
}

/// One request, observed as `engine::observe_once` observes locally: in its own task, so a
/// panic is an answer and not the helper's end.
async fn answer(request: Request, shared: Arc<Shared>) -> Reply {
    let id = request.id;
    let Some(observe) = probe::find(&request.kind).and_then(|p| p.observe) else {
        return Reply::Error { id, message: format!("this golive has no probe `{}`", request.kind) };
    };
    let input = Arc::new(request.input());
    let timeout = input.timeout;
    let task = tokio::spawn(async move { observe(&input, &shared).await });
    let abort = task.abort_handle();
    // golive waits `timeout` itself; this bound only frees the helper when golive has gone.
    match tokio::time::timeout(timeout + Duration::from_secs(1), task).await {
        Err(_) => {
            abort.abort();
            Reply::Error { id, message: "timed out on the target".into() }
        }
        Ok(Err(join)) if join.is_panic() => {
            Reply::Error { id, message: format!("probe panicked: {}", probe::panic_message(&*join.into_panic())) }
        }
        Ok(Err(_)) => Reply::Error { id, message: "probe task was cancelled".into() },
        Ok(Ok(Err(e))) => Reply::Error { id, message: e.0 },
        Ok(Ok(Ok(facts))) => Reply::Facts { id, facts: WireFacts::from(&facts) },
    }
}

async fn send(out: &Mutex<tokio::io::Stdout>, reply: &Reply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut out = out.lock().await;
    out.write_all(&line).await?;
    out.flush().await
}

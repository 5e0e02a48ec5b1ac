//! Endpoints that never answer, for timeout and refusal tests:
//! `HungListener` accepts TCP connections and then stays silent (never
//! reads, writes or closes) until dropped; `closed_port` names a port with
//! nothing listening.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Handle to a silent listener on 127.0.0.1; dropping it closes every socket.
pub struct HungListener {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl HungListener {
    pub async fn start() -> HungListener {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        let task = tokio::spawn(async move {
            // The sockets live in this task, so aborting it closes them.
            let mut held = Vec::new();
            loop {
                if let Ok((stream, _)) = listener.accept().await {
                    count.fetch_add(1, Ordering::SeqCst);
                    held.push(stream);
                }
            }
        });
        HungListener { addr, connections, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for HungListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A 127.0.0.1 port with nothing listening: bound, read, then released.
/// Another process could take it meanwhile, which is unlikely in tests.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

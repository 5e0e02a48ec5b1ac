//! An HTTP CONNECT proxy on 127.0.0.1 for proxy tests: it answers `CONNECT host:port` by
//! opening a tunnel to the address its route table gives for that target (it never resolves
//! a name), records every target asked for, and refuses anything else with 405. Stops when
//! dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

pub struct ConnectProxy {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl ConnectProxy {
    /// `routes`: `host:port` as the client asks for it → the loopback address to tunnel to.
    pub async fn start(routes: &[(&str, SocketAddr)]) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let routes: Arc<HashMap<String, SocketAddr>> =
            Arc::new(routes.iter().map(|(k, v)| (k.to_ascii_lowercase(), *v)).collect());
        let targets = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(accept_loop(listener, routes, targets.clone()));
        ConnectProxy { addr, targets, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every CONNECT target asked for, oldest first.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    routes: Arc<HashMap<String, SocketAddr>>,
    targets: Arc<Mutex<Vec<String>>>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                conns.spawn(tunnel(stream, routes.clone(), targets.clone()));
            }
            Some(_) = conns.join_next() => {}
        }
    }
}

async fn tunnel(mut client: TcpStream, routes: Arc<HashMap<String, SocketAddr>>, targets: Arc<Mutex<Vec<String>>>) {
    // The request head, at most 16 KiB.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || client.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (words.next().unwrap_or_default(), words.next().unwrap_or_default().to_string());
    if method != "CONNECT" {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n").await;
        return;
    }
    targets.lock().unwrap().push(target.clone());
    let Some(addr) = routes.get(&target.to_ascii_lowercase()) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(addr).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
        return;
    };
    if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

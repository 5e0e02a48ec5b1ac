//! Bare TLS listener for certificate probes: completes the handshake with
//! the given config, then echoes bytes until the client closes. Failed
//! handshakes are counted and otherwise ignored. Stops when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::certs::LeafCert;

#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    handshakes: AtomicUsize,
    failed_handshakes: AtomicUsize,
    /// The SNI of every completed handshake, in order (`None` without SNI).
    server_names: std::sync::Mutex<Vec<Option<String>>>,
    /// Completed handshakes in which the client presented a certificate.
    client_certificates: AtomicUsize,
}

/// Handle to a running TLS listener on 127.0.0.1.
pub struct TlsServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl TlsServer {
    pub async fn start(config: Arc<ServerConfig>) -> TlsServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), counters.clone()));
        TlsServer { addr, counters, task }
    }

    /// Serves `cert` with TLS 1.2 and 1.3.
    pub async fn with_cert(cert: &LeafCert) -> TlsServer {
        TlsServer::start(cert.server_config()).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// Handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.counters.handshakes.load(Ordering::SeqCst)
    }

    /// The server name (SNI) each completed handshake sent, oldest first.
    pub fn server_names(&self) -> Vec<Option<String>> {
        self.counters.server_names.lock().unwrap().clone()
    }

    /// Completed handshakes in which the client presented a certificate (mTLS).
    pub fn client_certificates(&self) -> usize {
        self.counters.client_certificates.load(Ordering::SeqCst)
    }

    /// Handshakes that failed so far (e.g. the client rejected the certificate).
    pub fn failed_handshakes(&self) -> usize {
        self.counters.failed_handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, counters: Arc<Counters>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                counters.connections.fetch_add(1, Ordering::SeqCst);
                let (acceptor, counters) = (acceptor.clone(), counters.clone());
                conns.spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(stream) => {
                            counters.handshakes.fetch_add(1, Ordering::SeqCst);
                            let sni = stream.get_ref().1.server_name().map(str::to_string);
                            counters.server_names.lock().unwrap().push(sni);
                            if stream.get_ref().1.peer_certificates().is_some() {
                                counters.client_certificates.fetch_add(1, Ordering::SeqCst);
                            }
                            let (mut reader, mut writer) = tokio::io::split(stream);
                            let _ = tokio::io::copy(&mut reader, &mut writer).await;
                        }
                        Err(_) => {
                            counters.failed_handshakes.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
            Some(_) = conns.join_next() => {}
        }
    }
}

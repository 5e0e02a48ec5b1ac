//! An HTTP server that becomes ready: it answers `503 Service Unavailable` to its first N
//! requests and `200 OK` from then on (or never, with [`ReadyAfter::never`]), counting
//! every request, for the `--until-pass` tests. Plain HTTP/1.1 on 127.0.0.1; stops when
//! dropped.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

pub struct ReadyAfter {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl ReadyAfter {
    /// Answers 503 to the first `unready` requests, then 200.
    pub async fn start(unready: usize) -> ReadyAfter {
        ReadyAfter::spawn(Some(unready)).await
    }

    /// Answers 503 to every request.
    pub async fn never() -> ReadyAfter {
        ReadyAfter::spawn(None).await
    }

    async fn spawn(unready: Option<usize>) -> ReadyAfter {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let counter = counter.clone();
                        conns.spawn(async move {
                            let service = service_fn(move |_req| {
                                let seen = counter.fetch_add(1, Ordering::SeqCst) + 1;
                                let ready = unready.is_some_and(|n| seen > n);
                                let (status, body) =
                                    if ready { (StatusCode::OK, "ready") } else { (StatusCode::SERVICE_UNAVAILABLE, "starting") };
                                let mut response = Response::new(Full::new(Bytes::from(body)));
                                *response.status_mut() = status;
                                async move { Ok::<_, Infallible>(response) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    Some(_) = conns.join_next() => {}
                }
            }
        });
        ReadyAfter { addr, requests, task }
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for ReadyAfter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

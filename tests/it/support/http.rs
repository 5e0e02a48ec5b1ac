//! Scripted HTTP test server: a real hyper server (HTTP/1.1 and HTTP/2,
//! plain or TLS) answering from a fixed route table, recording every request
//! and counting accepted TCP connections. Stops when the handle is dropped.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// One scripted answer, matched on the exact path (query ignored), any method.
#[derive(Clone, Debug)]
pub struct Route {
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Option<Duration>,
}

impl Route {
    /// `200` with an empty body.
    pub fn new(path: &str) -> Route {
        Route { path: path.to_string(), status: 200, headers: Vec::new(), body: String::new(), delay: None }
    }

    /// Answers `from` with `status` and `Location: to`.
    pub fn redirect(from: &str, to: &str, status: u16) -> Route {
        Route::new(from).status(status).header("location", to)
    }

    pub fn status(mut self, status: u16) -> Route {
        self.status = status;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Route {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Route {
        self.body = body.into();
        self
    }

    /// Waits this long before answering.
    pub fn delay(mut self, delay: Duration) -> Route {
        self.delay = Some(delay);
        self
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Path only, e.g. `/health`.
    pub path: String,
    /// Path and query, e.g. `/health?full=1`.
    pub uri: String,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
    /// Names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Lossy UTF-8.
    pub body: String,
    /// The name the client asked for: the HTTP/2 `:authority`, else the `Host` header.
    pub authority: Option<String>,
}

impl RecordedRequest {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

struct Shared {
    routes: Vec<Route>,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    connections: AtomicUsize,
}

/// Handle to a running server; dropping it stops the server and its connections.
pub struct HttpServer {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Plain HTTP on 127.0.0.1 (HTTP/1.1, and HTTP/2 with prior knowledge).
    pub async fn start(routes: Vec<Route>) -> HttpServer {
        HttpServer::spawn(routes, None).await
    }

    /// HTTPS on 127.0.0.1. ALPN `h2`, `http/1.1` is added if `config` has none.
    pub async fn start_tls(routes: Vec<Route>, config: Arc<ServerConfig>) -> HttpServer {
        let mut config = (*config).clone();
        if config.alpn_protocols.is_empty() {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        }
        HttpServer::spawn(routes, Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn spawn(routes: Vec<Route>, tls: Option<TlsAcceptor>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared { routes, requests: Arc::default(), connections: AtomicUsize::new(0) });
        let task = tokio::spawn(accept_loop(listener, tls.clone(), shared.clone()));
        HttpServer { addr, tls: tls.is_some(), shared, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/path` (or `https://`); `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Snapshot of the requests received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The live request log, shared with the server.
    pub fn request_log(&self) -> Arc<Mutex<Vec<RecordedRequest>>> {
        self.shared.requests.clone()
    }

    /// Number of TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Accepts until aborted; the connection tasks live in a JoinSet owned by
/// this task, so aborting it also closes every open connection.
async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let (tls, shared) = (tls.clone(), shared.clone());
                conns.spawn(async move {
                    match tls {
                        None => serve(stream, shared).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, shared).await;
                            }
                        }
                    }
                });
            }
            Some(_) = conns.join_next() => {}
        }
    }
}

async fn serve<S>(stream: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| respond(req, shared.clone()));
    // Errors here are client misbehaviour (resets, garbage); just drop the connection.
    let _ = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
}

async fn respond(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    lock(&shared.requests).push(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        uri: parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |pq| pq.to_string()),
        version: format!("{:?}", parts.version),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        authority: parts
            .uri
            .authority()
            .map(|a| a.to_string())
            .or_else(|| parts.headers.get("host").map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())),
    });

    let Some(route) = shared.routes.iter().find(|r| r.path == parts.uri.path()) else {
        return Ok(plain(404, "not found"));
    };
    if let Some(delay) = route.delay {
        tokio::time::sleep(delay).await;
    }
    let mut builder = Response::builder().status(route.status);
    for (name, value) in &route.headers {
        builder = builder.header(name, value);
    }
    Ok(builder
        .body(Full::from(route.body.clone()))
        .unwrap_or_else(|e| plain(500, &format!("bad test route {}: {e}", route.path))))
}

fn plain(status: u16, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::from(body.to_string()));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("valid status");
    response
}

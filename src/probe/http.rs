//! `http`: requests a URL and observes status, latency, headers, body (text and JSON), the
//! redirect target and the protocol version. Items with the same TLS and redirect settings
//! share one client, so requests to one host reuse kept-alive connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::future::BoxFuture;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::{FactSpec, Facts, ParamProblem, ParamSpec, ParamType, Params, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value};

const READ_ONLY_METHODS: &[&str] = &["GET", "HEAD", "OPTIONS"];

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "http",
    summary: "Requests a URL; observes status, latency, headers, body, redirects and HTTP version.",
    params: &[
        ParamSpec::required("url", ParamType::Url, "URL to request; a password in it is never shown"),
        ParamSpec::with_default(
            "method",
            ParamType::Choice(&["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]),
            "GET",
            "HTTP method; methods other than GET, HEAD and OPTIONS need allow_write = true",
        ),
        ParamSpec::optional(
            "headers",
            ParamType::Headers,
            "request headers; values of Authorization, Cookie, X-Api-Key and those written { value = \"…\", secret = true } are never shown; a header whose value is empty is not sent",
        ),
        ParamSpec::optional(
            "query",
            ParamType::StringMap,
            "query parameters added to url, each encoded as a form value (so +, & and spaces travel as written): query = { query = \"sum(rate(http_requests_total[5m]))\" }; the value of one named like a credential (api_key, token…) is never shown",
        ),
        ParamSpec::optional("body", ParamType::String, "request body"),
        ParamSpec::optional(
            "required_metrics",
            ParamType::String,
            "metric names the response (a Prometheus or OpenMetrics text page such as /metrics) must expose, separated by commas or spaces; missing_metrics lists those it lacks",
        ),
        ParamSpec::with_default(
            "follow_redirects",
            ParamType::Bool,
            "false",
            "follow up to 10 redirects; when false, a redirect is observed as status and redirect_location",
        ),
        ParamSpec::with_default(
            "tls_verify",
            ParamType::Bool,
            "true",
            "verify the server certificate and name (false still observes, but trusts any certificate)",
        ),
        ParamSpec::optional(
            "ca_file",
            ParamType::Path,
            "PEM file of CA certificates to trust in addition to the system's",
        ),
        super::trust::CLIENT_CERT,
        super::trust::CLIENT_KEY,
        super::trust::CLIENT_KEY_PASSWORD,
        ParamSpec::optional(
            "proxy",
            ParamType::Url,
            "HTTP proxy for this item's requests, e.g. \"http://proxy.internal:3128\" (https:// URLs go through it with CONNECT; a password in it is never shown); without it the environment's HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY apply",
        ),
        ParamSpec::optional(
            "connect_to",
            ParamType::ConnectTo,
            "connect to another address than DNS gives, keeping the URL's name for Host, SNI and the certificate check: \"HOST:PORT:ADDRESS:PORT\" as curl --connect-to (several separated by commas; an empty HOST or PORT matches any); a URL that names a port keeps it",
        ),
        ParamSpec::with_default(
            "max_body",
            ParamType::Integer,
            "1048576",
            "read at most this many bytes of the body (the item's timeout covers reading it)",
        ),
        ParamSpec::with_default(
            "allow_write",
            ParamType::Bool,
            "false",
            "allow POST, PUT, PATCH and DELETE, which may change the system under test",
        ),
        ParamSpec::optional(
            "paths",
            ParamType::StringList,
            "more paths to GET on the same server (resolved against url, e.g. [\"/debug/pprof\", \"/.env\"]); those answering 2xx are the exposed_paths fact",
        ),
        ParamSpec::with_default(
            "requests",
            ParamType::Integer,
            "1",
            "send the request up to this many times, one after another (at most 1000), to see a rate limit answer: it stops at the first 429 (or 503 with Retry-After), or when the server cuts the connection off after answering earlier ones; the facts describe the last response, rate_limited and status_counts all of them. The item's timeout covers the whole burst",
        ),
    ],
    facts: &[
        FactSpec::new("status", FactType::Integer, "HTTP status code"),
        FactSpec::new(
            "rate_limited",
            FactType::Bool,
            "one of the requests was answered 429 Too Many Requests (or 503 with Retry-After), or the server cut the connection off after answering earlier ones",
        ),
        FactSpec::new(
            "status_counts",
            FactType::StringList,
            "how the requests were answered, status by status in the order first seen: [\"200 x 30\", \"429 x 70\"]",
        ),
        FactSpec::new(
            "first_rate_limited",
            FactType::Integer,
            "the number (from 1) of the first request answered as rate_limited says (absent when none was)",
        ),
        FactSpec::new("latency", FactType::Duration, "time until the response headers arrived"),
        FactSpec::new(
            "headers.<name>",
            FactType::String,
            "a response header by name, case-insensitive (several values joined with \", \")",
        ),
        FactSpec::new(
            "body",
            FactType::String,
            "the response body as text (up to max_body bytes); read only when expect or a when names it, judged whole, and kept in results and reports as its first 4 KiB and its length",
        ),
        FactSpec::new(
            "body_json.<pointer>",
            FactType::Any,
            "a value in the JSON body by JSON pointer, e.g. body_json./status",
        ),
        FactSpec::new("redirect_location", FactType::String, "the Location header of a redirect response"),
        FactSpec::new("final_url", FactType::String, "the URL that answered, after any redirects followed"),
        FactSpec::new(
            "http_version",
            FactType::String,
            "protocol of the response: HTTP/1.0, HTTP/1.1, HTTP/2 or HTTP/3",
        ),
        FactSpec::new(
            "hsts_max_age",
            FactType::Duration,
            "max-age of the Strict-Transport-Security header (absent without the header or max-age)",
        ),
        FactSpec::new(
            "hsts_include_subdomains",
            FactType::Bool,
            "the Strict-Transport-Security header has includeSubDomains (absent without the header)",
        ),
        FactSpec::new(
            "hsts_preload",
            FactType::Bool,
            "the Strict-Transport-Security header has preload (absent without the header)",
        ),
        FactSpec::new(
            "missing_security_headers",
            FactType::StringList,
            "which of content-security-policy, x-frame-options, x-content-type-options, referrer-policy and (for https) strict-transport-security the response lacks",
        ),
        FactSpec::new(
            "cors_allows_any_origin_with_credentials",
            FactType::Bool,
            "Access-Control-Allow-Credentials is true and Access-Control-Allow-Origin is * or echoes the Origin request header (send headers = { Origin = \"https://untrusted.example\" })",
        ),
        FactSpec::new(
            "server_banner_version",
            FactType::Bool,
            "the Server or X-Powered-By header names a version (nginx/1.25.3, PHP/8.2.1), or X-AspNet-Version is sent",
        ),
        FactSpec::new(
            "cookies",
            FactType::StringList,
            "the names of the cookies the response sets, one per Set-Cookie header (never their values)",
        ),
        FactSpec::new(
            "insecure_cookies",
            FactType::StringList,
            "each cookie the response sets that lacks Secure, HttpOnly or SameSite=Lax/Strict (None only with Secure), by name with what it lacks: \"sid (no Secure, no SameSite)\"; never a value; [] when every cookie has them, or none is set",
        ),
        FactSpec::new(
            "metrics",
            FactType::StringList,
            "the metric names a Prometheus/OpenMetrics text body exposes: its # TYPE and # HELP families and its sample names (read up to max_body)",
        ),
        FactSpec::new(
            "missing_metrics",
            FactType::StringList,
            "the names of required_metrics the body does not expose (a family's name, or a sample's such as http_requests_total); [] when it has them all",
        ),
        FactSpec::new(
            "redirects_to_https",
            FactType::Bool,
            "the response is a redirect to an https:// URL (or, with follow_redirects, ended at one from an http:// URL)",
        ),
        FactSpec::new(
            "exposed_paths",
            FactType::StringList,
            "the entries of paths that answered 2xx (each fetched with GET, redirects not followed)",
        ),
        FactSpec::new("body_bytes", FactType::Bytes, "how many bytes of the body were read (at most max_body)"),
        FactSpec::new("body_sha256", FactType::String, "hex SHA-256 of the body bytes read, computed as they arrive"),
        FactSpec::new(
            "body_truncated",
            FactType::Bool,
            "the body was longer than max_body: only max_body bytes were read",
        ),
        FactSpec::new(
            "body_excerpt",
            FactType::String,
            "the first 512 bytes of the body as text, to show in reports (set whenever the body is read)",
        ),
    ],
    default_expect: &[("status", "\"< 400\"")],
    observe: Some(observe),
    check: Some(check),
    notes: &[
        "**Pinned addresses.** `connect_to = \"api.example.com:443:10.0.0.5:443\"` sends the TCP connection for `https://api.example.com/` to 10.0.0.5:443 while the request keeps `Host: api.example.com`, sends SNI `api.example.com` and checks the certificate against that name, with verification on: a new load balancer is checked before DNS points at it. The first entry whose HOST and PORT match the url's host and port (80/443 when the url names none) applies; the address may be a name, looked up when the item runs. A url that names a port (`https://api.example.com:8443/`) can be pinned to another address on that same port only; an entry that would change it is an error. Redirects back to the same host use the pinned address too. A malformed value is a checklist error where it is written ([GL003](../diagnostics.md#gl003)), found by `golive validate` as by `run`.",
        "**Trust.** With `tls_verify = true` the server's certificate must chain to the system's store or to a certificate of `ca_file`. The system's store is the platform's, or, when `SSL_CERT_FILE` or `SSL_CERT_DIR` is set, only those (a PEM file; directories separated by ':', every PEM file in each), as OpenSSL reads them. A self-signed certificate that is itself in `ca_file` is trusted even with `CA:TRUE` (what `openssl req -x509` makes), as curl and OpenSSL trust it, when it is valid now and for the url's name. With a `ca_file`, a chain is judged against the file's certificates first and against the system's store as well only when it does not lead to one of them, so a run whose chains all lead to their `ca_file` never reads the system's store; the verdict is the same as judging against both at once. A relative `ca_file` resolves against the directory of the checklist file in which the item is written (for an item made by `use` from a catalogue check, the file of that `[[item]]`), as `include` does, not the working directory. A chain is verified once per run for each name it is checked against: items that meet the same certificates (the same bytes, for the same name and `ca_file`) are given the same verdict until one of those certificates becomes valid or expires, and it is verified again then; the server's handshake signature, which proves it holds the certificate's key, is checked on every connection.",
        "**Client certificates (mTLS).** `client_cert` (PEM, the client's certificate first, then any intermediates) and `client_key` (PEM: PKCS#8, PKCS#1 or SEC1, or encrypted PKCS#8 `ENCRYPTED PRIVATE KEY` as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes, with `client_key_password`) are presented to a server that asks for a client certificate; set both or neither. Write the password as `${env:NAME}`: like every secret parameter it is masked in every output, and errors name the key file, never the password. Relative paths resolve like `ca_file`.",
        "**Proxies.** Without `proxy`, the environment's proxy settings apply as curl reads them: `HTTPS_PROXY` for https:// urls, `HTTP_PROXY` for http://, `ALL_PROXY` for both (upper or lower case), and `NO_PROXY` (comma-separated host names, domains and addresses) for the hosts that are reached directly. `proxy = \"http://proxy.internal:3128\"` sends the item's requests through that proxy (an https:// url through a CONNECT tunnel, so the certificate check is still end to end); `NO_PROXY` still applies. A password in the proxy URL is masked in every output. An item with `connect_to` that matches its url connects directly, never through a proxy; `connect_to` together with `proxy` is an error.",
    ],
};

/// Why a method may not be used: `None` for the read-only ones, and for any method when
/// the item allows writes.
fn write_refusal(p: &Params) -> Option<String> {
    let method = p.str("method").unwrap_or("GET");
    (!READ_ONLY_METHODS.contains(&method) && !p.bool("allow_write")).then(|| {
        format!(
            "method {method} may change the system under test; golive probes are read-only unless the item sets allow_write = true"
        )
    })
}

/// Parameter problems known before any request: a writing method without `allow_write`.
/// (A method from an unset `${env:…}` while validating is empty here, and passes.)
fn check(p: &Params) -> Vec<ParamProblem> {
    let method = p.str("method").unwrap_or("GET");
    if method.is_empty() {
        return Vec::new();
    }
    write_refusal(p)
        .map(|message| {
            ParamProblem::new("method", message)
                .hint("use GET, HEAD or OPTIONS, or set allow_write = true if the item must send it")
        })
        .into_iter()
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    tls_verify: bool,
    ca_file: Option<PathBuf>,
    follow_redirects: bool,
    /// `connect_to`: the URL's host and the addresses to connect to for it.
    pinned: Option<(String, Vec<SocketAddr>)>,
    /// `proxy`: every request goes through it (NO_PROXY from the environment still applies).
    proxy: Option<String>,
    /// `client_cert`, `client_key`, `client_key_password`.
    identity: Option<(PathBuf, PathBuf, Option<String>)>,
}

/// One client per distinct TLS/redirect setting, for the whole run.
#[derive(Default)]
pub struct ClientCache {
    clients: Mutex<HashMap<ClientKey, reqwest::Client>>,
}

impl ClientCache {
    fn get(&self, key: ClientKey) -> Result<reqwest::Client, ProbeError> {
        let mut clients = self.clients.lock().unwrap();
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = build_client(&key)?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// How many distinct clients the run created.
    pub fn len(&self) -> usize {
        self.clients.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn build_client(key: &ClientKey) -> Result<reqwest::Client, ProbeError> {
    let provider = super::trust::ring_provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::new(format!("TLS setup failed: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if key.tls_verify && key.ca_file.is_none() {
        // Read at the first https:// handshake, not for a client that only speaks http://.
        Arc::new(super::trust::SystemVerifier::new(&provider))
    } else if key.tls_verify {
        // Read now: a `ca_file` that cannot be read is the item's error, said plainly.
        let trust = super::trust::load(key.ca_file.as_deref()).map_err(ProbeError::new)?;
        Arc::new(super::trust::AnchoredVerifier::new(&trust, &provider).map_err(ProbeError::new)?)
    } else {
        Arc::new(AnyCertificate(provider))
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    let mut tls = match &key.identity {
        Some((cert, private_key, password)) => {
            let (chain, private_key) =
                super::trust::load_client_identity(cert, private_key, password.as_deref()).map_err(ProbeError::new)?;
            builder
                .with_client_auth_cert(chain, private_key)
                .map_err(|e| ProbeError::new(format!("client_cert and client_key do not fit together: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let policy =
        if key.follow_redirects { reqwest::redirect::Policy::limited(10) } else { reqwest::redirect::Policy::none() };
    let mut builder = reqwest::Client::builder();
    if let Some((host, addrs)) = &key.pinned {
        // A pinned address is connected to directly: a proxy would resolve the name itself.
        builder = builder.resolve_to_addrs(host, addrs).no_proxy();
    } else if let Some(url) = &key.proxy {
        let proxy = reqwest::Proxy::all(url)
            .map_err(|e| ProbeError::new(format!("invalid proxy: {e}")))?
            .no_proxy(reqwest::NoProxy::from_env());
        builder = builder.proxy(proxy);
    }
    builder
        .tls_backend_preconfigured(tls)
        .redirect(policy)
        .user_agent(concat!("golive/", env!("CARGO_PKG_VERSION")))
        // No TCP keep-alive probes or user timeout (reqwest sets 15 s and 30 s): a probe's
        // connection lives for one run and its item's `timeout` bounds it; they cost five
        // system calls per connection.
        .tcp_keepalive(None)
        .tcp_keepalive_interval(None)
        .tcp_keepalive_retries(None)
        .tcp_user_timeout(None)
        .build()
        .map_err(|e| ProbeError::new(format!("cannot build HTTP client: {e}")))
}

/// `tls_verify = false`: accepts any certificate, but still checks the handshake signatures.
#[derive(Debug)]
pub(super) struct AnyCertificate(pub(super) Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn observe<'a>(input: &'a ProbeInput, shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let p = &input.params;
        let url = p.str("url").unwrap_or_default();
        let method = p.str("method").unwrap_or("GET");
        // Checked here too: the method may come from a var only known at run time.
        if let Some(refusal) = write_refusal(p) {
            return Err(ProbeError::new(refusal));
        }
        let pinned = pinned_addresses(url, p.str("connect_to").unwrap_or_default()).await?;
        if pinned.is_some() && p.str("proxy").is_some_and(|v| !v.is_empty()) {
            return Err(ProbeError::new(
                "connect_to and proxy do not go together: a pinned address is connected to directly, a proxy connects by name",
            ));
        }
        let key = ClientKey {
            tls_verify: p.bool("tls_verify"),
            ca_file: p.str("ca_file").filter(|f| !f.is_empty()).map(PathBuf::from),
            follow_redirects: p.bool("follow_redirects"),
            proxy: p.str("proxy").filter(|v| !v.is_empty()).map(str::to_string),
            pinned,
            identity: client_identity(p)?,
        };
        // The certificates the client trusts are read on a blocking thread before its first
        // handshake needs them: with one probe thread, reading them inline would hold up
        // every item. A file that cannot be read is reported by `get` as before.
        if key.tls_verify && (url.starts_with("https://") || key.ca_file.is_some()) {
            let _ = super::trust::load_async(key.ca_file.as_deref()).await;
        }
        let client = shared.http.get(key.clone())?;
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| ProbeError::new(e.to_string()))?;
        let query = p.map("query");
        let mut request = if query.is_empty() {
            client.request(method, url)
        } else {
            let mut with_query = reqwest::Url::parse(url).map_err(|e| ProbeError::new(format!("invalid url: {e}")))?;
            with_query.query_pairs_mut().extend_pairs(query.iter());
            client.request(method, with_query)
        };
        for (name, value) in p.map("headers") {
            // An empty value is not sent: an optional var (an Authorization left empty) can
            // leave the header out.
            if !value.is_empty() {
                request = request.header(name, value);
            }
        }
        if let Some(body) = p.str("body") {
            request = request.body(body.to_string());
        }
        // A burst before the request the facts describe: each answered and its body dropped.
        // It ends at the first rate-limited answer, or when the server cuts the connection
        // off after answering earlier requests (nginx's 444, a firewall's reset): that is a
        // limit too, and the facts say which it was.
        let repeat = p.int("requests").unwrap_or(1).clamp(1, 1000) as usize;
        let mut counts: Vec<(String, usize)> = Vec::new();
        let mut first_limited = None;
        let mut tally = |n: usize, answer: String, limited: bool| {
            match counts.iter_mut().find(|(s, _)| *s == answer) {
                Some((_, c)) => *c += 1,
                None => counts.push((answer, 1)),
            }
            if limited && first_limited.is_none() {
                first_limited = Some(n);
            }
        };
        let is_limited =
            |r: &reqwest::Response| r.status() == 429 || (r.status() == 503 && r.headers().contains_key("retry-after"));
        let mut cut_off = false;
        let mut sent = 0;
        for n in 1..repeat {
            sent = n;
            let again = request.try_clone().ok_or_else(|| ProbeError::new("this request cannot be repeated"))?;
            match again.send().await {
                Ok(response) => {
                    let limited = is_limited(&response);
                    tally(n, response.status().as_u16().to_string(), limited);
                    // Read to the end (bounded) so the connection is reused for the next one.
                    let _ = read_body(response, 1 << 16, false, false).await;
                    if limited {
                        break;
                    }
                }
                Err(e) if n > 1 => {
                    tally(n, format!("cut off ({})", describe_error(&e)), true);
                    cut_off = true;
                    break;
                }
                Err(e) => return Err(ProbeError::new(describe_error(&e))),
            }
        }
        let burst_facts = |facts: &mut Facts, counts: &[(String, usize)], first_limited: Option<usize>| {
            facts.set("rate_limited", Value::Bool(first_limited.is_some()));
            facts.set("status_counts", Value::string_list(counts.iter().map(|(answer, n)| format!("{answer} x {n}"))));
            if let Some(n) = first_limited {
                facts.set("first_rate_limited", Value::Int(n as i64));
            }
        };
        let started = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            // Cut off: the burst's facts are the observation; the last request cannot be made.
            Err(_) if cut_off => {
                let mut facts = Facts::default();
                burst_facts(&mut facts, &counts, first_limited);
                return Ok(facts);
            }
            Err(e) => return Err(ProbeError::new(describe_error(&e))),
        };
        let latency = started.elapsed();
        let limited = is_limited(&response);
        tally(sent + 1, response.status().as_u16().to_string(), limited);

        let mut facts = Facts::default();
        if repeat > 1 || input.wants("rate_limited") || input.wants("status_counts") {
            burst_facts(&mut facts, &counts, first_limited);
        }
        facts.set("status", Value::Int(response.status().as_u16() as i64));
        facts.set("latency", Value::Duration(latency));
        facts.set("final_url", Value::str(response.url().as_str()));
        facts.set("http_version", Value::str(version_name(response.version())));
        let mut headers: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in response.headers() {
            headers
                .entry(name.as_str().to_ascii_lowercase())
                .or_default()
                .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
        }
        if response.status().is_redirection()
            && let Some(location) = headers.get("location").and_then(|v| v.first())
        {
            facts.set("redirect_location", Value::str(location));
        }
        for (name, values) in &headers {
            set_header(&mut facts, format!("headers.{name}"), name, values);
        }
        if input.wants("cookies") || input.wants("insecure_cookies") {
            let set_cookies = headers.get("set-cookie").map(Vec::as_slice).unwrap_or_default();
            let (names, insecure) = cookie_facts(set_cookies);
            facts.set("cookies", Value::string_list(names));
            facts.set("insecure_cookies", Value::string_list(insecure));
        }
        if SECURITY_FACTS.iter().any(|f| input.wants(f)) {
            let origin = p.map("headers").into_iter().find(|(k, _)| k.eq_ignore_ascii_case("origin")).map(|(_, v)| v);
            security_facts(&mut facts, &headers, url, response.url().as_str(), response.status(), origin.as_deref());
        }
        // Asked-for header facts are matched case-insensitively: `headers.Content-Type`.
        for wanted in &input.wanted {
            if let Some(name) = wanted.strip_prefix("headers.")
                && let Some(values) = headers.get(&name.to_ascii_lowercase())
            {
                set_header(&mut facts, wanted.clone(), &name.to_ascii_lowercase(), values);
            }
        }
        if BODY_FACTS.iter().any(|f| input.wants(f)) {
            let max = p.int("max_body").unwrap_or(1 << 20).max(0) as u64;
            // Only `body` and `body_json` need the bytes kept; the other facts are computed
            // as the body streams past.
            let metrics = input.wants("metrics") || input.wants("missing_metrics");
            let keep = input.wants("body") || input.wants("body_json") || metrics;
            let body = read_body(response, max, keep, input.wants("body_sha256")).await?;
            facts.set("body_bytes", Value::Bytes(body.length));
            facts.set("body_truncated", Value::Bool(body.truncated));
            facts.set("body_excerpt", Value::Str(excerpt(&body.head, body.length)));
            if let Some(hash) = body.sha256 {
                facts.set("body_sha256", Value::Str(hash));
            }
            if let Some(bytes) = body.kept {
                if input.wants("body_json") {
                    match serde_json::from_slice::<serde_json::Value>(&bytes) {
                        Ok(json) => super::json_pointer_facts(&mut facts, &input.wanted, "body_json", &json),
                        Err(e) => {
                            return Err(ProbeError::new(format!(
                                "the body is not JSON ({e}); body_json needs a JSON response"
                            )));
                        }
                    }
                }
                if metrics {
                    let exposed = exposed_metrics(&String::from_utf8_lossy(&bytes));
                    let required = p.str("required_metrics").unwrap_or_default();
                    let missing = crate::value::missing_items(required, &exposed);
                    if !missing.is_empty() {
                        let why = if body.truncated {
                            format!(
                                "{} names seen in the first {max} bytes; the page is longer: raise max_body",
                                exposed.len()
                            )
                        } else {
                            format!(
                                "the page exposes {} metric name{}",
                                exposed.len(),
                                if exposed.len() == 1 { "" } else { "s" }
                            )
                        };
                        facts.explain("missing_metrics", why);
                    }
                    facts.set("missing_metrics", Value::string_list(missing));
                    facts.set("metrics", Value::string_list(exposed));
                }
                if input.wants("body") {
                    // Valid UTF-8 becomes the text without a copy.
                    let text =
                        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                    facts.set("body", Value::Str(text));
                }
            }
        }
        if input.wants("exposed_paths") {
            // A redirect (to a login page, say) does not expose a path: never follow them here.
            let plain = shared.http.get(ClientKey { follow_redirects: false, ..key })?;
            let exposed = exposed_paths(&plain, url, &p.list("paths"), &p.map("headers")).await?;
            facts.set("exposed_paths", Value::string_list(exposed));
        }
        Ok(facts)
    })
}

/// `client_cert` and `client_key`, both or neither, and the key's password.
fn client_identity(p: &Params) -> Result<Option<(PathBuf, PathBuf, Option<String>)>, ProbeError> {
    let path = |name| p.str(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    match (path("client_cert"), path("client_key")) {
        (Some(cert), Some(key)) => {
            Ok(Some((cert, key, p.str("client_key_password").filter(|v| !v.is_empty()).map(str::to_string))))
        }
        (None, None) => Ok(None),
        _ => Err(ProbeError::new("client_cert and client_key go together: set both, or neither")),
    }
}

/// `connect_to` for the URL's host: the host and the addresses to connect to instead, or
/// `None` when no entry matches it. The address may be a name: it is looked up here. reqwest
/// keeps a port the URL names, so an entry that would change it is refused, not ignored.
async fn pinned_addresses(url: &str, connect_to: &str) -> Result<Option<(String, Vec<SocketAddr>)>, ProbeError> {
    let pins = super::connect_to::parse(connect_to).map_err(|e| ProbeError::new(e.0))?;
    if pins.is_empty() {
        return Ok(None);
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| ProbeError::new(format!("invalid url: {e}")))?;
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return Ok(None);
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let Some((to_host, to_port)) = super::connect_to::target(&pins, &host, port) else {
        return Ok(None);
    };
    if parsed.port().is_some() && to_port != port {
        return Err(ProbeError::new(format!(
            "connect_to sends {host}:{port} to port {to_port}, but the url names port {port}: the http probe can pin the address of a url with a port, not change its port; write the url without :{port} or keep the port"
        )));
    }
    let addrs: Vec<SocketAddr> = match to_host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, to_port)],
        Err(_) => tokio::net::lookup_host((to_host.as_str(), to_port))
            .await
            .map_err(|e| ProbeError::new(format!("connect_to: cannot resolve {to_host}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(ProbeError::new(format!("connect_to: {to_host} has no address")));
    }
    Ok(Some((host, addrs)))
}

/// Response headers that carry credentials as a whole: matched, but shown as `***`.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "x-api-key"];

/// A `headers.<name>` fact. Headers with credentials are matched as sent and shown masked:
/// `Set-Cookie` as `session=***; Path=/; HttpOnly` (the attributes stay readable, the
/// values are secrets), the credential headers above as `***`. URL passwords in any header
/// (`Location: http://user:password@…`) are masked in every output.
fn set_header(facts: &mut Facts, fact: String, name: &str, values: &[String]) {
    let joined = Value::str(values.join(", "));
    if CREDENTIAL_HEADERS.contains(&name) {
        facts.set_secret(fact, joined);
    } else if name == "set-cookie" {
        let mut hidden = Vec::new();
        let shown: Vec<String> = values
            .iter()
            .map(|cookie| {
                let (pair, attributes) = match cookie.split_once(';') {
                    Some((pair, rest)) => (pair, Some(rest)),
                    None => (cookie.as_str(), None),
                };
                let masked = match pair.split_once('=') {
                    Some((cookie_name, value)) if !value.trim().is_empty() => {
                        hidden.push(value.trim().to_string());
                        format!("{cookie_name}={}", crate::redact::MASK)
                    }
                    _ => pair.to_string(),
                };
                match attributes {
                    Some(rest) => format!("{masked};{rest}"),
                    None => masked,
                }
            })
            .collect();
        facts.set_partly_secret(fact, joined, Value::str(shown.join(", ")), hidden);
    } else {
        facts.set(fact, joined);
    }
}

/// The names of the cookies set by `set_cookies` (one Set-Cookie header each), and each one
/// that lacks a protection, by name with what it lacks (`sid (no Secure, no SameSite)`).
/// Every cookie is judged on its own header, so one protected cookie cannot vouch for
/// another; values are never part of either list. A cookie must be Secure (sent over HTTPS
/// only), HttpOnly (hidden from scripts) and SameSite=Lax or Strict (not sent with
/// cross-site requests; browsers differ in what they do without it); SameSite=None, a
/// deliberate cross-site cookie, only together with Secure, as OWASP and browsers require.
fn cookie_facts(set_cookies: &[String]) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut insecure = Vec::new();
    for cookie in set_cookies {
        let mut parts = cookie.split(';');
        let pair = parts.next().unwrap_or_default();
        // RFC 6265bis: a pair without `=` is a value with an empty name; never show it.
        let name = match pair.split_once('=') {
            Some((name, _)) if !name.trim().is_empty() => name.trim().to_string(),
            _ => "(unnamed)".to_string(),
        };
        let (mut secure, mut http_only, mut same_site) = (false, false, None::<String>);
        for attribute in parts {
            let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "secure" => secure = true,
                "httponly" => http_only = true,
                "samesite" => same_site = Some(value.trim().to_ascii_lowercase()),
                _ => {}
            }
        }
        let mut lacks = Vec::new();
        if !secure {
            lacks.push("no Secure".to_string());
        }
        if !http_only {
            lacks.push("no HttpOnly".to_string());
        }
        match same_site.as_deref() {
            Some("lax" | "strict") => {}
            Some("none") if secure => {}
            Some("none") => lacks.push("SameSite=None without Secure".to_string()),
            Some(_) => lacks.push("no valid SameSite (Lax, Strict or None)".to_string()),
            None => lacks.push("no SameSite".to_string()),
        }
        if !lacks.is_empty() {
            insecure.push(format!("{name} ({})", lacks.join(", ")));
        }
        names.push(name);
    }
    (names, insecure)
}

/// Facts derived from the response headers; computed (and reported) only for items that ask
/// for one of them, so other items' reports stay as they were.
const SECURITY_FACTS: &[&str] = &[
    "hsts_max_age",
    "hsts_include_subdomains",
    "hsts_preload",
    "missing_security_headers",
    "cors_allows_any_origin_with_credentials",
    "server_banner_version",
    "redirects_to_https",
];

/// Facts about a response's security headers, computed from one response so one item can
/// check them all.
fn security_facts(
    facts: &mut Facts,
    headers: &HashMap<String, Vec<String>>,
    requested: &str,
    answered: &str,
    status: reqwest::StatusCode,
    origin: Option<&str>,
) {
    let header = |name: &str| headers.get(name).map(|v| v.join(", "));
    if let Some(hsts) = headers.get("strict-transport-security").and_then(|v| v.first()) {
        let directives: Vec<(String, Option<String>)> = hsts
            .split(';')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| match d.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().trim_matches('"').to_string())),
                None => (d.to_ascii_lowercase(), None),
            })
            .collect();
        let has = |name: &str| directives.iter().any(|(k, _)| k == name);
        if let Some(seconds) =
            directives.iter().find(|(k, _)| k == "max-age").and_then(|(_, v)| v.as_ref()?.parse::<u64>().ok())
        {
            facts.set("hsts_max_age", Value::Duration(std::time::Duration::from_secs(seconds)));
        }
        facts.set("hsts_include_subdomains", Value::Bool(has("includesubdomains")));
        facts.set("hsts_preload", Value::Bool(has("preload")));
    }
    let https = answered.starts_with("https://");
    let mut missing: Vec<&str> =
        ["content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"]
            .into_iter()
            .filter(|h| !headers.contains_key(*h))
            .collect();
    if https && !headers.contains_key("strict-transport-security") {
        missing.push("strict-transport-security");
    }
    facts.set("missing_security_headers", Value::string_list(missing));

    let allow_origin = header("access-control-allow-origin").map(|v| v.trim().to_string());
    let credentials = header("access-control-allow-credentials").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let any_origin = allow_origin.as_deref().is_some_and(|allowed| {
        allowed == "*" || origin.is_some_and(|o| !o.eq_ignore_ascii_case("null") && allowed.eq_ignore_ascii_case(o))
    });
    facts.set("cors_allows_any_origin_with_credentials", Value::Bool(credentials && any_origin));

    let banner_version =
        ["server", "x-powered-by"].iter().filter_map(|h| headers.get(*h)).flatten().any(|v| names_a_version(v))
            || headers.contains_key("x-aspnet-version")
            || headers.contains_key("x-aspnetmvc-version");
    facts.set("server_banner_version", Value::Bool(banner_version));

    let location_https = headers
        .get("location")
        .and_then(|v| v.first())
        .is_some_and(|l| l.trim().to_ascii_lowercase().starts_with("https://"));
    let redirected_up = requested.to_ascii_lowercase().starts_with("http://") && https;
    facts.set("redirects_to_https", Value::Bool((status.is_redirection() && location_https) || redirected_up));
}

/// `nginx/1.25.3`, `Apache/2.4.57 (Debian)`, `PHP/8.2`, `Microsoft-IIS/10.0`: a product
/// token with a version. `nginx`, `cloudflare`, `Express` are not.
fn names_a_version(banner: &str) -> bool {
    static VERSION: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| regex::Regex::new(r"(/|\bv?)\d+(\.\d+)+|/\d+\b").expect("valid regex")).is_match(banner)
}

/// GETs each path (at most 8 at a time) and returns those that answered 2xx, in the order given.
async fn exposed_paths(
    client: &reqwest::Client,
    base: &str,
    paths: &[String],
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<String>, ProbeError> {
    use futures::StreamExt;
    let base = reqwest::Url::parse(base).map_err(|e| ProbeError::new(format!("invalid url: {e}")))?;
    let checks: Vec<_> = paths
        .iter()
        .map(|path| {
            let (base, client, headers, path) = (base.clone(), client.clone(), headers.clone(), path.clone());
            async move {
                let url =
                    base.join(&path).map_err(|e| ProbeError::new(format!("cannot join {path:?} to the url: {e}")))?;
                let mut request = client.get(url);
                for (name, value) in &headers {
                    request = request.header(name, value);
                }
                let response =
                    request.send().await.map_err(|e| ProbeError::new(format!("{path}: {}", describe_error(&e))))?;
                Ok::<_, ProbeError>(response.status().is_success().then_some(path))
            }
        })
        .collect();
    let results: Vec<Result<Option<String>, ProbeError>> = futures::stream::iter(checks).buffered(8).collect().await;
    let mut exposed = Vec::new();
    for r in results {
        if let Some(path) = r? {
            exposed.push(path);
        }
    }
    Ok(exposed)
}

/// The facts that need the body read.
const BODY_FACTS: &[&str] =
    &["body", "body_json", "body_bytes", "body_sha256", "body_truncated", "body_excerpt", "metrics", "missing_metrics"];

/// The metric names of a Prometheus text exposition (or OpenMetrics) body: the families its
/// `# TYPE` and `# HELP` lines name and the name of every sample line, each once, in order.
pub fn exposed_metrics(text: &str) -> Vec<String> {
    let mut seen = foldhash::HashSet::default();
    let mut names = Vec::new();
    for line in text.lines().map(str::trim) {
        let name = if let Some(rest) = line.strip_prefix("# TYPE ").or_else(|| line.strip_prefix("# HELP ")) {
            rest.split_whitespace().next()
        } else if line.starts_with('#') {
            None
        } else {
            line.split(|c: char| c == '{' || c.is_whitespace()).next()
        };
        if let Some(name) = name.filter(|n| !n.is_empty())
            && seen.insert(name.to_string())
        {
            names.push(name.to_string());
        }
    }
    names
}

/// How many bytes of the body `body_excerpt` shows.
const EXCERPT_BYTES: usize = 512;

/// What was read of a body: never more than `max` bytes, and the bytes themselves only when
/// an expectation needs them.
struct Body {
    length: u64,
    truncated: bool,
    /// The first [`EXCERPT_BYTES`].
    head: Vec<u8>,
    sha256: Option<String>,
    kept: Option<Vec<u8>>,
}

/// Streams the body: counts, hashes (when asked) and keeps (when `keep`) at most `max`
/// bytes, chunk by chunk, so memory follows what the item's expectations need. Bounded in
/// time by the item's timeout, like the rest of the request.
async fn read_body(mut response: reqwest::Response, max: u64, keep: bool, hash: bool) -> Result<Body, ProbeError> {
    use futures::FutureExt;
    use sha2::Digest;
    let announced = response.content_length();
    // Room for what the server announced (at most `max`), so a large body is not copied
    // each time it outgrows its buffer.
    let room = announced.unwrap_or(0).min(max);
    let kept = keep.then(|| Vec::with_capacity(usize::try_from(room).unwrap_or(0)));
    let mut body = Body { length: 0, truncated: false, head: Vec::new(), sha256: None, kept };
    let mut hasher = hash.then(sha2::Sha256::new);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ProbeError::new(format!("reading the body failed: {}", describe_error(&e))))?
    {
        let room = max - body.length;
        let take = &chunk[..chunk.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        if body.head.len() < EXCERPT_BYTES {
            body.head.extend_from_slice(&take[..take.len().min(EXCERPT_BYTES - body.head.len())]);
        }
        if let Some(h) = hasher.as_mut() {
            h.update(take);
        }
        if let Some(kept) = body.kept.as_mut() {
            kept.extend_from_slice(take);
        }
        body.length += take.len() as u64;
        if take.len() < chunk.len() {
            body.truncated = true;
        }
        if body.length >= max {
            // Past max_body: said by the length the server announced, or by bytes already
            // here (never waited for: the server may send nothing more).
            body.truncated |= announced.is_some_and(|n| n > max)
                || matches!(response.chunk().now_or_never(), Some(Ok(Some(more))) if !more.is_empty());
            break;
        }
    }
    body.sha256 = hasher.map(|h| hex::encode(h.finalize()));
    Ok(body)
}

/// The start of a body as text, cut on a character boundary.
fn excerpt(head: &[u8], length: u64) -> String {
    let mut text = String::from_utf8_lossy(head).into_owned();
    if length > head.len() as u64 {
        // The last character may be cut in half (lossy decoding shows it as U+FFFD).
        if text.ends_with('\u{FFFD}') {
            text.pop();
        }
        text.push('…');
    }
    text
}

fn version_name(v: reqwest::Version) -> &'static str {
    match v {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_11 => "HTTP/1.1",
        reqwest::Version::HTTP_2 => "HTTP/2",
        reqwest::Version::HTTP_3 => "HTTP/3",
        _ => "unknown",
    }
}

/// reqwest's error, short: the root cause for connection failures ("connection failed:
/// Connection refused (os error 111)"), otherwise the error with its causes.
fn describe_error(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    if e.is_connect() {
        let root = causes.last().cloned().unwrap_or_else(|| e.to_string());
        return format!("connection failed: {root}");
    }
    let mut message = e.to_string();
    for cause in causes {
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

#[cfg(test)]
mod tests {

    #[test]
    fn exposed_metrics_reads_families_and_samples_once() {
        let page = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 3\nhttp_requests_total{code=\"500\"} 1\n# TYPE latency_seconds histogram\nlatency_seconds_bucket{le=\"0.1\"} 2\nlatency_seconds_sum 0.3\nup 1\n# EOF\n";
        assert_eq!(
            exposed_metrics(page),
            ["http_requests_total", "latency_seconds", "latency_seconds_bucket", "latency_seconds_sum", "up"]
        );
        assert!(exposed_metrics("<html>not metrics</html>").iter().all(|n| n.starts_with('<')));
    }

    use super::*;

    fn params(pairs: &[(&str, Value)]) -> Params {
        Params { values: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect() }
    }

    #[test]
    fn every_cookie_is_judged_on_its_own_attributes() {
        let cookies = |headers: &[&str]| cookie_facts(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>());
        let (names, insecure) = cookies(&["sid=s3cret-v4lue; Path=/; Secure; HttpOnly; SameSite=Lax"]);
        assert_eq!((names, insecure), (vec!["sid".to_string()], vec![]));
        // Case and spacing do not matter; Strict and None-with-Secure are fine too.
        let (_, insecure) = cookies(&["a=1;secure;httponly;samesite=strict", "b=2; SECURE; HTTPONLY; SameSite = None"]);
        assert!(insecure.is_empty(), "{insecure:?}");
        let (names, insecure) = cookies(&[
            "sid=s3cret-v4lue; Path=/; Secure; HttpOnly; SameSite=Lax",
            "prefs=dark-v4lue; Path=/",
            "x=1; HttpOnly; SameSite=None",
            "y=2; Secure; HttpOnly; SameSite=Sometimes",
            "z=3; Path=/secure; Secure; HttpOnly",
            "nameless-s3cret; Secure; HttpOnly; SameSite=Lax; Domain=httponly.example",
        ]);
        assert_eq!(names, ["sid", "prefs", "x", "y", "z", "(unnamed)"]);
        assert_eq!(
            insecure,
            [
                "prefs (no Secure, no HttpOnly, no SameSite)",
                "x (no Secure, SameSite=None without Secure)",
                "y (no valid SameSite (Lax, Strict or None))",
                "z (no SameSite)",
            ]
        );
        assert!(!format!("{insecure:?}").contains("v4lue") && !format!("{names:?}").contains("s3cret"));
        assert_eq!(cookies(&[]), (vec![], vec![]));
    }

    #[test]
    fn writing_methods_need_allow_write() {
        let problems = check(&params(&[("method", Value::str("POST")), ("allow_write", Value::Bool(false))]));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].param, "method");
        assert!(problems[0].message.starts_with("method POST may change the system under test"), "{problems:?}");
        assert!(problems[0].hint.as_deref().is_some_and(|h| h.contains("allow_write = true")));
        for method in ["PUT", "PATCH", "DELETE"] {
            assert_eq!(check(&params(&[("method", Value::str(method))])).len(), 1, "{method}");
        }
    }

    #[test]
    fn read_only_methods_and_allowed_writes_pass() {
        for method in READ_ONLY_METHODS {
            assert!(check(&params(&[("method", Value::str(*method))])).is_empty(), "{method}");
        }
        assert!(check(&params(&[])).is_empty(), "GET by default");
        assert!(check(&params(&[("method", Value::str("DELETE")), ("allow_write", Value::Bool(true))])).is_empty());
        // An unset ${env:…} while validating leaves the method empty: nothing to judge yet.
        assert!(check(&params(&[("method", Value::str(""))])).is_empty());
    }

    #[test]
    fn the_run_refuses_a_writing_method_too() {
        let input = ProbeInput {
            item_id: "w".into(),
            params: params(&[("url", Value::str("http://127.0.0.1:9/")), ("method", Value::str("POST"))]),
            wanted: Default::default(),
            timeout: std::time::Duration::from_secs(1),
        };
        let shared = Shared::default();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let e = runtime.block_on(observe(&input, &shared)).unwrap_err();
        assert!(e.0.contains("allow_write = true"), "{e}");
    }
}

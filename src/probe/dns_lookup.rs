// DNS lookups for the `dns` probe: queries one record type for one name through a hickory
// resolver (system resolv.conf or an explicit server) and renders the answers as stable strings.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError as HickoryDnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType as HickoryRecordType};
use hickory_resolver::{Resolver, TokioResolver};

/// Per-attempt timeout the resolvers are built with; the caller adds its own overall timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Retries after a failed attempt (hickory's `attempts`: 1 means at most two tries).
pub const DEFAULT_ATTEMPTS: usize = 1;

/// The record types a checklist can ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    A,
    AAAA,
    CNAME,
    MX,
    TXT,
    NS,
}

impl RecordType {
    /// Every supported type, in display order.
    pub const ALL: [RecordType; 6] =
        [RecordType::A, RecordType::AAAA, RecordType::CNAME, RecordType::MX, RecordType::TXT, RecordType::NS];

    /// The canonical upper-case mnemonic ("A", "AAAA", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::AAAA => "AAAA",
            RecordType::CNAME => "CNAME",
            RecordType::MX => "MX",
            RecordType::TXT => "TXT",
            RecordType::NS => "NS",
        }
    }

    fn to_hickory(self) -> HickoryRecordType {
        match self {
            RecordType::A => HickoryRecordType::A,
            RecordType::AAAA => HickoryRecordType::AAAA,
            RecordType::CNAME => HickoryRecordType::CNAME,
            RecordType::MX => HickoryRecordType::MX,
            RecordType::TXT => HickoryRecordType::TXT,
            RecordType::NS => HickoryRecordType::NS,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when a string is not one of the supported record types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseRecordTypeError(pub String);

impl fmt::Display for ParseRecordTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown DNS record type '{}' (expected one of A, AAAA, CNAME, MX, TXT, NS)", self.0)
    }
}

impl std::error::Error for ParseRecordTypeError {}

impl FromStr for RecordType {
    type Err = ParseRecordTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        RecordType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| ParseRecordTypeError(s.to_string()))
    }
}

/// One question: which name, which type, asked of which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsQuery<'a> {
    /// The name to look up. It is always treated as absolute: no search domains are applied.
    pub name: &'a str,
    pub record_type: RecordType,
    /// The server to ask (UDP, TCP when a response is truncated); `None` uses the system
    /// configuration (`/etc/resolv.conf` on Unix).
    pub server: Option<SocketAddr>,
}

/// What the lookup saw. A name that does not exist, or has no records of the asked type, is an
/// observation (`resolves == false`), not an error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsObservation {
    /// At least one record of the asked type was returned.
    pub resolves: bool,
    /// The answers of the asked type, rendered as strings, sorted and de-duplicated.
    pub answers: Vec<String>,
    /// The smallest TTL among the answers (and any CNAMEs leading to them), in seconds.
    pub ttl: Option<u32>,
    /// The server said the name does not exist (NXDOMAIN).
    pub nxdomain: bool,
}

/// Why a lookup could not produce an observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// The name is not a valid domain name.
    InvalidName { name: String, reason: String },
    /// No usable system resolver configuration (for example `/etc/resolv.conf` is missing).
    NoSystemConfig(String),
    /// No answer arrived within the resolver's timeout.
    Timeout,
    /// The server answered SERVFAIL.
    ServerFailure,
    /// The server answered REFUSED.
    Refused,
    /// The server answered with another error response code (FORMERR, NOTIMP, ...).
    ErrorResponse(String),
    /// The server could not be reached (connection refused, unreachable, ...).
    Network(String),
    /// Any other resolver failure.
    Other(String),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::InvalidName { name, reason } => {
                write!(f, "invalid DNS name '{name}': {reason}")
            }
            DnsError::NoSystemConfig(detail) => write!(
                f,
                "no usable system DNS configuration (/etc/resolv.conf): {detail}; \
                 set an explicit DNS server instead"
            ),
            DnsError::Timeout => f.write_str("DNS query timed out: the server did not answer"),
            DnsError::ServerFailure => f.write_str("DNS server failure (SERVFAIL): the server could not answer"),
            DnsError::Refused => f.write_str("DNS query refused by the server (REFUSED)"),
            DnsError::ErrorResponse(code) => write!(f, "DNS server returned an error: {code}"),
            DnsError::Network(detail) => write!(f, "could not reach the DNS server: {detail}"),
            DnsError::Other(detail) => write!(f, "DNS lookup failed: {detail}"),
        }
    }
}

impl std::error::Error for DnsError {}

/// Holds one resolver per distinct `server` (`None` = system configuration) so that repeated
/// checks reuse the same resolver and its connections. Response caching is disabled inside the
/// resolvers: every lookup asks the server again.
pub struct ResolverCache {
    resolvers: Mutex<HashMap<Option<SocketAddr>, TokioResolver>>,
    timeout: Duration,
    attempts: usize,
}

impl ResolverCache {
    /// A cache whose resolvers use [`DEFAULT_TIMEOUT`] and [`DEFAULT_ATTEMPTS`].
    pub fn new() -> Self {
        Self::with_timeout(DEFAULT_TIMEOUT)
    }

    /// A cache whose resolvers give up on an attempt after `timeout`.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self { resolvers: Mutex::new(HashMap::new()), timeout, attempts: DEFAULT_ATTEMPTS }
    }

    /// How many resolvers have been created (one per distinct server).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no resolver has been created yet.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<SocketAddr>, TokioResolver>> {
        // A panic while holding the lock cannot leave the map inconsistent (insert is atomic).
        self.resolvers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The resolver for `server`, created on first use. The resolver is cheap to clone (its
    /// state is shared), so the lock is never held across an await.
    fn resolver(&self, server: Option<SocketAddr>) -> Result<TokioResolver, DnsError> {
        let mut map = self.lock();
        if let Some(resolver) = map.get(&server) {
            return Ok(resolver.clone());
        }
        let resolver = self.build(server)?;
        map.insert(server, resolver.clone());
        Ok(resolver)
    }

    fn build(&self, server: Option<SocketAddr>) -> Result<TokioResolver, DnsError> {
        let mut builder = match server {
            None => TokioResolver::builder_tokio().map_err(|e| DnsError::NoSystemConfig(e.to_string()))?,
            Some(addr) => {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut ns.connections {
                    connection.port = addr.port();
                }
                let config = ResolverConfig::from_parts(None, Vec::new(), vec![ns]);
                Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            }
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = self.timeout;
        opts.attempts = self.attempts;
        // A cache size of zero disables hickory's response cache: a checklist wants fresh answers.
        opts.cache_size = 0;
        // Report what DNS says, not what /etc/hosts says.
        opts.use_hosts_file = ResolveHosts::Never;
        // Keep CNAMEs in the answers so the TTL can account for the whole chain.
        opts.preserve_intermediates = true;
        builder.build().map_err(|e| DnsError::Other(format!("could not create resolver: {e}")))
    }
}

impl Default for ResolverCache {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ResolverCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolverCache")
            .field("resolvers", &self.len())
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// Looks up `q.name` / `q.record_type` and reports what was seen.
///
/// NXDOMAIN and "no records of this type" are `Ok` with `resolves == false`; timeouts, SERVFAIL,
/// REFUSED and unreachable servers are `Err`.
pub async fn lookup(resolvers: &ResolverCache, q: &DnsQuery<'_>) -> Result<DnsObservation, DnsError> {
    let name = absolute_name(q.name)?;
    let resolver = resolvers.resolver(q.server)?;
    let wanted = q.record_type.to_hickory();
    match resolver.lookup(name, wanted).await {
        Ok(found) => Ok(observe(found.answers(), q.record_type)),
        Err(err) => match no_records(&err) {
            Some(no) => {
                Ok(DnsObservation { nxdomain: no.response_code == ResponseCode::NXDomain, ..DnsObservation::default() })
            }
            None => Err(map_error(err)),
        },
    }
}

fn absolute_name(raw: &str) -> Result<Name, DnsError> {
    let invalid = |reason: String| DnsError::InvalidName { name: raw.to_string(), reason };
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed == "." {
        return Err(invalid("the name is empty".to_string()));
    }
    let mut name = Name::from_utf8(trimmed).map_err(|e| invalid(e.to_string()))?;
    name.set_fqdn(true);
    Ok(name)
}

fn no_records(err: &NetError) -> Option<&NoRecords> {
    match err {
        NetError::Dns(HickoryDnsError::NoRecordsFound(no)) => Some(no),
        _ => None,
    }
}

fn map_error(err: NetError) -> DnsError {
    match err {
        NetError::Timeout => DnsError::Timeout,
        NetError::Dns(HickoryDnsError::ResponseCode(code)) => match code {
            ResponseCode::ServFail => DnsError::ServerFailure,
            ResponseCode::Refused => DnsError::Refused,
            other => DnsError::ErrorResponse(format!("{other}")),
        },
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => DnsError::Timeout,
        NetError::Io(io) => DnsError::Network(io.to_string()),
        NetError::NoConnections => DnsError::Network("no connection to any configured name server".to_string()),
        other => DnsError::Other(other.to_string()),
    }
}

/// Builds the observation from the answer section: only records of the asked type count as
/// answers; CNAMEs on the way to them only lower the TTL.
fn observe(records: &[Record], wanted: RecordType) -> DnsObservation {
    let hickory_type = wanted.to_hickory();
    let mut ttl: Option<u32> = None;
    let mut rendered: Vec<(SortKey, String)> = Vec::new();
    for record in records {
        let rtype = record.record_type();
        if rtype != hickory_type && rtype != HickoryRecordType::CNAME {
            continue;
        }
        ttl = Some(ttl.map_or(record.ttl, |t| t.min(record.ttl)));
        if rtype == hickory_type
            && let Some(answer) = render(&record.data)
        {
            rendered.push(answer);
        }
    }
    rendered.sort();
    rendered.dedup();
    let answers: Vec<String> = rendered.into_iter().map(|(_, s)| s).collect();
    if answers.is_empty() {
        // Only a CNAME chain that leads nowhere: the name does not resolve to this type.
        return DnsObservation::default();
    }
    DnsObservation { resolves: true, answers, ttl, nxdomain: false }
}

/// Orders answers naturally: IPs numerically, MX by preference, everything else by text.
type SortKey = (u16, Vec<u8>);

fn render(data: &RData) -> Option<(SortKey, String)> {
    let rendered = match data {
        RData::A(a) => ((0, a.0.octets().to_vec()), a.0.to_string()),
        RData::AAAA(aaaa) => ((0, aaaa.0.octets().to_vec()), aaaa.0.to_string()),
        RData::CNAME(cname) => text_key(render_name(&cname.0)),
        RData::NS(ns) => text_key(render_name(&ns.0)),
        RData::MX(mx) => {
            let exchange = render_name(&mx.exchange);
            ((mx.preference, exchange.clone().into_bytes()), format!("{} {exchange}", mx.preference))
        }
        RData::TXT(txt) => {
            let joined: Vec<u8> = txt.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
            text_key(String::from_utf8_lossy(&joined).into_owned())
        }
        _ => return None,
    };
    Some(rendered)
}

fn text_key(s: String) -> (SortKey, String) {
    ((0, s.clone().into_bytes()), s)
}

/// A domain name without its trailing dot (the root stays ".").
fn render_name(name: &Name) -> String {
    let s = name.to_utf8();
    match s.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_string(),
        _ => s,
    }
}

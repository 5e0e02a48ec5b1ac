// DNS lookups for the `dns` probe: queries one record type for one name through a hickory
// resolver (system resolv.conf or an explicit server) and renders the answers as stable strings.
// A PTR question for an IP address asks for its reverse name (in-addr.arpa / ip6.arpa).

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
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
    CAA,
    SRV,
    PTR,
    SOA,
}

impl RecordType {
    /// Every supported type, in display order.
    pub const ALL: [RecordType; 10] = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::CNAME,
        RecordType::MX,
        RecordType::TXT,
        RecordType::NS,
        RecordType::CAA,
        RecordType::SRV,
        RecordType::PTR,
        RecordType::SOA,
    ];

    /// The types whose answers are one word (an address or a name), so a list of expected
    /// answers can be written as words separated by spaces or commas.
    pub const ONE_WORD: [RecordType; 5] =
        [RecordType::A, RecordType::AAAA, RecordType::CNAME, RecordType::NS, RecordType::PTR];

    /// The canonical upper-case mnemonic ("A", "AAAA", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::AAAA => "AAAA",
            RecordType::CNAME => "CNAME",
            RecordType::MX => "MX",
            RecordType::TXT => "TXT",
            RecordType::NS => "NS",
            RecordType::CAA => "CAA",
            RecordType::SRV => "SRV",
            RecordType::PTR => "PTR",
            RecordType::SOA => "SOA",
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
            RecordType::CAA => HickoryRecordType::CAA,
            RecordType::SRV => HickoryRecordType::SRV,
            RecordType::PTR => HickoryRecordType::PTR,
            RecordType::SOA => HickoryRecordType::SOA,
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
        let all: Vec<&str> = RecordType::ALL.iter().map(|t| t.as_str()).collect();
        write!(f, "unknown DNS record type '{}' (expected one of {})", self.0, all.join(", "))
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
    /// For PTR, an IP address stands for its reverse name ([`reverse_name`]).
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
    /// The name asked when the query's name was an IP address turned into its reverse name
    /// (PTR only), without the final dot.
    pub reverse_name: Option<String>,
    /// The CAA records, parsed (CAA only).
    pub caa: Vec<Caa>,
    /// The SRV records, parsed, in answer order (SRV only).
    pub srv: Vec<Srv>,
    /// The SOA record (SOA only; a zone has one).
    pub soa: Option<Soa>,
}

/// One CAA record (RFC 8659): flags, property tag and value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Caa {
    pub flags: u8,
    /// The property tag as the server sent it (`issue`, `issuewild`, `iodef`, ...).
    pub tag: String,
    /// The value, as text (bytes that are not UTF-8 are replaced).
    pub value: String,
}

impl Caa {
    /// The CA domain an `issue` / `issuewild` value names, lower-cased: the part before any
    /// `;` parameters. `None` for a value naming no CA (`";"`: no CA may issue).
    pub fn issuer(&self) -> Option<String> {
        let domain = self.value.split(';').next().unwrap_or_default().trim();
        (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
    }

    fn is_tag(&self, tag: &str) -> bool {
        self.tag.eq_ignore_ascii_case(tag)
    }

    /// Presentation form: `0 issue "letsencrypt.org"` (`"` and `\` in the value escaped).
    pub fn render(&self) -> String {
        let mut value = String::with_capacity(self.value.len());
        for c in self.value.chars() {
            if c == '"' || c == '\\' {
                value.push('\\');
            }
            value.push(c);
        }
        format!("{} {} \"{value}\"", self.flags, self.tag)
    }
}

/// The CA domains `issue` records allow to issue certificates for the name, sorted and
/// de-duplicated; `None` when no record has the `issue` tag (CAA then restricts no CA).
/// `Some([])` when the only `issue` records name no CA (`0 issue ";"`).
pub fn caa_issuers(records: &[Caa]) -> Option<Vec<String>> {
    issuers_tagged(records, "issue")
}

/// The CA domains allowed to issue wildcard certificates: those of the `issuewild` records,
/// or, when there are none, of the `issue` records (RFC 8659 section 4.3); `None` when
/// neither tag is present.
pub fn caa_wildcard_issuers(records: &[Caa]) -> Option<Vec<String>> {
    issuers_tagged(records, "issuewild").or_else(|| caa_issuers(records))
}

fn issuers_tagged(records: &[Caa], tag: &str) -> Option<Vec<String>> {
    let tagged: Vec<&Caa> = records.iter().filter(|r| r.is_tag(tag)).collect();
    if tagged.is_empty() {
        return None;
    }
    let mut issuers: Vec<String> = tagged.iter().filter_map(|r| r.issuer()).collect();
    issuers.sort();
    issuers.dedup();
    Some(issuers)
}

/// One SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// The target host, without the final dot; `.` means "no service here".
    pub target: String,
}

impl Srv {
    /// Presentation form: `PRIORITY WEIGHT PORT TARGET`, e.g. `10 5 443 api.example.com`.
    pub fn render(&self) -> String {
        format!("{} {} {} {}", self.priority, self.weight, self.port, self.target)
    }
}

/// The SOA record of a zone (RFC 1035 section 3.3.13).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Soa {
    /// MNAME: the primary name server, without the final dot.
    pub mname: String,
    /// RNAME: the administrator's mailbox as a name (`hostmaster.example.com`).
    pub rname: String,
    pub serial: u32,
    pub refresh: i32,
    pub retry: i32,
    pub expire: i32,
    /// MINIMUM: how long resolvers cache a negative answer (RFC 2308), in seconds.
    pub minimum: u32,
}

impl Soa {
    /// Presentation form: `MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM`.
    pub fn render(&self) -> String {
        format!(
            "{} {} {} {} {} {} {}",
            self.mname, self.rname, self.serial, self.refresh, self.retry, self.expire, self.minimum
        )
    }
}

/// The name a PTR question for `ip` asks: `5.0.0.10.in-addr.arpa` for 10.0.0.5, the 32
/// nibbles of an IPv6 address in reverse under `ip6.arpa` (RFC 3596). No final dot.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut labels: Vec<String> = Vec::with_capacity(33);
            for byte in v6.octets().iter().rev() {
                labels.push(format!("{:x}", byte & 0x0f));
                labels.push(format!("{:x}", byte >> 4));
            }
            labels.push("ip6.arpa".to_string());
            labels.join(".")
        }
    }
}

/// Splits expected answers written as entries of one or more words separated by spaces or
/// commas (`["10.0.0.1, 10.0.0.2"]`, so one var can hold several) into single answers.
pub fn split_expected(entries: &[String]) -> Vec<String> {
    entries.iter().flat_map(|e| crate::value::list_items(e)).map(str::to_string).collect()
}

/// How the answers differ from the expected ones (of a [`RecordType::ONE_WORD`] type):
/// (expected but not answered, answered but not expected), each sorted. Addresses compare
/// as addresses (`2001:DB8::1` is `2001:db8::1`), names without case or a final dot. An
/// expected answer that is not an address of the type (A, AAAA) is an error.
pub fn compare_answers(
    record_type: RecordType,
    expected: &[String],
    answers: &[String],
) -> Result<(Vec<String>, Vec<String>), String> {
    let normal = |word: &str| -> Result<String, String> {
        match record_type {
            RecordType::A => word
                .parse::<std::net::Ipv4Addr>()
                .map(|ip| ip.to_string())
                .map_err(|_| format!("expected answer {word:?} is not an IPv4 address (type A)")),
            RecordType::AAAA => word
                .parse::<std::net::Ipv6Addr>()
                .map(|ip| ip.to_string())
                .map_err(|_| format!("expected answer {word:?} is not an IPv6 address (type AAAA)")),
            _ => {
                let lower = word.to_ascii_lowercase();
                Ok(match lower.strip_suffix('.') {
                    Some(stripped) if !stripped.is_empty() => stripped.to_string(),
                    _ => lower,
                })
            }
        }
    };
    let mut want: Vec<String> = expected.iter().map(|w| normal(w)).collect::<Result<_, _>>()?;
    want.sort();
    want.dedup();
    // The answers were rendered by this module: a name that fails to normalise stays as it is.
    let got: Vec<(String, &String)> = answers.iter().map(|a| (normal(a).unwrap_or_else(|_| a.clone()), a)).collect();
    let missing: Vec<String> = want.iter().filter(|w| !got.iter().any(|(g, _)| g == *w)).cloned().collect();
    let mut unexpected: Vec<String> =
        got.iter().filter(|(g, _)| !want.contains(g)).map(|(_, a)| (*a).clone()).collect();
    unexpected.sort();
    unexpected.dedup();
    Ok((missing, unexpected))
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
    let reverse = match q.record_type {
        RecordType::PTR => q.name.trim().parse::<IpAddr>().ok().map(reverse_name),
        _ => None,
    };
    let name = absolute_name(reverse.as_deref().unwrap_or(q.name))?;
    let resolver = resolvers.resolver(q.server)?;
    let wanted = q.record_type.to_hickory();
    let observed = match resolver.lookup(name, wanted).await {
        Ok(found) => observe(found.answers(), q.record_type),
        Err(err) => match no_records(&err) {
            Some(no) => {
                DnsObservation { nxdomain: no.response_code == ResponseCode::NXDomain, ..DnsObservation::default() }
            }
            None => return Err(map_error(err)),
        },
    };
    Ok(DnsObservation { reverse_name: reverse, ..observed })
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
    let mut seen = DnsObservation::default();
    for record in records {
        let rtype = record.record_type();
        if rtype != hickory_type && rtype != HickoryRecordType::CNAME {
            continue;
        }
        ttl = Some(ttl.map_or(record.ttl, |t| t.min(record.ttl)));
        if rtype == hickory_type
            && let Some(answer) = render(&record.data, &mut seen)
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
    seen.caa.sort();
    seen.caa.dedup();
    seen.srv.sort();
    seen.srv.dedup();
    DnsObservation { resolves: true, answers, ttl, nxdomain: false, ..seen }
}

/// Orders answers naturally: IPs numerically, MX by preference, SRV by priority, weight and
/// port, everything else by text.
type SortKey = ([u16; 3], Vec<u8>);

/// The presentation form of one record's data (and its sort key); the parsed CAA, SRV and
/// SOA data go into `seen`.
fn render(data: &RData, seen: &mut DnsObservation) -> Option<(SortKey, String)> {
    let rendered = match data {
        RData::A(a) => (([0; 3], a.0.octets().to_vec()), a.0.to_string()),
        RData::AAAA(aaaa) => (([0; 3], aaaa.0.octets().to_vec()), aaaa.0.to_string()),
        RData::CNAME(cname) => text_key(render_name(&cname.0)),
        RData::NS(ns) => text_key(render_name(&ns.0)),
        RData::PTR(ptr) => text_key(render_name(&ptr.0)),
        RData::MX(mx) => {
            let exchange = render_name(&mx.exchange);
            (([mx.preference, 0, 0], exchange.clone().into_bytes()), format!("{} {exchange}", mx.preference))
        }
        RData::TXT(txt) => {
            let joined: Vec<u8> = txt.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
            text_key(String::from_utf8_lossy(&joined).into_owned())
        }
        RData::CAA(caa) => {
            let caa = Caa {
                flags: caa.flags(),
                tag: caa.tag.clone(),
                value: String::from_utf8_lossy(&caa.value).into_owned(),
            };
            let shown = text_key(caa.render());
            seen.caa.push(caa);
            shown
        }
        RData::SRV(srv) => {
            let srv =
                Srv { priority: srv.priority, weight: srv.weight, port: srv.port, target: render_name(&srv.target) };
            let shown = (([srv.priority, srv.weight, srv.port], srv.target.clone().into_bytes()), srv.render());
            seen.srv.push(srv);
            shown
        }
        RData::SOA(soa) => {
            let soa = Soa {
                mname: render_name(&soa.mname),
                rname: render_name(&soa.rname),
                serial: soa.serial,
                refresh: soa.refresh,
                retry: soa.retry,
                expire: soa.expire,
                minimum: soa.minimum,
            };
            let shown = text_key(soa.render());
            // A zone has one SOA; should a server send more, the first one counts.
            if seen.soa.is_none() {
                seen.soa = Some(soa);
            }
            shown
        }
        _ => return None,
    };
    Some(rendered)
}

fn text_key(s: String) -> (SortKey, String) {
    (([0; 3], s.clone().into_bytes()), s)
}

/// A domain name without its trailing dot (the root stays ".").
fn render_name(name: &Name) -> String {
    let s = name.to_utf8();
    match s.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_string(),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::rr::rdata::{A, CAA, CNAME, PTR, SOA, SRV};

    fn name(s: &str) -> Name {
        Name::from_utf8(s).unwrap()
    }

    fn caa(flags: u8, tag: &str, value: &str) -> Caa {
        Caa { flags, tag: tag.into(), value: value.into() }
    }

    fn raw_caa(critical: bool, tag: &str, value: &str) -> RData {
        let mut caa = CAA::new_issue(critical, None, Vec::new());
        caa.tag = tag.to_string();
        caa.value = value.as_bytes().to_vec();
        RData::CAA(caa)
    }

    #[test]
    fn dns_record_types_parse_in_any_case_and_the_error_lists_every_type() {
        for (text, t) in
            [("caa", RecordType::CAA), ("Srv", RecordType::SRV), ("PTR", RecordType::PTR), (" soa ", RecordType::SOA)]
        {
            assert_eq!(text.parse::<RecordType>(), Ok(t));
        }
        let err = "SPF".parse::<RecordType>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown DNS record type 'SPF' (expected one of A, AAAA, CNAME, MX, TXT, NS, CAA, SRV, PTR, SOA)"
        );
    }

    #[test]
    fn dns_reverse_names_of_ipv4_and_ipv6_addresses() {
        assert_eq!(reverse_name("10.0.0.5".parse().unwrap()), "5.0.0.10.in-addr.arpa");
        assert_eq!(reverse_name("192.0.2.1".parse().unwrap()), "1.2.0.192.in-addr.arpa");
        assert_eq!(
            reverse_name("2001:db8::567:89ab".parse().unwrap()),
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
        // Agrees with hickory's own conversion, an independent implementation.
        for ip in ["127.0.0.1", "203.0.113.255", "::1", "fe80::1:2:3:4", "2001:db8:abcd:12::ff"] {
            let ip: IpAddr = ip.parse().unwrap();
            let theirs = Name::from(ip).to_utf8();
            assert_eq!(format!("{}.", reverse_name(ip)), theirs, "{ip}");
        }
    }

    #[test]
    fn dns_caa_presentation_form_and_issuers() {
        assert_eq!(caa(0, "issue", "letsencrypt.org").render(), r#"0 issue "letsencrypt.org""#);
        assert_eq!(caa(128, "iodef", "mailto:sec@example.com").render(), r#"128 iodef "mailto:sec@example.com""#);
        assert_eq!(caa(0, "issue", r#"a"b\c"#).render(), r#"0 issue "a\"b\\c""#);

        assert_eq!(
            caa(0, "issue", "LetsEncrypt.org; accounturi=https://x/1").issuer().as_deref(),
            Some("letsencrypt.org")
        );
        assert_eq!(caa(0, "issue", " pki.goog ").issuer().as_deref(), Some("pki.goog"));
        assert_eq!(caa(0, "issue", ";").issuer(), None);
        assert_eq!(caa(0, "issue", "").issuer(), None);

        let records = vec![
            caa(0, "issue", "sectigo.com"),
            caa(0, "ISSUE", "letsencrypt.org; validationmethods=dns-01"),
            caa(0, "issue", "letsencrypt.org"),
            caa(0, "iodef", "mailto:sec@example.com"),
        ];
        assert_eq!(caa_issuers(&records), Some(vec!["letsencrypt.org".to_string(), "sectigo.com".to_string()]));
        // No issuewild: the issue records govern wildcards too.
        assert_eq!(caa_wildcard_issuers(&records), caa_issuers(&records));

        let mut with_wild = records.clone();
        with_wild.push(caa(0, "issuewild", ";"));
        assert_eq!(caa_wildcard_issuers(&with_wild), Some(Vec::new()), "issuewild \";\": no CA for wildcards");
        assert_eq!(caa_issuers(&with_wild).unwrap().len(), 2);

        let only_iodef = vec![caa(0, "iodef", "mailto:sec@example.com")];
        assert_eq!(caa_issuers(&only_iodef), None, "no issue record restricts no CA");
        assert_eq!(caa_wildcard_issuers(&only_iodef), None);
        assert_eq!(caa_issuers(&[caa(0, "issue", ";")]), Some(Vec::new()));
    }

    #[test]
    fn dns_srv_and_soa_presentation_forms() {
        let srv = Srv { priority: 10, weight: 5, port: 443, target: "api.example.com".into() };
        assert_eq!(srv.render(), "10 5 443 api.example.com");
        let soa = Soa {
            mname: "ns1.example.com".into(),
            rname: "hostmaster.example.com".into(),
            serial: 2026120101,
            refresh: 7200,
            retry: 3600,
            expire: 1209600,
            minimum: 300,
        };
        assert_eq!(soa.render(), "ns1.example.com hostmaster.example.com 2026120101 7200 3600 1209600 300");
    }

    #[test]
    fn dns_observe_renders_sorts_and_parses_the_new_types() {
        let owner = name("example.com.");
        let srv =
            |p, w, port, t: &str| Record::from_rdata(owner.clone(), 300, RData::SRV(SRV::new(p, w, port, name(t))));
        let seen = observe(
            &[
                srv(20, 0, 8443, "b.example.com."),
                srv(10, 60, 443, "a.example.com."),
                srv(10, 5, 443, "c.example.com."),
                srv(10, 5, 443, "c.example.com."),
                // Records of another type (not a CNAME on the way) are not answers.
                Record::from_rdata(owner.clone(), 1, RData::A(A::new(10, 0, 0, 1))),
            ],
            RecordType::SRV,
        );
        assert!(seen.resolves);
        assert_eq!(seen.answers, ["10 5 443 c.example.com", "10 60 443 a.example.com", "20 0 8443 b.example.com"]);
        assert_eq!(seen.srv.len(), 3);
        assert_eq!(seen.srv[0].target, "c.example.com");
        assert_eq!(seen.ttl, Some(300));

        let seen = observe(
            &[
                Record::from_rdata(owner.clone(), 60, raw_caa(false, "issue", "letsencrypt.org")),
                Record::from_rdata(owner.clone(), 90, raw_caa(true, "iodef", "mailto:sec@example.com")),
            ],
            RecordType::CAA,
        );
        assert_eq!(seen.answers, [r#"0 issue "letsencrypt.org""#, r#"128 iodef "mailto:sec@example.com""#]);
        assert_eq!(seen.caa, [caa(0, "issue", "letsencrypt.org"), caa(128, "iodef", "mailto:sec@example.com")]);
        assert_eq!(seen.ttl, Some(60));

        let seen = observe(
            &[
                Record::from_rdata(name("www.example.com."), 30, RData::CNAME(CNAME(name("example.com.")))),
                Record::from_rdata(
                    owner.clone(),
                    3600,
                    RData::SOA(SOA::new(
                        name("ns1.example.com."),
                        name("hostmaster.example.com."),
                        7,
                        7200,
                        3600,
                        1209600,
                        300,
                    )),
                ),
            ],
            RecordType::SOA,
        );
        assert_eq!(seen.answers, ["ns1.example.com hostmaster.example.com 7 7200 3600 1209600 300"]);
        assert_eq!(seen.soa.as_ref().map(|s| (s.serial, s.minimum)), Some((7, 300)));
        assert_eq!(seen.ttl, Some(30), "the CNAME on the way lowers the TTL");

        let ptr = Record::from_rdata(name("5.0.0.10.in-addr.arpa."), 60, RData::PTR(PTR(name("host.example.com."))));
        let seen = observe(&[ptr], RecordType::PTR);
        assert_eq!(seen.answers, ["host.example.com"]);
        assert!(seen.caa.is_empty() && seen.srv.is_empty() && seen.soa.is_none());

        // Asked for SRV, got only a CNAME: does not resolve, nothing parsed.
        let cname = Record::from_rdata(owner, 30, RData::CNAME(CNAME(name("elsewhere.example."))));
        assert_eq!(observe(&[cname], RecordType::SRV), DnsObservation::default());
    }

    #[test]
    fn dns_expected_answers_split_and_compare_as_addresses_and_names() {
        let entries = vec!["10.0.0.1, 10.0.0.2".to_string(), " 10.0.0.3\t".to_string(), ",".to_string()];
        assert_eq!(split_expected(&entries), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);

        let answers = vec!["10.0.0.1".to_string(), "10.0.0.9".to_string()];
        let expected = split_expected(&["10.0.0.1 10.0.0.2".to_string()]);
        assert_eq!(
            compare_answers(RecordType::A, &expected, &answers),
            Ok((vec!["10.0.0.2".to_string()], vec!["10.0.0.9".to_string()]))
        );
        assert_eq!(
            compare_answers(RecordType::A, &["10.0.0.9".into(), "10.0.0.1".into()], &answers),
            Ok((vec![], vec![]))
        );

        let v6 = vec!["2001:db8::1".to_string()];
        assert_eq!(compare_answers(RecordType::AAAA, &["2001:DB8:0:0::1".into()], &v6), Ok((vec![], vec![])));

        let names = vec!["LB.example.com".to_string()];
        assert_eq!(compare_answers(RecordType::CNAME, &["lb.example.com.".into()], &names), Ok((vec![], vec![])));
        assert_eq!(
            compare_answers(RecordType::PTR, &["other.example.com".into()], &names),
            Ok((vec!["other.example.com".to_string()], vec!["LB.example.com".to_string()]))
        );

        let err = compare_answers(RecordType::A, &["api.example.com".into()], &answers).unwrap_err();
        assert_eq!(err, "expected answer \"api.example.com\" is not an IPv4 address (type A)");
        assert!(compare_answers(RecordType::AAAA, &["10.0.0.1".into()], &v6).unwrap_err().contains("IPv6"));
        // Nothing expected: every answer is unexpected.
        assert_eq!(compare_answers(RecordType::A, &[], &answers).unwrap().1, answers);
    }
}

// In-process DNS server for tests: answers from a fixed list of records on 127.0.0.1 (UDP, and
// TCP on the same port), with special names that fail, time out or force a TCP retry.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CAA, CNAME, MX, NS, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// Queries for this name get SERVFAIL.
pub const SERVFAIL_NAME: &str = "servfail.test.";
/// Queries for this name get REFUSED.
pub const REFUSED_NAME: &str = "refused.test.";
/// Queries for this name are never answered (for timeout tests).
pub const TIMEOUT_NAME: &str = "timeout.test.";
/// Over UDP this name gets an empty truncated (TC) response; over TCP it is answered from the
/// records like any other name, so a client must retry over TCP to see them.
pub const TRUNCATED_NAME: &str = "truncated.test.";

/// Longest chain of in-zone CNAMEs followed when answering a non-CNAME query.
const MAX_CNAME_CHAIN: usize = 8;

/// One record the server knows. `value` is the presentation form of the data: an IP for A/AAAA,
/// a name for CNAME/NS/PTR, "PREF EXCHANGE" for MX, the text itself for TXT,
/// `FLAGS TAG "VALUE"` for CAA, "PRIORITY WEIGHT PORT TARGET" for SRV and
/// "MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM" for SOA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord {
    pub name: String,
    pub record_type: RecordType,
    pub value: String,
    pub ttl: u32,
}

impl TestRecord {
    pub fn new(name: &str, record_type: RecordType, value: &str, ttl: u32) -> Self {
        Self { name: name.to_string(), record_type, value: value.to_string(), ttl }
    }

    pub fn a(name: &str, ip: &str, ttl: u32) -> Self {
        Self::new(name, RecordType::A, ip, ttl)
    }

    pub fn aaaa(name: &str, ip: &str, ttl: u32) -> Self {
        Self::new(name, RecordType::AAAA, ip, ttl)
    }

    pub fn cname(name: &str, target: &str, ttl: u32) -> Self {
        Self::new(name, RecordType::CNAME, target, ttl)
    }

    pub fn mx(name: &str, preference: u16, exchange: &str, ttl: u32) -> Self {
        Self::new(name, RecordType::MX, &format!("{preference} {exchange}"), ttl)
    }

    pub fn txt(name: &str, text: &str, ttl: u32) -> Self {
        Self::new(name, RecordType::TXT, text, ttl)
    }

    pub fn ns(name: &str, target: &str, ttl: u32) -> Self {
        Self::new(name, RecordType::NS, target, ttl)
    }

    /// A CAA record: `flags` (128 = issuer critical), a tag (`issue`, `issuewild`, `iodef`,
    /// or any other) and its value, sent as written.
    pub fn caa(name: &str, flags: u8, tag: &str, value: &str, ttl: u32) -> Self {
        Self::new(name, RecordType::CAA, &format!("{flags} {tag} \"{value}\""), ttl)
    }

    pub fn srv(name: &str, priority: u16, weight: u16, port: u16, target: &str, ttl: u32) -> Self {
        Self::new(name, RecordType::SRV, &format!("{priority} {weight} {port} {target}"), ttl)
    }

    /// A PTR record at `name` (a reverse name such as "5.0.0.10.in-addr.arpa.").
    pub fn ptr(name: &str, target: &str, ttl: u32) -> Self {
        Self::new(name, RecordType::PTR, target, ttl)
    }

    /// A SOA record: primary server, mailbox, serial, and refresh/retry/expire/minimum.
    pub fn soa(name: &str, mname: &str, rname: &str, serial: u32, times: [u32; 4], ttl: u32) -> Self {
        let [refresh, retry, expire, minimum] = times;
        Self::new(name, RecordType::SOA, &format!("{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}"), ttl)
    }

    fn to_record(&self) -> Record {
        let owner = parse_name(&self.name);
        let bad =
            |what: &str| -> ! { panic!("test DNS record {} {} {:?}: {what}", self.name, self.record_type, self.value) };
        let data = match self.record_type {
            RecordType::A => RData::A(A(self.value.parse().unwrap_or_else(|_| bad("not an IPv4 address")))),
            RecordType::AAAA => RData::AAAA(AAAA(self.value.parse().unwrap_or_else(|_| bad("not an IPv6 address")))),
            RecordType::CNAME => RData::CNAME(CNAME(parse_name(&self.value))),
            RecordType::NS => RData::NS(NS(parse_name(&self.value))),
            RecordType::MX => {
                let (pref, exchange) = self
                    .value
                    .trim()
                    .split_once(char::is_whitespace)
                    .unwrap_or_else(|| bad("MX value must be 'PREFERENCE EXCHANGE'"));
                let pref = pref.parse().unwrap_or_else(|_| bad("MX preference is not a u16"));
                RData::MX(MX::new(pref, parse_name(exchange.trim())))
            }
            RecordType::TXT => {
                // A TXT character-string holds at most 255 bytes: split longer text.
                let chunks: Vec<&[u8]> =
                    if self.value.is_empty() { vec![&[][..]] } else { self.value.as_bytes().chunks(255).collect() };
                RData::TXT(TXT::from_bytes(chunks))
            }
            RecordType::PTR => RData::PTR(PTR(parse_name(&self.value))),
            RecordType::CAA => {
                // FLAGS TAG "VALUE": the value goes on the wire as written between the quotes.
                let mut parts = self.value.trim().splitn(3, ' ');
                let (Some(flags), Some(tag), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
                    bad("CAA value must be 'FLAGS TAG \"VALUE\"'")
                };
                let flags: u8 = flags.parse().unwrap_or_else(|_| bad("CAA flags are not a u8"));
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or_else(|| bad("CAA value must be quoted"));
                let mut caa = CAA::new_issue(false, None, Vec::new());
                caa.issuer_critical = flags & 0x80 != 0;
                caa.reserved_flags = flags & 0x7f;
                caa.tag = tag.to_string();
                caa.value = value.as_bytes().to_vec();
                RData::CAA(caa)
            }
            RecordType::SRV => {
                let words: Vec<&str> = self.value.split_whitespace().collect();
                let [priority, weight, port, target] = words[..] else {
                    bad("SRV value must be 'PRIORITY WEIGHT PORT TARGET'")
                };
                let num = |w: &str| -> u16 { w.parse().unwrap_or_else(|_| bad("SRV numbers must be u16")) };
                RData::SRV(SRV::new(num(priority), num(weight), num(port), parse_name(target)))
            }
            RecordType::SOA => {
                let words: Vec<&str> = self.value.split_whitespace().collect();
                let [mname, rname, serial, refresh, retry, expire, minimum] = words[..] else {
                    bad("SOA value must be 'MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM'")
                };
                let num = |w: &str| -> u32 { w.parse().unwrap_or_else(|_| bad("SOA numbers must be u32")) };
                let signed = |w: &str| -> i32 { w.parse().unwrap_or_else(|_| bad("SOA times must be i32")) };
                RData::SOA(SOA::new(
                    parse_name(mname),
                    parse_name(rname),
                    num(serial),
                    signed(refresh),
                    signed(retry),
                    signed(expire),
                    num(minimum),
                ))
            }
            _ => bad("unsupported record type (use A, AAAA, CNAME, MX, TXT, NS, CAA, SRV, PTR or SOA)"),
        };
        Record::from_rdata(owner, self.ttl, data)
    }
}

/// A running test DNS server. It serves until dropped.
pub struct DnsServer {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServer {
    /// Binds 127.0.0.1 on a free port (UDP, plus TCP on the same port when it is free) and
    /// serves `records` on the current tokio runtime.
    pub async fn start(records: Vec<TestRecord>) -> DnsServer {
        let zone = Arc::new(Zone { records: records.iter().map(TestRecord::to_record).collect() });
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().expect("test DNS server UDP address");
        let queries = Arc::new(AtomicUsize::new(0));
        let tcp_queries = Arc::new(AtomicUsize::new(0));

        let mut tasks = vec![tokio::spawn(serve_udp(udp, Arc::clone(&zone), Arc::clone(&queries)))];
        if let Some(listener) = tcp {
            tasks.push(tokio::spawn(serve_tcp(listener, zone, Arc::clone(&queries), Arc::clone(&tcp_queries))));
        }
        DnsServer { addr, queries, tcp_queries, tasks }
    }

    /// The address to point a resolver at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many DNS queries arrived so far (UDP and TCP, answered or not).
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    /// How many of those arrived over TCP.
    pub fn tcp_queries(&self) -> usize {
        self.tcp_queries.load(Ordering::SeqCst)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Binds UDP on an ephemeral port and TCP on the same port; retries a few ports, and serves UDP
/// only if no port is free for both.
async fn bind_pair() -> (UdpSocket, Option<TcpListener>) {
    for _ in 0..16 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind test DNS server UDP socket on 127.0.0.1");
        let addr = udp.local_addr().expect("test DNS server UDP address");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, Some(tcp));
        }
    }
    let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind test DNS server UDP socket on 127.0.0.1");
    (udp, None)
}

async fn serve_udp(socket: UdpSocket, zone: Arc<Zone>, queries: Arc<AtomicUsize>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Some(response) = zone.respond(&buf[..len], Transport::Udp, &queries) else {
            continue;
        };
        let _ = socket.send_to(&response, peer).await;
    }
}

async fn serve_tcp(listener: TcpListener, zone: Arc<Zone>, queries: Arc<AtomicUsize>, tcp_queries: Arc<AtomicUsize>) {
    // Dropping the set (when this task is aborted) aborts every connection task too.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_tcp_connection(
            stream,
            Arc::clone(&zone),
            Arc::clone(&queries),
            Arc::clone(&tcp_queries),
        ));
    }
}

async fn serve_tcp_connection(
    stream: TcpStream,
    zone: Arc<Zone>,
    queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
) {
    loop {
        let mut len = [0u8; 2];
        if read_exact(&stream, &mut len).await.is_err() {
            return;
        }
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if read_exact(&stream, &mut message).await.is_err() {
            return;
        }
        tcp_queries.fetch_add(1, Ordering::SeqCst);
        let Some(response) = zone.respond(&message, Transport::Tcp, &queries) else {
            // Never answered: keep the connection open and silent.
            continue;
        };
        let Ok(len) = u16::try_from(response.len()) else {
            return;
        };
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&response);
        if write_all(&stream, &framed).await.is_err() {
            return;
        }
    }
}

// Tokio's `io-util` feature is not assumed, so reads and writes use readiness + try_* calls.
async fn read_exact(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        stream.readable().await?;
        match stream.try_read(&mut buf[filled..]) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn write_all(stream: &TcpStream, buf: &[u8]) -> std::io::Result<()> {
    let mut written = 0;
    while written < buf.len() {
        stream.writable().await?;
        match stream.try_write(&buf[written..]) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

struct Zone {
    records: Vec<Record>,
}

impl Zone {
    /// The wire response to a wire request, or `None` to stay silent.
    fn respond(&self, request: &[u8], transport: Transport, queries: &AtomicUsize) -> Option<Vec<u8>> {
        let request = Message::from_vec(request).ok()?;
        if request.metadata.message_type != MessageType::Query {
            return None;
        }
        queries.fetch_add(1, Ordering::SeqCst);

        let mut response = Message::response(request.metadata.id, request.metadata.op_code);
        response.metadata = Metadata::response_from_request(&request.metadata);
        response.metadata.authoritative = true;
        response.add_queries(request.queries.iter().cloned());
        if request.edns.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            response.set_edns(edns);
        }

        let query = match (request.metadata.op_code, request.queries.as_slice()) {
            (OpCode::Query, [query]) => query,
            (OpCode::Query, _) => return error(response, ResponseCode::FormErr),
            _ => return error(response, ResponseCode::NotImp),
        };
        // Name equality is case-insensitive; a name without the final dot is made absolute.
        let mut name = query.name().clone();
        name.set_fqdn(true);
        let special = |s: &str| name == parse_name(s);

        if special(TIMEOUT_NAME) {
            return None;
        }
        if special(SERVFAIL_NAME) {
            return error(response, ResponseCode::ServFail);
        }
        if special(REFUSED_NAME) {
            return error(response, ResponseCode::Refused);
        }
        if special(TRUNCATED_NAME) && transport == Transport::Udp {
            response.metadata.truncation = true;
            return response.to_vec().ok();
        }

        if !self.records.iter().any(|r| r.name == name) {
            response.metadata.response_code = ResponseCode::NXDomain;
            return response.to_vec().ok();
        }
        response.add_answers(self.answers(&name, query.query_type()));
        response.to_vec().ok()
    }

    /// Records of `qtype` at `name`; for other types a CNAME at `name` is returned and followed
    /// through the zone, as an authoritative server would.
    fn answers(&self, name: &Name, qtype: RecordType) -> Vec<Record> {
        let mut answers = Vec::new();
        let mut current = name.clone();
        for _ in 0..MAX_CNAME_CHAIN {
            let here: Vec<&Record> = self.records.iter().filter(|r| r.name == current).collect();
            let matching = here.iter().filter(|r| r.record_type() == qtype);
            answers.extend(matching.map(|r| (*r).clone()));
            if qtype == RecordType::CNAME || !answers.is_empty() {
                break;
            }
            let Some(cname) = here.iter().find(|r| r.record_type() == RecordType::CNAME) else {
                break;
            };
            answers.push((*cname).clone());
            let RData::CNAME(CNAME(target)) = &cname.data else {
                break;
            };
            current = target.clone();
        }
        // Echo the owner name in the case the client asked with (clients may check it).
        for record in &mut answers {
            if record.name == *name {
                record.name = name.clone();
            }
        }
        answers
    }
}

fn error(mut response: Message, code: ResponseCode) -> Option<Vec<u8>> {
    response.metadata.response_code = code;
    response.to_vec().ok()
}

fn parse_name(s: &str) -> Name {
    let mut name = Name::from_str(s).unwrap_or_else(|e| panic!("invalid test DNS name {s:?}: {e}")).to_lowercase();
    name.set_fqdn(true);
    name
}

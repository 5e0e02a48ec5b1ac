//! Legacy protocols and weak cipher suites, observed on the wire. rustls speaks only TLS 1.2
//! and 1.3, so "the server refuses TLS 1.0" cannot be shown with it: this module writes a
//! ClientHello by hand (TLS 1.0, TLS 1.1, or TLS 1.2 offering only weak suites), sends it on
//! its own TCP connection, reads the server's first handshake message or alert and closes.
//! No handshake is completed and no key is exchanged: a ServerHello is all it takes to
//! know what the server chose.
//!
//! The server's answer is read with a byte cap and a deadline; whatever it sends (garbage,
//! a record announcing 16 MiB, one byte a second) ends in an answer or an error, never a
//! panic or an unbounded buffer.

use std::fmt;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

pub const TLS10: u16 = 0x0301;
pub const TLS11: u16 = 0x0302;
pub const TLS12: u16 = 0x0303;

/// Bytes read from a server before its first message must be complete: a ServerHello is
/// about 100 bytes, a record at most 16 KiB plus 2 KiB of expansion.
pub const MAX_ANSWER: usize = 20 * 1024;

/// Rounds of the weak-suite probe: each names one more weak suite the server accepts.
pub const MAX_WEAK_ROUNDS: usize = 10;

/// A cipher suite: its code point and IANA name.
pub type Suite = (u16, &'static str);

/// What the TLS 1.0 and 1.1 ClientHellos offer: the suites servers that still speak those
/// versions accept (forward-secret AES-CBC-SHA first, then RSA key exchange and 3DES, as
/// clients of that time sent them).
pub static LEGACY_SUITES: &[Suite] = &[
    (0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
    (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
];

/// Weak suites, offered alone in a TLS 1.2 ClientHello: broken ciphers (RC4, DES, 3DES,
/// IDEA, RC2, NULL), EXPORT grades, anonymous key exchange (no authentication), and RSA key
/// exchange (no forward secrecy, whatever the cipher). Mozilla's "intermediate" profile
/// enables none of them. Forward-secret ECDHE/DHE suites with AES-CBC are not in the list:
/// they are what TLS 1.0 and 1.1 need, which `accepts_tls10`/`accepts_tls11` cover, and the
/// negotiated `cipher` shows what a current client gets.
pub static WEAK_SUITES: &[Suite] = &[
    // RC4
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
    (0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
    // 3DES, DES, IDEA
    (0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0009, "TLS_RSA_WITH_DES_CBC_SHA"),
    (0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"),
    (0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"),
    // EXPORT
    (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
    (0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
    (0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    // NULL (no encryption)
    (0x0001, "TLS_RSA_WITH_NULL_MD5"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA"),
    (0x003B, "TLS_RSA_WITH_NULL_SHA256"),
    (0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA"),
    (0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"),
    // Anonymous (no authentication)
    (0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"),
    (0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA"),
    (0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"),
    (0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"),
    (0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"),
    (0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"),
    (0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"),
    (0xC015, "TLS_ECDH_anon_WITH_NULL_SHA"),
    // RSA key exchange (no forward secrecy)
    (0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"),
];

/// The IANA name of a suite of either list, else its code point (`0xC02F`).
pub fn suite_name(code: u16) -> String {
    LEGACY_SUITES
        .iter()
        .chain(WEAK_SUITES)
        .find(|(c, _)| *c == code)
        .map_or_else(|| format!("0x{code:04X}"), |(_, name)| (*name).to_string())
}

/// `TLS 1.0` for 0x0301.
pub fn version_name(version: u16) -> String {
    match version {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        other => format!("version 0x{other:04X}"),
    }
}

fn alert_name(description: u8) -> &'static str {
    match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        _ => "alert",
    }
}

/// A ClientHello record: `version` as the hello's version (the record layer says TLS 1.0,
/// as clients do for compatibility), `suites` in order, SNI when `server_name` is a DNS
/// name (never an IP address, RFC 6066), and the extensions servers of that time expect:
/// supported_groups, ec_point_formats, renegotiation_info, and signature_algorithms for
/// TLS 1.2.
pub fn client_hello(version: u16, suites: &[u16], server_name: &str, random: [u8; 32]) -> Vec<u8> {
    let mut ext = Vec::new();
    let name = server_name.trim_end_matches('.');
    if !name.is_empty() && name.len() <= 253 && name.is_ascii() && name.parse::<IpAddr>().is_err() {
        let mut entry = vec![0u8];
        push_u16_bytes(&mut entry, name.as_bytes());
        let mut list = Vec::new();
        push_u16_bytes(&mut list, &entry);
        push_extension(&mut ext, 0x0000, &list);
    }
    // x25519, secp256r1, secp384r1, secp521r1
    let groups: Vec<u8> = [0x001Du16, 0x0017, 0x0018, 0x0019].iter().flat_map(|g| g.to_be_bytes()).collect();
    let mut body = Vec::new();
    push_u16_bytes(&mut body, &groups);
    push_extension(&mut ext, 0x000A, &body);
    // ec_point_formats: uncompressed
    push_extension(&mut ext, 0x000B, &[1, 0]);
    if version >= TLS12 {
        let schemes: Vec<u8> =
            [0x0401u16, 0x0501, 0x0601, 0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0201, 0x0203]
                .iter()
                .flat_map(|s| s.to_be_bytes())
                .collect();
        let mut body = Vec::new();
        push_u16_bytes(&mut body, &schemes);
        push_extension(&mut ext, 0x000D, &body);
    }
    // renegotiation_info, empty (a first handshake)
    push_extension(&mut ext, 0xFF01, &[0]);

    let mut hello = Vec::new();
    hello.extend_from_slice(&version.to_be_bytes());
    hello.extend_from_slice(&random);
    hello.push(0); // no session id
    let suite_bytes: Vec<u8> = suites.iter().flat_map(|s| s.to_be_bytes()).collect();
    push_u16_bytes(&mut hello, &suite_bytes);
    hello.extend_from_slice(&[1, 0]); // compression: null only
    push_u16_bytes(&mut hello, &ext);

    let mut handshake = vec![1u8]; // client_hello
    handshake.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);
    let mut record = vec![22u8, 3, 1];
    push_u16_bytes(&mut record, &handshake);
    record
}

fn push_u16_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn push_extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_u16_bytes(out, body);
}

/// How the server answered a ClientHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A ServerHello: the version it chose (from supported_versions when the server sent
    /// one) and the suite.
    ServerHello {
        version: u16,
        suite: u16,
    },
    Alert {
        level: u8,
        description: u8,
    },
    /// The connection ended before a whole first message came.
    Closed,
    Reset,
}

/// What the bytes read so far hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Incomplete,
    Done(Answer),
    /// Not a TLS answer to a ClientHello: why.
    Invalid(String),
}

const MAX_RECORD: usize = (1 << 14) + 2048;

/// Reads the server's first message from the bytes received so far: an alert record, or
/// the ServerHello, which may span several handshake records.
pub fn parse_answer(bytes: &[u8]) -> Parsed {
    let mut handshake = Vec::new();
    let mut rest = bytes;
    loop {
        if rest.len() < 5 {
            return Parsed::Incomplete;
        }
        let (kind, major, len) = (rest[0], rest[1], usize::from(u16::from_be_bytes([rest[3], rest[4]])));
        if major != 3 || !(kind == 21 || kind == 22) {
            return Parsed::Invalid(format!(
                "the answer is not a TLS handshake or alert (it starts {})",
                hex_start(bytes)
            ));
        }
        if len == 0 || len > MAX_RECORD {
            return Parsed::Invalid(format!("a TLS record announces {len} bytes"));
        }
        if rest.len() < 5 + len {
            return Parsed::Incomplete;
        }
        let body = &rest[5..5 + len];
        rest = &rest[5 + len..];
        if kind == 21 {
            if !handshake.is_empty() {
                return Parsed::Invalid("an alert in the middle of the ServerHello".into());
            }
            if len != 2 {
                return Parsed::Invalid(format!("an alert record of {len} bytes"));
            }
            return Parsed::Done(Answer::Alert { level: body[0], description: body[1] });
        }
        handshake.extend_from_slice(body);
        // HelloRequest messages (type 0, empty) may come first; skip them.
        while handshake.len() >= 4 && handshake[0] == 0 && handshake[1..4] == [0, 0, 0] {
            handshake.drain(..4);
        }
        if handshake.len() < 4 {
            continue;
        }
        if handshake[0] != 2 {
            return Parsed::Invalid(format!(
                "the first handshake message is of type {}, not a ServerHello",
                handshake[0]
            ));
        }
        let msg_len = u32::from_be_bytes([0, handshake[1], handshake[2], handshake[3]]) as usize;
        if msg_len > MAX_ANSWER {
            return Parsed::Invalid(format!("the ServerHello announces {msg_len} bytes"));
        }
        if handshake.len() < 4 + msg_len {
            continue;
        }
        return match server_hello(&handshake[4..4 + msg_len]) {
            Some(answer) => Parsed::Done(answer),
            None => Parsed::Invalid("the ServerHello is malformed".into()),
        };
    }
}

fn hex_start(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    shown.join(" ")
}

/// The version and suite of a ServerHello body; `None` when it is cut short or malformed.
fn server_hello(body: &[u8]) -> Option<Answer> {
    let mut r = Reader(body);
    let mut version = u16::from_be_bytes(r.take(2)?.try_into().ok()?);
    r.take(32)?; // random
    let sid_len = usize::from(r.take(1)?[0]);
    if sid_len > 32 {
        return None;
    }
    r.take(sid_len)?;
    let suite = u16::from_be_bytes(r.take(2)?.try_into().ok()?);
    r.take(1)?; // compression
    if !r.0.is_empty() {
        let ext_len = usize::from(u16::from_be_bytes(r.take(2)?.try_into().ok()?));
        let mut ext = Reader(r.take(ext_len)?);
        while !ext.0.is_empty() {
            let kind = u16::from_be_bytes(ext.take(2)?.try_into().ok()?);
            let len = usize::from(u16::from_be_bytes(ext.take(2)?.try_into().ok()?));
            let data = ext.take(len)?;
            // supported_versions: the version actually chosen (TLS 1.3 style).
            if kind == 0x002B {
                version = u16::from_be_bytes(data.try_into().ok()?);
            }
        }
    }
    Some(Answer::ServerHello { version, suite })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
}

/// Why the server's answer could not be read: the item ends as `error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyError(pub String);

impl fmt::Display for LegacyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Sends `hello` on a new connection to `address` and reads the answer, all before
/// `deadline`. `what` names the hello in errors ("the TLS 1.0 ClientHello").
pub async fn ask(address: &str, hello: &[u8], deadline: Instant, what: &str) -> Result<Answer, LegacyError> {
    let late = |got: usize| {
        LegacyError(format!("{address} did not answer {what} in time ({got} bytes received before the deadline)"))
    };
    let mut stream = match timeout_at(deadline, TcpStream::connect(address)).await {
        Err(_) => return Err(LegacyError(format!("{address}: connecting for {what} timed out"))),
        Ok(Err(e)) => return Err(LegacyError(format!("{address}: cannot connect for {what}: {e}"))),
        Ok(Ok(stream)) => stream,
    };
    let _ = stream.set_nodelay(true);
    match timeout_at(deadline, stream.write_all(hello)).await {
        Err(_) => return Err(late(0)),
        Ok(Err(e)) => return Ok(ended(&e)),
        Ok(Ok(())) => {}
    }
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return Err(late(buf.len())),
            Ok(Err(e)) => return Ok(ended(&e)),
            Ok(Ok(0)) => return Ok(Answer::Closed),
            Ok(Ok(n)) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        match parse_answer(&buf) {
            Parsed::Done(answer) => return Ok(answer),
            Parsed::Invalid(why) => return Err(LegacyError(format!("{address} answered {what} oddly: {why}"))),
            Parsed::Incomplete if buf.len() > MAX_ANSWER => {
                return Err(LegacyError(format!(
                    "{address} answered {what} with more than {} KiB before its first message ended",
                    MAX_ANSWER / 1024
                )));
            }
            Parsed::Incomplete => {}
        }
    }
}

fn ended(e: &std::io::Error) -> Answer {
    match e.kind() {
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => Answer::Reset,
        _ => Answer::Closed,
    }
}

/// Whether a server accepted a ClientHello of `version`, and what it answered, for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub accepted: bool,
    pub answer: String,
}

/// Accepted: a ServerHello with the version offered (whatever suite it chose). Refused:
/// an alert, a ServerHello with another version, a closed or reset connection.
pub fn judge_version(version: u16, answer: &Answer) -> Verdict {
    let v = version_name(version);
    let refused = |why: String| Verdict { accepted: false, answer: format!("server refused {v}: {why}") };
    match answer {
        Answer::ServerHello { version: chosen, suite } if *chosen == version => {
            Verdict { accepted: true, answer: format!("server accepted {v} ({})", suite_name(*suite)) }
        }
        Answer::ServerHello { version: chosen, .. } => refused(format!("answered with {}", version_name(*chosen))),
        Answer::Alert { description, .. } => refused(format!("alert {} ({description})", alert_name(*description))),
        Answer::Closed => refused("closed the connection".into()),
        Answer::Reset => refused("reset the connection".into()),
    }
}

fn random() -> [u8; 32] {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    // A ClientHello's random needs no secrecy here (no handshake is completed); a failing
    // system RNG leaves zeros.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    bytes
}

/// Offers TLS `version` (1.0 or 1.1) with [`LEGACY_SUITES`].
pub async fn probe_version(
    address: &str,
    server_name: &str,
    version: u16,
    deadline: Instant,
) -> Result<Verdict, LegacyError> {
    let suites: Vec<u16> = LEGACY_SUITES.iter().map(|(c, _)| *c).collect();
    let hello = client_hello(version, &suites, server_name, random());
    let what = format!("the {} ClientHello", version_name(version));
    let answer = ask(address, &hello, deadline, &what).await?;
    Ok(judge_version(version, &answer))
}

/// The weak suites the server picks: offers [`WEAK_SUITES`] in a TLS 1.2 ClientHello,
/// then again without each suite it picked, until it refuses (or [`MAX_WEAK_ROUNDS`]). A
/// ServerHello counts when its suite is one offered, whatever its version.
pub async fn probe_weak(address: &str, server_name: &str, deadline: Instant) -> Result<Vec<String>, LegacyError> {
    let mut offered: Vec<u16> = WEAK_SUITES.iter().map(|(c, _)| *c).collect();
    let mut accepted = Vec::new();
    for _ in 0..MAX_WEAK_ROUNDS {
        if offered.is_empty() {
            break;
        }
        let hello = client_hello(TLS12, &offered, server_name, random());
        match ask(address, &hello, deadline, "a ClientHello offering only weak suites").await? {
            Answer::ServerHello { suite, .. } if offered.contains(&suite) => {
                accepted.push(suite_name(suite));
                offered.retain(|c| *c != suite);
            }
            _ => break,
        }
    }
    Ok(accepted)
}

/// The deadline for the extra handshakes of an item with `timeout`: a little before the
/// engine's, so that a silent server is reported as such, not as a bare timeout.
pub fn deadline_for(timeout: Duration) -> Instant {
    Instant::now() + timeout.saturating_sub((timeout / 10).min(Duration::from_millis(500)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![kind, 3, 1];
        push_u16_bytes(&mut r, body);
        r
    }

    fn server_hello_msg(version: u16, suite: u16, extensions: Option<&[u8]>) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend_from_slice(&[7u8; 32]);
        body.push(32);
        body.extend_from_slice(&[9u8; 32]);
        body.extend_from_slice(&suite.to_be_bytes());
        body.push(0);
        if let Some(ext) = extensions {
            push_u16_bytes(&mut body, ext);
        }
        let mut msg = vec![2u8];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        msg
    }

    /// Extensions of a ClientHello, in order: (type, data).
    type Extensions = Vec<(u16, Vec<u8>)>;

    /// Walks a ClientHello as a server would, returning (record version, hello version,
    /// suites, extensions).
    fn decode(hello: &[u8]) -> (u16, u16, Vec<u16>, Extensions) {
        assert_eq!(hello[0], 22);
        let record_version = u16::from_be_bytes([hello[1], hello[2]]);
        assert_eq!(usize::from(u16::from_be_bytes([hello[3], hello[4]])), hello.len() - 5);
        let hs = &hello[5..];
        assert_eq!(hs[0], 1);
        assert_eq!(u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize, hs.len() - 4);
        let mut r = Reader(&hs[4..]);
        let version = u16::from_be_bytes(r.take(2).unwrap().try_into().unwrap());
        r.take(32).unwrap();
        assert_eq!(r.take(1).unwrap(), [0], "no session id");
        let n = usize::from(u16::from_be_bytes(r.take(2).unwrap().try_into().unwrap()));
        let suites = r.take(n).unwrap().chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        assert_eq!(r.take(2).unwrap(), [1, 0], "null compression only");
        let n = usize::from(u16::from_be_bytes(r.take(2).unwrap().try_into().unwrap()));
        let mut ext = Reader(r.take(n).unwrap());
        assert!(r.0.is_empty());
        let mut extensions = Vec::new();
        while !ext.0.is_empty() {
            let kind = u16::from_be_bytes(ext.take(2).unwrap().try_into().unwrap());
            let len = usize::from(u16::from_be_bytes(ext.take(2).unwrap().try_into().unwrap()));
            extensions.push((kind, ext.take(len).unwrap().to_vec()));
        }
        (record_version, version, suites, extensions)
    }

    #[test]
    fn a_tls10_client_hello_is_well_formed_with_sni_and_the_usual_extensions() {
        let suites: Vec<u16> = LEGACY_SUITES.iter().map(|(c, _)| *c).collect();
        let hello = client_hello(TLS10, &suites, "api.example.com", [5; 32]);
        let (record_version, version, offered, ext) = decode(&hello);
        assert_eq!((record_version, version), (0x0301, 0x0301));
        assert_eq!(offered, suites);
        let kinds: Vec<u16> = ext.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [0x0000, 0x000A, 0x000B, 0xFF01], "no signature_algorithms before TLS 1.2");
        let sni = &ext[0].1;
        assert_eq!(&sni[..5], [0, 18, 0, 0, 15]);
        assert_eq!(&sni[5..], b"api.example.com");
        assert_eq!(ext[1].1, [0, 8, 0, 0x1D, 0, 0x17, 0, 0x18, 0, 0x19]);
        assert_eq!(ext[2].1, [1, 0]);
        assert_eq!(ext[3].1, [0]);
        assert_eq!(&hello[11..43], [5; 32], "the random follows the version");
    }

    #[test]
    fn tls11_and_weak_hellos_differ_where_they_must() {
        let (_, version, _, ext) = decode(&client_hello(TLS11, &[0x002F], "example.com", [0; 32]));
        assert_eq!(version, 0x0302);
        assert!(!ext.iter().any(|(k, _)| *k == 0x000D));
        let weak: Vec<u16> = WEAK_SUITES.iter().map(|(c, _)| *c).collect();
        let (record_version, version, offered, ext) = decode(&client_hello(TLS12, &weak, "127.0.0.1", [0; 32]));
        assert_eq!((record_version, version), (0x0301, 0x0303));
        assert_eq!(offered, weak);
        assert!(!ext.iter().any(|(k, _)| *k == 0x0000), "no SNI for an IP address");
        let sigalgs = &ext.iter().find(|(k, _)| *k == 0x000D).expect("signature_algorithms").1;
        assert_eq!(usize::from(u16::from_be_bytes([sigalgs[0], sigalgs[1]])), sigalgs.len() - 2);
    }

    #[test]
    fn suite_lists_have_unique_codes_and_iana_names() {
        for list in [LEGACY_SUITES, WEAK_SUITES] {
            let mut codes: Vec<u16> = list.iter().map(|(c, _)| *c).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), list.len());
            assert!(list.iter().all(|(_, n)| n.starts_with("TLS_") && n.contains("_WITH_")));
        }
        assert!(!WEAK_SUITES.iter().any(|(c, _)| *c == 0xC013), "ECDHE-RSA-AES128-SHA is not in the weak list");
        assert_eq!(suite_name(0xC013), "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA");
        assert_eq!(suite_name(0xC02F), "0xC02F");
    }

    #[test]
    fn the_docs_name_every_suite_offered() {
        let notes = crate::probe::tls::SPEC.notes.join("\n");
        for (_, name) in WEAK_SUITES {
            assert!(notes.contains(&format!("`{name}`")), "{name} is listed in the tls probe's notes");
        }
        for name in [
            "ECDHE_ECDSA/RSA_WITH_AES_256/128_CBC_SHA",
            "DHE_RSA_WITH_AES_256/128_CBC_SHA",
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        ] {
            assert!(notes.contains(name), "{name}");
        }
        assert_eq!(LEGACY_SUITES.len(), 9, "the notes name the 9 suites of the TLS 1.0/1.1 hellos");
    }

    #[test]
    fn a_server_hello_is_read_with_its_version_and_suite() {
        let answer = record(22, &server_hello_msg(0x0301, 0xC013, None));
        assert_eq!(parse_answer(&answer), Parsed::Done(Answer::ServerHello { version: 0x0301, suite: 0xC013 }));
        // Every prefix is incomplete, never an answer or a panic.
        for cut in 0..answer.len() {
            assert_eq!(parse_answer(&answer[..cut]), Parsed::Incomplete, "cut at {cut}");
        }
        // With extensions: supported_versions says what was chosen.
        let ext = [0xFF, 0x01, 0, 1, 0, 0x00, 0x2B, 0, 2, 3, 4];
        let answer = record(22, &server_hello_msg(0x0303, 0x1301, Some(&ext)));
        assert_eq!(parse_answer(&answer), Parsed::Done(Answer::ServerHello { version: 0x0304, suite: 0x1301 }));
        // Split over two records, with certificates after it in the second.
        let msg = server_hello_msg(0x0302, 0x002F, Some(&[]));
        let mut split = record(22, &msg[..10]);
        split.extend(record(22, &[&msg[10..], &[11, 0, 0, 3, 1, 2, 3]].concat()));
        assert_eq!(parse_answer(&split), Parsed::Done(Answer::ServerHello { version: 0x0302, suite: 0x002F }));
    }

    #[test]
    fn alerts_and_garbage_are_told_apart() {
        assert_eq!(parse_answer(&[21, 3, 1, 0, 2, 2, 70]), Parsed::Done(Answer::Alert { level: 2, description: 70 }));
        for garbage in [
            b"HTTP/1.1 400 Bad Request\r\n".as_slice(),
            &[23, 3, 3, 0, 5, 1, 2, 3, 4, 5],
            &[22, 3, 3, 0xFF, 0xFF],
            &[21, 3, 1, 0, 3, 2, 70, 0],
            &[22, 3, 3, 0, 4, 11, 0, 0, 0],
            &[22, 3, 3, 0, 4, 2, 0xFF, 0xFF, 0xFF],
            &[22, 3, 3, 0, 0],
        ] {
            assert!(matches!(parse_answer(garbage), Parsed::Invalid(_)), "{garbage:?}: {:?}", parse_answer(garbage));
        }
        // A ServerHello cut short inside its own length.
        let mut msg = server_hello_msg(0x0301, 0x002F, None);
        msg.truncate(20);
        msg[3] = 16;
        assert_eq!(parse_answer(&record(22, &msg)), Parsed::Invalid("the ServerHello is malformed".into()));
    }

    #[test]
    fn verdicts_say_what_the_server_did() {
        let accepted = judge_version(TLS10, &Answer::ServerHello { version: TLS10, suite: 0xC013 });
        assert!(accepted.accepted);
        assert_eq!(accepted.answer, "server accepted TLS 1.0 (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)");
        let higher = judge_version(TLS11, &Answer::ServerHello { version: TLS12, suite: 0xC013 });
        assert!(!higher.accepted);
        assert_eq!(higher.answer, "server refused TLS 1.1: answered with TLS 1.2");
        let alert = judge_version(TLS10, &Answer::Alert { level: 2, description: 70 });
        assert_eq!(
            alert,
            Verdict { accepted: false, answer: "server refused TLS 1.0: alert protocol_version (70)".into() }
        );
        assert!(!judge_version(TLS10, &Answer::Closed).accepted);
        assert_eq!(judge_version(TLS10, &Answer::Reset).answer, "server refused TLS 1.0: reset the connection");
    }
}

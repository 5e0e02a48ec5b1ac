// TLS inspection probe: completes a handshake with a server whatever its certificate looks like,
// then reports the chain, expiry, names, trust, protocol and cipher, and why a normal client would reject it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, DnsName, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, ProtocolVersion, SignatureScheme};

use super::trust::{self, AnchoredVerifier, Trust};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521, OID_PKCS1_RSAENCRYPTION,
    OID_PKCS1_RSASSAPSS, OID_SIG_ED448, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::{PublicKey, RSAPublicKey};

const SECONDS_PER_DAY: i64 = 86_400;

/// Where and how to connect.
#[derive(Debug, Clone, Copy)]
pub struct TlsTarget<'a> {
    /// `host:port` to open the TCP connection to.
    pub address: &'a str,
    /// Name sent as SNI and checked against the certificate (DNS name or IP address).
    pub server_name: &'a str,
    /// Optional PEM bundle of extra trust anchors, added to the system roots.
    pub ca_file: Option<&'a Path>,
    /// A client certificate and key to present when the server asks for one.
    pub client_identity: Option<&'a trust::ClientIdentity>,
}

/// What was observed about the server's certificate and the TLS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsObservation {
    /// Whole days until the leaf expires (floored); negative once expired.
    pub days_remaining: i64,
    /// Smallest `days_remaining` over every certificate the server presented.
    pub chain_min_days_remaining: i64,
    /// Smallest `days_remaining` over the leaf and the intermediates of the path a client
    /// builds to a trust anchor (certificates the server sent but the path does not use do
    /// not count); `None` without a trusted path.
    pub verified_chain_min_days_remaining: Option<i64>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses from the subjectAltName extension.
    pub sans: Vec<String>,
    /// The leaf is valid for the requested server name.
    pub hostname_valid: bool,
    /// The leaf chains to a trust anchor for server auth, judged regardless of expiry and name.
    pub chain_trusted: bool,
    /// Why a normal client (time = now, name = server_name) would reject the certificate; `None` if it would accept it.
    pub verify_error: Option<String>,
    /// "TLSv1.2" or "TLSv1.3".
    pub protocol: String,
    /// Negotiated cipher suite, e.g. "TLS13_AES_128_GCM_SHA256".
    pub cipher: String,
    /// "RSA", "RSA-PSS", "EC", "Ed25519", "Ed448" or the key algorithm's name.
    pub key_type: String,
    /// RSA modulus bits or elliptic curve size in bits (0 when unknown).
    pub key_bits: u32,
    /// Signature algorithm of the leaf, e.g. "ecdsa-with-SHA256".
    pub signature_algorithm: String,
    pub ocsp_stapled: bool,
    /// Number of certificates the server presented.
    pub chain_length: usize,
}

/// Why no observation could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// TCP connection could not be established.
    Connect(String),
    /// The TLS handshake failed (not a TLS server, no common protocol, alert, ...).
    Handshake(String),
    /// The server completed the handshake without presenting a certificate.
    NoCertificate,
    /// The leaf certificate could not be parsed.
    Parse(String),
    /// Bad input: server name, CA file, or TLS configuration.
    Config(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Connect(msg) => write!(f, "TCP connection failed: {msg}"),
            TlsError::Handshake(msg) => write!(f, "TLS handshake failed: {msg}"),
            TlsError::NoCertificate => write!(f, "server presented no certificate"),
            TlsError::Parse(msg) => write!(f, "could not parse server certificate: {msg}"),
            TlsError::Config(msg) => write!(f, "TLS probe configuration error: {msg}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// Connect to `target`, complete a TLS handshake whatever the certificate, and describe what was seen.
pub async fn inspect(target: &TlsTarget<'_>) -> Result<TlsObservation, TlsError> {
    let server_name = parse_server_name(target.server_name)?;
    let provider = trust::ring_provider();
    let trust = trust::load_async(target.ca_file).await.map_err(TlsError::Config)?;

    let verifier = Arc::new(RecordingVerifier::new(&trust, &provider)?);
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let mut config = match target.client_identity {
        Some((chain, key)) => config
            .with_client_auth_cert(chain.clone(), key.clone_key())
            .map_err(|e| TlsError::Config(format!("client_cert and client_key do not fit together: {e}")))?,
        None => config.with_no_client_auth(),
    };
    // Every handshake is a full one: a resumed session would skip the certificate this probe
    // reads. Disabled outright rather than left to a fresh config, which would still store
    // each server's tickets and key-exchange hint for nothing.
    config.resumption = rustls::client::Resumption::disabled();
    let connector = TlsConnector::from(Arc::new(config));

    let tcp =
        TcpStream::connect(target.address).await.map_err(|e| TlsError::Connect(format!("{}: {e}", target.address)))?;
    let mut tls = connector
        .connect(server_name.clone(), tcp)
        .await
        .map_err(|e| TlsError::Handshake(format!("{}: {e}", target.address)))?;

    let (_, conn) = tls.get_ref();
    let chain: Vec<CertificateDer<'static>> = conn
        .peer_certificates()
        .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    let protocol = protocol_name(conn.protocol_version());
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| {
            let suite = s.suite();
            suite.as_str().map(str::to_string).unwrap_or_else(|| format!("{suite:?}"))
        })
        .unwrap_or_else(|| "unknown".to_string());
    // Polite close; the result does not matter for the observation.
    let _ = tls.shutdown().await;

    let (leaf_der, intermediates) = chain.split_first().ok_or(TlsError::NoCertificate)?;
    let now = OffsetDateTime::now_utc();
    let now_unix = unix_time_of(now);

    let (verdict, ocsp_stapled) = match verifier.take_record() {
        Some(record) => (record.verdict, record.ocsp_stapled),
        // Not expected without resumption, but judge it here if it happens.
        None => (verifier.judge(leaf_der, intermediates, &server_name, now_unix), false),
    };

    let (_, leaf) =
        X509Certificate::from_der(leaf_der.as_ref()).map_err(|e| TlsError::Parse(format!("leaf certificate: {e}")))?;
    let not_before = leaf.validity().not_before.to_datetime();
    let not_after = leaf.validity().not_after.to_datetime();
    let days_remaining = whole_days(not_after, now);
    // Each certificate's validity (unix seconds), read once: the leaf's from its parse above.
    let windows: Vec<Option<(i64, i64)>> =
        std::iter::once(Some((not_before.unix_timestamp(), not_after.unix_timestamp())))
            .chain(intermediates.iter().map(|der| {
                X509Certificate::from_der(der.as_ref())
                    .ok()
                    .map(|(_, c)| (c.validity().not_before.timestamp(), c.validity().not_after.timestamp()))
            }))
            .collect();
    let chain_min_days_remaining = windows
        .iter()
        .flatten()
        .map(|w| whole_days_between(w.1, now.unix_timestamp()))
        .min()
        .unwrap_or(days_remaining)
        .min(days_remaining);

    let sans = subject_alt_names(&leaf);
    let (key_type, key_bits) = key_info(&leaf);
    let self_issued = leaf.subject().as_raw() == leaf.issuer().as_raw();

    let (hostname_valid, chain_trusted, verified_chain_min_days_remaining) =
        match webpki::EndEntityCert::try_from(leaf_der) {
            Ok(ee) => {
                let path_days = trusted_path_min_days(&trust, &chain, &windows, &provider, now);
                let anchor = verifier.inner.is_anchor(leaf_der);
                (
                    ee.verify_is_valid_for_subject_name(&server_name).is_ok(),
                    anchor || path_days.is_some(),
                    if anchor { Some(days_remaining) } else { path_days },
                )
            }
            Err(_) => (false, false, None),
        };

    let verify_error = verdict.err().map(|e| {
        describe_error(
            &e,
            &ErrorContext { server_name: target.server_name, sans: &sans, leaf_not_after: not_after, self_issued, now },
        )
    });

    Ok(TlsObservation {
        days_remaining,
        chain_min_days_remaining,
        verified_chain_min_days_remaining,
        not_before,
        not_after,
        subject: leaf.subject().to_string(),
        issuer: leaf.issuer().to_string(),
        sans,
        hostname_valid,
        chain_trusted,
        verify_error,
        protocol,
        cipher,
        key_type,
        key_bits,
        signature_algorithm: signature_algorithm_name(&leaf),
        ocsp_stapled,
        chain_length: chain.len(),
    })
}

/// Server name for SNI and name checks; IP literals (optionally in brackets) become `IpAddress`.
fn parse_server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    let trimmed = name.trim();
    let unbracketed = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(trimmed);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    DnsName::try_from(trimmed.to_string())
        .map(ServerName::DnsName)
        .map_err(|_| TlsError::Config(format!("invalid server name {name:?}")))
}

/// What the run trusts for `ca_file` (see `trust`), with errors as configuration errors.
/// What the verifier saw during the handshake.
#[derive(Debug)]
struct Record {
    verdict: Result<(), rustls::Error>,
    ocsp_stapled: bool,
}

/// Records the verdict of the verifier a normal client would use (`AnchoredVerifier`) and
/// then accepts the certificate, so the handshake completes; handshake signatures are still
/// checked for real.
#[derive(Debug)]
struct RecordingVerifier {
    inner: AnchoredVerifier,
    record: Mutex<Option<Record>>,
}

impl RecordingVerifier {
    fn new(trust: &Arc<Trust>, provider: &Arc<CryptoProvider>) -> Result<Self, TlsError> {
        Ok(Self { inner: AnchoredVerifier::new(trust, provider).map_err(TlsError::Config)?, record: Mutex::new(None) })
    }

    /// The verdict a normal client would give.
    fn judge(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, server_name, &[], now).map(|_| ())
    }

    fn take_record(&self) -> Option<Record> {
        let mut guard = self.record.lock().unwrap_or_else(|p| p.into_inner());
        guard.take()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict =
            self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now).map(|_| ());
        let mut guard = self.record.lock().unwrap_or_else(|p| p.into_inner());
        *guard = Some(Record { verdict, ocsp_stapled: !ocsp_response.is_empty() });
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Does the leaf chain to a trust anchor for server auth? Judged at a moment inside the validity
/// windows (so expiry does not count) and without a name. When it does: the fewest days
/// remaining (now) of the leaf and the intermediates on the path webpki built. `windows` are
/// the chain's validity periods in order (unix seconds; `None` for a certificate whose
/// dates cannot be read).
fn trusted_path_min_days(
    trust: &Trust,
    chain: &[CertificateDer<'_>],
    windows: &[Option<(i64, i64)>],
    provider: &CryptoProvider,
    now: OffsetDateTime,
) -> Option<i64> {
    let (leaf_der, intermediates) = chain.split_first()?;
    let now_secs = now.unix_timestamp();
    let readable = || windows.iter().flatten();
    let mut candidates: Vec<i64> = Vec::new();
    // A moment when every presented certificate is valid, as close to now as possible.
    let latest_start = readable().map(|w| w.0).max();
    let earliest_end = readable().map(|w| w.1).min();
    if let Some((start, end)) = latest_start.zip(earliest_end).filter(|(s, e)| s <= e) {
        candidates.push(now_secs.clamp(start, end));
    }
    // Otherwise (or as well) a moment inside the leaf's own window.
    if let Some(&(start, end)) = readable().next().filter(|(s, e)| s <= e) {
        candidates.push(now_secs.clamp(start, end));
        candidates.push(start + (end - start) / 2);
    }
    candidates.dedup();

    let days_left = |index: usize| windows.get(index).copied().flatten().map(|w| whole_days_between(w.1, now_secs));
    candidates.into_iter().find_map(|secs| {
        let at = UnixTime::since_unix_epoch(Duration::from_secs(secs.max(0).unsigned_abs()));
        let path = trust.server_path(provider, leaf_der, intermediates, at)?;
        let leaf = days_left(0)?;
        Some(path.iter().filter_map(|&i| days_left(i + 1)).fold(leaf, i64::min))
    })
}

/// Facts used to turn a rustls error into a sentence.
struct ErrorContext<'a> {
    server_name: &'a str,
    sans: &'a [String],
    leaf_not_after: OffsetDateTime,
    self_issued: bool,
    now: OffsetDateTime,
}

fn describe_error(err: &rustls::Error, ctx: &ErrorContext<'_>) -> String {
    let rustls::Error::InvalidCertificate(cert_err) = err else {
        return format!("certificate rejected: {err}");
    };
    match cert_err {
        CertificateError::ExpiredContext { not_after, .. } => {
            let not_after = offset_of_unix(*not_after);
            let elapsed = ctx.now.unix_timestamp() - not_after.unix_timestamp();
            let which = if not_after.unix_timestamp() == ctx.leaf_not_after.unix_timestamp() {
                "certificate expired"
            } else {
                "a certificate in the chain expired"
            };
            format!("{which} on {} ({})", format_utc(not_after), days_ago(elapsed))
        }
        CertificateError::Expired => "certificate expired".to_string(),
        CertificateError::NotValidYetContext { not_before, .. } => {
            format!("certificate not valid yet (not before {})", format_utc(offset_of_unix(*not_before)))
        }
        CertificateError::NotValidYet => "certificate not valid yet".to_string(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            if ctx.sans.is_empty() {
                format!("certificate not valid for name \"{}\" (it has no subject alternative names)", ctx.server_name)
            } else {
                format!("certificate not valid for name \"{}\" (valid for: {})", ctx.server_name, ctx.sans.join(", "))
            }
        }
        CertificateError::Other(other)
            if matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity)) =>
        {
            "the server's own certificate is a CA certificate (CA:TRUE) that is not in ca_file (a self-signed one is trusted when ca_file holds it)".to_string()
        }
        CertificateError::UnknownIssuer if ctx.self_issued => {
            "self-signed certificate (not signed by a trusted CA)".to_string()
        }
        CertificateError::UnknownIssuer => "unknown issuer (not signed by a trusted CA)".to_string(),
        CertificateError::BadSignature => "certificate has an invalid signature".to_string(),
        CertificateError::BadEncoding => "certificate is malformed (bad encoding)".to_string(),
        CertificateError::Revoked => "certificate has been revoked".to_string(),
        CertificateError::UnhandledCriticalExtension => "certificate has an unsupported critical extension".to_string(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "certificate is not valid for TLS server authentication (extended key usage)".to_string()
        }
        other => format!("certificate rejected: {}", rustls::Error::InvalidCertificate(other.clone())),
    }
}

/// "N days ago", N rounded toward zero as `days_remaining` is: it reads `-days_remaining`.
fn days_ago(elapsed_secs: i64) -> String {
    match elapsed_secs / SECONDS_PER_DAY {
        0 => "less than a day ago".to_string(),
        1 => "1 day ago".to_string(),
        days => format!("{days} days ago"),
    }
}

fn protocol_name(version: Option<ProtocolVersion>) -> String {
    match version {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    }
}

fn subject_alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_string()),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => {
                    let octets: [u8; 4] = (*bytes).try_into().ok()?;
                    Some(Ipv4Addr::from(octets).to_string())
                }
                16 => {
                    let octets: [u8; 16] = (*bytes).try_into().ok()?;
                    Some(Ipv6Addr::from(octets).to_string())
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Key algorithm and size of the leaf's public key.
fn key_info(cert: &X509Certificate<'_>) -> (String, u32) {
    let spki = cert.public_key();
    let alg = &spki.algorithm.algorithm;
    if *alg == OID_PKCS1_RSAENCRYPTION || *alg == OID_PKCS1_RSASSAPSS {
        let bits = RSAPublicKey::from_der(&spki.subject_public_key.data)
            .map(|(_, key)| rsa_modulus_bits(key.modulus))
            .unwrap_or(0);
        let name = if *alg == OID_PKCS1_RSAENCRYPTION { "RSA" } else { "RSA-PSS" };
        return (name.to_string(), bits);
    }
    if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        let bits = match curve {
            Some(c) if c == OID_EC_P256 => 256,
            Some(c) if c == OID_NIST_EC_P384 => 384,
            Some(c) if c == OID_NIST_EC_P521 => 521,
            _ => spki.parsed().map(|k| u32::try_from(k.key_size()).unwrap_or(0)).unwrap_or(0),
        };
        return ("EC".to_string(), bits);
    }
    if *alg == OID_SIG_ED25519 {
        return ("Ed25519".to_string(), 256);
    }
    if *alg == OID_SIG_ED448 {
        return ("Ed448".to_string(), 448);
    }
    let name = x509_parser::objects::oid2sn(alg, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| alg.to_id_string());
    let bits = match spki.parsed() {
        Ok(PublicKey::Unknown(_)) | Err(_) => 0,
        Ok(key) => u32::try_from(key.key_size()).unwrap_or(0),
    };
    (name, bits)
}

/// Bit length of a big-endian modulus, ignoring leading zero bytes/bits.
fn rsa_modulus_bits(modulus: &[u8]) -> u32 {
    let Some(first) = modulus.iter().position(|&b| b != 0) else {
        return 0;
    };
    let significant = &modulus[first..];
    let len = u32::try_from(significant.len()).unwrap_or(u32::MAX / 8);
    len * 8 - significant[0].leading_zeros()
}

fn signature_algorithm_name(cert: &X509Certificate<'_>) -> String {
    let oid = &cert.signature_algorithm.algorithm;
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| oid.to_id_string())
}

/// floor((later - earlier) / 1 day), correct for negative spans.
/// Whole days from `earlier` to `later`, rounded toward zero on both sides of it: a
/// certificate that expired 5 days and 3 hours ago is at -5, as one that expires in 5 days
/// and 3 hours is at 5 (and "5 days ago" says the same).
fn whole_days(later: OffsetDateTime, earlier: OffsetDateTime) -> i64 {
    whole_days_between(later.unix_timestamp(), earlier.unix_timestamp())
}

/// [`whole_days`] of two unix times in seconds.
fn whole_days_between(later: i64, earlier: i64) -> i64 {
    (later - earlier) / SECONDS_PER_DAY
}

fn unix_time_of(t: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(t.unix_timestamp().max(0).unsigned_abs()))
}

fn offset_of_unix(t: UnixTime) -> OffsetDateTime {
    let secs = i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn format_utc(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same rounding on both sides of zero: 5 days and some hours is 5 either way, and
    /// the expiry message says what `days_remaining` says.
    #[test]
    fn days_round_toward_zero_on_both_sides() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
        let hours = |h: i64| time::Duration::hours(h);
        assert_eq!(whole_days(now + hours(5 * 24 + 3), now), 5);
        assert_eq!(whole_days(now - hours(5 * 24 + 3), now), -5);
        assert_eq!(whole_days(now - hours(5 * 24), now), -5);
        assert_eq!(whole_days(now - hours(3), now), 0);
        assert_eq!(days_ago(5 * SECONDS_PER_DAY + 3 * 3600), "5 days ago");
        assert_eq!(days_ago(SECONDS_PER_DAY + 1), "1 day ago");
        assert_eq!(days_ago(3 * 3600), "less than a day ago");
    }
}

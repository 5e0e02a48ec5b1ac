//! What the `http` and `tls` probes trust: the system's store (or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set), plus an item's `ca_file`; and the one verifier both use, which
//! also trusts a self-signed certificate that is itself in `ca_file`, as OpenSSL, curl,
//! Python and Go do (webpki alone rejects a `CA:TRUE` certificate as a server's own with
//! `CaUsedAsEndEntity`, which is what `openssl req -x509` makes by default).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::chain_memo::{Chain, ChainMemo};
use super::{ParamSpec, ParamType};

/// rustls's ring provider, built once per process and shared by every TLS client golive
/// makes (`http`, `tls`, `redis` over TLS): building one allocates its lists of cipher
/// suites, key-exchange groups and signature algorithms, which a 10,000-item run would
/// otherwise do for each `tls` item.
pub fn ring_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(provider())))
}

/// ring's provider with AES-128-GCM offered first, as browsers and Go do: AES-128-GCM, then
/// AES-256-GCM, then ChaCha20-Poly1305 (Chrome's order), for TLS 1.3 and then for TLS 1.2
/// (ECDSA before RSA there, as rustls has them). rustls's own order puts AES-256-GCM first,
/// so a server that follows the client's order negotiated `TLS13_AES_256_GCM_SHA384` with
/// golive but `TLS13_AES_128_GCM_SHA256` with the clients its users run; and SHA-384 has no
/// instruction of its own, where SHA-256 has (SHA-NI), so the handshake's hashing costs
/// several times less. Nothing is added or removed: the same suites, only reordered (a
/// suite not in [`SUITE_ORDER`] keeps its place after those that are).
fn provider() -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.sort_by_key(|suite| {
        let suite = suite.suite();
        SUITE_ORDER.iter().position(|s| *s == suite).unwrap_or(SUITE_ORDER.len())
    });
    provider
}

/// The order [`provider`] offers ring's cipher suites in.
const SUITE_ORDER: [rustls::CipherSuite; 9] = {
    use rustls::CipherSuite as S;
    [
        S::TLS13_AES_128_GCM_SHA256,
        S::TLS13_AES_256_GCM_SHA384,
        S::TLS13_CHACHA20_POLY1305_SHA256,
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
};

/// Makes [`ring_provider`]'s provider the process's default as well, for the TLS clients
/// golive does not build itself (sqlx's PostgreSQL over TLS).
pub fn install_default() {
    let _ = CryptoProvider::clone(&ring_provider()).install_default();
}

/// The client-certificate parameters (mTLS), declared once for `http` and `tls`.
pub const CLIENT_CERT: ParamSpec = ParamSpec::optional(
    "client_cert",
    ParamType::Path,
    "PEM client certificate (then any intermediates) to present to a server that requires one (mTLS); needs client_key",
);
pub const CLIENT_KEY: ParamSpec = ParamSpec::optional(
    "client_key",
    ParamType::Path,
    "PEM private key of client_cert: PKCS#8, PKCS#1, SEC1, or encrypted PKCS#8 with client_key_password",
);
pub const CLIENT_KEY_PASSWORD: ParamSpec = ParamSpec {
    name: "client_key_password",
    ty: ParamType::String,
    required: false,
    default: None,
    secret: true,
    doc: "password of an encrypted client_key, e.g. \"${env:CLIENT_KEY_PASSWORD}\"; never shown",
};

/// The trust anchors of one `ca_file` setting.
///
/// A chain is judged against `ca_file`'s certificates alone first, and against the system's
/// roots and those certificates together only when that fails: a chain that leads to one of
/// the file's certificates still leads there when the system's roots are added, so the
/// verdict is the same, and a run whose chains all lead to their `ca_file` never reads the
/// system's store (about 150 files on a Debian system, 2-3 ms of CPU). When a chain leads
/// to the file's certificates, that is the path whose dates `verified_chain_min_days_remaining`
/// reports.
#[derive(Debug)]
pub struct Trust {
    /// `ca_file`'s certificates as trust anchors; `None` without a `ca_file`.
    file: Option<Anchors>,
    /// The system's roots and `ca_file`'s certificates, read at first use.
    all: OnceLock<Anchors>,
    /// The certificates of `ca_file` as written: a server presenting one of these exactly is
    /// trusted even when it is a self-signed CA certificate.
    pub anchors: Vec<CertificateDer<'static>>,
    /// The verifier's verdicts on the chains it judged this run, by name.
    verdicts: ChainMemo<Result<(), rustls::Error>>,
    /// The paths webpki built from a leaf to these anchors for server authentication, as
    /// indices of the intermediates sent (`None`: no path).
    paths: ChainMemo<Option<Vec<usize>>>,
}

/// One set of trust anchors and webpki's verifier over it, built once for every item that
/// uses it (building it copies the store).
#[derive(Debug)]
struct Anchors {
    roots: Arc<RootCertStore>,
    /// `None` inside when `roots` is empty (the builder refuses an empty store).
    webpki: OnceLock<Result<Option<Arc<WebPkiServerVerifier>>, String>>,
}

impl Anchors {
    fn new(roots: RootCertStore) -> Self {
        Anchors { roots: Arc::new(roots), webpki: OnceLock::new() }
    }

    /// golive has one crypto provider (ring's default), so the first caller's is every
    /// caller's.
    fn webpki(&self, provider: &Arc<CryptoProvider>) -> Result<Option<Arc<WebPkiServerVerifier>>, String> {
        self.webpki
            .get_or_init(|| {
                if self.roots.is_empty() {
                    return Ok(None);
                }
                WebPkiServerVerifier::builder_with_provider(Arc::clone(&self.roots), Arc::clone(provider))
                    .build()
                    .map(Some)
                    .map_err(|e| format!("certificate verifier: {e}"))
            })
            .clone()
    }

    /// webpki's verdict on `chain` for `server_name`.
    fn verify(
        &self,
        provider: &Arc<CryptoProvider>,
        chain: &Chain<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let Some(inner) = self.webpki(provider).map_err(rustls::Error::General)? else {
            return Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
        };
        inner.verify_server_cert(chain.leaf, chain.intermediates, server_name, chain.ocsp, now).map(|_| ())
    }

    /// The path webpki builds for `chain` to these anchors (see [`Trust::server_path`]).
    fn server_path(&self, provider: &CryptoProvider, chain: &Chain<'_>, at: UnixTime) -> Option<Vec<usize>> {
        if self.roots.is_empty() {
            return None;
        }
        let (leaf, intermediates) = (chain.leaf, chain.intermediates);
        let ee = webpki::EndEntityCert::try_from(leaf).ok()?;
        let path = ee
            .verify_for_usage(
                provider.signature_verification_algorithms.all,
                &self.roots.roots,
                intermediates,
                at,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )
            .ok()?;
        path.intermediate_certificates()
            .map(|c| intermediates.iter().position(|i| i.as_ref() == c.der().as_ref()))
            .collect()
    }
}

impl Trust {
    /// The system's roots and `ca_file`'s certificates (the system's store is read here the
    /// first time, once per process).
    fn all(&self) -> &Anchors {
        self.all.get_or_init(|| {
            let mut roots = RootCertStore::empty();
            let (added, unusable) = roots.add_parsable_certificates(system_roots().iter().cloned());
            tracing::debug!(added, unusable, ca_file = self.file.is_some(), "trusting the system's store");
            if let Some(file) = &self.file {
                roots.roots.extend(file.roots.roots.iter().cloned());
            }
            Anchors::new(roots)
        })
    }

    /// Every trust anchor: the system's roots and `ca_file`'s certificates.
    pub fn roots(&self) -> Arc<RootCertStore> {
        Arc::clone(&self.all().roots)
    }

    /// The certificate is one of `ca_file`'s, exactly.
    pub fn is_anchor(&self, cert: &CertificateDer<'_>) -> bool {
        self.anchors.iter().any(|a| a.as_ref() == cert.as_ref())
    }

    /// The system's store is read now, if this trust will need it whatever the chains:
    /// without a `ca_file` (see [`load_async`]).
    fn read_system_store_if_needed(&self) {
        if self.file.is_none() {
            self.all();
        }
    }

    /// The verdict on a server's chain for `server_name`, `ca_file` first (see [`Trust`]).
    /// Remembered for the run (see `chain_memo`).
    fn verify(
        &self,
        provider: &Arc<CryptoProvider>,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let chain = Chain { leaf: end_entity, intermediates, name: Some(server_name), ocsp: ocsp_response };
        self.verdicts.judge(chain, now, || {
            // With the rule for a `ca_file` certificate served as the server's own.
            let judge = |anchors: &Anchors| match anchors.verify(provider, &chain, server_name, now) {
                Err(e) if is_ca_used_as_end_entity(&e) && self.is_anchor(end_entity) => {
                    verify_anchor_itself(end_entity, server_name, now).map(|_| ())
                }
                verdict => verdict,
            };
            match self.file.as_ref().map(judge) {
                Some(Ok(())) => Ok(()),
                _ => judge(self.all()),
            }
        })
    }

    /// The intermediates (as indices into `intermediates`) on the path webpki builds from
    /// `leaf` to a trust anchor for server authentication at `at`, regardless of names,
    /// `ca_file`'s first (see [`Trust`]); `None` when there is no such path. Remembered for
    /// the run, like the verifier's verdicts (see `chain_memo`).
    pub fn server_path(
        &self,
        provider: &CryptoProvider,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        at: UnixTime,
    ) -> Option<Vec<usize>> {
        let chain = Chain { leaf, intermediates, name: None, ocsp: &[] };
        self.paths.judge(chain, at, || {
            let file = self.file.as_ref().and_then(|file| file.server_path(provider, &chain, at));
            file.or_else(|| self.all().server_path(provider, &chain, at))
        })
    }
}

/// The trust for `ca_file` (none: the system's store only), read once per run for each file:
/// parsing the system's bundle for every item would dominate checking many endpoints. Items
/// that ask for the same file at once wait for the one read. A file that cannot be read
/// gives those the same error and is read again when asked later (it may appear while
/// `golive run --until-pass` waits).
pub fn load(ca_file: Option<&Path>) -> Result<Arc<Trust>, String> {
    let slot = slot(ca_file);
    let trust = slot.trust.get_or_init(|| read(ca_file).map(Arc::new)).clone();
    if trust.is_err() {
        let mut cache = cache().lock().unwrap();
        let key = ca_file.map(Path::to_path_buf);
        if cache.get(&key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
            cache.remove(&key);
        }
    }
    trust
}

/// [`load`] from async code: a trust read already is returned at once; reading one (for the
/// trust without a `ca_file`, the system's store: about 150 files) happens on a blocking
/// thread, so the first `tls` items of a run do not hold the runtime's workers while their
/// neighbours wait to start. Items that ask while it is being read wait for that one read
/// without a blocking thread each (20 `tls` items starting together started 20 threads).
/// A `ca_file` trust reads the system's store only for a chain that does not lead to the
/// file, then inside that handshake (once per run).
pub async fn load_async(ca_file: Option<&Path>) -> Result<Arc<Trust>, String> {
    let slot = slot(ca_file);
    if let Some(trust) = slot.trust.get() {
        return trust.clone();
    }
    let _turn = slot.reading.lock().await;
    if let Some(trust) = slot.trust.get() {
        return trust.clone();
    }
    let ca_file = ca_file.map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || load(ca_file.as_deref()))
        .await
        .map_err(|e| format!("reading the trusted certificates failed: {e}"))?
}

/// One file's trust, read once: the first caller reads it, the others wait for that read.
#[derive(Default)]
struct SlotState {
    trust: OnceLock<Result<Arc<Trust>, String>>,
    /// Held by the async caller whose blocking thread is reading `trust`.
    reading: tokio::sync::Mutex<()>,
}

type Slot = Arc<SlotState>;

fn cache() -> &'static Mutex<HashMap<Option<PathBuf>, Slot>> {
    static CACHE: OnceLock<Mutex<HashMap<Option<PathBuf>, Slot>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The slot of `ca_file`, read or not.
fn slot(ca_file: Option<&Path>) -> Slot {
    Arc::clone(cache().lock().unwrap().entry(ca_file.map(Path::to_path_buf)).or_default())
}

/// The system's roots: rustls-native-certs reads the platform store, or, when
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` is set, only those (every PEM file in each directory of
/// `SSL_CERT_DIR`, separated by ':'), as OpenSSL does. Read once per process.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static NATIVE: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    NATIVE.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

fn read(ca_file: Option<&Path>) -> Result<Trust, String> {
    let mut file = None;
    let mut anchors = Vec::new();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
        let mut reader = pem.as_slice();
        let mut roots = RootCertStore::empty();
        for item in rustls_pemfile::certs(&mut reader) {
            let cert = item.map_err(|e| format!("invalid PEM in CA file {}: {e}", path.display()))?;
            roots.add(cert.clone()).map_err(|e| format!("unusable certificate in CA file {}: {e}", path.display()))?;
            anchors.push(cert);
        }
        if anchors.is_empty() {
            return Err(format!("CA file {} contains no PEM certificates", path.display()));
        }
        file = Some(Anchors::new(roots));
    }
    let trust =
        Trust { file, all: OnceLock::new(), anchors, verdicts: ChainMemo::default(), paths: ChainMemo::default() };
    trust.read_system_store_if_needed();
    Ok(trust)
}

/// webpki's verifier, and one more rule: a server certificate webpki rejects only because it
/// is a CA certificate (`CaUsedAsEndEntity`) is accepted when it is byte for byte one of
/// `ca_file`'s certificates, valid now, for the server's name, and not restricted to other
/// purposes than server authentication. Handshake signatures are always checked.
#[derive(Debug)]
pub struct AnchoredVerifier {
    trust: Arc<Trust>,
    provider: Arc<CryptoProvider>,
}

impl AnchoredVerifier {
    /// Builds the verifier the trust's chains are judged by first, so that a store webpki
    /// refuses is an error here, before any connection.
    pub fn new(trust: &Arc<Trust>, provider: &Arc<CryptoProvider>) -> Result<Self, String> {
        match &trust.file {
            Some(file) => file.webpki(provider)?,
            None => trust.all().webpki(provider)?,
        };
        Ok(AnchoredVerifier { trust: Arc::clone(trust), provider: Arc::clone(provider) })
    }

    /// The certificate is one of `ca_file`'s, exactly.
    pub fn is_anchor(&self, cert: &CertificateDer<'_>) -> bool {
        self.trust.is_anchor(cert)
    }
}

/// webpki's `CaUsedAsEndEntity`, which rustls passes on as an "other" certificate error.
fn is_ca_used_as_end_entity(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
        }
        _ => false,
    }
}

/// Judges a `ca_file` certificate served as the server's own: its dates, its name, its
/// purpose (its signature needs no check: these exact bytes are trusted).
fn verify_anchor_itself(
    end_entity: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<ServerCertVerified, rustls::Error> {
    let (_, cert) = X509Certificate::from_der(end_entity.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let unix = |secs: i64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs.max(0).unsigned_abs()));
    let (not_before, not_after) = (cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp());
    let t = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if t < not_before {
        return Err(CertificateError::NotValidYetContext { time: now, not_before: unix(not_before) }.into());
    }
    if t > not_after {
        return Err(CertificateError::ExpiredContext { time: now, not_after: unix(not_after) }.into());
    }
    if let Ok(Some(eku)) = cert.extended_key_usage()
        && !eku.value.server_auth
        && !eku.value.any
    {
        return Err(CertificateError::InvalidPurpose.into());
    }
    let ee = webpki::EndEntityCert::try_from(end_entity)
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    ee.verify_is_valid_for_subject_name(server_name).map_err(|e| match e {
        webpki::Error::CertNotValidForName(context) => {
            CertificateError::NotValidForNameContext { expected: context.expected, presented: context.presented }.into()
        }
        _ => rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
    })?;
    Ok(ServerCertVerified::assertion())
}

impl ServerCertVerifier for AnchoredVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.trust
            .verify(&self.provider, end_entity, intermediates, server_name, ocsp_response, now)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The verifier of a client that trusts the system's store alone (no `ca_file`): the store
/// is read at the first certificate it is asked to judge, so a run whose HTTP items all use
/// `http://` never reads it (about 150 files on a Debian system, several milliseconds).
#[derive(Debug)]
pub struct SystemVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<AnchoredVerifier, String>>,
}

impl SystemVerifier {
    pub fn new(provider: &Arc<CryptoProvider>) -> Self {
        SystemVerifier { provider: Arc::clone(provider), inner: OnceLock::new() }
    }

    fn verifier(&self) -> Result<&AnchoredVerifier, rustls::Error> {
        self.inner
            .get_or_init(|| load(None).and_then(|trust| AnchoredVerifier::new(&trust, &self.provider)))
            .as_ref()
            .map_err(|e| rustls::Error::General(e.clone()))
    }
}

impl ServerCertVerifier for SystemVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A client certificate chain and its private key, for servers that require one (mTLS).
pub type ClientIdentity = (Vec<CertificateDer<'static>>, rustls::pki_types::PrivateKeyDer<'static>);

/// Reads `client_cert` (PEM, the client's certificate first, then any intermediates) and
/// `client_key` (PEM: PKCS#8, PKCS#1 or SEC1; or encrypted PKCS#8, `ENCRYPTED PRIVATE KEY`,
/// which needs `password`). Errors name the files, never the password.
pub fn load_client_identity(cert: &Path, key: &Path, password: Option<&str>) -> Result<ClientIdentity, String> {
    let pem = std::fs::read(cert).map_err(|e| format!("cannot read client_cert {}: {e}", cert.display()))?;
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("invalid PEM in client_cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("client_cert {} contains no PEM certificate", cert.display()));
    }
    let text = std::fs::read_to_string(key).map_err(|e| format!("cannot read client_key {}: {e}", key.display()))?;
    let key_der = if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(format!("client_key {} is encrypted; set client_key_password", key.display()));
        };
        let (_, document) = pkcs8::SecretDocument::from_pem(&text)
            .map_err(|e| format!("invalid PEM in client_key {}: {e}", key.display()))?;
        let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes())
            .map_err(|e| format!("invalid encrypted key in client_key {}: {e}", key.display()))?;
        let decrypted = encrypted.decrypt(password).map_err(|_| {
            format!("cannot decrypt client_key {}: wrong client_key_password, or an unsupported cipher", key.display())
        })?;
        rustls::pki_types::PrivateKeyDer::Pkcs8(decrypted.as_bytes().to_vec().into())
    } else {
        rustls_pemfile::private_key(&mut text.as_bytes())
            .map_err(|e| format!("invalid PEM in client_key {}: {e}", key.display()))?
            .ok_or_else(|| format!("client_key {} contains no private key", key.display()))?
    };
    Ok((chain, key_der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_offers_ring_s_suites_in_browsers_order() {
        let names: Vec<String> = provider().cipher_suites.iter().map(|s| format!("{:?}", s.suite())).collect();
        assert_eq!(
            names,
            [
                "TLS13_AES_128_GCM_SHA256",
                "TLS13_AES_256_GCM_SHA384",
                "TLS13_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            ]
        );
        // Reordered only: every suite of ring's provider, none added.
        let mut ring: Vec<String> =
            rustls::crypto::ring::default_provider().cipher_suites.iter().map(|s| format!("{:?}", s.suite())).collect();
        let mut ours = names.clone();
        ring.sort();
        ours.sort();
        assert_eq!(ours, ring);
    }

    #[test]
    fn items_asking_for_one_file_at_once_share_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(
            {
                let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
                p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
                p
            },
            rcgen::KeyPair::generate().unwrap(),
        )
        .unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, ca.pem()).unwrap();
        let start = Arc::new(std::sync::Barrier::new(8));
        let loads: Vec<_> = (0..8)
            .map(|_| {
                let (start, path) = (Arc::clone(&start), path.clone());
                std::thread::spawn(move || {
                    start.wait();
                    load(Some(&path))
                })
            })
            .collect();
        let trusts: Vec<Arc<Trust>> = loads.into_iter().map(|t| t.join().unwrap().unwrap()).collect();
        assert!(trusts.iter().all(|t| Arc::ptr_eq(t, &trusts[0])), "each caller read the file again");
        assert_eq!(trusts[0].anchors.len(), 1);
        // A file that cannot be read says so, and is read again when it is asked for later.
        let missing = dir.path().join("missing.pem");
        let err = load(Some(&missing)).err().unwrap();
        assert!(err.starts_with("cannot read CA file"), "{err}");
        std::fs::write(&missing, ca.pem()).unwrap();
        assert!(load(Some(&missing)).is_ok(), "the file written since is read");
    }
}

//! Throwaway PKI for TLS tests: a private CA plus leaf certificates for each
//! case a certificate probe must tell apart (valid, expired, expiring soon,
//! not yet valid, wrong host name, self-signed). Keys are ECDSA P-256;
//! RSA is not offered because `ring` cannot generate RSA keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};
use time::{Duration, OffsetDateTime};

/// Common name of the test CA, as it appears in issuer fields.
pub const CA_COMMON_NAME: &str = "golive test CA";

/// A private certificate authority that issues leaf certificates.
pub struct TestPki {
    pub ca_cert_pem: String,
    pub ca_cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate with its private key, ready to be served.
#[derive(Clone, Debug)]
pub struct LeafCert {
    /// The leaf, then the CA (just the leaf when self-signed).
    pub cert_chain_pem: String,
    /// PKCS#8 private key of the leaf.
    pub key_pem: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    chain_der: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

impl TestPki {
    /// Creates a fresh CA, valid from yesterday for ten years.
    pub fn new() -> TestPki {
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::default();
        params.distinguished_name = name(CA_COMMON_NAME);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        let key = KeyPair::generate().expect("generate CA key");
        let cert = params.self_signed(&key).expect("self-sign CA");
        TestPki { ca_cert_pem: cert.pem(), ca_cert_der: cert.der().clone(), issuer: Issuer::new(params, key) }
    }

    /// An intermediate CA signed by this CA, valid from `not_before` to `not_after`; the
    /// leaves it issues are served as leaf, intermediate.
    pub fn intermediate(&self, common_name: &str, not_before: OffsetDateTime, not_after: OffsetDateTime) -> TestPki {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().expect("generate intermediate key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign intermediate");
        TestPki { ca_cert_pem: cert.pem(), ca_cert_der: cert.der().clone(), issuer: Issuer::new(params, key) }
    }

    /// Writes the CA certificate as `golive-test-ca.pem` in `dir`.
    pub fn write_ca_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join("golive-test-ca.pem");
        std::fs::write(&path, &self.ca_cert_pem).expect("write CA file");
        path
    }

    /// A root store holding only this CA.
    pub fn root_store(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_cert_der.clone()).expect("add CA root");
        roots
    }

    /// A rustls client config (ring provider) that trusts only this CA.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(self.root_store())
            .with_no_client_auth();
        Arc::new(config)
    }

    /// Issues a leaf for `params` (see [`leaf_params`]) with a new P-256 key.
    pub fn issue(&self, params: CertificateParams) -> LeafCert {
        let key = KeyPair::generate().expect("generate leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        let chain = vec![cert.der().clone(), self.ca_cert_der.clone()];
        LeafCert::new(&params, cert.pem() + &self.ca_cert_pem, chain, &key)
    }

    /// Valid from yesterday for 90 days, for `hosts` (DNS names or IPs).
    pub fn valid(&self, hosts: &[&str]) -> LeafCert {
        self.issue(leaf_params(hosts))
    }

    /// For localhost/127.0.0.1, expired two days ago.
    pub fn expired(&self) -> LeafCert {
        let now = OffsetDateTime::now_utc();
        self.issue(with_validity(leaf_params(LOCAL), now - Duration::days(30), now - Duration::days(2)))
    }

    /// For localhost/127.0.0.1, expiring in `days` days plus three hours.
    pub fn expiring_in_days(&self, days: i64) -> LeafCert {
        let now = OffsetDateTime::now_utc();
        self.issue(with_validity(
            leaf_params(LOCAL),
            now - Duration::days(1),
            now + Duration::days(days) + Duration::hours(3),
        ))
    }

    /// For localhost/127.0.0.1, valid only from tomorrow on.
    pub fn not_yet_valid(&self) -> LeafCert {
        let now = OffsetDateTime::now_utc();
        self.issue(with_validity(leaf_params(LOCAL), now + Duration::days(1), now + Duration::days(90)))
    }

    /// Valid dates, but the only SAN is `wrong.example.test`.
    pub fn wrong_host(&self) -> LeafCert {
        self.issue(leaf_params(&["wrong.example.test"]))
    }

    /// What `openssl req -x509 -subj /CN=HOST -addext subjectAltName=DNS:HOST` makes: a
    /// self-signed certificate with `CA:TRUE`, no key usage and no extended key usage,
    /// valid from yesterday for 90 days. Its PEM is the whole chain.
    pub fn self_signed_ca_leaf(&self, hosts: &[&str]) -> LeafCert {
        let mut params = leaf_params(hosts);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = Vec::new();
        params.extended_key_usages = Vec::new();
        params.use_authority_key_identifier_extension = false;
        let key = KeyPair::generate().expect("generate key");
        let cert = params.self_signed(&key).expect("self-sign");
        LeafCert::new(&params, cert.pem(), vec![cert.der().clone()], &key)
    }

    /// A client certificate (extended key usage clientAuth) for `name`, signed by the CA.
    pub fn client(&self, name: &str) -> LeafCert {
        let mut params = leaf_params(&[name]);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    /// For localhost/127.0.0.1, signed by its own key instead of the CA.
    pub fn self_signed(&self) -> LeafCert {
        let params = leaf_params(LOCAL);
        let key = KeyPair::generate().expect("generate leaf key");
        let cert = params.self_signed(&key).expect("self-sign leaf");
        LeafCert::new(&params, cert.pem(), vec![cert.der().clone()], &key)
    }
}

impl Default for TestPki {
    fn default() -> Self {
        TestPki::new()
    }
}

const LOCAL: &[&str] = &["localhost", "127.0.0.1"];

/// Leaf parameters: CN = first host, SANs = `hosts` (IP strings become IP
/// SANs), serverAuth, valid from yesterday for 90 days. Tweak the public
/// fields of the result and pass it to [`TestPki::issue`].
pub fn leaf_params(hosts: &[&str]) -> CertificateParams {
    let sans: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    let mut params = CertificateParams::new(sans).expect("valid SANs");
    params.distinguished_name = name(hosts.first().copied().unwrap_or("golive test leaf"));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    with_validity(params, now - Duration::days(1), now + Duration::days(90))
}

fn with_validity(
    mut params: CertificateParams,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "golive tests");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// The ring crypto provider, passed explicitly so no process default is needed.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl LeafCert {
    fn new(
        params: &CertificateParams,
        cert_chain_pem: String,
        chain: Vec<CertificateDer<'static>>,
        key: &KeyPair,
    ) -> Self {
        // rcgen encodes validity with whole seconds.
        let secs = |t: OffsetDateTime| t.replace_nanosecond(0).expect("zero nanos");
        LeafCert {
            cert_chain_pem,
            key_pem: key.serialize_pem(),
            not_before: secs(params.not_before),
            not_after: secs(params.not_after),
            chain_der: chain,
            key_der: key.serialize_der(),
        }
    }

    /// DER certificates, leaf first.
    pub fn chain_der(&self) -> Vec<CertificateDer<'static>> {
        self.chain_der.clone()
    }

    /// The private key in rustls form.
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// Writes `cert.pem` (chain) and `key.pem` into `dir`; returns both paths.
    pub fn write_files(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &self.cert_chain_pem).expect("write cert file");
        std::fs::write(&key, &self.key_pem).expect("write key file");
        (cert, key)
    }

    /// Server config presenting this certificate (TLS 1.2 and 1.3, no ALPN).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server_config_with_versions(rustls::DEFAULT_VERSIONS)
    }

    /// Server config presenting this certificate and requiring a client certificate
    /// issued by `pki` (mTLS).
    pub fn server_config_requiring_client_cert(&self, pki: &TestPki) -> Arc<ServerConfig> {
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(pki.root_store()), provider())
                .build()
                .expect("client verifier");
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain_der(), self.key_der())
            .expect("certificate matches key");
        Arc::new(config)
    }

    /// Server config presenting this certificate's chain followed by `extra` certificates
    /// (an old cross-sign, a stray expired certificate).
    pub fn server_config_with_extra(&self, extra: &[CertificateDer<'static>]) -> Arc<ServerConfig> {
        let mut chain = self.chain_der();
        chain.extend_from_slice(extra);
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, self.key_der())
            .expect("certificate matches key");
        Arc::new(config)
    }

    /// Server config limited to `versions`, e.g. `&[&rustls::version::TLS12]`.
    pub fn server_config_with_versions(&self, versions: &[&'static SupportedProtocolVersion]) -> Arc<ServerConfig> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(self.chain_der(), self.key_der())
            .expect("certificate matches key");
        Arc::new(config)
    }
}

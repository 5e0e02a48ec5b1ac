//! `tls`: completes a TLS handshake whatever the certificate, and observes expiry, names,
//! trust, protocol, cipher and key, with the reason a normal client would reject it. The
//! inspection itself lives in `tls_inspect`; TLS 1.0/1.1 and weak suites, which rustls
//! cannot speak, are observed by hand-written ClientHellos in `tls_legacy`.

use std::path::Path;

use futures::future::BoxFuture;

use super::tls_inspect::{TlsObservation, TlsTarget, inspect};
use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared};
use super::{connect_to, tls_legacy, trust};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "tls",
    summary: "Inspects a TLS server's certificate chain and connection, including invalid certificates.",
    params: &[
        ParamSpec::required("address", ParamType::String, "host:port of the TLS server, e.g. \"api.example.com:443\""),
        ParamSpec::optional(
            "server_name",
            ParamType::String,
            "name to send (SNI) and to check the certificate against (default: the host of address)",
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
            "connect_to",
            ParamType::ConnectTo,
            "open the TCP connection to another address, keeping address's host for SNI and the name check: \"HOST:PORT:ADDRESS:PORT\" as curl --connect-to (several separated by commas; an empty HOST or PORT matches any)",
        ),
    ],
    facts: &[
        FactSpec::new(
            "days_remaining",
            FactType::Integer,
            "whole days until the leaf certificate expires (negative once expired)",
        ),
        FactSpec::new(
            "chain_min_days_remaining",
            FactType::Integer,
            "the fewest days remaining of any certificate the server sent",
        ),
        FactSpec::new(
            "verified_chain_min_days_remaining",
            FactType::Integer,
            "the fewest days remaining of the leaf and the intermediates on the path a client builds to a trusted CA (a certificate sent but not on that path, e.g. an old cross-sign, does not count); absent without a trusted path",
        ),
        FactSpec::new("not_before", FactType::Timestamp, "start of the leaf's validity"),
        FactSpec::new("not_after", FactType::Timestamp, "end of the leaf's validity"),
        FactSpec::new("subject", FactType::String, "the leaf's subject"),
        FactSpec::new("issuer", FactType::String, "the leaf's issuer"),
        FactSpec::new("sans", FactType::StringList, "the leaf's subject alternative names (DNS names and IPs)"),
        FactSpec::new("hostname_valid", FactType::Bool, "the leaf is valid for server_name"),
        FactSpec::new(
            "chain_trusted",
            FactType::Bool,
            "the chain leads to a trusted CA (judged apart from expiry and name)",
        ),
        FactSpec::new(
            "verify_error",
            FactType::String,
            "why a normal client would reject the certificate; absent when it would accept it",
        ),
        FactSpec::new("protocol", FactType::Version, "negotiated protocol: TLSv1.2 or TLSv1.3"),
        FactSpec::new(
            "cipher",
            FactType::String,
            "negotiated cipher suite, e.g. TLS13_AES_128_GCM_SHA256; golive offers AES-128-GCM first, as browsers do, then AES-256-GCM, then ChaCha20-Poly1305",
        ),
        FactSpec::new("key_type", FactType::String, "leaf public key type: RSA, EC, Ed25519"),
        FactSpec::new("key_bits", FactType::Integer, "leaf key size in bits"),
        FactSpec::new("signature_algorithm", FactType::String, "the leaf's signature algorithm"),
        FactSpec::new("ocsp_stapled", FactType::Bool, "the server stapled an OCSP response"),
        FactSpec::new("chain_length", FactType::Integer, "number of certificates the server sent"),
        FactSpec::new(
            "accepts_tls10",
            FactType::Bool,
            "the server answers a TLS 1.0 ClientHello with a TLS 1.0 ServerHello (an extra connection, made only when asked for)",
        ),
        FactSpec::new(
            "tls10_answer",
            FactType::String,
            "what the server answered the TLS 1.0 ClientHello: \"server accepted TLS 1.0 (SUITE)\", or \"server refused TLS 1.0: \" and the alert, the other version, or the closed connection",
        ),
        FactSpec::new("accepts_tls11", FactType::Bool, "the same for TLS 1.1"),
        FactSpec::new("tls11_answer", FactType::String, "what the server answered the TLS 1.1 ClientHello"),
        FactSpec::new(
            "weak_ciphers_accepted",
            FactType::StringList,
            "IANA names of the weak suites the server picks when a TLS 1.2 ClientHello offers only weak ones (RC4, DES, 3DES, IDEA, NULL, EXPORT, anonymous, RSA key exchange), empty when it refuses them all; at most 10",
        ),
    ],
    default_expect: &[("chain_trusted", "true"), ("hostname_valid", "true"), ("days_remaining", "\">= 14\"")],
    observe: Some(observe),
    check: None,
    notes: &[
        "**Pinned addresses.** `connect_to = \"api.example.com:443:10.0.0.5:443\"` with `address = \"api.example.com:443\"` opens the TCP connection to 10.0.0.5:443 and still sends SNI `api.example.com` and checks the certificate against that name (or `server_name`). The first entry whose HOST and PORT match address applies; an empty HOST or PORT matches any, an empty target port keeps address's port. A malformed value is a checklist error where it is written ([GL003](../diagnostics.md#gl003)), found by `golive validate` as by `run`.",
        "**Trust.** `chain_trusted` and `verify_error` judge whether the server's certificate chains to the system's store or to a certificate of `ca_file`. The system's store is the platform's, or, when `SSL_CERT_FILE` or `SSL_CERT_DIR` is set, only those (a PEM file; directories separated by ':', every PEM file in each), as OpenSSL reads them. A self-signed certificate that is itself in `ca_file` is trusted even with `CA:TRUE` (what `openssl req -x509` makes), as curl and OpenSSL trust it, when it is valid now and for server_name. With a `ca_file`, a chain is judged against the file's certificates first and against the system's store as well only when it does not lead to one of them, so a run whose chains all lead to their `ca_file` never reads the system's store; the verdict is the same as judging against both at once. When a chain leads both to `ca_file` and to the system's store, `verified_chain_min_days_remaining` is taken from the path to `ca_file`. A relative `ca_file` resolves against the directory of the checklist file in which the item is written (for an item made by `use` from a catalogue check, the file of that `[[item]]`), as `include` does, not the working directory. A chain is verified once per run for each name it is checked against: items that meet the same certificates (the same bytes, for the same name and `ca_file`) are given the same verdict until one of those certificates becomes valid or expires, and it is verified again then; the server's handshake signature, which proves it holds the certificate's key, is checked on every connection.",
        "**Legacy protocols and weak ciphers.** rustls speaks only TLS 1.2 and 1.3, so `accepts_tls10`, `accepts_tls11` and `weak_ciphers_accepted` are observed on the wire: golive writes a ClientHello itself, sends it on a new TCP connection (to the `connect_to` address when one applies, with SNI server_name unless it is an IP address), reads the server's first record(s), at most 20 KiB, and closes; no handshake is completed. The TLS 1.0 and 1.1 ClientHellos offer TLS_ECDHE_ECDSA/RSA_WITH_AES_256/128_CBC_SHA, TLS_DHE_RSA_WITH_AES_256/128_CBC_SHA, TLS_RSA_WITH_AES_256/128_CBC_SHA and TLS_RSA_WITH_3DES_EDE_CBC_SHA, with the extensions server_name, supported_groups (x25519, P-256, P-384, P-521), ec_point_formats and renegotiation_info. A ServerHello of the version offered means accepted; an alert, a ServerHello of another version, a closed or reset connection means refused; anything else (bytes that are not TLS, no answer before the item's timeout) is an `error`. The weak-suite ClientHello is TLS 1.2 (with signature_algorithms) and offers only weak suites: RC4, DES, 3DES, IDEA, RC2 and NULL ciphers, EXPORT suites, anonymous (DH_anon, ECDH_anon) key exchange, and RSA key exchange (TLS_RSA_WITH_*: no forward secrecy), none of which Mozilla's intermediate profile enables. A ServerHello choosing one of them counts it; golive then offers the rest again, until the server refuses or 10 are found. Forward-secret ECDHE/DHE suites with AES-CBC are not counted as weak (TLS 1.0 and 1.1 need them; the two facts above cover those versions). Each fact costs its connections only when `expect` names it (`tls10_answer`, `tls11_answer` with theirs), and an item that names only these facts makes no rustls handshake at all, so it also judges a server that speaks nothing newer than TLS 1.0.",
        "**The weak suites** `weak_ciphers_accepted` offers, by IANA name: `TLS_RSA_WITH_RC4_128_SHA`, `TLS_RSA_WITH_RC4_128_MD5`, `TLS_ECDHE_RSA_WITH_RC4_128_SHA`, `TLS_ECDHE_ECDSA_WITH_RC4_128_SHA`, `TLS_RSA_WITH_3DES_EDE_CBC_SHA`, `TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA`, `TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA`, `TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA`, `TLS_RSA_WITH_DES_CBC_SHA`, `TLS_DHE_RSA_WITH_DES_CBC_SHA`, `TLS_RSA_WITH_IDEA_CBC_SHA`, `TLS_RSA_EXPORT_WITH_RC4_40_MD5`, `TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5`, `TLS_RSA_EXPORT_WITH_DES40_CBC_SHA`, `TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA`, `TLS_RSA_WITH_NULL_MD5`, `TLS_RSA_WITH_NULL_SHA`, `TLS_RSA_WITH_NULL_SHA256`, `TLS_ECDHE_RSA_WITH_NULL_SHA`, `TLS_ECDHE_ECDSA_WITH_NULL_SHA`, `TLS_DH_anon_WITH_AES_128_CBC_SHA`, `TLS_DH_anon_WITH_AES_256_CBC_SHA`, `TLS_DH_anon_WITH_AES_128_GCM_SHA256`, `TLS_DH_anon_WITH_AES_256_GCM_SHA384`, `TLS_DH_anon_WITH_3DES_EDE_CBC_SHA`, `TLS_DH_anon_WITH_RC4_128_MD5`, `TLS_ECDH_anon_WITH_AES_128_CBC_SHA`, `TLS_ECDH_anon_WITH_AES_256_CBC_SHA`, `TLS_ECDH_anon_WITH_NULL_SHA`, `TLS_RSA_WITH_AES_128_CBC_SHA`, `TLS_RSA_WITH_AES_256_CBC_SHA`, `TLS_RSA_WITH_AES_128_CBC_SHA256`, `TLS_RSA_WITH_AES_256_CBC_SHA256`, `TLS_RSA_WITH_AES_128_GCM_SHA256`, `TLS_RSA_WITH_AES_256_GCM_SHA384`, `TLS_RSA_WITH_CAMELLIA_128_CBC_SHA`, `TLS_RSA_WITH_CAMELLIA_256_CBC_SHA`, `TLS_RSA_WITH_SEED_CBC_SHA`.",
        "**Client certificates (mTLS).** `client_cert` (PEM, the client's certificate first, then any intermediates) and `client_key` (PEM: PKCS#8, PKCS#1 or SEC1, or encrypted PKCS#8 `ENCRYPTED PRIVATE KEY` as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes, with `client_key_password`) are presented to a server that asks for a client certificate; set both or neither. Write the password as `${env:NAME}`: like every secret parameter it is masked in every output, and errors name the key file, never the password. Relative paths resolve like `ca_file`.",
    ],
};

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let p = &input.params;
        let address = p.str("address").unwrap_or_default();
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host.trim_start_matches('[').trim_end_matches(']'), port),
            None => {
                return Err(ProbeError::new(format!("address {address:?} has no port; write host:port")));
            }
        };
        let pins = connect_to::parse(p.str("connect_to").unwrap_or_default()).map_err(|e| ProbeError::new(e.0))?;
        let tcp_address = match port.parse::<u16>().ok().and_then(|port| connect_to::target(&pins, host, port)) {
            Some((to_host, to_port)) => connect_to::join(&to_host, to_port),
            None => address.to_string(),
        };
        let path = |name| p.str(name).filter(|v| !v.is_empty()).map(Path::new);
        let client_identity = match (path("client_cert"), path("client_key")) {
            (Some(cert), Some(key)) => {
                Some(trust::load_client_identity(cert, key, p.str("client_key_password")).map_err(ProbeError::new)?)
            }
            (None, None) => None,
            _ => return Err(ProbeError::new("client_cert and client_key go together: set both, or neither")),
        };
        let server_name = p.str("server_name").filter(|s| !s.is_empty()).unwrap_or(host);
        // The legacy handshakes share the item's timeout with rustls's, counted from here.
        let deadline = tls_legacy::deadline_for(input.timeout);
        let mut facts = Facts::default();
        // The legacy facts need handshakes of their own; rustls's is skipped when nothing
        // else is asked for, so a server that speaks only TLS 1.0 is judged too.
        let only_legacy = !input.wanted.is_empty() && input.wanted.iter().all(|w| LEGACY_FACTS.contains(&w.as_str()));
        if !only_legacy {
            let target = TlsTarget {
                client_identity: client_identity.as_ref(),
                address: &tcp_address,
                server_name,
                ca_file: p.str("ca_file").filter(|f| !f.is_empty()).map(Path::new),
            };
            let o = inspect(&target).await.map_err(|e| ProbeError::new(e.to_string()))?;
            set_inspected(&mut facts, o);
        }
        for (version, accepts, answer) in
            [(tls_legacy::TLS10, "accepts_tls10", "tls10_answer"), (tls_legacy::TLS11, "accepts_tls11", "tls11_answer")]
        {
            if input.wants(accepts) || input.wants(answer) {
                let verdict = tls_legacy::probe_version(&tcp_address, server_name, version, deadline)
                    .await
                    .map_err(|e| ProbeError::new(e.0))?;
                facts.set(accepts, Value::Bool(verdict.accepted));
                facts.set(answer, Value::Str(verdict.answer));
            }
        }
        if input.wants("weak_ciphers_accepted") {
            let weak =
                tls_legacy::probe_weak(&tcp_address, server_name, deadline).await.map_err(|e| ProbeError::new(e.0))?;
            facts.set("weak_ciphers_accepted", Value::string_list(weak));
        }
        Ok(facts)
    })
}

/// The facts observed on the wire by `tls_legacy`, not by the rustls handshake.
const LEGACY_FACTS: &[&str] =
    &["accepts_tls10", "tls10_answer", "accepts_tls11", "tls11_answer", "weak_ciphers_accepted"];

fn set_inspected(facts: &mut Facts, o: TlsObservation) {
    facts.set("days_remaining", Value::Int(o.days_remaining));
    facts.set("chain_min_days_remaining", Value::Int(o.chain_min_days_remaining));
    if let Some(days) = o.verified_chain_min_days_remaining {
        facts.set("verified_chain_min_days_remaining", Value::Int(days));
    }
    facts.set("not_before", Value::Time(o.not_before));
    facts.set("not_after", Value::Time(o.not_after));
    facts.set("subject", Value::Str(o.subject));
    facts.set("issuer", Value::Str(o.issuer));
    facts.set("sans", Value::string_list(o.sans));
    facts.set("hostname_valid", Value::Bool(o.hostname_valid));
    facts.set("chain_trusted", Value::Bool(o.chain_trusted));
    if let Some(e) = o.verify_error {
        facts.set("verify_error", Value::Str(e));
    }
    facts.set("protocol", Value::Version(o.protocol));
    facts.set("cipher", Value::Str(o.cipher));
    facts.set("key_type", Value::Str(o.key_type));
    facts.set("key_bits", Value::Int(o.key_bits.into()));
    facts.set("signature_algorithm", Value::Str(o.signature_algorithm));
    facts.set("ocsp_stapled", Value::Bool(o.ocsp_stapled));
    facts.set("chain_length", Value::Int(o.chain_length as i64));
}

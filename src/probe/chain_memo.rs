//! Judgements of certificate chains remembered for the run.
//!
//! Verifying a chain is a signature check for each certificate on its path (a P-256 ECDSA
//! verification is about 60 µs here), and a run often meets the same chain many times:
//! many items against one endpoint, many endpoints behind one certificate. A judgement of
//! the same bytes (the leaf, the intermediates in the order sent, the name, the stapled
//! OCSP response) by the same trust anchors is a pure function of time, and time only
//! counts through the validity windows of the certificates sent (webpki reads no other
//! clock: trust anchors have no validity, and golive passes no revocation lists). So a
//! judgement made at `t0` is given again at any `t` with no `notBefore` or `notAfter`
//! boundary of those certificates between the two; past a boundary the chain is judged
//! again. The handshake's own signature (the server proving it holds the key) is checked
//! on every connection, never remembered.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Range;
use std::sync::Mutex;

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// At most this many chains are remembered per trust setting; past it, new chains are
/// judged every time (a run that meets thousands of distinct chains gains nothing from
/// remembering them, and each entry holds the chain's bytes).
const MAX_ENTRIES: usize = 256;

/// What a judgement was about.
#[derive(Clone, Copy)]
pub struct Chain<'a> {
    pub leaf: &'a CertificateDer<'a>,
    pub intermediates: &'a [CertificateDer<'a>],
    /// The name judged, when the judgement checks one.
    pub name: Option<&'a ServerName<'a>>,
    pub ocsp: &'a [u8],
}

impl Chain<'_> {
    fn certs(&self) -> impl Iterator<Item = &CertificateDer<'_>> {
        std::iter::once(self.leaf).chain(self.intermediates)
    }

    fn digest(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.name.hash(&mut h);
        self.ocsp.hash(&mut h);
        self.intermediates.len().hash(&mut h);
        for cert in self.certs() {
            cert.as_ref().hash(&mut h);
        }
        h.finish()
    }
}

struct Entry<V> {
    leaf: CertificateDer<'static>,
    intermediates: Vec<CertificateDer<'static>>,
    name: Option<ServerName<'static>>,
    ocsp: Vec<u8>,
    /// Seconds since the epoch over which `value` holds.
    holds: Range<u64>,
    value: V,
}

impl<V> Entry<V> {
    fn is(&self, chain: &Chain<'_>) -> bool {
        self.leaf.as_ref() == chain.leaf.as_ref()
            && self.intermediates.len() == chain.intermediates.len()
            && self.intermediates.iter().zip(chain.intermediates).all(|(a, b)| a.as_ref() == b.as_ref())
            && match (&self.name, chain.name) {
                (Some(a), Some(b)) => a == b,
                (None, None) => true,
                _ => false,
            }
            && self.ocsp == chain.ocsp
    }
}

/// Remembered judgements of one kind for one trust setting.
pub struct ChainMemo<V> {
    entries: Mutex<HashMap<u64, Entry<V>>>,
}

impl<V> Default for ChainMemo<V> {
    fn default() -> Self {
        ChainMemo { entries: Mutex::new(HashMap::new()) }
    }
}

impl<V> std::fmt::Debug for ChainMemo<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map(|e| e.len()).unwrap_or(0);
        f.debug_struct("ChainMemo").field("entries", &n).finish()
    }
}

impl<V: Clone> ChainMemo<V> {
    /// The judgement of `chain` at `at`: remembered when one made earlier holds at `at`,
    /// else made by `judge` (outside the lock) and remembered.
    pub fn judge(&self, chain: Chain<'_>, at: UnixTime, judge: impl FnOnce() -> V) -> V {
        let secs = at.as_secs();
        let digest = chain.digest();
        {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = entries.get(&digest).filter(|e| e.holds.contains(&secs) && e.is(&chain)) {
                return e.value.clone();
            }
        }
        let value = judge();
        // A certificate whose dates cannot be read is judged every time.
        if let Some(holds) = unchanged_around(chain.certs(), secs) {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if entries.len() < MAX_ENTRIES || entries.contains_key(&digest) {
                entries.insert(
                    digest,
                    Entry {
                        leaf: chain.leaf.clone().into_owned(),
                        intermediates: chain.intermediates.iter().map(|c| c.clone().into_owned()).collect(),
                        name: chain.name.map(|n| n.to_owned()),
                        ocsp: chain.ocsp.to_vec(),
                        holds,
                        value: value.clone(),
                    },
                );
            }
        }
        value
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

/// The seconds around `at` in which no certificate of `certs` becomes valid or expires:
/// each is valid from its `notBefore` to its `notAfter`, both included (RFC 5280, as webpki
/// reads them), so its verdict can change at `notBefore` and at `notAfter + 1`.
fn unchanged_around<'a>(certs: impl Iterator<Item = &'a CertificateDer<'a>>, at: u64) -> Option<Range<u64>> {
    let mut holds = 0..u64::MAX;
    for der in certs {
        let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
        let validity = cert.validity();
        for edge in [validity.not_before.timestamp(), validity.not_after.timestamp().saturating_add(1)] {
            let edge = u64::try_from(edge).unwrap_or(0);
            if edge <= at {
                holds.start = holds.start.max(edge);
            } else {
                holds.end = holds.end.min(edge);
            }
        }
    }
    Some(holds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Duration;

    fn cert_valid(from: i64, to: i64) -> CertificateDer<'static> {
        let mut p = rcgen::CertificateParams::new(vec!["memo.test".to_string()]).unwrap();
        p.not_before = time::OffsetDateTime::from_unix_timestamp(from).unwrap();
        p.not_after = time::OffsetDateTime::from_unix_timestamp(to).unwrap();
        p.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap().der().clone()
    }

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn a_judgement_is_given_again_until_a_certificate_boundary_and_only_for_the_same_bytes() {
        let (start, end) = (1_800_000_000i64, 1_800_000_100i64);
        let leaf = cert_valid(start, end);
        let other = cert_valid(start, end);
        let name = ServerName::try_from("memo.test").unwrap();
        let memo: ChainMemo<u32> = ChainMemo::default();
        let judged = Cell::new(0u32);
        let judge = |memo: &ChainMemo<u32>, leaf: &CertificateDer<'_>, name: Option<&ServerName<'_>>, secs: u64| {
            memo.judge(Chain { leaf, intermediates: &[], name, ocsp: &[] }, at(secs), || {
                judged.set(judged.get() + 1);
                judged.get()
            })
        };
        let s = start as u64;
        assert_eq!(judge(&memo, &leaf, Some(&name), s + 10), 1);
        assert_eq!(judge(&memo, &leaf, Some(&name), s + 50), 1, "same chain, same window: remembered");
        assert_eq!(judge(&memo, &leaf, Some(&name), s), 1, "notBefore itself is inside the window");
        assert_eq!(judge(&memo, &leaf, Some(&name), end as u64), 1, "notAfter itself is inside the window");
        assert_eq!(judge(&memo, &leaf, Some(&name), end as u64 + 1), 2, "past notAfter: judged again");
        assert_eq!(judge(&memo, &leaf, Some(&name), s - 1), 3, "before notBefore: judged again");
        assert_eq!(judge(&memo, &other, Some(&name), s + 10), 4, "other bytes: judged");
        assert_eq!(judge(&memo, &leaf, None, s + 10), 5, "without the name: a different judgement");
        let other_name = ServerName::try_from("other.test").unwrap();
        assert_eq!(judge(&memo, &leaf, Some(&other_name), s + 10), 6, "another name: judged");
        assert_eq!(judge(&memo, &leaf, Some(&name), s + 10), 7, "the window's entry was replaced by the one before it");
        assert_eq!(memo.len(), 4);
        // An intermediate's window counts as the leaf's does.
        let short = cert_valid(start, start + 20);
        let chain = [short.clone()];
        let with = |secs| {
            memo.judge(Chain { leaf: &leaf, intermediates: &chain, name: None, ocsp: &[] }, at(secs), || {
                judged.set(judged.get() + 1);
                judged.get()
            })
        };
        assert_eq!(with(s + 5), 8);
        assert_eq!(with(s + 20), 8);
        assert_eq!(with(s + 21), 9, "the intermediate expired");
        // A stapled response is part of what was judged.
        let stapled =
            memo.judge(Chain { leaf: &leaf, intermediates: &[], name: None, ocsp: b"ocsp" }, at(s + 10), || 99);
        assert_eq!(stapled, 99);
    }

    #[test]
    fn unreadable_certificates_are_judged_every_time() {
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let memo: ChainMemo<u32> = ChainMemo::default();
        let judged = Cell::new(0u32);
        for _ in 0..3 {
            memo.judge(Chain { leaf: &junk, intermediates: &[], name: None, ocsp: &[] }, at(1_000), || {
                judged.set(judged.get() + 1);
                0
            });
        }
        assert_eq!(judged.get(), 3);
        assert_eq!(memo.len(), 0);
    }

    #[test]
    fn at_most_max_entries_are_kept() {
        let memo: ChainMemo<u32> = ChainMemo::default();
        let leaf = cert_valid(1_000, 2_000);
        for i in 0..(MAX_ENTRIES as u32 + 10) {
            let ocsp = i.to_be_bytes();
            memo.judge(Chain { leaf: &leaf, intermediates: &[], name: None, ocsp: &ocsp }, at(1_500), || i);
        }
        assert_eq!(memo.len(), MAX_ENTRIES);
    }
}

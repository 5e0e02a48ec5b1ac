//! Secret redaction. Secrets are known at load time (values of `${env:…}`, passwords in URLs,
//! secret headers and parameters); every output passes through one `Redactor` last, so a
//! secret echoed back by a server or quoted in an error message is still never shown.

use std::borrow::Cow;

pub const MASK: &str = "***";

/// Secrets shorter than this are masked where they are known to be (parameters, URLs), but
/// not searched for in free text, where they would garble ordinary words and numbers.
pub const MIN_SEARCHED_LEN: usize = 4;

#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
    /// The same secrets, to add each once in constant time (an `${env:…}` value is met
    /// once per item that uses it).
    known: std::collections::HashSet<String>,
}

impl Redactor {
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SEARCHED_LEN {
            return;
        }
        let mut variants = vec![secret.to_string()];
        let encoded = percent_encode(secret);
        if encoded != secret {
            variants.push(encoded);
        }
        for v in variants {
            if self.known.insert(v.clone()) {
                let at = self.secrets.partition_point(|s| s.len() >= v.len());
                self.secrets.insert(at, v);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.secrets.iter().any(|s| text.contains(s.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        Cow::Owned(out)
    }

    /// Redacts every string in a JSON document (keys included).
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(s) => {
                if let Cow::Owned(r) = self.redact(s) {
                    *s = r;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => {
                map.values_mut().for_each(|v| self.redact_json(v));
                // Rebuild the map only when a key itself holds a secret (rare).
                if map.keys().any(|k| matches!(self.redact(k), Cow::Owned(_))) {
                    let entries: Vec<_> = std::mem::take(map).into_iter().collect();
                    for (k, v) in entries {
                        map.insert(self.redact(&k).into_owned(), v);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Masks the password of a URL (`postgres://app:***@db/app`); other text is unchanged.
pub fn mask_url_password(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some(MASK));
            url.to_string().replace("%2A%2A%2A", MASK)
        }
        _ => text.to_string(),
    }
}

/// The password in a URL, decoded, if there is one.
pub fn url_password(text: &str) -> Option<String> {
    let url = reqwest::Url::parse(text).ok()?;
    let raw = url.password()?;
    Some(percent_decode(raw))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (URL user names and passwords).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_and_their_url_encoding() {
        let mut r = Redactor::default();
        r.add("p@ss word!");
        assert_eq!(r.redact("auth failed for p@ss word!"), "auth failed for ***");
        assert_eq!(r.redact("postgres://u:p%40ss%20word%21@h/db"), "postgres://u:***@h/db");
        let mut json = serde_json::json!({"error": "bad p@ss word!", "p@ss word!": [1]});
        r.redact_json(&mut json);
        assert_eq!(json, serde_json::json!({"error": "bad ***", "***": [1]}));
    }

    #[test]
    fn short_secrets_are_not_searched() {
        let mut r = Redactor::default();
        r.add("abc");
        assert_eq!(r.redact("abc"), "abc");
    }

    #[test]
    fn url_passwords_are_masked_and_extracted() {
        assert_eq!(mask_url_password("postgres://app:s3cr%2Ft@db:5432/app"), "postgres://app:***@db:5432/app");
        assert_eq!(url_password("postgres://app:s3cr%2Ft@db/app").as_deref(), Some("s3cr/t"));
        assert_eq!(mask_url_password("https://example.test/health"), "https://example.test/health");
    }
}

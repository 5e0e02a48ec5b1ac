//! Secret redaction. Secrets are known at load time (values of `${env:…}`, passwords in URLs,
//! secret headers and parameters); every output masks them, so a secret echoed back by a
//! server or quoted in an error message is still never shown. Passwords in URLs
//! (`scheme://user:password@host`) are masked in any text, known secret or not.
//!
//! Masking is structural: outputs mask the *values* of their model (a report's fields, a
//! diagnostic's message, a quoted source line) before rendering, never the rendered text, so
//! keys, markup and fixed words (`"probe":`, `<testcase`, `error[GL003]`) never change,
//! whatever a secret happens to spell.

use std::borrow::Cow;

pub const MASK: &str = "***";

/// Secrets shorter than this are masked where they are known to be (parameters, URLs), but
/// not searched for in free text, where they would garble ordinary words and numbers.
pub const MIN_SEARCHED_LEN: usize = 4;

#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<Secret>,
    /// The same secrets, to add each once in constant time (an `${env:…}` value is met
    /// once per item that uses it).
    known: std::collections::HashSet<String>,
}

/// One secret and its searcher, built once: a report asks whether each of its few thousand
/// texts holds a secret, and a search built per call costs more than the search itself on
/// a short text.
#[derive(Clone, Debug)]
struct Secret {
    text: String,
    finder: memchr::memmem::Finder<'static>,
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
        // As a form value (an http item's `query`): spaces as `+`, `~` and more encoded.
        let form: String = reqwest::Url::parse("http://x/")
            .map(|mut u| {
                u.query_pairs_mut().append_pair("k", secret);
                u.query().unwrap_or_default().trim_start_matches("k=").to_string()
            })
            .unwrap_or_default();
        if !form.is_empty() && !variants.contains(&form) {
            variants.push(form);
        }
        for v in variants {
            if self.known.insert(v.clone()) {
                let at = self.secrets.partition_point(|s| s.text.len() >= v.len());
                let finder = memchr::memmem::Finder::new(v.as_bytes()).into_owned();
                self.secrets.insert(at, Secret { text: v, finder });
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every known secret and every URL password masked (free text and values).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let known = self.mask_known(text);
        match mask_url_passwords(&known) {
            Cow::Borrowed(_) => known,
            Cow::Owned(masked) => Cow::Owned(masked),
        }
    }

    fn mask_known<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let whole = if self.secrets.iter().any(|s| s.finder.find(text.as_bytes()).is_some()) {
            let mut out = text.to_string();
            for s in &self.secrets {
                if out.contains(s.text.as_str()) {
                    out = out.replace(s.text.as_str(), MASK);
                }
            }
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        };
        match self.mask_cut(&whole) {
            Some(masked) => Cow::Owned(masked),
            None => whole,
        }
    }

    /// Masks the start of a secret that a cut left just before a `…`: golive shortens long
    /// texts before the run's secrets are all known (an excerpt's lines, a kept `body`, a
    /// `when` reason), so a secret across the cut would show its first characters, which
    /// no search for the whole secret finds. The longest start of any secret, at least
    /// [`MIN_SEARCHED_LEN`] characters, that ends right before a `…` becomes `***`. `None`
    /// when there is none.
    fn mask_cut(&self, text: &str) -> Option<String> {
        if self.secrets.is_empty() || !text.contains('…') {
            return None;
        }
        let mut out = String::new();
        let mut copied = 0;
        for (at, _) in text.match_indices('…') {
            let before = &text[copied..at];
            let cut = self.secrets.iter().map(|s| cut_secret_len(before, &s.text)).max().unwrap_or(0);
            if cut > 0 {
                out.push_str(&before[..before.len() - cut]);
                out.push_str(MASK);
                copied = at;
            }
        }
        if copied == 0 {
            return None;
        }
        out.push_str(&text[copied..]);
        Some(out)
    }

    /// Like [`Redactor::redact`], but every masked byte becomes one `*`, so byte offsets into
    /// the text stay valid (the source lines a diagnostic quotes and underlines).
    pub fn redact_keeping_offsets<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
        for s in &self.secrets {
            for (at, found) in text.match_indices(s.text.as_str()) {
                spans.push(at..at + found.len());
            }
        }
        if text.contains("://") {
            for caps in url_userinfo().captures_iter(text) {
                if let Some(password) = caps.get(2).filter(|p| p.as_str() != MASK) {
                    spans.push(password.range());
                }
            }
        }
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut bytes = text.as_bytes().to_vec();
        for span in spans {
            bytes[span].fill(b'*');
        }
        // Whole secrets and whole passwords are replaced, so no multi-byte character is cut;
        // overlapping matches only add stars.
        Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// How many bytes at the end of `before` are the start of `secret` (a proper start, at
/// least [`MIN_SEARCHED_LEN`] characters, ending on a character boundary of both); 0 when
/// none is. The longest such overlap, found in time linear in the secret's length (the
/// prefix function of Knuth, Morris and Pratt, run over the last bytes of `before`).
fn cut_secret_len(before: &str, secret: &str) -> usize {
    let s = secret.as_bytes();
    if s.len() < 2 {
        return 0;
    }
    // Only the last `s.len() - 1` bytes can hold a proper start of the secret.
    let mut from = before.len().saturating_sub(s.len() - 1);
    while !before.is_char_boundary(from) {
        from += 1;
    }
    let tail = &before.as_bytes()[from..];
    let mut fail = vec![0usize; s.len()];
    let mut k = 0;
    for i in 1..s.len() {
        while k > 0 && s[i] != s[k] {
            k = fail[k - 1];
        }
        if s[i] == s[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let mut matched = 0;
    for &b in tail {
        while matched > 0 && (matched == s.len() || b != s[matched]) {
            matched = fail[matched - 1];
        }
        if b == s[matched] {
            matched += 1;
        }
    }
    // The longest overlap may end inside a character of the secret or be too short; a
    // shorter one (along the prefix function) may still qualify.
    while matched > 0 {
        if matched < s.len() && secret.is_char_boundary(matched) {
            // Every shorter overlap is shorter still.
            return if secret[..matched].chars().count() >= MIN_SEARCHED_LEN { matched } else { 0 };
        }
        matched = fail[matched - 1];
    }
    0
}

/// True for a setting's name that says it holds a credential: it ends in a sensitive word
/// (`password`, `DB_PASSWORD`, `apiKey`, `secret_key_base`, `AWS_SECRET_ACCESS_KEY`,
/// `auth_token`, `credentials`), in any case, with `_`, `-` or nothing between words.
/// `token_ttl` or `password_policy` do not end in one: they name settings about a
/// credential, not the credential.
pub fn is_secret_name(name: &str) -> bool {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN
        .get_or_init(|| {
            regex::Regex::new(
                r"(?i)(password|passwd|pwd|passphrase|secret|secrets|token|credentials?|api[_-]?key|access[_-]?key|private[_-]?key|secret[_-]?key|signing[_-]?key|encryption[_-]?key|master[_-]?key|client[_-]?secret|secret[_-]?key[_-]?base|dsn)$",
            )
            .expect("valid regex")
        })
        .is_match(name)
}

/// `scheme://user:password@`: the user part (1), the password (2) and what ends it (3):
/// the `@`, or a `…` where golive cut the text inside the password (`postgres://app:hun…`).
fn url_userinfo() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:]*):([^\s/?#@…]+)(@|…)").expect("valid regex")
    })
}

/// Masks the password of every URL in `text` (`see https://ci:***@git.example/repo`), known
/// secret or not; other text is unchanged.
pub fn mask_url_passwords(text: &str) -> Cow<'_, str> {
    // The pattern's password ends at the userinfo's '@' (or at a cut, '…'): a text with
    // neither holds none, and most URLs a report shows have no userinfo at all.
    if !text.contains("://") || !(text.contains('@') || text.contains('…')) {
        return Cow::Borrowed(text);
    }
    let pattern = url_userinfo();
    if !pattern.captures_iter(text).any(|c| c.get(2).is_some_and(|p| p.as_str() != MASK)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(pattern.replace_all(text, format!("${{1}}:{MASK}${{3}}")).into_owned())
}

/// Masks the password of a URL (`postgres://app:***@db/app`); other text is unchanged.
pub fn mask_url_password(text: &str) -> String {
    // A password sits in the userinfo, which ends at a literal '@': without one there is
    // nothing to mask, and no need to parse (a checklist's URLs are read item by item).
    if !text.contains('@') {
        return text.to_string();
    }
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
    if !text.contains('@') {
        return None;
    }
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
        // As a form value in a query string (`query = { key = "${env:KEY}" }`).
        r.add("ab~cd ef");
        assert_eq!(r.redact("final_url http://h/api?key=ab%7Ecd+ef&x=1"), "final_url http://h/api?key=***&x=1");
    }

    #[test]
    fn a_secret_cut_in_half_before_an_ellipsis_is_masked() {
        let mut r = Redactor::default();
        r.add("s3cr3t-t0ken-value");
        // A cut (an excerpt's line, a kept body) ends inside the secret.
        assert_eq!(r.redact("Authorization: Bearer s3cr3t-t0…"), "Authorization: Bearer ***…");
        let cut = crate::diag::clip("token=s3cr3t-t0ken-value and more", 12);
        assert_eq!(r.redact(&cut), "token=***…");
        // Each cut of a text with several: the lines of an excerpt.
        assert_eq!(
            r.redact("line 1: a s3cr3t…\nline 2: ok…\nline 9: s3cr3t-t0ken-value"),
            "line 1: a ***…\nline 2: ok…\nline 9: ***"
        );
        // Fewer than four characters of it are ordinary text, as for whole secrets.
        assert_eq!(r.redact("the s3c…"), "the s3c…");
        // The text before the ellipsis must end with the secret's start, not merely hold it.
        assert_eq!(r.redact("s3cr3t and so on…"), "s3cr3t and so on…");
        // The longest start counts, and a start that repeats itself is found.
        let mut r = Redactor::default();
        r.add("abababX");
        assert_eq!(r.redact("xx ababab…"), "xx ***…");
        assert_eq!(r.redact("xx abab…"), "xx ***…");
        // Characters of more than one byte: never cut inside one.
        let mut r = Redactor::default();
        r.add("ключ-секрет");
        assert_eq!(r.redact("value ключ-с…"), "value ***…");
        assert_eq!(Redactor::default().redact("any text…"), "any text…");
        // A URL's password, known or not, cut before its `@`.
        assert_eq!(Redactor::default().redact("dsn postgres://app:hunt…"), "dsn postgres://app:***…");
        assert_eq!(Redactor::default().redact("see https://host.example/a…"), "see https://host.example/a…");
    }

    #[test]
    fn url_passwords_are_masked_in_any_text_known_or_not() {
        let r = Redactor::default();
        assert_eq!(
            r.redact("redirected to http://admin:hunter2@10.0.0.1:8080/x and https://ci:t0k%40n@git.example/r"),
            "redirected to http://admin:***@10.0.0.1:8080/x and https://ci:***@git.example/r"
        );
        assert_eq!(
            r.redact("http://user@host/ and mailto:a@b and a:b@c"),
            "http://user@host/ and mailto:a@b and a:b@c"
        );
        assert!(matches!(r.redact("postgres://app:***@db/app"), Cow::Borrowed(_)), "already masked");
    }

    #[test]
    fn masking_that_keeps_offsets_replaces_byte_for_byte() {
        let mut r = Redactor::default();
        r.add("probe");
        let text = "url = \"http://u:s3cret@h/\" # a probe";
        let masked = r.redact_keeping_offsets(text);
        assert_eq!(masked, "url = \"http://u:******@h/\" # a *****");
        assert_eq!(masked.len(), text.len());
    }
    #[test]
    fn secret_names_end_in_a_sensitive_word() {
        for name in [
            "password",
            "DB_PASSWORD",
            "apiKey",
            "api-key",
            "secret_key_base",
            "AWS_SECRET_ACCESS_KEY",
            "auth_token",
            "credentials",
            "client_secret",
            "SENTRY_DSN",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["token_ttl", "password_policy", "debug", "pool_size", "primary_key", "monkey", "host"] {
            assert!(!is_secret_name(name), "{name}");
        }
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
        assert_eq!(url_password("https://example.test/health"), None);
        // The userinfo ends at the last '@': a password may hold one too.
        assert_eq!(url_password("redis://:p@ss@cache:6379").as_deref(), Some("p@ss"));
        assert_eq!(mask_url_password("redis://:p@ss@cache:6379"), "redis://:***@cache:6379");
    }
}

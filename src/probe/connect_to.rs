//! `connect_to`: pinned addresses, as curl's `--connect-to` (and `--resolve`). The `http`
//! and `tls` probes keep using the public name for Host, SNI and the certificate's name
//! check, and open the TCP connection to the address given here instead of the one DNS
//! would give: a new load balancer can be checked before DNS points at it.

use std::fmt;

/// One `HOST:PORT:ADDRESS:PORT` entry. An empty HOST or PORT on the left matches any; an
/// empty PORT on the right keeps the port of the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub to_host: String,
    pub to_port: Option<u16>,
}

/// Why a `connect_to` value could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinError(pub String);

impl fmt::Display for PinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads `connect_to`: entries separated by commas or spaces, each
/// `HOST:PORT:ADDRESS:PORT` (curl's `--connect-to`) or `HOST:PORT:ADDRESS` (curl's
/// `--resolve`, the same port). IPv6 addresses are written in brackets. Empty text is no
/// entry (a shipped check's `connect_to` var defaults to "").
pub fn parse(text: &str) -> Result<Vec<Pin>, PinError> {
    text.split([',', ' ', '\t', '\n']).filter(|e| !e.trim().is_empty()).map(|e| parse_entry(e.trim())).collect()
}

fn parse_entry(entry: &str) -> Result<Pin, PinError> {
    let fields = split_fields(entry);
    let bad = |why: &str| {
        PinError(format!(
            "connect_to entry {entry:?} {why}; write HOST:PORT:ADDRESS:PORT, e.g. \"api.example.com:443:10.0.0.5:443\""
        ))
    };
    let (host, port, to_host, to_port) = match fields.as_slice() {
        [host, port, to_host, to_port] => (*host, *port, *to_host, *to_port),
        [host, port, to_host] => (*host, *port, *to_host, ""),
        _ => return Err(bad("does not have 3 or 4 fields separated by ':'")),
    };
    let port_of = |text: &str| -> Result<Option<u16>, PinError> {
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<u16>().ok().filter(|p| *p > 0).map(Some).ok_or_else(|| bad(&format!("has port {text:?}")))
    };
    let to_host = unbracket(to_host);
    if to_host.is_empty() {
        return Err(bad("has no address to connect to"));
    }
    let host = unbracket(host);
    Ok(Pin {
        host: (!host.is_empty()).then(|| host.to_ascii_lowercase()),
        port: port_of(port)?,
        to_host: to_host.to_string(),
        to_port: port_of(to_port)?,
    })
}

/// Splits on ':' outside brackets: `[::1]:443` is two fields.
fn split_fields(entry: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in entry.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                fields.push(&entry[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(&entry[start..]);
    fields
}

fn unbracket(text: &str) -> &str {
    text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text)
}

/// Where a connection to `host:port` goes instead: the first entry that matches, as
/// (address, port). `None` when no entry matches: connect as usual.
pub fn target(pins: &[Pin], host: &str, port: u16) -> Option<(String, u16)> {
    let host = unbracket(host);
    pins.iter()
        .find(|p| p.host.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(host)) && p.port.is_none_or(|p| p == port))
        .map(|p| (p.to_host.clone(), p.to_port.unwrap_or(port)))
}

/// `host:port` as a socket address string, IPv6 in brackets.
pub fn join(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_curl_connect_to_and_resolve_forms() {
        let pins = parse("api.example.com:443:10.0.0.5:8443, [::1]:80:[fd00::1]: ::127.0.0.1:9").unwrap();
        assert_eq!(
            pins[0],
            Pin {
                host: Some("api.example.com".into()),
                port: Some(443),
                to_host: "10.0.0.5".into(),
                to_port: Some(8443)
            }
        );
        assert_eq!(pins[1], Pin { host: Some("::1".into()), port: Some(80), to_host: "fd00::1".into(), to_port: None });
        assert_eq!(pins[2], Pin { host: None, port: None, to_host: "127.0.0.1".into(), to_port: Some(9) });
        let resolve = parse("API.example.com:443:192.0.2.1").unwrap();
        assert_eq!(target(&resolve, "api.example.com", 443), Some(("192.0.2.1".into(), 443)));
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn the_first_matching_entry_wins_and_others_connect_as_usual() {
        let pins = parse("api.example.com:443:10.0.0.5:8443 :80:10.0.0.6:").unwrap();
        assert_eq!(target(&pins, "API.example.com", 443), Some(("10.0.0.5".into(), 8443)));
        assert_eq!(target(&pins, "api.example.com", 80), Some(("10.0.0.6".into(), 80)));
        assert_eq!(target(&pins, "other.example.com", 443), None);
        assert_eq!(join("fd00::1", 443), "[fd00::1]:443");
        assert_eq!(join("10.0.0.5", 443), "10.0.0.5:443");
    }

    #[test]
    fn malformed_entries_say_how_to_write_them() {
        for bad in ["api.example.com:443", "a:443::443", "a:https:10.0.0.5:443", "a:443:10.0.0.5:0"] {
            let e = parse(bad).unwrap_err();
            assert!(e.0.contains("HOST:PORT:ADDRESS:PORT"), "{bad}: {e}");
        }
    }
}

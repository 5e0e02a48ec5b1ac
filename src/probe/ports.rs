//! `ports`: connects to a list or range of TCP ports on one host, many at a time with a short
//! timeout each, and observes which are open and which of those are not allowed, so "only
//! 22, 80 and 443 are open" is `expect = { unexpected_open = [] }`.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::net::TcpStream;

use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value};

/// Connections in flight at most, whatever the item asks: a scan must not exhaust file
/// descriptors or look like a flood.
const MAX_CONCURRENCY: i64 = 512;

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "ports",
    summary: "Scans TCP ports of one host concurrently; observes the open ones and those not allowed.",
    params: &[
        ParamSpec::required("host", ParamType::String, "host name or IP address to scan"),
        ParamSpec::required(
            "ports",
            ParamType::PortList,
            "ports and ranges to try, e.g. [22, 80, 443, \"8000-8100\"] or [\"1-1024\"]; a string may list several and use vars: [\"${scan_ports}\"] with scan_ports = \"22, 80, 8000-8100\"",
        ),
        ParamSpec::optional(
            "allowed",
            ParamType::PortList,
            "ports that may be open, written like ports (e.g. [\"22, 80, 443\"]); the others found open are unexpected_open",
        ),
        ParamSpec::with_default(
            "connect_timeout",
            ParamType::Duration,
            "1s",
            "a port that has not accepted after this long counts as closed (filtered)",
        ),
        ParamSpec::with_default(
            "concurrency",
            ParamType::Integer,
            "100",
            "connections attempted at the same time (at most 512)",
        ),
    ],
    facts: &[
        FactSpec::new(
            "open_ports",
            FactType::StringList,
            "the ports that accepted a connection, ascending, e.g. [\"22\", \"443\"]",
        ),
        FactSpec::new("unexpected_open", FactType::StringList, "open ports that are not in allowed"),
        FactSpec::new("allowed_not_open", FactType::StringList, "ports in allowed (and in ports) that are not open"),
        FactSpec::new("count", FactType::Integer, "how many ports are open"),
        FactSpec::new("scanned", FactType::Integer, "how many ports were tried"),
        FactSpec::new(
            "filtered",
            FactType::Integer,
            "how many ports neither accepted nor refused within connect_timeout",
        ),
        FactSpec::new("address", FactType::String, "the IP address scanned (the host's first address)"),
    ],
    default_expect: &[("unexpected_open", "[]")],
    observe: Some(observe),
    check: None,
    notes: &[],
};

/// The ports a `PortList` parameter names, expanded and deduplicated.
pub fn port_set(value: Option<&Value>) -> BTreeSet<u16> {
    let mut ports = BTreeSet::new();
    if let Some(Value::List(entries)) = value {
        for entry in entries {
            let range = match entry {
                Value::Int(p) => u16::try_from(*p).ok().map(|p| (p, p)),
                Value::Str(text) => parse_port_range(text),
                _ => None,
            };
            if let Some((low, high)) = range {
                ports.extend(low..=high);
            }
        }
    }
    ports
}

enum PortState {
    Open,
    Closed,
    Filtered,
}

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let p = &input.params;
        let host = p.str("host").unwrap_or_default();
        let ports = port_set(p.get("ports"));
        let allowed = port_set(p.get("allowed"));
        if ports.is_empty() {
            return Err(ProbeError::new("ports is empty; list the ports or ranges to scan"));
        }
        let limit = p.duration("connect_timeout").unwrap_or(Duration::from_secs(1));
        let concurrency = p.int("concurrency").unwrap_or(100).clamp(1, MAX_CONCURRENCY) as usize;
        let ip = resolve(host).await?;

        let attempts: Vec<_> = ports
            .iter()
            .copied()
            .map(|port| async move {
                let state = match tokio::time::timeout(limit, TcpStream::connect(SocketAddr::new(ip, port))).await {
                    Ok(Ok(_stream)) => Ok(PortState::Open),
                    Ok(Err(e)) => match e.kind() {
                        std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::HostUnreachable
                        | std::io::ErrorKind::NetworkUnreachable => Ok(PortState::Closed),
                        _ => Err(ProbeError::new(format!("cannot connect to {ip} port {port}: {e}"))),
                    },
                    Err(_) => Ok(PortState::Filtered),
                };
                (port, state)
            })
            .collect();
        let mut results: Vec<(u16, Result<PortState, ProbeError>)> =
            futures::stream::iter(attempts).buffer_unordered(concurrency).collect().await;
        results.sort_by_key(|(port, _)| *port);

        let (mut open, mut filtered) = (Vec::new(), 0);
        for (port, state) in results {
            match state? {
                PortState::Open => open.push(port),
                PortState::Filtered => filtered += 1,
                PortState::Closed => {}
            }
        }
        let text = |ports: &mut dyn Iterator<Item = u16>| Value::string_list(ports.map(|p| p.to_string()));
        let mut facts = Facts::default();
        facts.set("open_ports", text(&mut open.iter().copied()));
        facts.set("unexpected_open", text(&mut open.iter().copied().filter(|p| !allowed.contains(p))));
        facts.set(
            "allowed_not_open",
            text(&mut allowed.iter().copied().filter(|p| ports.contains(p) && !open.contains(p))),
        );
        facts.set("count", Value::Int(open.len() as i64));
        facts.set("scanned", Value::Int(ports.len() as i64));
        facts.set("filtered", Value::Int(filtered));
        facts.set("address", Value::Str(ip.to_string()));
        Ok(facts)
    })
}

/// The host's first address (IPv4 preferred, as most services listen there).
async fn resolve(host: &str) -> Result<IpAddr, ProbeError> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(ip);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| ProbeError::new(format!("cannot resolve {host}: {e}")))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .map(|a| a.ip())
        .ok_or_else(|| ProbeError::new(format!("{host} has no address")))
}

/// `"8000-8100"` or `"22"`: an inclusive range of ports 1-65535.
pub fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let port = |t: &str| t.trim().parse::<u16>().ok().filter(|p| *p > 0);
    match text.split_once('-') {
        Some((low, high)) => Some((port(low)?, port(high)?)).filter(|(l, h)| l <= h),
        None => port(text).map(|p| (p, p)),
    }
}

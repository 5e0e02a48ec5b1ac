//! `dns`: resolves a name (A, AAAA, CNAME, MX, TXT, NS), through the system's resolver or a
//! given server; observes whether it resolves, the answers and their TTL. Items asking the
//! same server share one resolver.

use std::net::SocketAddr;

use futures::future::BoxFuture;

use super::dns_lookup::{DnsQuery, RecordType, lookup};
use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "dns",
    summary: "Resolves a name; observes whether it resolves, the answers and their TTL.",
    params: &[
        ParamSpec::required("name", ParamType::String, "the name to resolve, e.g. \"api.example.com\""),
        ParamSpec::with_default(
            "type",
            ParamType::Choice(&["A", "AAAA", "CNAME", "MX", "TXT", "NS"]),
            "A",
            "record type",
        ),
        ParamSpec::optional(
            "server",
            ParamType::String,
            "DNS server as ip:port (default, or empty: the system's resolver from /etc/resolv.conf)",
        ),
    ],
    facts: &[
        FactSpec::new("resolves", FactType::Bool, "at least one record of the type exists"),
        FactSpec::new(
            "answers",
            FactType::StringList,
            "the records: addresses, names, \"10 mail.example.com\" for MX, text for TXT",
        ),
        FactSpec::new("ttl", FactType::Duration, "the lowest TTL of the answers"),
        FactSpec::new("nxdomain", FactType::Bool, "the name does not exist at all"),
    ],
    default_expect: &[("resolves", "true")],
    observe: Some(observe),
    check: None,
    notes: &[],
};

fn observe<'a>(input: &'a ProbeInput, shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let p = &input.params;
        let record_type: RecordType =
            p.str("type").unwrap_or("A").parse().map_err(|e| ProbeError::new(format!("{e}")))?;
        let server = match p.str("server").filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(
                s.parse::<SocketAddr>()
                    .or_else(|_| format!("{s}:53").parse())
                    .map_err(|_| ProbeError::new(format!("server {s:?} is not an ip:port address")))?,
            ),
            None => None,
        };
        let name = p.str("name").unwrap_or_default();
        let observed = lookup(&shared.dns, &DnsQuery { name, record_type, server })
            .await
            .map_err(|e| ProbeError::new(e.to_string()))?;
        let mut facts = Facts::default();
        facts.set("resolves", Value::Bool(observed.resolves));
        facts.set("nxdomain", Value::Bool(observed.nxdomain));
        facts.set("answers", Value::string_list(observed.answers));
        if let Some(ttl) = observed.ttl {
            facts.set("ttl", Value::Duration(std::time::Duration::from_secs(ttl.into())));
        }
        Ok(facts)
    })
}

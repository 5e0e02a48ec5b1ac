//! `dns`: resolves a name (A, AAAA, CNAME, MX, TXT, NS, CAA, SRV, PTR, SOA), through the
//! system's resolver or a given server; observes whether it resolves, the answers and their
//! TTL, and per type the facts a launch check needs without a regular expression (the CAs a
//! CAA record allows, SRV targets and ports, the SOA serial). Items asking the same server
//! share one resolver.

use std::net::SocketAddr;
use std::time::Duration;

use futures::future::BoxFuture;

use super::dns_lookup::{self, DnsQuery, RecordType, lookup};
use super::{FactSpec, Facts, ParamProblem, ParamSpec, ParamType, Params, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "dns",
    summary: "Resolves a name; observes whether it resolves, the answers and their TTL.",
    params: &[
        ParamSpec::required(
            "name",
            ParamType::String,
            "the name to resolve, e.g. \"api.example.com\"; for PTR also an IP address (\"10.0.0.5\" asks 5.0.0.10.in-addr.arpa)",
        ),
        ParamSpec::with_default(
            "type",
            ParamType::Choice(&["A", "AAAA", "CNAME", "MX", "TXT", "NS", "CAA", "SRV", "PTR", "SOA"]),
            "A",
            "record type",
        ),
        ParamSpec::optional(
            "server",
            ParamType::String,
            "DNS server as ip:port (default, or empty: the system's resolver from /etc/resolv.conf)",
        ),
        ParamSpec::optional(
            "expected_answers",
            ParamType::StringList,
            "for A, AAAA, CNAME, NS and PTR: the answers the name must have, e.g. [\"203.0.113.10\", \"203.0.113.11\"]; an entry may list several separated by spaces or commas, so one var can hold them: [\"${lb_addresses}\"]. Compared in missing_answers and unexpected_answers",
        ),
    ],
    facts: &[
        FactSpec::new("resolves", FactType::Bool, "at least one record of the type exists"),
        FactSpec::new(
            "answers",
            FactType::StringList,
            "the records: addresses, names (CNAME, NS, PTR), \"10 mail.example.com\" for MX, text for TXT, `0 issue \"letsencrypt.org\"` for CAA, \"PRIORITY WEIGHT PORT TARGET\" for SRV, \"MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM\" for SOA; names without the final dot",
        ),
        FactSpec::new("ttl", FactType::Duration, "the lowest TTL of the answers"),
        FactSpec::new("nxdomain", FactType::Bool, "the name does not exist at all"),
        FactSpec::new(
            "missing_answers",
            FactType::StringList,
            "with expected_answers: the expected answers the name does not have (addresses compare as addresses, names in any case)",
        ),
        FactSpec::new(
            "unexpected_answers",
            FactType::StringList,
            "with expected_answers: the answers that are not expected",
        ),
        FactSpec::new(
            "reverse_name",
            FactType::String,
            "PTR for an IP address: the name asked, e.g. \"5.0.0.10.in-addr.arpa\"",
        ),
        FactSpec::new(
            "caa_issuers",
            FactType::StringList,
            "CAA: the CA domains `issue` records allow, lower-case, without parameters, e.g. [\"letsencrypt.org\"]; [] when they allow none (`0 issue \";\"`); absent when no record has the `issue` tag",
        ),
        FactSpec::new(
            "caa_wildcard_issuers",
            FactType::StringList,
            "CAA: the CA domains allowed to issue wildcard certificates: those of `issuewild` records, else those of `issue` records (RFC 8659); absent when neither tag is present",
        ),
        FactSpec::new(
            "srv_targets",
            FactType::StringList,
            "SRV: the target hosts, in priority order, without the final dot (\".\" means no service); absent without SRV records",
        ),
        FactSpec::new(
            "srv_ports",
            FactType::StringList,
            "SRV: the ports of the targets, e.g. [\"443\"]; absent without SRV records",
        ),
        FactSpec::new("soa_serial", FactType::Integer, "SOA: the zone's serial number; absent without an SOA record"),
        FactSpec::new(
            "soa_primary",
            FactType::String,
            "SOA: MNAME, the zone's primary name server; absent without an SOA record",
        ),
        FactSpec::new(
            "soa_negative_ttl",
            FactType::Duration,
            "SOA: MINIMUM, how long resolvers cache \"no such name\" (RFC 2308); absent without an SOA record",
        ),
    ],
    default_expect: &[("resolves", "true")],
    observe: Some(observe),
    check: Some(check),
    notes: &[
        "Every type is asked for exactly the name given (no search domains); `answers` holds the records of \
         that type only, sorted (addresses numerically, MX by preference, SRV by priority, weight and port) and \
         without duplicates. A CNAME on the way lowers `ttl`, and a name with no record of the type (or none \
         at all: `nxdomain`) does not resolve: that is an observation, not an error.",
        "**CAA** observes the records at the name itself. A CA that finds none climbs to the parent names \
         (RFC 8659), so check the zone's apex too. **SRV** takes the service name (`_sip._tcp.example.com`). \
         **PTR** takes the reverse name, or an IP address that it turns into one (`reverse_name`). **SOA** \
         answers at the zone's apex only; a name inside a zone has none of its own.",
        "With `expected_answers`, `missing_answers` and `unexpected_answers` compare the answers with the \
         ones a launch needs: `expect = { missing_answers = [], unexpected_answers = [] }` holds when the name \
         points at exactly those addresses, however many.",
    ],
};

const EXPECTED_ONLY: &str = "`expected_answers` applies to A, AAAA, CNAME, NS and PTR";

fn record_type(p: &Params) -> Result<RecordType, ProbeError> {
    p.str("type").unwrap_or("A").parse().map_err(|e| ProbeError::new(format!("{e}")))
}

fn check(p: &Params) -> Vec<ParamProblem> {
    match record_type(p) {
        Ok(t) if p.get("expected_answers").is_some() && !RecordType::ONE_WORD.contains(&t) => vec![
            ParamProblem::new("expected_answers", format!("{EXPECTED_ONLY}, not to {t}"))
                .hint(format!("for {t} write expect = {{ answers = [...] }} or {{ answers = {{ includes = ... }} }}")),
        ],
        _ => Vec::new(),
    }
}

fn observe<'a>(input: &'a ProbeInput, shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let p = &input.params;
        let record_type = record_type(p)?;
        let server = match p.str("server").filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(
                s.parse::<SocketAddr>()
                    .or_else(|_| format!("{s}:53").parse())
                    .map_err(|_| ProbeError::new(format!("server {s:?} is not an ip:port address")))?,
            ),
            None => None,
        };
        let expected = match p.get("expected_answers") {
            Some(_) if !RecordType::ONE_WORD.contains(&record_type) => {
                return Err(ProbeError::new(format!("{EXPECTED_ONLY}, not to {record_type}")));
            }
            Some(_) => Some(dns_lookup::split_expected(&p.list("expected_answers"))),
            None => None,
        };
        let name = p.str("name").unwrap_or_default();
        let observed = lookup(&shared.dns, &DnsQuery { name, record_type, server })
            .await
            .map_err(|e| ProbeError::new(e.to_string()))?;
        let mut facts = Facts::default();
        facts.set("resolves", Value::Bool(observed.resolves));
        facts.set("nxdomain", Value::Bool(observed.nxdomain));
        if let Some(ttl) = observed.ttl {
            facts.set("ttl", Value::Duration(Duration::from_secs(ttl.into())));
        }
        if let Some(expected) = expected {
            let (missing, unexpected) = dns_lookup::compare_answers(record_type, &expected, &observed.answers)
                .map_err(|e| ProbeError::new(format!("`expected_answers`: {e}")))?;
            facts.set("missing_answers", Value::string_list(missing));
            facts.set("unexpected_answers", Value::string_list(unexpected));
        }
        if let Some(reverse) = observed.reverse_name {
            facts.set("reverse_name", Value::Str(reverse));
        }
        if record_type == RecordType::CAA {
            if let Some(issuers) = dns_lookup::caa_issuers(&observed.caa) {
                facts.set("caa_issuers", Value::string_list(issuers));
            }
            if let Some(issuers) = dns_lookup::caa_wildcard_issuers(&observed.caa) {
                facts.set("caa_wildcard_issuers", Value::string_list(issuers));
            }
        }
        if record_type == RecordType::SRV && observed.resolves {
            // In priority order, each once.
            let mut targets: Vec<String> = Vec::new();
            for srv in &observed.srv {
                if !targets.contains(&srv.target) {
                    targets.push(srv.target.clone());
                }
            }
            let mut ports: Vec<u16> = observed.srv.iter().map(|s| s.port).collect();
            ports.sort_unstable();
            ports.dedup();
            facts.set("srv_targets", Value::string_list(targets));
            facts.set("srv_ports", Value::string_list(ports.iter().map(u16::to_string)));
        }
        if let Some(soa) = &observed.soa {
            facts.set("soa_serial", Value::Int(soa.serial.into()));
            facts.set("soa_primary", Value::Str(soa.mname.clone()));
            facts.set("soa_negative_ttl", Value::Duration(Duration::from_secs(soa.minimum.into())));
        }
        facts.set("answers", Value::string_list(observed.answers));
        Ok(facts)
    })
}

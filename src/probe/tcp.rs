//! `tcp`: tries to open a TCP connection; observes whether the port is open and how long the
//! connect took. A refused or timed-out connection is an observation (`open = false`), not
//! an error, so "this port must be closed" is written `expect = { open = false }`.

use std::time::Instant;

use futures::future::BoxFuture;
use tokio::net::TcpStream;

use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "tcp",
    summary: "Connects to host:port; observes whether the port is open and the connect latency.",
    params: &[
        ParamSpec::required("address", ParamType::String, "host:port to connect to, e.g. \"db.internal:5432\""),
        ParamSpec::with_default(
            "connect_timeout",
            ParamType::Duration,
            "3s",
            "a connect that takes longer counts as closed (filtered); keep it below the item timeout",
        ),
    ],
    facts: &[
        FactSpec::new("open", FactType::Bool, "a TCP connection was accepted"),
        FactSpec::new("latency", FactType::Duration, "time to connect (absent when closed)"),
        FactSpec::new(
            "closed_reason",
            FactType::String,
            "why the port counts as closed: refused, timeout or unreachable",
        ),
    ],
    default_expect: &[("open", "true")],
    observe: Some(observe),
    check: None,
    notes: &[],
};

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let address = input.params.str("address").unwrap_or_default();
        if !address.contains(':') {
            return Err(ProbeError::new(format!("address {address:?} has no port; write host:port")));
        }
        let limit = input.params.duration("connect_timeout").unwrap_or(input.timeout);
        let started = Instant::now();
        let mut facts = Facts::default();
        match tokio::time::timeout(limit, TcpStream::connect(address)).await {
            Ok(Ok(_stream)) => {
                facts.set("open", Value::Bool(true));
                facts.set("latency", Value::Duration(started.elapsed()));
            }
            Ok(Err(e)) => {
                let reason = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => "refused",
                    std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => "unreachable",
                    // Name resolution and other failures mean we observed nothing.
                    _ => return Err(ProbeError::new(format!("cannot connect to {address}: {e}"))),
                };
                facts.set("open", Value::Bool(false));
                facts.set("closed_reason", Value::str(reason));
            }
            Err(_) => {
                facts.set("open", Value::Bool(false));
                facts.set("closed_reason", Value::str("timeout"));
            }
        }
        Ok(facts)
    })
}

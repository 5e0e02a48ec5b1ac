//! `systemd`: asks `systemctl show` about one unit and observes whether it is loaded, active,
//! enabled, how it restarts and which user it runs as. Where systemctl is missing or systemd
//! is not running (containers), the item is an `error`: nothing could be observed.

use std::collections::BTreeMap;

use futures::future::BoxFuture;

use super::process::run_captured;
use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value};

/// Always asked for; `properties` adds more.
const PROPERTIES: &[&str] = &[
    "Id",
    "LoadState",
    "ActiveState",
    "SubState",
    "UnitFileState",
    "Restart",
    "User",
    "DynamicUser",
    "NRestarts",
    "MainPID",
];

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "systemd",
    summary: "Reads a systemd unit's state with `systemctl show`: active, enabled, restart policy, user.",
    params: &[
        ParamSpec::required(
            "unit",
            ParamType::String,
            "the unit, e.g. \"nginx\" (.service is assumed) or \"backup.timer\"",
        ),
        ParamSpec::with_default(
            "user_manager",
            ParamType::Bool,
            "false",
            "ask the calling user's service manager (systemctl --user) instead of the system's",
        ),
        ParamSpec::optional(
            "properties",
            ParamType::StringList,
            "more unit properties to read, e.g. [\"MemoryMax\", \"ProtectSystem\"]; each becomes property.<Name>",
        ),
    ],
    facts: &[
        FactSpec::new("load_state", FactType::String, "LoadState: loaded, not-found, masked, error…"),
        FactSpec::new("active_state", FactType::String, "ActiveState: active, inactive, failed, activating…"),
        FactSpec::new("sub_state", FactType::String, "SubState: running, exited, dead, waiting…"),
        FactSpec::new(
            "unit_file_state",
            FactType::String,
            "UnitFileState: enabled, disabled, static, masked… (absent when the unit has no file)",
        ),
        FactSpec::new("active", FactType::Bool, "ActiveState is active"),
        FactSpec::new(
            "enabled",
            FactType::Bool,
            "the unit starts at every boot: UnitFileState is enabled (enabled-runtime, which `systemctl enable --runtime` sets, lasts only until the next reboot and is not)",
        ),
        FactSpec::new("restart", FactType::String, "the Restart= policy: no, on-failure, always…"),
        FactSpec::new(
            "user",
            FactType::String,
            "the User= it runs as; root when none is set (and DynamicUser is off), dynamic with DynamicUser=yes",
        ),
        FactSpec::new(
            "runs_as_root",
            FactType::Bool,
            "the service runs as root (no User=, User=root or User=0, no DynamicUser)",
        ),
        FactSpec::new("restarts", FactType::Integer, "NRestarts: how often systemd restarted it since it was started"),
        FactSpec::new("main_pid", FactType::Integer, "MainPID (0 when not running)"),
        FactSpec::new(
            "property.<Name>",
            FactType::String,
            "a property asked for with properties, as systemctl shows it",
        ),
    ],
    default_expect: &[("active_state", "\"active\"")],
    observe: Some(observe),
    check: None,
    notes: &[],
};

/// `Name=value` lines of `systemctl show`.
pub fn parse_show(text: &str) -> BTreeMap<String, String> {
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_string(), v.to_string())).collect()
}

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let p = &input.params;
        let unit = p.str("unit").unwrap_or_default();
        if unit.is_empty() || unit.starts_with('-') {
            return Err(ProbeError::new(format!("{unit:?} is not a unit name")));
        }
        let extra = p.list("properties");
        let mut properties: Vec<&str> = PROPERTIES.to_vec();
        properties.extend(extra.iter().map(String::as_str));
        let mut command = tokio::process::Command::new("systemctl");
        if p.bool("user_manager") {
            command.arg("--user");
        }
        command.args(["show", "--no-pager", &format!("--property={}", properties.join(",")), "--", unit]);
        command.env("SYSTEMD_PAGER", "").env("SYSTEMD_COLORS", "0");
        let run = run_captured(command, None, 1 << 20).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ProbeError::new("systemctl is not installed: this host does not run systemd")
            } else {
                ProbeError::new(format!("cannot run systemctl: {e}"))
            }
        })?;
        if run.exit_code != 0 {
            let stderr = String::from_utf8_lossy(&run.stderr);
            let why = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
            let why = if why.is_empty() { format!("exit status {}", run.exit_code) } else { why };
            return Err(ProbeError::new(format!("systemctl show {unit} failed: {why}")));
        }
        let shown = parse_show(&String::from_utf8_lossy(&run.stdout));
        let get = |name: &str| shown.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let Some(load_state) = get("LoadState") else {
            return Err(ProbeError::new(format!("systemctl show {unit} printed no LoadState")));
        };
        let mut facts = Facts::default();
        facts.set("load_state", Value::str(load_state));
        for (fact, property) in [
            ("active_state", "ActiveState"),
            ("sub_state", "SubState"),
            ("unit_file_state", "UnitFileState"),
            ("restart", "Restart"),
        ] {
            if let Some(v) = get(property) {
                facts.set(fact, Value::str(v));
            }
        }
        facts.set("active", Value::Bool(get("ActiveState") == Some("active")));
        facts.set("enabled", Value::Bool(get("UnitFileState") == Some("enabled")));
        let dynamic = get("DynamicUser") == Some("yes");
        let user = match (get("User"), dynamic) {
            (_, true) => "dynamic",
            (Some(user), false) => user,
            (None, false) => "root",
        };
        // Only services have a user; a timer or socket shows none.
        if load_state == "loaded" && unit_kind(unit) == "service" {
            facts.set("user", Value::str(user));
            facts.set("runs_as_root", Value::Bool(matches!(user, "root" | "0")));
        }
        for (fact, property) in [("restarts", "NRestarts"), ("main_pid", "MainPID")] {
            if let Some(n) = get(property).and_then(|v| v.parse::<i64>().ok()) {
                facts.set(fact, Value::Int(n));
            }
        }
        for name in &extra {
            if let Some(v) = shown.get(name) {
                facts.set(format!("property.{name}"), Value::Str(v.clone()));
            }
        }
        Ok(facts)
    })
}

/// `nginx` → service, `backup.timer` → timer.
fn unit_kind(unit: &str) -> &str {
    const KINDS: &[&str] =
        &["service", "socket", "timer", "mount", "automount", "swap", "target", "path", "slice", "scope", "device"];
    match unit.rsplit_once('.') {
        Some((_, kind)) if KINDS.contains(&kind) => kind,
        _ => "service",
    }
}

//! Probes observe; they never judge. Each probe kind declares its parameters and the facts it
//! can produce (one declaration drives validation, `golive probes` and the docs), and has one
//! async `observe` function that reads a live system and returns facts.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::value::{FactType, Value};

pub mod backup;
mod chain_memo;
pub mod command;
pub mod config_file;
pub mod config_formats;
pub mod connect_to;
pub mod dns;
pub mod dns_lookup;
pub mod dockerfile;
pub mod env;
pub mod exec;
pub mod explain;
pub mod file;
pub mod host;
pub mod http;
pub mod kubernetes;
pub mod manual;
pub mod ports;
pub mod postgres;
pub mod postgres_migrations;
pub mod postgres_pool;
pub mod postgres_values;
pub mod process;
pub mod redis;
pub mod redis_conn;
pub mod resp;
pub mod secrets_scan;
pub mod sshd;
pub mod systemd;
pub mod tcp;
pub mod tls;
pub mod tls_inspect;
pub mod tls_legacy;
pub mod trust;

/// Every probe kind golive knows, in the order `golive probes` lists them.
pub fn registry() -> &'static [&'static ProbeSpec] {
    static ALL: &[&ProbeSpec] = &[
        &http::SPEC,
        &tcp::SPEC,
        &dns::SPEC,
        &tls::SPEC,
        &postgres::SPEC,
        &file::SPEC,
        &env::SPEC,
        &command::SPEC,
        &host::SPEC,
        &redis::SPEC,
        &ports::SPEC,
        &sshd::SPEC,
        &secrets_scan::SPEC,
        &systemd::SPEC,
        &backup::SPEC,
        &exec::SPEC,
        &kubernetes::SPEC,
        &dockerfile::SPEC,
        &manual::SPEC,
    ];
    ALL
}

/// True for the kinds that observe the machine they run on (its files, services, ports,
/// processes, environment), which run on every target of a run that has targets. The others
/// (http, tcp, dns, tls, postgres, redis, and the readers of rendered manifests and
/// Dockerfiles in the workspace) run where golive runs unless an item's `targets` says
/// otherwise.
pub fn runs_on_targets(kind: &str) -> bool {
    matches!(
        kind,
        "file" | "host" | "sshd" | "systemd" | "ports" | "secrets_scan" | "backup" | "command" | "env" | "exec"
    )
}

pub fn find(kind: &str) -> Option<&'static ProbeSpec> {
    registry().iter().copied().find(|p| p.kind == kind)
}

/// How a probe reads a system: given the item's parameters and the facts it is asked for.
pub type ObserveFn = for<'a> fn(&'a ProbeInput, &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>>;

/// The declaration of a probe kind.
pub struct ProbeSpec {
    pub kind: &'static str,
    pub summary: &'static str,
    pub params: &'static [ParamSpec],
    pub facts: &'static [FactSpec],
    /// What an item of this kind expects when it has no `expect` table: (fact, matcher as a
    /// TOML value).
    pub default_expect: &'static [(&'static str, &'static str)],
    /// `None` for manual items, which a person attests instead.
    pub observe: Option<ObserveFn>,
    /// Problems the item's parameters have that show without observing anything (a write
    /// method without `allow_write`, `url` and `host` both given). The loader calls it once
    /// an item's parameters are built, at validate time as at run time, and reports each
    /// problem at its parameter. While validating, a string parameter that uses an unset
    /// `${env:…}` or var is empty or partial, so a check relies only on what such a value
    /// cannot hide: which parameters are given, booleans, integers, fixed choices.
    pub check: Option<fn(&Params) -> Vec<ParamProblem>>,
    /// Paragraphs (Markdown) for the probe's docs page after the tables: how it connects,
    /// what it trusts, what a parameter resolves against.
    pub notes: &'static [&'static str],
}

/// A problem with an item's parameters, found from the parameters alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamProblem {
    /// The parameter it is about (where the diagnostic points; the item itself when the
    /// item does not set that parameter).
    pub param: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl ParamProblem {
    pub fn new(param: &'static str, message: impl Into<String>) -> Self {
        ParamProblem { param, message: message.into(), hint: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Debug for ProbeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProbeSpec({})", self.kind)
    }
}

impl ProbeSpec {
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The declared fact that a fact name in `expect` refers to: `status`, or a dynamic one
    /// such as `headers.content-type` for the declaration `headers.<name>`.
    pub fn fact(&self, name: &str) -> Option<&'static FactSpec> {
        self.facts.iter().find(|f| f.name == name).or_else(|| {
            self.facts.iter().find(|f| {
                f.dynamic_prefix().is_some_and(|prefix| name.len() > prefix.len() && name.starts_with(prefix))
            })
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    String,
    /// A URL; a password in it is a secret and never shown.
    Url,
    Path,
    Integer,
    Bool,
    Duration,
    StringList,
    /// Names of environment variables (`NAME` or `PREFIX*`, several per entry separated by
    /// spaces or commas): checked when loading, their values are secrets.
    EnvNames,
    /// A table of strings (environment variables…).
    StringMap,
    /// A table of header name to value, or to `{ value = "…", secret = true }`.
    Headers,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    /// TCP ports and ranges: `[22, 443, "8000-8100"]`.
    PortList,
    /// Whole numbers: `[3, 126, 127]` (an entry may also be a string of numbers separated by
    /// commas or spaces, so a var can give them).
    IntegerList,
    /// A table of any TOML values, passed on as it is (an `exec` program's parameters).
    Table,
    /// `connect_to` pins, `HOST:PORT:ADDRESS:PORT` as curl's `--connect-to`: a string,
    /// checked when loading.
    ConnectTo,
}

impl ParamType {
    pub fn describe(self) -> String {
        match self {
            ParamType::String => "string".into(),
            ParamType::Url => "url".into(),
            ParamType::Path => "path".into(),
            ParamType::Integer => "integer".into(),
            ParamType::Bool => "bool".into(),
            ParamType::Duration => "duration".into(),
            ParamType::StringList => "list of strings".into(),
            ParamType::EnvNames => "list of environment variable names".into(),
            ParamType::StringMap => "table of strings".into(),
            ParamType::Headers => "table of headers".into(),
            ParamType::Choice(words) => format!("one of {}", words.join(", ")),
            ParamType::PortList => "list of ports and ranges".into(),
            ParamType::IntegerList => "list of integers".into(),
            ParamType::Table => "table".into(),
            ParamType::ConnectTo => "HOST:PORT:ADDRESS:PORT, …".into(),
        }
    }
}

pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    /// Written as in a checklist (`"GET"`, `"3s"`, `"true"`).
    pub default: Option<&'static str>,
    /// The whole value is a secret (a password parameter).
    pub secret: bool,
    pub doc: &'static str,
}

impl ParamSpec {
    pub const fn required(name: &'static str, ty: ParamType, doc: &'static str) -> Self {
        ParamSpec { name, ty, required: true, default: None, secret: false, doc }
    }

    pub const fn optional(name: &'static str, ty: ParamType, doc: &'static str) -> Self {
        ParamSpec { name, ty, required: false, default: None, secret: false, doc }
    }

    pub const fn with_default(name: &'static str, ty: ParamType, default: &'static str, doc: &'static str) -> Self {
        ParamSpec { name, ty, required: false, default: Some(default), secret: false, doc }
    }
}

pub struct FactSpec {
    /// A name, or `prefix.<what>` for a family of facts (`headers.<name>`).
    pub name: &'static str,
    pub ty: FactType,
    pub doc: &'static str,
}

impl FactSpec {
    pub const fn new(name: &'static str, ty: FactType, doc: &'static str) -> Self {
        FactSpec { name, ty, doc }
    }

    /// `Some("headers.")` for `headers.<name>`.
    pub fn dynamic_prefix(&self) -> Option<&'static str> {
        let open = self.name.find('<')?;
        Some(&self.name[..open])
    }
}

/// An item's resolved parameters, as the probe sees them (secrets included).
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub values: ParamMap,
}

/// Values by name, in name order, as a sorted vector: an item has a handful of parameters,
/// and a `BTreeMap` node costs about 600 bytes however few it holds (50,000 items held two
/// maps each). Names are the probe's declared `&'static str` where they can be (no
/// allocation per item), and the probe's declared defaults are one shared table per probe
/// kind (`defaults`), read when an item does not set the parameter, not copied into every
/// item: an `http` item set 2 of its 6 parameters and stored all 6.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamMap {
    own: crate::value::ValueMap,
    defaults: &'static [(&'static str, Value)],
}

impl ParamMap {
    /// An empty map whose unset names read from `defaults` (sorted by name).
    pub fn with_defaults(defaults: &'static [(&'static str, Value)]) -> Self {
        debug_assert!(defaults.windows(2).all(|w| w[0].0 < w[1].0), "defaults are sorted by name");
        ParamMap { own: crate::value::ValueMap::new(), defaults }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.own
            .get(name)
            .or_else(|| self.defaults.binary_search_by(|(k, _)| (*k).cmp(name)).ok().map(|i| &self.defaults[i].1))
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets a value, returning the one it replaces (a default is not replaced: it stays
    /// the probe's, and the map's own value hides it).
    pub fn insert(&mut self, name: impl Into<Cow<'static, str>>, value: Value) -> Option<Value> {
        self.own.insert(name, value)
    }

    /// Every parameter, set or defaulted, in name order: the item's own and the probe's
    /// defaults it does not set, merged.
    fn merged(&self) -> impl Iterator<Item = (&Cow<'static, str>, Option<&'static str>, &Value)> {
        let mut own = self.own.entries().iter().map(|(k, v)| (k, None, v)).peekable();
        let mut defaults = self
            .defaults
            .iter()
            .filter(|(k, _)| !self.own.contains_key(k))
            .map(|(k, v)| (&Cow::Borrowed(""), Some(*k), v))
            .peekable();
        std::iter::from_fn(move || match (own.peek(), defaults.peek()) {
            (Some(a), Some(b)) if b.1 < Some(a.0.as_ref()) => defaults.next(),
            (Some(_), _) => own.next(),
            (None, _) => defaults.next(),
        })
    }

    /// Every parameter, set or defaulted, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.merged().map(|(own, declared, v)| (declared.unwrap_or(own.as_ref()), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    /// [`ParamMap::iter`] with each name as the map holds it: a declared name stays the
    /// probe's `&'static str` (a report row copies no parameter name).
    pub fn iter_named(&self) -> impl Iterator<Item = (Cow<'static, str>, &Value)> {
        self.merged().map(|(own, declared, v)| (declared.map_or_else(|| own.clone(), Cow::Borrowed), v))
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.own.is_empty() && self.defaults.is_empty()
    }

    pub fn shrink_to_fit(&mut self) {
        self.own.shrink_to_fit();
    }
}

impl FromIterator<(String, Value)> for ParamMap {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(pairs: I) -> Self {
        let mut map = ParamMap::default();
        for (name, value) in pairs {
            map.insert(name, value);
        }
        map
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(Value::Bool(true)))
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn duration(&self, name: &str) -> Option<Duration> {
        match self.values.get(name) {
            Some(Value::Duration(d)) => Some(*d),
            _ => None,
        }
    }

    pub fn list(&self, name: &str) -> Vec<String> {
        match self.values.get(name) {
            Some(Value::List(items)) => items.iter().filter_map(|v| v.as_text().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    }

    pub fn map(&self, name: &str) -> BTreeMap<String, String> {
        match self.values.get(name) {
            Some(Value::Map(m)) => m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_text()?.to_string()))).collect(),
            _ => BTreeMap::new(),
        }
    }
}

/// What a probe is asked to do for one item.
#[derive(Clone, Debug)]
pub struct ProbeInput {
    pub item_id: String,
    pub params: Params,
    /// The facts the item's expectations name, so a probe can skip expensive work.
    pub wanted: BTreeSet<String>,
    pub timeout: Duration,
}

impl ProbeInput {
    /// True when `expect` names this fact, or one of its family (`headers.<name>`).
    pub fn wants(&self, fact: &str) -> bool {
        self.wanted.iter().any(|w| w == fact || w.strip_prefix(fact).is_some_and(|rest| rest.starts_with('.')))
    }
}

/// Facts observed by a probe. A fact marked secret is used for matching but shown as `***`;
/// a fact with secret parts (a `Set-Cookie` header's values) is shown with those masked.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub values: BTreeMap<String, Value>,
    pub secret: BTreeSet<String>,
    /// How facts with secret parts are shown.
    pub partly_secret: BTreeMap<String, Value>,
    /// The secret parts themselves: every output masks them, wherever they turn up.
    pub hidden: Vec<String>,
    /// Why a fact has the value it has, or is absent, in the probe's words
    /// (`debug = true (line 3)`, `config/prod.toml has no key debug`): shown with a failed
    /// expectation on it, before the facts `probe::explain` declares. Masked like facts.
    pub explanations: BTreeMap<String, String>,
}

impl Facts {
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.values.insert(name.into(), value);
    }

    pub fn set_secret(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        self.secret.insert(name.clone());
        self.values.insert(name, value);
    }

    /// A fact matched as `value` and shown as `shown`, in which the `hidden` parts of it are
    /// masked.
    pub fn set_partly_secret(&mut self, name: impl Into<String>, value: Value, shown: Value, hidden: Vec<String>) {
        let name = name.into();
        self.hidden.extend(hidden);
        self.partly_secret.insert(name.clone(), shown);
        self.values.insert(name, value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Says why `name` has its value, or is absent, for a failed expectation on it.
    pub fn explain(&mut self, name: impl Into<String>, why: impl Into<String>) {
        self.explanations.insert(name.into(), why.into());
    }

    /// The value shown in reports: `***` for secret facts, the masked form for facts with
    /// secret parts.
    pub fn shown(&self, name: &str) -> Option<Value> {
        self.shown_ref(name).map(std::borrow::Cow::into_owned)
    }

    /// [`Facts::shown`] without copying the value unless it is masked.
    pub fn shown_ref(&self, name: &str) -> Option<std::borrow::Cow<'_, Value>> {
        let value = self.values.get(name)?;
        Some(if self.secret.contains(name) {
            std::borrow::Cow::Owned(Value::str("***"))
        } else if let Some(shown) = self.partly_secret.get(name) {
            std::borrow::Cow::Borrowed(shown)
        } else {
            std::borrow::Cow::Borrowed(value)
        })
    }

    /// Every secret value observed, to be masked in every output.
    pub fn secret_values(&self) -> Vec<String> {
        let whole = self.secret.iter().filter_map(|k| self.values.get(k)).map(|v| v.to_string());
        whole.chain(self.hidden.iter().cloned()).collect()
    }
}

/// Sets a `prefix.<pointer>` fact for every such fact an item asks for that the JSON
/// document has (`body_json./status`, `stdout_json./0/ok`).
pub fn json_pointer_facts(facts: &mut Facts, wanted: &BTreeSet<String>, prefix: &str, json: &serde_json::Value) {
    for name in wanted {
        if let Some(pointer) = name.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('.'))
            && let Some(value) = json.pointer(pointer)
        {
            facts.set(name.clone(), Value::from_json(value));
        }
    }
}

/// Why a probe could not observe: the message becomes the item's `error`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeError(pub String);

impl ProbeError {
    pub fn new(message: impl Into<String>) -> Self {
        ProbeError(message.into())
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for ProbeError {
    fn from(e: std::io::Error) -> Self {
        ProbeError(e.to_string())
    }
}

/// What items of one run share: HTTP clients (keep-alive), DNS resolvers, PostgreSQL
/// connection pools, Redis connections.
#[derive(Default)]
pub struct Shared {
    pub http: http::ClientCache,
    pub dns: dns_lookup::ResolverCache,
    pub redis: redis_conn::ConnectionCache,
    pub postgres: postgres_pool::PoolCache,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// Ends what the run kept open (idle database connections), politely.
    pub async fn close(&self) {
        self.postgres.close().await;
    }
}

/// What a panicking probe said (its `panic!` message), for the item's `error` reason.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs blocking work (file system, process tables) off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProbeError> + Send + 'static,
) -> Result<T, ProbeError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ProbeError::new(format!("probe task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map reads its own values first, then the shared defaults, and lists both in name
    /// order, each name once.
    #[test]
    fn params_read_through_to_shared_defaults() {
        static DEFAULTS: [(&str, Value); 2] = [("a", Value::Int(1)), ("c", Value::Int(3))];
        let mut map = ParamMap::with_defaults(&DEFAULTS);
        assert_eq!(map.get("c"), Some(&Value::Int(3)));
        map.insert("b", Value::Bool(true));
        assert_eq!(map.insert("c", Value::Int(4)), None, "a default is not replaced, it is hidden");
        map.insert(String::from("d"), Value::Null);
        let listed: Vec<(&str, &Value)> = map.iter().collect();
        assert_eq!(
            listed,
            [("a", &Value::Int(1)), ("b", &Value::Bool(true)), ("c", &Value::Int(4)), ("d", &Value::Null)]
        );
        assert_eq!(map.len(), 4);
        assert_eq!(DEFAULTS[1].1, Value::Int(3), "the shared table is untouched");
        assert!(ParamMap::default().is_empty() && !map.is_empty());
        // The same entries with the names as held: declared ones borrowed, not copied.
        let named: Vec<(Cow<'static, str>, &Value)> = map.iter_named().collect();
        assert_eq!(named.iter().map(|(k, v)| (k.as_ref(), *v)).collect::<Vec<_>>(), listed);
        assert!(matches!(named[0].0, Cow::Borrowed(_)), "a default's name is the probe's own");
        assert!(matches!(named[3].0, Cow::Owned(_)), "a name given as a String stays one");
    }
}

//! Reading an Ansible inventory (a static INI or YAML file) into the hosts golive can reach:
//! each host's inventory name, address, port, user and groups, with variables merged the way
//! Ansible merges them. Only the connection variables matter here; every other variable is
//! accepted and never looked at, so passwords in an inventory are never read into any
//! message. docs/inventory.md is the user's page.

mod ini;
mod pattern;
mod yaml;

use std::collections::{HashMap, VecDeque};
use std::path::Path;

pub use pattern::MAX_HOSTS;

/// One host of the inventory, its variables merged over all its groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryHost {
    /// The inventory host name (Ansible's `inventory_hostname`).
    pub name: String,
    /// `ansible_host` (or the legacy `ansible_ssh_host`); `None`: connect to `name`.
    pub host: Option<String>,
    /// `ansible_port` (or `ansible_ssh_port`, or the `NAME:PORT` shorthand).
    pub port: Option<u16>,
    /// `ansible_user` (or `ansible_ssh_user`).
    pub user: Option<String>,
    /// Every group the host is in, directly or through `children`, sorted; never `all`
    /// or `ungrouped`.
    pub groups: Vec<String>,
    /// The line the host is first declared on (1-based).
    pub line: usize,
}

/// Why an inventory cannot be read: what is wrong, how to fix it, and where (line and
/// column, 1-based, when one place is to blame). The message never quotes a variable's
/// value other than a host, port or user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InventoryError {
    pub kind: ErrorKind,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// The kinds of problem, for callers and tests that tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read, or is not UTF-8 text.
    Read,
    /// Not valid YAML, or an INI line that is neither a section, a host, a group nor a variable.
    Syntax,
    /// A host pattern golive cannot expand: brackets, ranges, `NAME:PORT`.
    HostPattern,
    /// A connection variable with an unusable value.
    Variable,
    /// A connection variable that is a Jinja template.
    Template,
    /// A group used before, or without, being declared where Ansible requires it.
    UndefinedGroup,
    /// Groups that are children of each other.
    Cycle,
    /// YAML whose shape is not an inventory's.
    Structure,
    /// A dynamic inventory (a script, a plugin's configuration, `ansible-inventory --list` JSON).
    NotStatic,
    /// An inventory with no hosts.
    NoHosts,
}

impl InventoryError {
    pub(crate) fn new(kind: ErrorKind, line: Option<usize>, column: Option<usize>, message: impl Into<String>) -> Self {
        InventoryError { kind, line, column, message: message.into() }
    }

    pub(crate) fn at(kind: ErrorKind, line: usize, column: usize, message: impl Into<String>) -> Self {
        InventoryError::new(kind, Some(line), Some(column), message)
    }

    /// `FILE:LINE:COLUMN: message`, with as much of the place as is known.
    pub fn located(&self, path: &Path) -> String {
        match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}: {}", path.display(), self.message),
            (Some(line), None) => format!("{}:{line}: {}", path.display(), self.message),
            _ => format!("{}: {}", path.display(), self.message),
        }
    }
}

const DYNAMIC_HINT: &str = "golive reads static inventories only: write one with \
     `ansible-inventory -i SOURCE --list --yaml --output inventory.yml` and give golive that file";

/// Reads an inventory file, INI or YAML: `.yml`, `.yaml` and `.json` are YAML, `.ini` is
/// INI, and any other name is told by its first line that is not a comment (YAML starts
/// with `---`, `{` or a `KEY:`; INI with a `[section]` or a host).
pub fn load(path: &Path) -> Result<Vec<InventoryHost>, InventoryError> {
    let bytes = crate::fsread::read_bounded(path)
        .map_err(|e| InventoryError::new(ErrorKind::Read, None, None, format!("cannot read the inventory: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        InventoryError::new(ErrorKind::Read, Some(line), None, "the inventory is not UTF-8 text")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if text.starts_with("#!") || matches!(ext.as_str(), "py" | "sh" | "pl" | "rb") {
        return Err(InventoryError::new(
            ErrorKind::NotStatic,
            Some(1),
            None,
            format!("this is an inventory script, which golive does not run; {DYNAMIC_HINT}"),
        ));
    }
    match ext.as_str() {
        "yml" | "yaml" | "json" => parse_yaml(text),
        "ini" => parse_ini(text),
        "toml" => Err(InventoryError::new(
            ErrorKind::NotStatic,
            None,
            None,
            format!("golive does not read TOML inventories; {DYNAMIC_HINT}"),
        )),
        _ if looks_like_yaml(text) => parse_yaml(text),
        _ => parse_ini(text),
    }
}

/// Whether the first line that is not blank or a comment starts a YAML document.
fn looks_like_yaml(text: &str) -> bool {
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with(['#', ';'])) else {
        return false;
    };
    if first.starts_with('[') {
        return false;
    }
    let first = first.split(" #").next().unwrap_or(first).trim_end();
    first.starts_with("---")
        || first.starts_with('%')
        || first.starts_with('{')
        || first.ends_with(':')
        || first.contains(": ")
}

/// Reads an INI inventory.
pub fn parse_ini(text: &str) -> Result<Vec<InventoryHost>, InventoryError> {
    let mut inventory = Inventory::new();
    ini::parse(text, &mut inventory)?;
    inventory.resolve()
}

/// Reads a YAML inventory (also the output of `ansible-inventory --list --yaml`, with or
/// without `--export`).
pub fn parse_yaml(text: &str) -> Result<Vec<InventoryHost>, InventoryError> {
    let mut inventory = Inventory::new();
    yaml::parse(text, &mut inventory)?;
    inventory.resolve()
}

// ── The model both readers fill ──────────────────────────────────────────────────────

/// A variable's value as a reader found it; only the connection variables are ever made
/// into one.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Raw {
    /// `null`/`~` in YAML, `None` in INI: unset, also over a value of a lower level.
    Null,
    Text(String),
    Int(i64),
    /// Any other type, named for the message (`a list`, `true or false`).
    Other(&'static str),
}

/// The connection variables of one host or group. `Some(None)` is a variable set to null,
/// which unsets a value of a lower level (as in Ansible).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Vars {
    host: Option<Option<String>>,
    ssh_host: Option<Option<String>>,
    port: Option<Option<u16>>,
    ssh_port: Option<Option<u16>>,
    user: Option<Option<String>>,
    ssh_user: Option<Option<String>>,
    /// `ansible_group_priority`: orders groups of the same depth (default 1).
    priority: Option<i64>,
}

impl Vars {
    /// Sets `key` if it is a connection variable (and checks its value); any other variable
    /// is ignored without looking at its value. `value` is only called for the former.
    pub(crate) fn set(
        &mut self,
        key: &str,
        value: impl FnOnce() -> Raw,
        line: usize,
        column: usize,
    ) -> Result<(), InventoryError> {
        let bad = |message: String| InventoryError::at(ErrorKind::Variable, line, column, message);
        let text = |raw: Raw| -> Result<Option<String>, InventoryError> {
            let text = match raw {
                Raw::Null => return Ok(None),
                Raw::Text(t) => t,
                Raw::Int(i) => i.to_string(),
                Raw::Other(what) => return Err(bad(format!("{key} must be a string, not {what}"))),
            };
            if pattern::is_template(&text) {
                return Err(InventoryError::at(
                    ErrorKind::Template,
                    line,
                    column,
                    format!(
                        "{key} is a Jinja template, and golive does not render Jinja: write the value itself \
                         (`ansible-inventory` does not render it either)"
                    ),
                ));
            }
            if text.is_empty() {
                return Err(bad(format!("{key} is empty: give a value, or leave the variable out")));
            }
            if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(format!(
                    "{key} `{}` contains a space: in a `[GROUP:vars]` section everything after `=` is the value, \
                     a `#` comment included, so put comments on their own line",
                    text.escape_debug()
                )));
            }
            Ok(Some(text))
        };
        let port = |raw: Raw| -> Result<Option<u16>, InventoryError> {
            let text = match raw {
                Raw::Null => return Ok(None),
                Raw::Int(i) => i.to_string(),
                Raw::Text(t) if pattern::is_template(&t) => {
                    return Err(InventoryError::at(
                        ErrorKind::Template,
                        line,
                        column,
                        format!("{key} is a Jinja template, and golive does not render Jinja: write the port number"),
                    ));
                }
                Raw::Text(t) => t,
                Raw::Other(what) => return Err(bad(format!("{key} must be a port number in 1..65535, not {what}"))),
            };
            // Ansible converts with Python's int(), which allows spaces around the digits.
            match pattern::parse_port(text.trim()) {
                Some(p) => Ok(Some(p)),
                None => Err(bad(format!("{key} `{}` is not a port number in 1..65535", text.escape_debug()))),
            }
        };
        match key {
            "ansible_host" => self.host = Some(text(value())?),
            "ansible_ssh_host" => self.ssh_host = Some(text(value())?),
            "ansible_user" => self.user = Some(text(value())?),
            "ansible_ssh_user" => self.ssh_user = Some(text(value())?),
            "ansible_port" => self.port = Some(port(value())?),
            "ansible_ssh_port" => self.ssh_port = Some(port(value())?),
            "ansible_group_priority" => {
                let priority = match value() {
                    Raw::Int(i) => Some(i),
                    Raw::Text(t) => t.trim().parse::<i64>().ok(),
                    _ => None,
                };
                self.priority = Some(priority.ok_or_else(|| bad(format!("{key} must be a whole number")))?);
            }
            _ => {}
        }
        Ok(())
    }

    /// `over`'s variables on top of these.
    fn merge(&mut self, over: &Vars) {
        fn put<T: Clone>(under: &mut Option<T>, over: &Option<T>) {
            if over.is_some() {
                under.clone_from(over);
            }
        }
        put(&mut self.host, &over.host);
        put(&mut self.ssh_host, &over.ssh_host);
        put(&mut self.port, &over.port);
        put(&mut self.ssh_port, &over.ssh_port);
        put(&mut self.user, &over.user);
        put(&mut self.ssh_user, &over.ssh_user);
        put(&mut self.priority, &over.priority);
    }
}

/// Where in the file a group was named, for errors about it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Place {
    pub line: usize,
    pub column: usize,
}

struct Group {
    name: String,
    vars: Vars,
    parents: Vec<usize>,
    children: Vec<usize>,
}

struct Host {
    name: String,
    line: usize,
    vars: Vars,
    groups: Vec<usize>,
}

/// Groups and hosts as the readers declare them; `resolve` merges them into hosts.
pub(crate) struct Inventory {
    groups: Vec<Group>,
    group_ids: HashMap<String, usize>,
    hosts: Vec<Host>,
    host_ids: HashMap<String, usize>,
    /// How many more hosts range expansion may make.
    pub(crate) budget: usize,
}

pub(crate) const ALL: usize = 0;
const UNGROUPED: usize = 1;

impl Inventory {
    fn new() -> Self {
        let mut inventory = Inventory {
            groups: Vec::new(),
            group_ids: HashMap::new(),
            hosts: Vec::new(),
            host_ids: HashMap::new(),
            budget: MAX_HOSTS,
        };
        inventory.group("all");
        inventory.group("ungrouped");
        inventory
    }

    /// The group of this name, made empty the first time.
    pub(crate) fn group(&mut self, name: &str) -> usize {
        if let Some(&id) = self.group_ids.get(name) {
            return id;
        }
        let id = self.groups.len();
        self.groups.push(Group {
            name: name.to_string(),
            vars: Vars::default(),
            parents: Vec::new(),
            children: Vec::new(),
        });
        self.group_ids.insert(name.to_string(), id);
        id
    }

    pub(crate) fn group_vars(&mut self, group: usize) -> &mut Vars {
        &mut self.groups[group].vars
    }

    pub(crate) fn group_name(&self, group: usize) -> &str {
        &self.groups[group].name
    }

    /// Makes `child` a child of `parent`, refusing an edge that closes a cycle.
    pub(crate) fn add_child(&mut self, parent: usize, child: usize, at: Place) -> Result<(), InventoryError> {
        let cycle = |message: String| InventoryError::at(ErrorKind::Cycle, at.line, at.column, message);
        if child == ALL {
            return Err(cycle(format!(
                "`all` cannot be a child of `{}`: every group is already inside `all`",
                self.groups[parent].name
            )));
        }
        if parent == child {
            return Err(cycle(format!("group `{}` cannot be a child of itself", self.groups[parent].name)));
        }
        if self.groups[parent].children.contains(&child) {
            return Ok(());
        }
        if let Some(path) = self.path_down(child, parent) {
            let mut names: Vec<&str> =
                std::iter::once(parent).chain(path).map(|g| self.groups[g].name.as_str()).collect();
            names.dedup();
            return Err(cycle(format!(
                "the children of groups form a cycle: {}; a group cannot be inside one of its own children",
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" → ")
            )));
        }
        self.groups[parent].children.push(child);
        self.groups[child].parents.push(parent);
        Ok(())
    }

    /// The groups from `from` down to `to` through children, both included, if there is a way.
    fn path_down(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        let mut came_from: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        came_from.insert(from, from);
        while let Some(g) = queue.pop_front() {
            if g == to {
                let mut path = vec![g];
                let mut at = g;
                while at != from {
                    at = came_from[&at];
                    path.push(at);
                }
                path.reverse();
                return Some(path);
            }
            for &c in &self.groups[g].children {
                if let std::collections::hash_map::Entry::Vacant(e) = came_from.entry(c) {
                    e.insert(g);
                    queue.push_back(c);
                }
            }
        }
        None
    }

    /// Declares a host in `group` with its own variables, merged over what an earlier
    /// declaration of the same host set. The `NAME:PORT` shorthand's port counts only where
    /// the host is first declared, as in Ansible (a later one is ignored; `ansible_port` is not).
    pub(crate) fn add_host(&mut self, name: &str, group: usize, line: usize, port: Option<u16>, vars: &Vars) {
        let id = match self.host_ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.hosts.len();
                let mut own = Vars::default();
                if let Some(port) = port {
                    own.port = Some(Some(port));
                }
                self.hosts.push(Host { name: name.to_string(), line, vars: own, groups: Vec::new() });
                self.host_ids.insert(name.to_string(), id);
                id
            }
        };
        let host = &mut self.hosts[id];
        host.vars.merge(vars);
        if !host.groups.contains(&group) {
            host.groups.push(group);
        }
    }

    /// Each group's depth: 0 for `all`, else one more than its deepest parent (a group with
    /// no parent is a child of `all`). The graph has no cycle (`add_child` refuses them).
    fn depths(&self) -> Vec<usize> {
        let mut depth = vec![0usize; self.groups.len()];
        let mut waiting: Vec<usize> = self.groups.iter().map(|g| g.parents.len()).collect();
        let mut queue: VecDeque<usize> = (0..self.groups.len()).filter(|&g| waiting[g] == 0).collect();
        while let Some(g) = queue.pop_front() {
            if g != ALL && self.groups[g].parents.is_empty() {
                depth[g] = 1;
            }
            for &c in &self.groups[g].children {
                depth[c] = depth[c].max(depth[g] + 1);
                waiting[c] -= 1;
                if waiting[c] == 0 {
                    queue.push_back(c);
                }
            }
        }
        depth
    }

    /// Every host once, in the order first declared, its variables merged as Ansible merges
    /// them: groups by depth (then `ansible_group_priority`, then name), `all` first, each
    /// over the ones before, and the host's own variables over them all.
    fn resolve(self) -> Result<Vec<InventoryHost>, InventoryError> {
        if self.hosts.is_empty() {
            return Err(InventoryError::new(
                ErrorKind::NoHosts,
                None,
                None,
                "the inventory has no hosts: declare hosts under a group (`[web]` then one host per line in INI, \
                 `hosts:` in YAML)",
            ));
        }
        let depth = self.depths();
        let mut result = Vec::with_capacity(self.hosts.len());
        for host in &self.hosts {
            let mut member = vec![false; self.groups.len()];
            member[ALL] = true;
            let mut queue = VecDeque::new();
            for &g in &host.groups {
                if !std::mem::replace(&mut member[g], true) {
                    queue.push_back(g);
                }
            }
            while let Some(g) = queue.pop_front() {
                for &p in &self.groups[g].parents {
                    if !std::mem::replace(&mut member[p], true) {
                        queue.push_back(p);
                    }
                }
            }
            let mut chain: Vec<usize> = (0..self.groups.len()).filter(|&g| member[g]).collect();
            chain.sort_by(|&a, &b| {
                let priority = |g: usize| self.groups[g].vars.priority.unwrap_or(1);
                (depth[a], priority(a), &self.groups[a].name).cmp(&(depth[b], priority(b), &self.groups[b].name))
            });
            let mut vars = Vars::default();
            for &g in &chain {
                vars.merge(&self.groups[g].vars);
            }
            vars.merge(&host.vars);
            let mut groups: Vec<String> =
                chain.iter().filter(|&&g| g != ALL && g != UNGROUPED).map(|&g| self.groups[g].name.clone()).collect();
            groups.sort();
            // Ansible's ssh connection reads `ansible_X` then `ansible_ssh_X`: the last one set wins.
            result.push(InventoryHost {
                name: host.name.clone(),
                host: vars.ssh_host.flatten().or(vars.host.flatten()),
                port: vars.ssh_port.flatten().or(vars.port.flatten()),
                user: vars.ssh_user.flatten().or(vars.user.flatten()),
                groups,
                line: host.line,
            });
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests;

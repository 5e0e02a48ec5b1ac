//! The options that give a run its machines (`--target`, `--inventory`) and say how to
//! reach them (`--ssh-config`, `--ssh-helper`, `--ssh-timeout`, `--ssh-connecting`), shared by
//! `run`, `validate` and `list`; and the hidden `__agent` command golive runs as on a target.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::checklist::Target;
use crate::fleet::{Fleet, SshOptions};

#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// Add a target: NAME=[USER@]HOST[:PORT] or NAME=ALIAS of your OpenSSH config (repeatable).
    #[arg(long = "target", value_name = "NAME=SSH", value_parser = parse_target)]
    pub targets: Vec<Target>,
    /// Add every host of an Ansible inventory (INI or YAML) as a target, with its groups (repeatable).
    #[arg(long = "inventory", value_name = "FILE")]
    pub inventories: Vec<PathBuf>,
}

/// How `run` reaches its targets.
#[derive(Args, Debug, Clone)]
pub struct SshArgs {
    /// The OpenSSH client config to read instead of ~/.ssh/config.
    #[arg(long, value_name = "FILE", env = "GOLIVE_SSH_CONFIG")]
    pub ssh_config: Option<PathBuf>,
    /// The golive binary to copy to targets (default: this one; give one built for the targets' system).
    #[arg(long, value_name = "FILE", env = "GOLIVE_SSH_HELPER")]
    pub ssh_helper: Option<PathBuf>,
    /// Bound on connecting to one target: connect, authenticate, copy golive, start it.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, env = "GOLIVE_SSH_TIMEOUT")]
    pub ssh_timeout: Duration,
    /// Targets connecting at the same time.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256), env = "GOLIVE_SSH_CONNECTING")]
    pub ssh_connecting: u32,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::value::parse_duration(s)
}

/// `--target NAME=SSH`.
fn parse_target(s: &str) -> Result<Target, String> {
    let (name, ssh) = s.split_once('=').ok_or_else(|| format!("`{s}` is not NAME=SSH, e.g. web-1=deploy@10.0.0.11"))?;
    let name = name.trim();
    if let Some(problem) = crate::checklist::target_name_problem(name) {
        return Err(problem);
    }
    let (user, host, port) = Target::parse_ssh(ssh)?;
    Ok(Target {
        name: name.to_string(),
        ssh: ssh.trim().to_string(),
        host,
        user,
        port,
        groups: Vec::new(),
        password: None,
        passphrase: None,
        source: "--target".into(),
    })
}

impl TargetArgs {
    /// The command line's targets: `--target`, then each inventory's hosts. An inventory that
    /// cannot be read is an error (`file:line:col: …`).
    pub fn targets(&self) -> Result<Vec<Target>, String> {
        let mut out = self.targets.clone();
        for path in &self.inventories {
            let hosts = crate::fleet::inventory::load(path).map_err(|e| e.located(path))?;
            for h in hosts {
                if let Some(problem) = crate::checklist::target_name_problem(&h.name) {
                    return Err(format!("{}:{}: host `{}`: {problem}", path.display(), h.line, h.name));
                }
                let host = h.host.clone().unwrap_or_else(|| h.name.clone());
                // An IPv6 address is written in brackets, as `ssh` strings take it.
                let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host };
                let written = match (&h.user, h.port) {
                    (Some(u), Some(p)) => format!("{u}@{host}:{p}"),
                    (Some(u), None) => format!("{u}@{host}"),
                    (None, Some(p)) => format!("{host}:{p}"),
                    (None, None) => host.clone(),
                };
                // The same checks as a `[[target]]`'s `ssh`: the host goes on ssh's command line.
                let (user, host, port) =
                    Target::parse_ssh(&written).map_err(|e| format!("{}:{}: {e}", path.display(), h.line))?;
                out.push(Target {
                    name: h.name.clone(),
                    ssh: written,
                    host,
                    user,
                    port,
                    groups: h.groups.clone(),
                    password: None,
                    passphrase: None,
                    source: format!("inventory {}:{}", path.display(), h.line),
                });
            }
        }
        Ok(out)
    }
}

impl SshArgs {
    /// The run's connections, when it has targets.
    pub fn fleet(&self, checklist: &crate::checklist::Checklist) -> std::io::Result<Option<Arc<Fleet>>> {
        let targets = &checklist.targets;
        if targets.is_empty() {
            return Ok(None);
        }
        let mut reach: std::collections::HashMap<String, Duration> = std::collections::HashMap::new();
        for item in &checklist.items {
            if let Some(t) = &item.target {
                let longest = reach.entry(t.clone()).or_default();
                *longest = (*longest).max(item.timeout);
            }
        }
        let opts = SshOptions {
            config: self.ssh_config.clone(),
            setup_timeout: self.ssh_timeout,
            helper: self.ssh_helper.clone(),
            program: std::env::var_os("GOLIVE_SSH").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("ssh")),
        };
        Fleet::new(targets.to_vec(), opts, self.ssh_connecting as usize, reach).map(Some)
    }
}

/// `golive __agent`: what golive runs as on a target (started by golive over SSH, never by
/// a person).
#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The temporary directory golive was copied to: removed before anything is read.
    #[arg(long)]
    remove: Option<PathBuf>,
}

pub fn agent(args: AgentArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("golive-worker").build() {
        Ok(rt) => rt,
        Err(_) => return super::exit::INTERNAL,
    };
    runtime.block_on(crate::fleet::agent::serve(args.remove))
}

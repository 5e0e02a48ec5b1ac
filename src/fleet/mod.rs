//! Fleets: items that run on other machines. A run's targets (`[[target]]`, `--target`,
//! `--inventory`) are reached over SSH ([`ssh`]); on each, golive's own binary answers as
//! a helper ([`agent`]), so a probe observing a target is the same code as a probe
//! observing this machine, and its facts are the same facts ([`wire`]). One connection per
//! target, opened when its first item needs it and shared by all its items; a target that
//! cannot be reached fails its own items, and the others go on. docs/fleets.md explains it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::checklist::Target;

pub mod agent;
pub mod inventory;
pub mod ssh;
pub mod wire;

pub use ssh::SshOptions;

type Connecting = Shared<BoxFuture<'static, Result<Arc<ssh::Link>, String>>>;

/// The targets of one run and their connections.
pub struct Fleet {
    targets: Vec<Target>,
    opts: SshOptions,
    /// The control masters' sockets: a private directory, removed with the fleet.
    sockets: tempfile::TempDir,
    links: Mutex<HashMap<String, Connecting>>,
    /// At most this many targets connect (authenticate, receive the helper) at once.
    connecting: Arc<Semaphore>,
    /// Per target, the longest timeout of its items: the bound on reaching it.
    reach: HashMap<String, std::time::Duration>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet").field("targets", &self.targets.iter().map(|t| &t.name).collect::<Vec<_>>()).finish()
    }
}

/// A target as a report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetReport {
    pub name: String,
    pub ssh: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// `connected`, `failed`, or `unused` (no item of the run needed it).
    pub state: String,
    /// The target's own host name, as its helper reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Why it could not be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub source: String,
}

impl Fleet {
    /// `max_connecting`: how many targets may be connecting at once; `reach`: per target, the
    /// longest timeout of its items (an unreachable target fails them within it).
    pub fn new(
        targets: Vec<Target>,
        opts: SshOptions,
        max_connecting: usize,
        reach: HashMap<String, std::time::Duration>,
    ) -> std::io::Result<Arc<Fleet>> {
        let sockets = tempfile::Builder::new().prefix("golive-ssh-").tempdir()?;
        Ok(Arc::new(Fleet {
            targets,
            opts,
            sockets,
            links: Mutex::new(HashMap::new()),
            connecting: Arc::new(Semaphore::new(max_connecting.max(1))),
            reach,
        }))
    }

    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The target's connection, opened by the first caller and shared by every later one:
    /// an error (unreachable, unknown host key) is the same error for all its items.
    /// Within a round of the run the outcome is kept, so a target's items share one attempt;
    /// [`Fleet::forget_failed`] starts the next round afresh.
    pub async fn link(&self, name: &str) -> Result<Arc<ssh::Link>, String> {
        let connecting = {
            let mut links = self.links.lock().unwrap();
            match links.get(name) {
                Some(c) => c.clone(),
                None => {
                    let Some((n, target)) = self.targets.iter().enumerate().find(|(_, t)| t.name == name) else {
                        return Err(format!("no target `{name}` in this run"));
                    };
                    let (target, opts, dir, gate) =
                        (target.clone(), self.opts.clone(), self.sockets.path().to_path_buf(), self.connecting.clone());
                    let reach = self.reach.get(name).copied().unwrap_or(opts.setup_timeout);
                    // Its own task: an item that stops waiting does not stop the connection
                    // the target's other items wait for.
                    let task = tokio::spawn(async move {
                        let _slot = gate.acquire_owned().await.map_err(|e| e.to_string())?;
                        ssh::connect(&target, &opts, &dir, n, reach).await.map(Arc::new)
                    });
                    let c: Connecting = async move {
                        match task.await {
                            Ok(r) => r,
                            Err(e) => Err(format!("connecting failed: {e}")),
                        }
                    }
                    .boxed()
                    .shared();
                    links.insert(name.to_string(), c.clone());
                    c
                }
            }
        };
        connecting.await
    }

    /// Forgets the targets that could not be reached and those whose helper has ended (the
    /// machine rebooted, the connection broke), so the next round of the run (`--until-pass`)
    /// connects to them again.
    pub fn forget_failed(&self) {
        self.links.lock().unwrap().retain(|_, c| match c.peek() {
            Some(Err(_)) => false,
            Some(Ok(link)) => link.alive(),
            None => true,
        });
    }

    /// Starts connecting to these targets at once (within `--ssh-connecting`), so that no
    /// target waits for the first of its items to be reached.
    pub fn connect_all<'a>(self: &Arc<Self>, names: impl IntoIterator<Item = &'a str>) {
        let mut started = std::collections::HashSet::new();
        for name in names.into_iter().filter(|n| started.insert(*n)) {
            let (fleet, name) = (self.clone(), name.to_string());
            tokio::spawn(async move {
                let _ = fleet.link(&name).await;
            });
        }
    }

    /// Each target's state for the report, in the run's target order.
    pub fn report(&self) -> Vec<TargetReport> {
        let links = self.links.lock().unwrap();
        self.targets
            .iter()
            .map(|t| {
                let (state, hostname, error) = match links.get(&t.name).and_then(|c| c.peek().cloned()) {
                    Some(Ok(link)) => ("connected", Some(link.remote.hostname.clone()), None),
                    Some(Err(e)) => ("failed", None, Some(e)),
                    None if links.contains_key(&t.name) => {
                        ("failed", None, Some("still connecting when the run ended".into()))
                    }
                    None => ("unused", None, None),
                };
                TargetReport {
                    name: t.name.clone(),
                    ssh: t.ssh.clone(),
                    groups: t.groups.clone(),
                    state: state.to_string(),
                    hostname,
                    error,
                    source: t.source.clone(),
                }
            })
            .collect()
    }

    /// Ends every helper and connection.
    pub async fn close(&self) {
        let links: Vec<Connecting> = self.links.lock().unwrap().values().cloned().collect();
        let closing =
            links.into_iter().filter_map(|c| c.peek().cloned()).filter_map(Result::ok).map(|link| async move {
                link.close().await;
            });
        futures::future::join_all(closing).await;
    }
}

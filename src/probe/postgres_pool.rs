//! Connections for the `postgres` probe: one small pool per distinct set of connection
//! settings, shared by every item of a run, so fifty items against one database open a few
//! server connections, not fifty.
//!
//! sqlx has a pool, but it retries refused connections until its acquire timeout and then
//! reports only "pool timed out"; a checklist must say *why* it could not connect (refused,
//! wrong password, no such database, no answer). This pool is small on purpose: a semaphore
//! bounds the connections per settings, idle connections wait in a stack, and a connection
//! goes back to the stack only after its read-only transaction was rolled back cleanly.
//!
//! A pool also remembers for a moment what the connecting role could write with
//! ([`Pool::write_capabilities`]): every connection of a pool logs in with the same settings,
//! so as the same role, and that catalogue query costs the server 1–4 ms, more than the
//! item's own `SELECT`. Only for a moment ([`WRITE_CAPABILITIES_KEPT`]): a pool can outlive
//! a run (a fleet's helper on a target serves every round of `--until-pass`), and a role
//! fixed between rounds must be seen as fixed.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ProbeError;
use crate::value::format_duration;

/// At most this many server connections per distinct connection settings in one run.
pub const MAX_CONNECTIONS_PER_POOL: usize = 4;

/// How long the answer of [`Pool::write_capabilities`] is reused: long enough for the items
/// of a run that start together, far shorter than any pause between two rounds.
pub const WRITE_CAPABILITIES_KEPT: Duration = Duration::from_secs(1);

/// Identifies connection settings: the raw parameters that decide where and as whom to
/// connect. Never printed (it holds the password).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PoolKey(pub Vec<Option<String>>);

/// Every pool of a run, by connection settings.
#[derive(Default)]
pub struct PoolCache {
    pools: Mutex<HashMap<PoolKey, Arc<Pool>>>,
}

impl PoolCache {
    /// The pool for these settings if the run has made one: the items after the first reuse
    /// it without reading their connection settings again.
    pub fn existing(&self, key: &PoolKey) -> Option<Arc<Pool>> {
        self.pools.lock().unwrap().get(key).cloned()
    }

    /// The pool for these settings, created on first use.
    pub fn pool(&self, key: PoolKey, options: impl FnOnce() -> PgConnectOptions, target: String) -> Arc<Pool> {
        let mut pools = self.pools.lock().unwrap();
        pools
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Pool {
                    options: options(),
                    target,
                    idle: Mutex::new(Vec::new()),
                    permits: Arc::new(Semaphore::new(MAX_CONNECTIONS_PER_POOL)),
                    opened: AtomicUsize::new(0),
                    write_capabilities: Recent::new(WRITE_CAPABILITIES_KEPT),
                })
            })
            .clone()
    }

    /// Closes every idle connection, all at once; the run calls this when its items are done.
    pub async fn close(&self) {
        let pools: Vec<Arc<Pool>> = self.pools.lock().unwrap().values().cloned().collect();
        futures::future::join_all(pools.iter().map(|pool| pool.close_idle())).await;
    }

    /// Server connections opened so far, over all pools.
    pub fn connections_opened(&self) -> usize {
        self.pools.lock().unwrap().values().map(|p| p.opened.load(Ordering::Relaxed)).sum()
    }
}

pub struct Pool {
    options: PgConnectOptions,
    /// `user@host:port/database`, for messages (no password).
    pub target: String,
    idle: Mutex<Vec<PgConnection>>,
    permits: Arc<Semaphore>,
    opened: AtomicUsize,
    /// What lets the connecting role write around a read-only transaction, as (kind, name)
    /// rows, found by an item that runs a `query` and reused by the items after it for
    /// [`WRITE_CAPABILITIES_KEPT`]. A failed look-up is not remembered: the next item asks.
    pub write_capabilities: Recent<Vec<(String, String)>>,
}

/// An answer reused for a while by whoever needs it, then looked up again. While one caller
/// looks it up, the others wait for its answer instead of asking too.
pub struct Recent<T> {
    kept: Duration,
    answer: tokio::sync::Mutex<Option<(tokio::time::Instant, Arc<T>)>>,
}

impl<T> Recent<T> {
    pub fn new(kept: Duration) -> Self {
        Recent { kept, answer: tokio::sync::Mutex::new(None) }
    }

    /// The answer looked up less than `kept` ago, else `look_up`'s, which is then kept.
    pub async fn get_or_look_up<E, F: Future<Output = Result<T, E>>>(
        &self,
        look_up: impl FnOnce() -> F,
    ) -> Result<Arc<T>, E> {
        let mut answer = self.answer.lock().await;
        if let Some((at, found)) = &*answer
            && at.elapsed() < self.kept
        {
            return Ok(found.clone());
        }
        let found = Arc::new(look_up().await?);
        *answer = Some((tokio::time::Instant::now(), found.clone()));
        Ok(found)
    }
}

/// A connection lent to one item. Dropped without [`Lease::release`] (an error mid-way, a
/// timeout that cancelled the item), the connection is closed instead of reused.
pub struct Lease {
    conn: Option<PgConnection>,
    /// Taken from the idle stack rather than opened for this item.
    pub reused: bool,
    pool: Arc<Pool>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// The pool the connection came from, and goes back to.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("a lease holds its connection until released")
    }

    /// Returns the connection for the next item. Only call this when the connection is
    /// outside any transaction.
    pub fn release(mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle.lock().unwrap().push(conn);
        }
    }

    /// Swaps a stale reused connection for a newly opened one.
    pub async fn reconnect(&mut self, budget: Duration) -> Result<(), ProbeError> {
        self.conn = None;
        self.conn = Some(self.pool.open(budget).await?);
        self.reused = false;
        Ok(())
    }
}

impl Pool {
    /// A connection within `budget`: waits for a free slot, then reuses an idle connection
    /// or opens a new one.
    pub async fn acquire(self: &Arc<Self>, budget: Duration) -> Result<Lease, ProbeError> {
        let started = tokio::time::Instant::now();
        let permit = tokio::time::timeout(budget, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                ProbeError::new(format!(
                    "no free connection to {} within {}: the run's other items held all {MAX_CONNECTIONS_PER_POOL}",
                    self.target,
                    format_duration(budget)
                ))
            })?
            .expect("the pool's semaphore is never closed");
        let idle = self.idle.lock().unwrap().pop();
        let (conn, reused) = match idle {
            Some(conn) => (conn, true),
            None => (self.open(budget.saturating_sub(started.elapsed())).await?, false),
        };
        Ok(Lease { conn: Some(conn), reused, pool: self.clone(), _permit: permit })
    }

    async fn open(&self, budget: Duration) -> Result<PgConnection, ProbeError> {
        let conn = tokio::time::timeout(budget, self.options.connect())
            .await
            .map_err(|_| {
                ProbeError::new(format!(
                    "no answer from {} within {} while connecting",
                    self.target,
                    format_duration(budget)
                ))
            })?
            .map_err(|e| ProbeError::new(connect_error(&self.target, &e)))?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(conn)
    }

    /// Closes idle connections politely (the server sees a Terminate message), all at once.
    pub async fn close_idle(&self) {
        let idle: Vec<PgConnection> = std::mem::take(&mut *self.idle.lock().unwrap());
        futures::future::join_all(idle.into_iter().map(|conn| async move {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
        }))
        .await;
    }
}

/// Why a connection could not be opened, in words, without any secret: PostgreSQL never
/// echoes a password, and the target names no password.
pub fn connect_error(target: &str, e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let what = match code.as_str() {
                "28P01" | "28000" => "cannot log in to",
                "3D000" => "no such database on",
                "53300" => "too many connections on",
                "57P03" => "server not accepting connections at",
                _ => "cannot connect to",
            };
            format!("{what} {target}: {} (SQLSTATE {code})", db.message())
        }
        sqlx::Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            format!("TLS with {target} failed: {io}")
        }
        sqlx::Error::Io(io) => format!("cannot connect to {target}: {io}"),
        sqlx::Error::Tls(tls) => format!("TLS with {target} failed: {tls}"),
        sqlx::Error::Configuration(c) => format!("invalid connection settings for {target}: {c}"),
        other => format!("cannot connect to {target}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    async fn counted(calls: &AtomicUsize, answer: Result<u32, &'static str>) -> Result<u32, &'static str> {
        calls.fetch_add(1, Ordering::Relaxed);
        answer
    }

    #[tokio::test]
    async fn a_recent_answer_is_reused_and_an_old_one_looked_up_again() {
        let calls = AtomicUsize::new(0);
        let kept = Recent::new(Duration::from_secs(3600));
        assert_eq!(*kept.get_or_look_up(|| counted(&calls, Ok(1))).await.unwrap(), 1);
        assert_eq!(*kept.get_or_look_up(|| counted(&calls, Ok(2))).await.unwrap(), 1);
        assert_eq!(calls.load(Ordering::Relaxed), 1);

        let expired = Recent::new(Duration::ZERO);
        assert_eq!(*expired.get_or_look_up(|| counted(&calls, Ok(1))).await.unwrap(), 1);
        assert_eq!(*expired.get_or_look_up(|| counted(&calls, Ok(2))).await.unwrap(), 2);
        assert_eq!(calls.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_failed_look_up_is_not_kept() {
        let calls = AtomicUsize::new(0);
        let kept = Recent::new(Duration::from_secs(3600));
        assert_eq!(kept.get_or_look_up(|| counted(&calls, Err("timed out"))).await.unwrap_err(), "timed out");
        assert_eq!(*kept.get_or_look_up(|| counted(&calls, Ok(7))).await.unwrap(), 7);
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn callers_at_once_share_one_look_up() {
        let calls = AtomicUsize::new(0);
        let kept = Recent::new(Duration::from_secs(3600));
        let slow = || async {
            calls.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, ()>(5)
        };
        let answers = futures::future::join_all((0..8).map(|_| kept.get_or_look_up(slow))).await;
        assert!(answers.iter().all(|a| **a.as_ref().unwrap() == 5));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }
}

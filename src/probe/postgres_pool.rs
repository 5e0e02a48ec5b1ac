//! Connections for the `postgres` probe: one small pool per distinct set of connection
//! settings, shared by every item of a run, so fifty items against one database open a few
//! server connections, not fifty.
//!
//! sqlx has a pool, but it retries refused connections until its acquire timeout and then
//! reports only "pool timed out"; a checklist must say *why* it could not connect (refused,
//! wrong password, no such database, no answer). This pool is small on purpose: it counts the
//! connections per settings, opens them one at a time and only as its items need them
//! ([`Pool`]), idle connections wait in a stack, and a connection goes back to the stack
//! only after its read-only transaction was rolled back cleanly.
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
use tokio::sync::Notify;

use super::ProbeError;
use crate::value::format_duration;

/// At most this many server connections per distinct connection settings in one run.
pub const MAX_CONNECTIONS_PER_POOL: usize = 4;

/// How long a waiting item waits before it looks again whether the pool should open another
/// connection, until a login has been timed (then it waits as long as a login took).
const FIRST_RECHECK: Duration = Duration::from_millis(50);

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
                    state: Mutex::new(State::new()),
                    changed: Notify::new(),
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

/// The connections of one set of settings. It opens only as many as its items need, the
/// first one alone: a login (a server process forked, SCRAM's 4,096 rounds of hashing on
/// both sides) costs more than many quick items, so a second connection is opened only
/// when the items waiting would take longer to get through on the open ones than a login
/// takes ([`State::should_grow`]). Twenty quick items share one connection; two hundred, or
/// items whose queries take a while, get up to [`MAX_CONNECTIONS_PER_POOL`].
pub struct Pool {
    options: PgConnectOptions,
    /// `user@host:port/database`, for messages (no password).
    pub target: String,
    state: Mutex<State>,
    /// Signalled when a connection comes back, a login ends or a connection is given up.
    changed: Notify,
    opened: AtomicUsize,
    /// What lets the connecting role write around a read-only transaction, as (kind, name)
    /// rows, found by an item that runs a `query` and reused by the items after it for
    /// [`WRITE_CAPABILITIES_KEPT`]. A failed look-up is not remembered: the next item asks.
    pub write_capabilities: Recent<Vec<(String, String)>>,
}

/// What a pool knows about its connections and the items waiting for one.
struct State {
    /// Idle connections, each with whether it is still in the read-only transaction of the
    /// item that gave it back ([`Lease::hand_on`]).
    idle: Vec<(PgConnection, bool)>,
    /// Connections open (lent or idle) or being opened.
    live: usize,
    /// Logins under way. The first login of a pool is alone; later ones are started as
    /// [`State::should_grow`] finds them worth it.
    logging_in: usize,
    /// Items waiting for a connection.
    waiting: usize,
    /// A timer will wake one waiting item after [`State::recheck`], to see whether every
    /// connection is held by a slow item; the items wait to be told, not each on a timer.
    timer: bool,
    /// How long the last login took.
    login: Option<Duration>,
    /// The shortest time an item has held a connection it did not open: what a quick item
    /// costs. A connection's first item is left out: the server's process is new and its
    /// catalogue caches cold, and that item may look up the role's write capabilities.
    hold: Option<Duration>,
    /// When a connection was last handed to an item or given back.
    last_handed: tokio::time::Instant,
    /// Logins that failed so far, and the last one's reason: the items that waited for a
    /// login that failed report its reason instead of each trying again at once.
    failures: u64,
    failure: Option<ProbeError>,
}

impl State {
    fn new() -> State {
        State {
            idle: Vec::new(),
            live: 0,
            logging_in: 0,
            waiting: 0,
            timer: false,
            login: None,
            hold: None,
            last_handed: tokio::time::Instant::now(),
            failures: 0,
            failure: None,
        }
    }

    /// Whether an item that finds no idle connection should log in, while the pool has
    /// room: when it has no connection; once a login has been timed, when the waiting items
    /// would take longer to get through the connections (those being opened included) than
    /// a login takes, or when no connection changed hands for as long as a login takes
    /// (every connection is held by a slow item: then one login for each waiting item, up to
    /// the pool's size, since how long those items will hold theirs is not known).
    fn should_grow(&self, now: tokio::time::Instant) -> bool {
        if self.live >= MAX_CONNECTIONS_PER_POOL {
            return false;
        }
        if self.live == 0 {
            return true;
        }
        let Some(login) = self.login else {
            // The first login is under way: its connection comes first.
            return false;
        };
        let stuck = self.logging_in < self.waiting && now.saturating_duration_since(self.last_handed) >= login;
        let queued = self.hold.is_some_and(|hold| hold * self.waiting as u32 / self.live as u32 > login);
        stuck || queued
    }

    /// How long a waiting item waits before it looks again.
    fn recheck(&self) -> Duration {
        self.login.unwrap_or(FIRST_RECHECK)
    }
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
    /// The connection is still in the previous item's read-only transaction: this item's
    /// first statement rolls it back ([`Lease::hand_on`]).
    pub rollback_first: bool,
    pool: Arc<Pool>,
    /// When the item got the connection.
    since: tokio::time::Instant,
    /// Given back by [`Lease::release`].
    released: bool,
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
    pub fn release(self) {
        self.give_back(false);
    }

    /// Whether items are waiting for a connection of this pool now.
    pub fn others_wait(&self) -> bool {
        self.pool.state.lock().unwrap().waiting > 0
    }

    /// Returns the connection still in this item's read-only transaction, for an item that
    /// waits for it: that item rolls the transaction back in the same round trip that
    /// begins its own (`ROLLBACK; BEGIN …`), which saves a round trip per item while items
    /// queue for a connection. Only when items wait: an idle connection is not left in a
    /// transaction (it holds a snapshot, and a server's idle_in_transaction_session_timeout
    /// may close it), unless its waiter took another connection given back at the same
    /// moment; then the next item rolls it back (or replaces it, closed), or closing it at
    /// the end of the run does.
    pub fn hand_on(self) {
        self.give_back(true);
    }

    fn give_back(mut self, in_transaction: bool) {
        if let Some(conn) = self.conn.take() {
            self.released = true;
            let now = tokio::time::Instant::now();
            let mut state = self.pool.state.lock().unwrap();
            if self.reused {
                let held = now.saturating_duration_since(self.since);
                state.hold = Some(state.hold.map_or(held, |h| h.min(held)));
            }
            state.last_handed = now;
            state.idle.push((conn, in_transaction));
            // One waiter takes this connection; when the queue has grown past what the open
            // connections get through in a login's time, a second one logs in.
            let grow = state.should_grow(now);
            drop(state);
            self.pool.changed.notify_one();
            if grow {
                self.pool.changed.notify_one();
            }
        }
    }

    /// Swaps a stale reused connection for a newly opened one.
    pub async fn reconnect(&mut self, budget: Duration) -> Result<(), ProbeError> {
        self.conn = None;
        self.conn = Some(self.pool.open(budget).await.map_err(|e| e.error)?);
        self.reused = false;
        self.rollback_first = false;
        Ok(())
    }
}

impl Drop for Lease {
    /// A connection not given back is closed (dropped), and its place in the pool is free:
    /// a waiting item may open another.
    fn drop(&mut self) {
        if !self.released {
            self.conn = None;
            self.pool.state.lock().unwrap().live -= 1;
            self.pool.changed.notify_one();
        }
    }
}

/// Why a login failed, and whether only because the item's time ran out.
struct LoginError {
    error: ProbeError,
    timed_out: bool,
}

/// Counts an item among the waiting ones for as long as it waits, even when it is
/// cancelled mid-wait.
struct Waiting<'a> {
    pool: &'a Pool,
    left: bool,
}

impl Waiting<'_> {
    fn leave(&mut self, state: &mut State) {
        if !std::mem::replace(&mut self.left, true) {
            state.waiting -= 1;
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.left {
            self.pool.state.lock().unwrap().waiting -= 1;
        }
    }
}

/// A login under way: when it does not end with a connection (it failed, or
/// the item was cancelled), the place it took is given up and the waiting items are told.
struct LoggingIn<'a> {
    pool: &'a Pool,
    done: bool,
}

impl Drop for LoggingIn<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.pool.state.lock().unwrap();
            state.live -= 1;
            state.logging_in -= 1;
            drop(state);
            self.pool.changed.notify_waiters();
        }
    }
}

impl Pool {
    /// A connection within `budget`: an idle one, else a new one when the pool should grow
    /// ([`State::should_grow`]), else the next one given back.
    pub async fn acquire(self: &Arc<Self>, budget: Duration) -> Result<Lease, ProbeError> {
        let started = tokio::time::Instant::now();
        let deadline = started + budget;
        let mut waiting = Waiting { pool: self, left: true };
        let mut failures_seen = None;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let now = tokio::time::Instant::now();
                let mut state = self.state.lock().unwrap();
                if let Some((conn, in_transaction)) = state.idle.pop() {
                    state.last_handed = now;
                    waiting.leave(&mut state);
                    let mut lease = self.lend(conn, true, now);
                    lease.rollback_first = in_transaction;
                    return Ok(lease);
                }
                // The login this item waited for failed: its reason is this item's too.
                if let Some(seen) = failures_seen
                    && state.failures != seen
                    && state.live == 0
                    && let Some(failure) = state.failure.clone()
                {
                    waiting.leave(&mut state);
                    return Err(failure);
                }
                if state.should_grow(now) {
                    state.live += 1;
                    state.logging_in += 1;
                    waiting.leave(&mut state);
                    // The next waiting item looks too: it may be worth another login.
                    if state.live > 1 && state.waiting > 0 {
                        self.changed.notify_one();
                    }
                    break;
                }
                if now >= deadline {
                    waiting.leave(&mut state);
                    return Err(self.no_free_connection(budget, &state));
                }
                if std::mem::replace(&mut waiting.left, false) {
                    state.waiting += 1;
                }
                if state.logging_in > 0 {
                    failures_seen = Some(state.failures);
                }
                self.arm_recheck(&mut state);
            }
            let _ = tokio::time::timeout_at(deadline, changed).await;
        }
        let mut login = LoggingIn { pool: self, done: false };
        let began = tokio::time::Instant::now();
        let opened = self.open(deadline.saturating_duration_since(began)).await;
        let now = tokio::time::Instant::now();
        let mut state = self.state.lock().unwrap();
        match opened {
            Ok(conn) => {
                login.done = true;
                state.logging_in -= 1;
                state.login = Some(now.saturating_duration_since(began));
                state.last_handed = now;
                // The next waiting item arms a timer of this login's length (a timer armed
                // before any login was timed waits longer).
                state.timer = false;
                drop(state);
                // The waiting items look again: one more login may be worth it now.
                self.changed.notify_one();
                Ok(self.lend(conn, false, now))
            }
            Err(e) => {
                state.failures += 1;
                // A login that got no answer in this item's budget says nothing of what an
                // item with a longer one would see: those try for themselves.
                state.failure = (!e.timed_out).then(|| e.error.clone());
                drop(state);
                Err(e.error)
            }
        }
    }

    fn lend(self: &Arc<Self>, conn: PgConnection, reused: bool, now: tokio::time::Instant) -> Lease {
        Lease { conn: Some(conn), reused, rollback_first: false, pool: self.clone(), since: now, released: false }
    }

    /// Unless a timer is already set, one that wakes a waiting item after
    /// [`State::recheck`] to look again (every connection may be held by a slow item).
    fn arm_recheck(self: &Arc<Self>, state: &mut State) {
        if std::mem::replace(&mut state.timer, true) {
            return;
        }
        let (pool, after) = (Arc::downgrade(self), state.recheck());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(pool) = pool.upgrade() {
                pool.state.lock().unwrap().timer = false;
                pool.changed.notify_one();
            }
        });
    }

    /// Why an item got no connection within its budget.
    fn no_free_connection(&self, budget: Duration, state: &State) -> ProbeError {
        let within = format_duration(budget);
        let target = &self.target;
        if state.logging_in > 0 && state.live == state.logging_in {
            ProbeError::new(format!(
                "no answer from {target} within {within} while connecting: this item waited for the run's login to it, which had not ended"
            ))
        } else {
            ProbeError::new(format!(
                "no free connection to {target} within {within}: the run's other items held all {}",
                state.live
            ))
        }
    }

    async fn open(&self, budget: Duration) -> Result<PgConnection, LoginError> {
        let conn = tokio::time::timeout(budget, self.options.connect())
            .await
            .map_err(|_| LoginError {
                error: ProbeError::new(format!(
                    "no answer from {} within {} while connecting",
                    self.target,
                    format_duration(budget)
                )),
                timed_out: true,
            })?
            .map_err(|e| LoginError { error: ProbeError::new(connect_error(&self.target, &e)), timed_out: false })?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(conn)
    }

    /// Closes idle connections politely (the server sees a Terminate message and rolls back
    /// a transaction left open by [`Lease::hand_on`]), all at once.
    pub async fn close_idle(&self) {
        let idle: Vec<PgConnection> = {
            let mut state = self.state.lock().unwrap();
            let idle = std::mem::take(&mut state.idle);
            state.live -= idle.len();
            idle.into_iter().map(|(conn, _)| conn).collect()
        };
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

    fn state(
        live: usize,
        waiting: usize,
        login_ms: u64,
        hold_ms: Option<u64>,
        quiet_ms: u64,
    ) -> (State, tokio::time::Instant) {
        let mut s = State::new();
        let now = s.last_handed + Duration::from_millis(quiet_ms);
        s.live = live;
        s.waiting = waiting;
        s.login = Some(Duration::from_millis(login_ms));
        s.hold = hold_ms.map(Duration::from_millis);
        (s, now)
    }

    #[test]
    fn a_pool_grows_when_its_queue_would_outlast_a_login_or_nothing_comes_back() {
        // No connection yet: always.
        let (s, now) = state(0, 5, 10, None, 0);
        assert!(s.should_grow(now));
        // The first login under way, not timed yet: its connection comes first.
        let (mut s, now) = state(1, 5, 10, None, 500);
        (s.login, s.logging_in) = (None, 1);
        assert!(!s.should_grow(now));
        // 19 items of 0.3 ms on one connection: 5.7 ms, less than a 10 ms login.
        let (mut s, now) = state(1, 19, 10, None, 0);
        s.hold = Some(Duration::from_micros(300));
        assert!(!s.should_grow(now));
        // 199 of them: 60 ms, more than a login; counting three more being opened, 15 ms,
        // still more; but four is the most.
        s.waiting = 199;
        assert!(s.should_grow(now));
        (s.live, s.logging_in) = (4, 3);
        assert!(!s.should_grow(now));
        // A distant server: 60 ms items, a 120 ms login, 19 waiting.
        let (s, now) = state(1, 19, 120, Some(60), 0);
        assert!(s.should_grow(now));
        // Slow items, hold not known yet: only once nothing came back for a login's time,
        // and no more logins than items waiting.
        let (s, now) = state(2, 3, 10, None, 9);
        assert!(!s.should_grow(now));
        let (mut s, now) = state(2, 3, 10, None, 10);
        assert!(s.should_grow(now));
        (s.live, s.logging_in) = (3, 2);
        assert!(s.should_grow(now));
        s.logging_in = 3;
        assert!(!s.should_grow(now));
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

//! Open-file descriptors for a run: at start golive raises its soft `RLIMIT_NOFILE` to the
//! hard limit, and a run never has more probes in flight than the descriptors allow, so a
//! low limit (`ulimit -n 256`) with a high `--concurrency` slows the run down instead of
//! failing items with "Too many open files".

/// Descriptors kept for golive itself: standard streams, the runtime's event queue and
/// wakers, reports being written, a checklist read, the signal thread.
pub const RESERVED: u64 = 64;

/// Descriptors one probe may hold at once. The most is a `command` or `exec` program being
/// started: its three pipes and the child's ends of them, the pipe that reports a failed
/// `exec`, and two process descriptors; network probes hold a socket or a few (a DNS query,
/// a connection being replaced).
pub const PER_PROBE: u64 = 10;

/// golive's open-file limits before and after [`raise`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nofile {
    /// The soft limit golive was started with (what programs it starts get back).
    pub original: u64,
    /// The soft limit now.
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft limit to the hard one. Where the limits cannot be read, assumes the
/// common default of 1024 (and changes nothing).
pub fn raise() -> Nofile {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return Nofile { original: 1024, soft: 1024, hard: 1024 };
    };
    let raised = if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() { hard } else { soft };
    Nofile { original: soft, soft: raised, hard }
}

/// How many probes may run at once with `soft` descriptors: at least one.
pub fn concurrency_allowed(soft: u64) -> usize {
    let budget = soft.saturating_sub(RESERVED) / PER_PROBE;
    usize::try_from(budget).unwrap_or(usize::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_follows_the_descriptors() {
        assert_eq!(concurrency_allowed(256), 19);
        assert_eq!(concurrency_allowed(1024), 96);
        assert_eq!(concurrency_allowed(1 << 20), 104_851);
        assert_eq!(concurrency_allowed(10), 1, "always at least one");
    }
}

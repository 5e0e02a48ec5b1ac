//! Shards (`golive run --shard K/N`): a deterministic split of one checklist's items into N
//! parts, so N CI jobs each run one and `golive report merge` combines their reports. Items
//! connected by `depends_on` or by a `when` that reads another item's fact are one component
//! and stay in one shard; components are dealt to shards by size (docs/shards.md).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::checklist::{Checklist, Item};

use super::Filter;

/// One shard of a run: `index` of `total`, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub total: usize,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// The most shards a run may be split into.
pub const MAX_SHARDS: usize = 10_000;

/// What `--shard` says: a fixed `K/N`, or `auto` (the CI's variables say; `auto/N` gives N).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardSpec {
    Fixed(Shard),
    Auto { total: Option<usize> },
}

/// A `--shard` value that does not parse, or an `auto` the environment does not resolve.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("`{0}` is not K/N (e.g. 2/4), auto or auto/N")]
    Syntax(String),
    #[error("shard {index}/{total}: K must be in 1..={total} (shards are counted from 1)")]
    IndexOutOfRange { index: usize, total: usize },
    #[error("the number of shards must be in 1..={MAX_SHARDS}, not {0}")]
    TotalOutOfRange(usize),
    #[error(
        "--shard auto: no shard in the environment: set JOB_COMPLETION_INDEX (a Kubernetes Indexed Job, with --shard auto/N or GOLIVE_SHARD_TOTAL) or CI_NODE_INDEX and CI_NODE_TOTAL (GitLab `parallel:`), or give --shard K/N"
    )]
    NothingSet,
    #[error(
        "--shard auto: JOB_COMPLETION_INDEX={0} is set but not the number of shards: give --shard auto/N or set GOLIVE_SHARD_TOTAL"
    )]
    NoTotal(String),
    #[error("--shard auto: {name}={value:?} is not a number")]
    NotANumber { name: &'static str, value: String },
    #[error("--shard auto: CI_NODE_INDEX={0} is set but CI_NODE_TOTAL is not")]
    NoNodeTotal(String),
    #[error(
        "--shard auto: both JOB_COMPLETION_INDEX (Kubernetes) and CI_NODE_INDEX (GitLab) are set; give --shard K/N to say which"
    )]
    Ambiguous,
    #[error("--shard auto/{given}: the environment says {total} shards ({source_name})")]
    TotalDisagrees { given: usize, total: usize, source_name: &'static str },
}

impl FromStr for ShardSpec {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<ShardSpec, ShardError> {
        let syntax = || ShardError::Syntax(s.to_string());
        let number = |t: &str| t.trim().parse::<usize>().map_err(|_| syntax());
        let (first, total) = match s.split_once('/') {
            Some((first, total)) => (first.trim(), Some(number(total)?)),
            None => (s.trim(), None),
        };
        if let Some(total) = total {
            check_total(total)?;
        }
        if first.eq_ignore_ascii_case("auto") {
            return Ok(ShardSpec::Auto { total });
        }
        let total = total.ok_or_else(syntax)?;
        Ok(ShardSpec::Fixed(Shard::new(number(first)?, total)?))
    }
}

fn check_total(total: usize) -> Result<usize, ShardError> {
    if (1..=MAX_SHARDS).contains(&total) { Ok(total) } else { Err(ShardError::TotalOutOfRange(total)) }
}

impl Shard {
    pub fn new(index: usize, total: usize) -> Result<Shard, ShardError> {
        check_total(total)?;
        if !(1..=total).contains(&index) {
            return Err(ShardError::IndexOutOfRange { index, total });
        }
        Ok(Shard { index, total })
    }
}

impl ShardSpec {
    /// The shard this job runs. `auto` reads, through `env`: a Kubernetes Indexed Job's
    /// `JOB_COMPLETION_INDEX` (0-based; N from `auto/N` or `GOLIVE_SHARD_TOTAL`), or GitLab's
    /// `CI_NODE_INDEX` (1-based) and `CI_NODE_TOTAL`.
    pub fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let given = match self {
            ShardSpec::Fixed(shard) => return Ok(shard),
            ShardSpec::Auto { total } => total,
        };
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let parse = |name: &'static str, value: &str| {
            value.trim().parse::<usize>().map_err(|_| ShardError::NotANumber { name, value: value.to_string() })
        };
        let agree = |total: usize, source_name: &'static str| match given {
            Some(given) if given != total => Err(ShardError::TotalDisagrees { given, total, source_name }),
            _ => Ok(total),
        };
        match (var("JOB_COMPLETION_INDEX"), var("CI_NODE_INDEX")) {
            (Some(_), Some(_)) => Err(ShardError::Ambiguous),
            (Some(index), None) => {
                let zero_based = parse("JOB_COMPLETION_INDEX", &index)?;
                let total = match (given, var("GOLIVE_SHARD_TOTAL")) {
                    (_, Some(t)) => agree(parse("GOLIVE_SHARD_TOTAL", &t)?, "GOLIVE_SHARD_TOTAL")?,
                    (Some(given), None) => given,
                    (None, None) => return Err(ShardError::NoTotal(index)),
                };
                Shard::new(zero_based + 1, total)
            }
            (None, Some(index)) => {
                let index = parse("CI_NODE_INDEX", &index)?;
                let total = var("CI_NODE_TOTAL").ok_or(ShardError::NoNodeTotal(index.to_string()))?;
                let total = agree(parse("CI_NODE_TOTAL", &total)?, "CI_NODE_TOTAL")?;
                Shard::new(index, total)
            }
            (None, None) => Err(ShardError::NothingSet),
        }
    }
}

/// The shard (0-based) of every item, in checklist order. Items joined by `depends_on` or a
/// `when` on another item's fact form components; a component's weight is how many of its
/// items the filter selects. Components are taken heaviest first (ties: the one whose
/// smallest id sorts first) and each goes to the shard with the least weight so far (ties:
/// the lowest shard). Only ids and edges decide, so every machine splits alike.
pub fn assign(items: &[Arc<Item>], filter: &Filter, total: usize) -> Vec<usize> {
    let index: HashMap<&str, usize> = items.iter().enumerate().map(|(i, item)| (item.id.as_str(), i)).collect();
    let mut parent: Vec<usize> = (0..items.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, item) in items.iter().enumerate() {
        for other in item.waits_for().filter_map(|id| index.get(id).copied()) {
            let (a, b) = (root(&mut parent, i), root(&mut parent, other));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let selected = super::selected(items, filter);
    // Per component (by its root): its weight and its smallest id.
    let mut components: HashMap<usize, (usize, &str)> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let r = root(&mut parent, i);
        let entry = components.entry(r).or_insert((0, item.id.as_str()));
        entry.0 += usize::from(selected[i]);
        entry.1 = entry.1.min(item.id.as_str());
    }
    let mut order: Vec<(usize, usize, &str)> = components.into_iter().map(|(r, (w, id))| (r, w, id)).collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.2.cmp(b.2)));
    let mut load = vec![0usize; total.max(1)];
    let mut shard_of_root: HashMap<usize, usize> = HashMap::new();
    for (r, weight, _) in order {
        let lightest = (0..load.len()).min_by_key(|&s| (load[s], s)).unwrap_or(0);
        load[lightest] += weight;
        shard_of_root.insert(r, lightest);
    }
    (0..items.len()).map(|i| shard_of_root[&root(&mut parent, i)]).collect()
}

/// The checklist of one shard: its items only, in checklist order, and the ids of every
/// item of the whole run (all shards), in checklist order.
pub fn split(checklist: &Checklist, filter: &Filter, shard: Shard) -> (Checklist, Vec<String>) {
    let shards = assign(&checklist.items, filter, shard.total);
    let keep: Vec<bool> = shards.iter().map(|&s| s + 1 == shard.index).collect();
    let planned = checklist.items.iter().map(|i| i.id.clone()).collect();
    (checklist.with_items(&keep), planned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn shard_values_parse_and_bad_ones_say_why() {
        assert_eq!("2/4".parse(), Ok(ShardSpec::Fixed(Shard { index: 2, total: 4 })));
        assert_eq!("auto".parse(), Ok(ShardSpec::Auto { total: None }));
        assert_eq!("auto/3".parse(), Ok(ShardSpec::Auto { total: Some(3) }));
        assert_eq!("0/3".parse::<ShardSpec>(), Err(ShardError::IndexOutOfRange { index: 0, total: 3 }));
        assert_eq!("4/3".parse::<ShardSpec>(), Err(ShardError::IndexOutOfRange { index: 4, total: 3 }));
        assert_eq!("1/0".parse::<ShardSpec>(), Err(ShardError::TotalOutOfRange(0)));
        assert_eq!("3".parse::<ShardSpec>(), Err(ShardError::Syntax("3".into())));
        assert_eq!("a/b".parse::<ShardSpec>(), Err(ShardError::Syntax("a/b".into())));
        assert_eq!("-1/2".parse::<ShardSpec>(), Err(ShardError::Syntax("-1/2".into())));
    }

    #[test]
    fn auto_reads_kubernetes_and_gitlab_variables() {
        let auto = ShardSpec::Auto { total: None };
        let auto3 = ShardSpec::Auto { total: Some(3) };
        assert_eq!(auto3.resolve(env(&[("JOB_COMPLETION_INDEX", "0")])), Ok(Shard { index: 1, total: 3 }));
        assert_eq!(
            auto.resolve(env(&[("JOB_COMPLETION_INDEX", "2"), ("GOLIVE_SHARD_TOTAL", "3")])),
            Ok(Shard { index: 3, total: 3 })
        );
        assert_eq!(auto.resolve(env(&[("JOB_COMPLETION_INDEX", "0")])), Err(ShardError::NoTotal("0".into())));
        assert_eq!(
            auto3.resolve(env(&[("JOB_COMPLETION_INDEX", "3")])),
            Err(ShardError::IndexOutOfRange { index: 4, total: 3 })
        );
        assert_eq!(
            auto.resolve(env(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "5")])),
            Ok(Shard { index: 2, total: 5 })
        );
        assert_eq!(
            auto3.resolve(env(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "5")])),
            Err(ShardError::TotalDisagrees { given: 3, total: 5, source_name: "CI_NODE_TOTAL" })
        );
        assert_eq!(auto.resolve(env(&[("CI_NODE_INDEX", "2")])), Err(ShardError::NoNodeTotal("2".into())));
        assert_eq!(auto.resolve(env(&[])), Err(ShardError::NothingSet));
        assert_eq!(
            auto.resolve(env(&[("JOB_COMPLETION_INDEX", "0"), ("CI_NODE_INDEX", "1")])),
            Err(ShardError::Ambiguous)
        );
        assert_eq!(
            auto3.resolve(env(&[("JOB_COMPLETION_INDEX", "x")])),
            Err(ShardError::NotANumber { name: "JOB_COMPLETION_INDEX", value: "x".into() })
        );
    }
}

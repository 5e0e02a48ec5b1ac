//! Where the loader's stages put what they find. Every problem is collected (nothing stops
//! at the first one), but each code keeps at most `MAX_PER_CODE` diagnostics: the rest are
//! counted and summed up in one "and N more like this" line, so a file with a million bad
//! references costs a counter, not a million messages. A leaf: it imports no other stage.

use std::collections::{BTreeMap, HashSet};

use crate::diag::{Code, Diagnostic, Level};

/// Diagnostics kept per code and level; documented in docs/diagnostics.md.
pub const MAX_PER_CODE: usize = 100;

#[derive(Default)]
pub struct Diags {
    kept: Vec<Diagnostic>,
    /// Per (code, level): how many were pushed, kept or not.
    counts: BTreeMap<(Code, u8), usize>,
    errors: usize,
    /// Keys of warnings given once per load (an unset environment variable…).
    once: HashSet<String>,
}

/// What `Diags::mark` saved.
pub struct Mark {
    kept: usize,
    counts: BTreeMap<(Code, u8), usize>,
    errors: usize,
    once: HashSet<String>,
}

fn level_key(level: Level) -> u8 {
    match level {
        Level::Error => 0,
        Level::Warning => 1,
    }
}

impl Diags {
    pub fn push(&mut self, d: Diagnostic) {
        if d.level == Level::Error {
            self.errors += 1;
        }
        let n = self.counts.entry((d.code, level_key(d.level))).or_default();
        *n += 1;
        if *n <= MAX_PER_CODE {
            self.kept.push(d);
        }
    }

    /// Counts a diagnostic of this code and level that is not worth building because it
    /// would not be kept (the caller checked `full`).
    pub fn count_only(&mut self, code: Code, level: Level) {
        if level == Level::Error {
            self.errors += 1;
        }
        *self.counts.entry((code, level_key(level))).or_default() += 1;
    }

    /// True when another diagnostic of this code and level would only be counted: callers
    /// with costly messages ("did you mean" over many names) check this first.
    pub fn full(&self, code: Code, level: Level) -> bool {
        self.counts.get(&(code, level_key(level))).is_some_and(|n| *n >= MAX_PER_CODE)
    }

    /// Pushes a warning only the first time `key` is seen.
    pub fn warn_once(&mut self, key: String, d: Diagnostic) {
        if self.once.insert(key) {
            self.push(Diagnostic { level: Level::Warning, ..d });
        }
    }

    /// The state to come back to with `rollback`.
    pub fn mark(&self) -> Mark {
        Mark { kept: self.kept.len(), counts: self.counts.clone(), errors: self.errors, once: self.once.clone() }
    }

    /// Forgets every diagnostic found since `mark` (the items of a file that turned out
    /// not to parse: only its syntax error is reported, as when it is parsed whole).
    pub fn rollback(&mut self, mark: Mark) {
        self.kept.truncate(mark.kept);
        self.counts = mark.counts;
        self.errors = mark.errors;
        self.once = mark.once;
    }

    /// How many diagnostics were pushed or counted so far.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    /// The kept diagnostics, in the order found, then one summary per code that had more.
    pub fn finish(self) -> Vec<Diagnostic> {
        let mut out = self.kept;
        for ((code, level), n) in self.counts {
            if n > MAX_PER_CODE {
                let level = if level == 0 { Level::Error } else { Level::Warning };
                let more = n - MAX_PER_CODE;
                out.push(Diagnostic {
                    level,
                    ..Diagnostic::error(
                        code,
                        format!("and {more} more {} like these", if more == 1 { "problem" } else { "problems" }),
                    )
                    .hint(format!(
                        "golive shows the first {MAX_PER_CODE} problems of each kind; fix these and run again"
                    ))
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_of_each_code_and_counts_the_rest() {
        let mut diags = Diags::default();
        for i in 0..MAX_PER_CODE + 5 {
            diags.push(Diagnostic::error(Code::UnknownDependency, format!("n{i}")));
        }
        diags.push(Diagnostic::warning(Code::EnvNotSet, "w"));
        assert!(diags.full(Code::UnknownDependency, Level::Error));
        assert!(!diags.full(Code::UnknownDependency, Level::Warning));
        diags.count_only(Code::UnknownDependency, Level::Error);
        assert!(diags.has_errors());
        let out = diags.finish();
        assert_eq!(out.len(), MAX_PER_CODE + 2);
        let last = out.last().unwrap();
        assert_eq!(last.code, Code::UnknownDependency);
        assert_eq!(last.message, "and 6 more problems like these");
    }

    #[test]
    fn warnings_once_per_key() {
        let mut diags = Diags::default();
        diags.warn_once("env:X".into(), Diagnostic::error(Code::EnvNotSet, "x"));
        diags.warn_once("env:X".into(), Diagnostic::error(Code::EnvNotSet, "x"));
        assert!(!diags.has_errors());
        let out = diags.finish();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].level, Level::Warning);
    }
}

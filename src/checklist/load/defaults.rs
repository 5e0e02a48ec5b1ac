//! Stage 3, defaults: each file's `[defaults]` (timeout, retries, retry_delay, severity,
//! section) over those of the file that included it, computed once per file in load order
//! (a file is always read after the file that includes it).

use std::time::Duration;

use super::ctx::Ctx;
use super::files::FileSet;
use super::keys::{count, duration, severity, unknown_key, wrong_type};
use crate::checklist::model::Severity;

const DEFAULT_KEYS: &[&str] = &["timeout", "retries", "retry_delay", "severity", "section"];

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_SEVERITY: Severity = Severity::High;
pub const DEFAULT_SECTION: &str = "general";
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Defaults {
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub retry_delay: Option<Duration>,
    pub severity: Option<Severity>,
    pub section: Option<String>,
}

/// The effective defaults of every file, by index into `files.docs`.
pub fn per_file(cx: &mut Ctx, files: &FileSet) -> Vec<Defaults> {
    let mut out: Vec<Defaults> = Vec::with_capacity(files.docs.len());
    for doc in &files.docs {
        let mut d = doc.parent.map(|p| out[p].clone()).unwrap_or_default();
        for (key, value) in doc.root.get("defaults").and_then(|v| v.as_table()).unwrap_or_default() {
            match key.name.as_str() {
                "timeout" => d.timeout = duration(&mut cx.diags, value, "timeout").or(d.timeout),
                "retry_delay" => d.retry_delay = duration(&mut cx.diags, value, "retry_delay").or(d.retry_delay),
                "retries" => d.retries = count(&mut cx.diags, value, "retries").or(d.retries),
                "severity" => d.severity = severity(&mut cx.diags, value).or(d.severity),
                "section" => match value.as_str() {
                    Some(s) => d.section = Some(s.to_string()),
                    None => cx.diags.push(wrong_type(value, "section", "a string")),
                },
                _ => cx.diags.push(unknown_key(doc.id, key, "[defaults]", DEFAULT_KEYS)),
            }
        }
        out.push(d);
    }
    out
}

//! golive: a declarative pre-deployment checklist validator. Checklists (TOML) are loaded
//! and validated (`checklist`), their automated items are observed by probes (`probe`) and
//! judged by the engine (`engine`), and the result is rendered as reports (`report`), which
//! approvers sign and auditors verify (`signing`).

pub mod checklist;
pub mod cli;
pub mod diag;
pub mod engine;
pub mod fdlimit;
pub mod fleet;
pub mod fsread;
pub mod fswrite;
pub mod history;
pub mod lang;
pub mod probe;
pub mod redact;
pub mod report;
pub mod signing;
pub mod value;

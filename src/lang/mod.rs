//! The checklist language, below both the loader (`checklist`) and the engine: the spanned
//! TOML tree every file is parsed into, and the matcher language `expect` tables are
//! written in. Neither module depends on the other; both depend on this one.

pub mod matcher;
pub mod tree;

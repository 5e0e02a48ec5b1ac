//! Shim: the CLI helpers now live in tests/support/workdir.rs; test files that still write
//! `mod common;` get the same items from here, unchanged. (Goes once all tests are one binary.)
#[path = "../support/workdir.rs"]
#[allow(clippy::duplicate_mod)] // also loaded by `mod support;` in the same test file
mod workdir;
pub use workdir::*;

//! Builds the shipped check catalogue (`checks/**/*.toml`) and ready-made checklists
//! (`checklists/*.toml`) into the binary, so `use = "security.tls-not-expiring"` and
//! `include = ["golive:database"]` work wherever golive is installed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn table(name: &str, root: &Path, dir: &str, code: &mut String) {
    let mut files = Vec::new();
    toml_files(&root.join(dir), &mut files);
    writeln!(code, "pub static {name}: &[(&str, &str)] = &[").unwrap();
    for file in files {
        let relative = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        writeln!(code, "    ({relative:?}, include_str!({:?})),", file.display().to_string()).unwrap();
    }
    writeln!(code, "];").unwrap();
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut code = String::new();
    table("BUILTIN_CHECKS", &root, "checks", &mut code);
    table("BUILTIN_CHECKLISTS", &root, "checklists", &mut code);
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin.rs");
    std::fs::write(out, code).unwrap();
    println!("cargo:rerun-if-changed=checks");
    println!("cargo:rerun-if-changed=checklists");
}

//! Stage 12, signoff: `[signoff] roles` of every file, each a non-empty name listed once
//! per file; the checklist's roles are those of every file in load order, each once.

use std::collections::HashSet;

use super::ctx::Ctx;
use super::files::FileSet;
use super::keys::{unknown_key, wrong_type};
use crate::diag::{Code, Diagnostic};
use crate::lang::tree::{SKind, SValue};

const SIGNOFF_KEYS: &[&str] = &["roles"];

pub fn read(cx: &mut Ctx, files: &FileSet) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for doc in &files.docs {
        let Some(table) = doc.root.get("signoff").and_then(|s| s.as_table()) else { continue };
        for (key, value) in table {
            if !SIGNOFF_KEYS.contains(&key.name.as_str()) {
                cx.diags.push(unknown_key(doc.id, key, "[signoff]", SIGNOFF_KEYS));
                continue;
            }
            for role in check_roles(cx, value) {
                if seen.insert(role.to_string()) {
                    roles.push(role.to_string());
                }
            }
        }
    }
    roles
}

/// The valid roles of one `roles` list; every problem is reported. Linear in the list.
fn check_roles<'v>(cx: &mut Ctx, v: &'v SValue) -> Vec<&'v str> {
    let SKind::Array(roles) = &v.kind else {
        cx.diags.push(
            wrong_type(v, "roles", "a list of role names")
                .hint("e.g. roles = [\"Technical Lead\", \"Operations Lead\", \"Security Lead\", \"Product Owner\"]"),
        );
        return Vec::new();
    };
    let mut seen: HashSet<&str> = HashSet::with_capacity(roles.len());
    let mut out = Vec::with_capacity(roles.len());
    for role in roles {
        match role.as_str() {
            Some(r) if r.trim().is_empty() => {
                cx.diags.push(Diagnostic::error(Code::InvalidValue, "a sign-off role is empty").at(role.loc()))
            }
            Some(r) if !seen.insert(r) => cx.diags.push(
                Diagnostic::error(Code::InvalidValue, format!("sign-off role {r:?} is listed twice")).at(role.loc()),
            ),
            Some(r) => out.push(r),
            None => cx.diags.push(wrong_type(role, "roles", "a list of role names")),
        }
    }
    out
}

//! `file`: observes a path: whether it exists, its kind, permissions, owner, size, age,
//! contents and checksum. A missing file is an observation (`exists = false`), not an error.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::SystemTime;

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared, blocking};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "file",
    summary: "Observes a file or directory: existence, kind, mode, owner, size, age, contents, checksum.",
    params: &[
        ParamSpec::required("path", ParamType::Path, "the path to inspect"),
        ParamSpec::with_default(
            "follow_symlinks",
            ParamType::Bool,
            "false",
            "describe the target of a symlink instead of the link itself",
        ),
        ParamSpec::with_default(
            "max_read",
            ParamType::Integer,
            "10485760",
            "read at most this many bytes for contents and sha256",
        ),
    ],
    facts: &[
        FactSpec::new("exists", FactType::Bool, "the path exists"),
        FactSpec::new("kind", FactType::String, "file, dir, symlink or other"),
        FactSpec::new("mode", FactType::String, "permission bits in octal, e.g. \"0640\""),
        FactSpec::new("world_readable", FactType::Bool, "others may read it"),
        FactSpec::new("world_writable", FactType::Bool, "others may write it"),
        FactSpec::new("owner", FactType::String, "owning user name (or uid when it has no name)"),
        FactSpec::new("group", FactType::String, "owning group name (or gid)"),
        FactSpec::new("size", FactType::Bytes, "size in bytes"),
        FactSpec::new("modified_age", FactType::Duration, "time since the last modification"),
        FactSpec::new("symlink_target", FactType::String, "where a symlink points"),
        FactSpec::new(
            "contents",
            FactType::String,
            "the contents as text (up to max_read bytes; read only when asked)",
        ),
        FactSpec::new("sha256", FactType::String, "hex sha256 of the contents (read only when asked)"),
    ],
    default_expect: &[("exists", "true")],
    observe: Some(observe),
    check: None,
    notes: &[],
};

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    let path = PathBuf::from(input.params.str("path").unwrap_or_default());
    let follow = input.params.bool("follow_symlinks");
    let max_read = input.params.int("max_read").unwrap_or(10 << 20).max(0) as u64;
    let (want_contents, want_sha) = (input.wants("contents"), input.wants("sha256"));
    Box::pin(blocking(move || {
        let mut facts = Facts::default();
        let meta = if follow { std::fs::metadata(&path) } else { std::fs::symlink_metadata(&path) };
        let meta = match meta {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                facts.set("exists", Value::Bool(false));
                return Ok(facts);
            }
            Err(e) => {
                return Err(ProbeError::new(format!("cannot inspect {}: {e}", path.display())));
            }
        };
        facts.set("exists", Value::Bool(true));
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            "symlink"
        } else if ft.is_dir() {
            "dir"
        } else if ft.is_file() {
            "file"
        } else {
            "other"
        };
        facts.set("kind", Value::str(kind));
        let mode = meta.permissions().mode() & 0o7777;
        facts.set("mode", Value::Str(format!("{mode:04o}")));
        facts.set("world_readable", Value::Bool(mode & 0o004 != 0));
        facts.set("world_writable", Value::Bool(mode & 0o002 != 0));
        let owner = nix::unistd::User::from_uid(meta.uid().into())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| meta.uid().to_string());
        let group = nix::unistd::Group::from_gid(meta.gid().into())
            .ok()
            .flatten()
            .map(|g| g.name)
            .unwrap_or_else(|| meta.gid().to_string());
        facts.set("owner", Value::Str(owner));
        facts.set("group", Value::Str(group));
        facts.set("size", Value::Bytes(meta.len()));
        if let Ok(modified) = meta.modified() {
            let age = SystemTime::now().duration_since(modified).unwrap_or_default();
            facts.set("modified_age", Value::Duration(age));
        }
        if ft.is_symlink()
            && let Ok(target) = std::fs::read_link(&path)
        {
            facts.set("symlink_target", Value::Str(target.display().to_string()));
        }
        if (want_contents || want_sha) && !ft.is_dir() {
            use std::io::Read;
            let file = std::fs::File::open(&path)
                .map_err(|e| ProbeError::new(format!("cannot read {}: {e}", path.display())))?;
            let mut bytes = Vec::new();
            file.take(max_read)
                .read_to_end(&mut bytes)
                .map_err(|e| ProbeError::new(format!("cannot read {}: {e}", path.display())))?;
            if want_sha {
                facts.set("sha256", Value::Str(hex::encode(Sha256::digest(&bytes))));
            }
            if want_contents {
                facts.set("contents", Value::Str(String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
        Ok(facts)
    }))
}

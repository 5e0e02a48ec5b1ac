//! `backup`: finds the backups matching a glob and observes the newest one: its age and size,
//! how many there are (retention), whether it reads back (a gzip stream to its end, a
//! PostgreSQL dump through `pg_restore`), and optionally what a restore-test command says.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use futures::future::BoxFuture;

use super::process::{ChildEnv, ENV, INHERIT_ENV, PASS_ENV, run_captured};
use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared, blocking};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "backup",
    summary: "Finds backups by glob; observes the newest one's age, size, integrity, the count, and a restore test.",
    params: &[
        ParamSpec::required(
            "glob",
            ParamType::String,
            "the backup files, e.g. \"/var/backups/db/app-*.dump\" (relative paths from the working directory)",
        ),
        ParamSpec::optional(
            "restore_test",
            ParamType::StringList,
            "a command run on the newest backup, e.g. [\"/usr/local/bin/restore-check\", \"{file}\"]; {file} is replaced by its path, also in $GOLIVE_BACKUP_FILE; its exit code and duration become facts. golive cannot make it read-only: restore into a scratch database",
        ),
        ENV,
        PASS_ENV,
        INHERIT_ENV,
    ],
    facts: &[
        FactSpec::new("count", FactType::Integer, "how many files or directories match the glob"),
        FactSpec::new("newest", FactType::String, "the path of the most recently modified match"),
        FactSpec::new("age", FactType::Duration, "time since the newest match was modified"),
        FactSpec::new("size", FactType::Bytes, "size of the newest match (a directory: its entry, not its contents)"),
        FactSpec::new(
            "oldest_age",
            FactType::Duration,
            "time since the oldest match was modified: how far back backups go",
        ),
        FactSpec::new("total_size", FactType::Bytes, "size of all matches together"),
        FactSpec::new(
            "gzip_ok",
            FactType::Bool,
            "the newest match is a gzip stream that decompresses to its end with matching checksums (read only when asked)",
        ),
        FactSpec::new("gzip_error", FactType::String, "why gzip_ok is false"),
        FactSpec::new(
            "encryption",
            FactType::String,
            "what the newest match's first bytes say it is: age, gpg (binary or armoured, its first packet an encrypted session key), openssl (enc's Salted__ header), or for an unencrypted file pgp-plain (signed or stored OpenPGP), gzip, zstd, xz, bzip2, pg_dump, sql, tar, zip, or unknown (read only when asked)",
        ),
        FactSpec::new(
            "encrypted",
            FactType::Bool,
            "the newest match starts as an age, GnuPG or openssl enc file does (read only when asked); a directory is not",
        ),
        FactSpec::new(
            "pg_dump_ok",
            FactType::Bool,
            "the newest match is a PostgreSQL custom, directory or tar dump that `pg_restore --list` lists and `pg_restore --file=/dev/null` reads through (needs pg_restore; read only when asked)",
        ),
        FactSpec::new("pg_dump_entries", FactType::Integer, "entries in the dump's table of contents"),
        FactSpec::new("pg_dump_error", FactType::String, "why pg_dump_ok is false (pg_restore's message)"),
        FactSpec::new("restore_exit_code", FactType::Integer, "exit status of the restore_test command"),
        FactSpec::new("restore_duration", FactType::Duration, "how long the restore_test command ran"),
    ],
    default_expect: &[("count", "\">= 1\"")],
    observe: Some(observe),
    check: None,
    notes: &[],
};

struct Found {
    path: PathBuf,
    modified: SystemTime,
    size: u64,
    is_dir: bool,
}

fn find(pattern: &str) -> Result<Vec<Found>, ProbeError> {
    let paths = glob::glob(pattern).map_err(|e| ProbeError::new(format!("glob {pattern:?} is not valid: {e}")))?;
    let mut found = Vec::new();
    for entry in paths {
        let path = entry.map_err(|e| ProbeError::new(format!("cannot read {}", e)))?;
        let meta =
            std::fs::metadata(&path).map_err(|e| ProbeError::new(format!("cannot inspect {}: {e}", path.display())))?;
        let modified = meta.modified().map_err(|e| ProbeError::new(format!("{}: {e}", path.display())))?;
        found.push(Found { path, modified, size: meta.len(), is_dir: meta.is_dir() });
    }
    found.sort_by(|a, b| a.modified.cmp(&b.modified).then_with(|| a.path.cmp(&b.path)));
    Ok(found)
}

/// A reader that gives up once the item's time is over.
struct Bounded<R> {
    inner: R,
    deadline: Instant,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if Instant::now() > self.deadline {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the item's timeout passed"));
        }
        self.inner.read(buf)
    }
}

/// Why the newest backup is not an intact gzip stream (the `gzip_error` fact).
#[derive(Debug, thiserror::Error)]
enum GzipDamage {
    #[error("{} is a directory, not a gzip file", .0.display())]
    Directory(std::path::PathBuf),
    #[error("empty: not a gzip stream")]
    Empty,
    #[error("unexpected end of file: the gzip stream is truncated")]
    Truncated,
    #[error("{0}")]
    Corrupt(#[source] std::io::Error),
}

/// Decompresses every gzip member to its end, as `gzip -t` does: `Ok(Ok(bytes))` when
/// intact, `Ok(Err(why))` when not, `Err` when the file cannot be read at all.
fn check_gzip(path: &Path, deadline: Instant) -> Result<Result<u64, GzipDamage>, ProbeError> {
    let file =
        std::fs::File::open(path).map_err(|e| ProbeError::new(format!("cannot read {}: {e}", path.display())))?;
    let mut decoder = flate2::read::MultiGzDecoder::new(Bounded { inner: std::io::BufReader::new(file), deadline });
    match std::io::copy(&mut decoder, &mut std::io::sink()) {
        Ok(0) => Ok(Err(GzipDamage::Empty)),
        Ok(n) => Ok(Ok(n)),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(ProbeError::new(format!(
            "reading {} did not finish within the item's timeout; raise timeout",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Err(GzipDamage::Truncated)),
        Err(e) => Ok(Err(GzipDamage::Corrupt(e))),
    }
}

/// `pg_restore` reads the dump without a server: `--list` for the table of contents, then
/// `--file=/dev/null` to read every data block.
async fn check_pg_dump(path: &Path, facts: &mut Facts) -> Result<(), ProbeError> {
    let shown = path.display().to_string();
    let arg = if path.is_absolute() || shown.starts_with('.') { shown.clone() } else { format!("./{shown}") };
    let run = |args: Vec<String>| async move {
        let mut command = tokio::process::Command::new("pg_restore");
        command.args(args);
        run_captured(command, None, 4 << 20).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ProbeError::new(
                    "pg_restore is not installed; pg_dump_ok needs it (Debian: apt install postgresql-client)",
                )
            } else {
                ProbeError::new(format!("cannot run pg_restore: {e}"))
            }
        })
    };
    let first_error = |stderr: &[u8]| {
        let text = String::from_utf8_lossy(stderr);
        text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("pg_restore failed").to_string()
    };
    let list = run(vec!["--list".into(), arg.clone()]).await?;
    if list.exit_code != 0 {
        facts.set("pg_dump_ok", Value::Bool(false));
        facts.set("pg_dump_error", Value::Str(first_error(&list.stderr)));
        return Ok(());
    }
    let entries =
        String::from_utf8_lossy(&list.stdout).lines().filter(|l| !l.trim().is_empty() && !l.starts_with(';')).count();
    facts.set("pg_dump_entries", Value::Int(entries as i64));
    let read = run(vec!["--file=/dev/null".into(), arg]).await?;
    facts.set("pg_dump_ok", Value::Bool(read.exit_code == 0));
    if read.exit_code != 0 {
        facts.set("pg_dump_error", Value::Str(first_error(&read.stderr)));
    }
    Ok(())
}

/// What a file's first bytes say it is (see the `encryption` fact).
fn sniff(path: &std::path::Path) -> Result<&'static str, ProbeError> {
    use std::io::Read;
    // A FIFO or device would block the read: only regular files are opened.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok("unknown");
    }
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(|e| ProbeError::new(format!("cannot read {}: {e}", path.display())))?;
    Ok(classify(&head))
}

fn classify(head: &[u8]) -> &'static str {
    let starts = |p: &[u8]| head.starts_with(p);
    if starts(b"age-encryption.org/") || starts(b"-----BEGIN AGE ENCRYPTED FILE-----") {
        return "age";
    }
    // An armoured message is encrypted only when its first packet is: `gpg --sign --armor`
    // writes the same header around a signed, readable message.
    if starts(b"-----BEGIN PGP MESSAGE-----") {
        return if armoured_first_packet(head).is_some_and(|p| pgp_encrypted(&p)) { "gpg" } else { "pgp-plain" };
    }
    let pgp_packet = pgp_encrypted(head);
    if pgp_packet {
        "gpg"
    } else if starts(b"Salted__") {
        "openssl"
    } else if starts(&[0x1f, 0x8b]) {
        "gzip"
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "zstd"
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        "xz"
    } else if starts(b"BZh") {
        "bzip2"
    } else if starts(b"PGDMP") {
        "pg_dump"
    } else if starts(b"PK\x03\x04") {
        "zip"
    } else if head.len() > 262 && &head[257..262] == b"ustar" {
        "tar"
    } else if std::str::from_utf8(head).is_ok_and(|t| {
        let t = t.trim_start();
        t.starts_with("--") || t.starts_with("SET ") || t.starts_with("CREATE ") || t.starts_with("BEGIN")
    }) {
        "sql"
    } else {
        "unknown"
    }
}

/// OpenPGP: the first packet of an encrypted message is a public-key (tag 1, version 3 or
/// 6) or symmetric-key (tag 3, version 4 to 6) encrypted session key, in the old or the new
/// packet format; the version after the length is checked too, so any binary file whose
/// first byte merely looks like a packet header is not taken for one.
fn pgp_encrypted(head: &[u8]) -> bool {
    match head.first() {
        Some(&b) if b & 0xc0 == 0xc0 => {
            let body = match head.get(1) {
                Some(&l) if l < 192 => 2,
                Some(&l) if l < 224 => 3,
                Some(&255) => 6,
                _ => usize::MAX,
            };
            pgp_session_key(b & 0x3f, head.get(body).copied())
        }
        Some(&b) if b & 0xc0 == 0x80 => {
            let body = match b & 3 {
                0 => 2,
                1 => 3,
                2 => 5,
                _ => 1,
            };
            pgp_session_key((b >> 2) & 0x0f, head.get(body).copied())
        }
        _ => false,
    }
}

/// The first bytes of an armoured message's body: the base64 after the header lines.
fn armoured_first_packet(head: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = std::str::from_utf8(head).ok().or_else(|| std::str::from_utf8(&head[..head.len().min(400)]).ok())?;
    let body = text.split_once("\n\n").or_else(|| text.split_once("\r\n\r\n"))?.1;
    let line = body.lines().next()?.trim();
    // Whole 4-character groups only: the line may be cut at the 512 bytes read.
    let whole = &line[..line.len() - line.len() % 4];
    base64::engine::general_purpose::STANDARD.decode(whole).ok()
}

fn pgp_session_key(tag: u8, version: Option<u8>) -> bool {
    matches!((tag, version), (1, Some(3 | 6)) | (3, Some(4..=6)))
}

fn described(kind: &str) -> String {
    match kind {
        "directory" => "a directory, not an encrypted file".into(),
        "unknown" => "not an age, GnuPG or openssl enc file (its first bytes match no known format)".into(),
        "sql" => "plain SQL text, not encrypted".into(),
        "pg_dump" => "a PostgreSQL dump, not encrypted".into(),
        "pgp-plain" => "an OpenPGP message that is signed or stored, not encrypted".into(),
        other => format!("{other} data, not encrypted"),
    }
}

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let p = &input.params;
        let pattern = p.str("glob").unwrap_or_default().to_string();
        let want_gzip = input.wants("gzip_ok") || input.wants("gzip_error");
        let deadline = Instant::now() + input.timeout + Duration::from_millis(100);
        let (found, gzip) = blocking(move || {
            let found = find(&pattern)?;
            let gzip = match found.last() {
                Some(newest) if want_gzip && newest.is_dir => Some(Err(GzipDamage::Directory(newest.path.clone()))),
                Some(newest) if want_gzip => Some(check_gzip(&newest.path, deadline)?),
                _ => None,
            };
            Ok((found, gzip))
        })
        .await?;

        let mut facts = Facts::default();
        facts.set("count", Value::Int(found.len() as i64));
        let (Some(newest), Some(oldest)) = (found.last(), found.first()) else {
            return Ok(facts);
        };
        let now = SystemTime::now();
        let age = |t: SystemTime| Value::Duration(now.duration_since(t).unwrap_or_default());
        facts.set("newest", Value::Str(newest.path.display().to_string()));
        facts.set("age", age(newest.modified));
        facts.set("size", Value::Bytes(newest.size));
        facts.set("oldest_age", age(oldest.modified));
        facts.set("total_size", Value::Bytes(found.iter().map(|f| f.size).sum()));
        match gzip {
            Some(Ok(_)) => facts.set("gzip_ok", Value::Bool(true)),
            Some(Err(why)) => {
                facts.set("gzip_ok", Value::Bool(false));
                facts.set("gzip_error", Value::Str(why.to_string()));
            }
            None => {}
        }
        if input.wants("encryption") || input.wants("encrypted") {
            let kind = if newest.is_dir {
                "directory"
            } else {
                let path = newest.path.clone();
                blocking(move || sniff(&path)).await?
            };
            let encrypted = matches!(kind, "age" | "gpg" | "openssl");
            facts.set("encryption", Value::str(kind));
            facts.set("encrypted", Value::Bool(encrypted));
            if !encrypted {
                facts.explain("encrypted", format!("{} is {}", newest.path.display(), described(kind)));
            }
        }
        if input.wants("pg_dump_ok") || input.wants("pg_dump_entries") || input.wants("pg_dump_error") {
            check_pg_dump(&newest.path, &mut facts).await?;
        }
        let restore = p.list("restore_test");
        if let Some((program, args)) = restore.split_first() {
            let file = newest.path.display().to_string();
            let mut command = tokio::process::Command::new(program);
            ChildEnv::from_params(p).apply(command.as_std_mut());
            command.args(args.iter().map(|a| a.replace("{file}", &file))).env("GOLIVE_BACKUP_FILE", &file);
            let run = run_captured(command, None, 1 << 20)
                .await
                .map_err(|e| ProbeError::new(format!("cannot run restore_test {program:?}: {e}")))?;
            facts.set("restore_exit_code", Value::Int(run.exit_code.into()));
            facts.set("restore_duration", Value::Duration(run.duration));
        }
        Ok(facts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_backups_are_told_from_plain_ones_by_their_first_bytes() {
        assert_eq!(classify(b"age-encryption.org/v1\n-> X25519 abc"), "age");
        // Armoured: encrypted only when the first packet is a session key, not a signature.
        assert_eq!(classify(b"-----BEGIN PGP MESSAGE-----\n\nwcFMAwAAAAAAAAAAAQ==\n"), "gpg");
        assert_eq!(classify(b"-----BEGIN PGP MESSAGE-----\n\nowGbwMvMwCE=\n"), "pgp-plain");
        assert_eq!(classify(&[0x85, 0x01, 0x0c, 0x03]), "gpg");
        assert_eq!(classify(&[0xc1, 0x4c, 0x03]), "gpg");
        assert_eq!(classify(b"Salted__12345678"), "openssl");
        assert_eq!(classify(&[0x1f, 0x8b, 0x08, 0]), "gzip");
        assert_eq!(classify(b"PGDMP\x01\x0e"), "pg_dump");
        assert_eq!(classify(b"--\n-- PostgreSQL database dump\n"), "sql");
        assert_eq!(classify(b"\x00\x01garbage"), "unknown");
        // A first byte that looks like a packet header, without the version after it.
        assert_eq!(classify(&[0x85, 0x01, 0x0c, 0x77]), "unknown");
    }
}

//! `file`: observes a path: whether it exists, its kind, permissions, owner, size, age,
//! contents and checksum, and the keys of a structured config file (`config.<key>`,
//! `probe::config_file`). A missing file is an observation (`exists = false`), not an error.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::SystemTime;

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use super::config_formats::{FORMAT_WORDS, Format};
use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared, blocking, config_file};
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
            "read at most this many bytes for contents and sha256; a config file larger than this is an error",
        ),
        ParamSpec::with_default(
            "format",
            ParamType::Choice(FORMAT_WORDS),
            "auto",
            "how to read config.<key> facts: toml, yaml, json, ini or env; auto tells it from the file's name",
        ),
        ParamSpec::optional(
            "required_alerts",
            ParamType::String,
            "alert names the Prometheus rule file(s) at path must define, separated by commas or spaces; missing_alerts lists those they lack",
        ),
        ParamSpec::optional(
            "required_headings",
            ParamType::String,
            "headings a Markdown or AsciiDoc (.adoc) document at path must have, separated by commas (each matched case-insensitively as part of a heading: \"rollback\" matches \"## Rolling back (rollback)\"); missing_headings lists those it lacks",
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
        FactSpec::new(
            "config.<key>",
            FactType::Any,
            "the value of a key of a TOML, YAML, JSON, INI or env file, e.g. config.debug, config.database.pool_size, config.servers.0.host (absent when the file has no such key; values under names such as password, token or api_key are shown as ***)",
        ),
        FactSpec::new(
            "prometheus_alerts",
            FactType::StringList,
            "the alert names (groups[].rules[].alert) of a Prometheus rule file, or of every .yml/.yaml file of a directory at path",
        ),
        FactSpec::new(
            "missing_alerts",
            FactType::StringList,
            "the names of required_alerts that no rule file at path defines; [] when every one is",
        ),
        FactSpec::new(
            "headings",
            FactType::StringList,
            "the headings of a Markdown (# Title, or a line underlined with === or ---) or AsciiDoc (= Title) document, in order, outside code blocks",
        ),
        FactSpec::new(
            "missing_headings",
            FactType::StringList,
            "the entries of required_headings that no heading contains; [] when every one is there",
        ),
    ],
    default_expect: &[("exists", "true")],
    observe: Some(observe),
    check: None,
    notes: &[
        "`config.<key>` facts read the file as a structured config file, only when an expectation names one: `expect = { \"config.debug\" = false }`. The format is `format`, or told by the file's name: `.toml`; `.yaml`, `.yml`; `.json`; `.ini`, `.cfg`, `.cnf`, `.properties`; `.env`, `.env.*`, `*.env` (others, such as `.conf`, need `format`). A file that does not parse is an error at its line and column, never a pass; a file larger than `max_read` is an error, not a partial read.",
        "A key is named by its path with dots between levels: `config.database.pool_size` is `pool_size` in the `[database]` table (TOML, INI section) or mapping (YAML, JSON); list entries are numbered from 0: `config.servers.0.host`. A key with dots in its own name (`\"spring.datasource.url\"`) is named with them; where both readings exist, the nested one wins. A table or list is matched as a whole (`{ contains = \"pool_size\" }` holds for a table with that key). `expect = { config = { debug = false, \"database.pool_size\" = 10 } }` names the same facts as `\"config.debug\"` and `\"config.database.pool_size\"`: below `config`, a table is a matcher, so deeper keys are written with dots. Keys are case-sensitive. YAML is read as YAML 1.2 (`yes` and `on` are text, not booleans), its first document only, with `<<` merge keys applied; the line of a merged key is the line it is written on.",
        "Values have the type the format gives them: a TOML or YAML integer is an integer, `true` a boolean, a TOML datetime with an offset a timestamp. INI and env values are text, read the way a person means them: `true` and `false` (any case) are booleans and a plain integer (`10`, `-3`, not `010` or `1.5`) is an integer, quoted or not, so `= false` and `= 10` match them; anything else is text (`= \"on\"`), and `\">= 1.5\"` compares text that is a number as a number. In INI files `;` and `#` start comments, `key: value` is read like `key = value`, a key before any `[section]` is top-level and a bare key (`skip-name-resolve`) is `true`; in env files `export NAME=value` is read like `NAME=value`, `\"…\"` takes `\\n`-style escapes and may span lines, `'…'` is literal. Where a key is written twice, the last one counts.",
        "A failed expectation on `config.<key>` says where the key is and what it holds: `config.debug: expected == false, observed true (debug = true (line 3))`; for a key the file does not have, what it has instead: `config/prod.toml has no key debgu (did you mean debug, line 3?)`. The value of a key whose name ends in a credential word (`password`, `secret`, `token`, `api_key`, `private_key`, `credentials`, `dsn`…), or of any key under one, is a secret when it is text or a number: matched as it is, shown as `***` in every output, and masked wherever it turns up in the report.",
    ],
};

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    let path = PathBuf::from(input.params.str("path").unwrap_or_default());
    let follow = input.params.bool("follow_symlinks");
    let max_read = input.params.int("max_read").unwrap_or(10 << 20).max(0) as u64;
    let (want_contents, want_sha) = (input.wants("contents"), input.wants("sha256"));
    let config = config_file::wanted_keys(&input.wanted).next().is_some().then(|| {
        let format = input.params.str("format").unwrap_or("auto").to_string();
        (format, input.wanted.clone())
    });
    let alerts = (input.wants("prometheus_alerts") || input.wants("missing_alerts"))
        .then(|| input.params.str("required_alerts").unwrap_or_default().to_string());
    let headings = (input.wants("headings") || input.wants("missing_headings"))
        .then(|| input.params.str("required_headings").unwrap_or_default().to_string());
    Box::pin(blocking(move || {
        let mut facts = Facts::default();
        let meta = if follow { std::fs::metadata(&path) } else { std::fs::symlink_metadata(&path) };
        let meta = match meta {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                facts.set("exists", Value::Bool(false));
                if let Some((_, wanted)) = &config {
                    config_file::no_file(&mut facts, wanted, &path.display().to_string());
                }
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
        if let Some((format, wanted)) = &config {
            read_config(&mut facts, &path, format, max_read, wanted)?;
        }
        if let Some(required) = &alerts {
            let (defined, files) = prometheus_alerts(&path, ft.is_dir(), max_read)?;
            let missing = crate::value::missing_items(required, &defined);
            if !missing.is_empty() {
                let why = match defined.len() {
                    0 => format!("no alert is defined in {files}"),
                    n if n <= 10 => format!("defined in {files}: {}", defined.join(", ")),
                    n => format!("{n} alerts defined in {files}"),
                };
                facts.explain("missing_alerts", why);
            }
            facts.set("missing_alerts", Value::string_list(missing));
            facts.set("prometheus_alerts", Value::string_list(defined));
        }
        if let Some(required) = &headings {
            let bytes = crate::fsread::read_bounded_with(&path, max_read)
                .map_err(|e| ProbeError::new(format!("cannot read {} as a document: {e}", path.display())))?;
            let asciidoc = path.extension().is_some_and(|x| x == "adoc" || x == "asciidoc" || x == "asc");
            let found = document_headings(&String::from_utf8_lossy(&bytes), asciidoc);
            let missing: Vec<&str> = required
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .filter(|r| !found.iter().any(|h| h.to_lowercase().contains(&r.to_lowercase())))
                .collect();
            if !missing.is_empty() {
                let why = match found.len() {
                    0 => format!("{} has no heading", path.display()),
                    n if n <= 12 => format!("its headings: {}", found.join("; ")),
                    n => format!("{n} headings, none with those words"),
                };
                facts.explain("missing_headings", why);
            }
            facts.set("missing_headings", Value::string_list(missing));
            facts.set("headings", Value::string_list(found));
        }
        Ok(facts)
    }))
}

/// The headings of a Markdown or AsciiDoc document, in order: `# Title` (up to six `#`,
/// closing `#`s dropped), a paragraph line underlined by `===` or `---`, `= Title`. Not
/// headings: lines of fenced code (```, ~~~), of AsciiDoc delimited blocks (----, ...., ++++,
/// ////), indented code, YAML front matter, and a `[source,sh]` block attribute line.
/// `asciidoc` (a `.adoc`/`.asciidoc` file) reads `= Title` and delimited blocks; in
/// Markdown `----` after a blank line is a rule, not a block.
fn document_headings(text: &str, asciidoc: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    let mut previous: Option<&str> = None;
    let mut lines = text.lines().peekable();
    // YAML front matter: `---` on the first line up to the next `---`.
    if lines.peek().is_some_and(|l| l.trim_end() == "---") {
        lines.next();
        for line in lines.by_ref() {
            if line.trim_end() == "---" || line.trim_end() == "..." {
                break;
            }
        }
    }
    for line in lines {
        let trimmed = line.trim();
        if let Some(f) = &fence {
            if trimmed.starts_with(f.as_str()) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(trimmed[..3].to_string());
            previous = None;
            continue;
        }
        // An AsciiDoc delimited block opens with four or more of one of these characters;
        // `----` right under a paragraph line is a Markdown setext heading instead.
        let delimiter = asciidoc
            && trimmed.len() >= 4
            && ['-', '.', '+', '/'].iter().any(|c| trimmed.chars().all(|x| x == *c))
            && !(trimmed.starts_with('-') && previous.is_some());
        if delimiter {
            fence = Some(trimmed.to_string());
            previous = None;
            continue;
        }
        if line.starts_with("    ") || line.starts_with('\t') {
            previous = None;
            continue;
        }
        let atx = trimmed.trim_start_matches('#');
        let level = trimmed.len() - atx.len();
        let equals = trimmed.trim_start_matches('=');
        let alevel = trimmed.len() - equals.len();
        if (1..=6).contains(&level) && (atx.is_empty() || atx.starts_with(' ')) {
            let title = atx.trim().trim_end_matches('#').trim();
            if !title.is_empty() {
                out.push(title.to_string());
            }
            previous = None;
        } else if asciidoc && (1..=6).contains(&alevel) && equals.starts_with(' ') {
            out.push(equals.trim().to_string());
            previous = None;
        } else if !trimmed.is_empty()
            && trimmed.len() >= 2
            && (trimmed.chars().all(|c| c == '=') || trimmed.chars().all(|c| c == '-'))
            && let Some(title) = previous.take()
        {
            out.push(title.to_string());
        } else {
            // Only a paragraph line can be underlined: not a block attribute or a table row.
            previous =
                (!trimmed.is_empty() && !trimmed.starts_with('[') && !trimmed.starts_with('|')).then_some(trimmed);
        }
    }
    out
}

/// The alert names a Prometheus rule file defines (every `.yml`/`.yaml` file of a
/// directory, in name order), each once, and which files were read ("rules.yml", "3 files
/// of rules/"). A file that is not YAML is an error at its line.
fn prometheus_alerts(path: &std::path::Path, dir: bool, max_read: u64) -> Result<(Vec<String>, String), ProbeError> {
    use super::config_formats::{Format, Node, parse};
    let files: Vec<PathBuf> = if dir {
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| ProbeError::new(format!("cannot list {}: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
            .collect();
        found.sort();
        found
    } else {
        vec![path.to_path_buf()]
    };
    let mut names: Vec<String> = Vec::new();
    for file in &files {
        let shown = file.display().to_string();
        let bytes = crate::fsread::read_bounded_with(file, max_read)
            .map_err(|e| ProbeError::new(format!("cannot read {shown} as a rule file: {e}")))?;
        let text = String::from_utf8_lossy(&bytes);
        let root = parse(Format::Yaml, &text)
            .map_err(|e| ProbeError::new(format!("{shown}:{}:{}: invalid yaml: {}", e.line, e.column, e.message)))?;
        let field = |node: &Node, key: &str| match node {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, e)| e.node.clone()),
            _ => None,
        };
        let Some(Node::List(groups)) = field(&root.node, "groups") else {
            return Err(ProbeError::new(format!("{shown} is not a Prometheus rule file: it has no `groups` list")));
        };
        for group in &groups {
            let Some(Node::List(rules)) = field(&group.node, "rules") else { continue };
            for rule in &rules {
                if let Some(Node::Scalar(Value::Str(name))) = field(&rule.node, "alert")
                    && !names.contains(&name)
                {
                    names.push(name);
                }
            }
        }
    }
    let read = match (dir, files.len()) {
        (false, _) => path.display().to_string(),
        (true, 1) => format!("1 file of {}", path.display()),
        (true, n) => format!("{n} files of {}", path.display()),
    };
    Ok((names, read))
}

/// Parses the file in its format and sets the `config.<key>` facts asked for.
fn read_config(
    facts: &mut Facts,
    path: &std::path::Path,
    format: &str,
    max_read: u64,
    wanted: &std::collections::BTreeSet<String>,
) -> Result<(), ProbeError> {
    let shown = path.display().to_string();
    let format = Format::choose(format, path).map_err(ProbeError::new)?;
    let bytes = crate::fsread::read_bounded_with(path, max_read).map_err(|e| match e {
        crate::fsread::ReadError::TooLarge => ProbeError::new(format!(
            "{shown} is larger than max_read ({max_read} bytes): a config file is read whole; raise max_read to read it"
        )),
        e => ProbeError::new(format!("cannot read {shown} as a config file: {e}")),
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ProbeError::new(format!(
            "{shown} is not UTF-8 text (at byte {}): not a {} file",
            e.valid_up_to(),
            format.name()
        ))
    })?;
    let root = super::config_formats::parse(format, text).map_err(|e| {
        ProbeError::new(format!("{shown}:{}:{}: invalid {}: {}", e.line, e.column, format.name(), e.message))
    })?;
    config_file::set_facts(facts, wanted, &root, &shown);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn headings_are_read_from_markdown_and_asciidoc_but_not_from_code() {
        let text = "# Runbook\n\nIntro\n\nRolling back\n------------\n\n```sh\n# not a heading\n```\n\n----\n\n## Contacts ##\n#hashtag\n";
        assert_eq!(super::document_headings(text, false), vec!["Runbook", "Rolling back", "Contacts"]);
        // Front matter, AsciiDoc listings, block attributes and indented code hold none.
        let text = "---\ntitle: Rollback\n---\n= Runbook\n\n[source,sh]\n----\n# restart\nsystemctl restart app\n----\n\n    # indented\n\n== Contacts\n";
        assert_eq!(super::document_headings(text, true), vec!["Runbook", "Contacts"]);
    }
}

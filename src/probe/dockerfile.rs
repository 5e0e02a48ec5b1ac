//! `dockerfile`: reads a Dockerfile (or Containerfile) and observes how the image is built:
//! its stages, its base images and whether they are pinned, and the user the final stage
//! runs as. Nothing is built or pulled.

use std::path::PathBuf;

use futures::future::BoxFuture;

use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared, blocking};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "dockerfile",
    summary: "Reads a Dockerfile: build stages, base images and their pins, the user the image runs as.",
    params: &[
        ParamSpec::required("path", ParamType::Path, "the Dockerfile or Containerfile"),
        ParamSpec::with_default(
            "require_digest",
            ParamType::Bool,
            "false",
            "a base image is pinned only by a digest (image@sha256:…); when false a tag other than latest also pins it",
        ),
    ],
    facts: &[
        FactSpec::new("stages", FactType::Integer, "how many build stages (FROM instructions) the Dockerfile has"),
        FactSpec::new(
            "base_images",
            FactType::StringList,
            "the images its stages start from (not earlier stages, not scratch), with ARG defaults filled in",
        ),
        FactSpec::new(
            "unpinned_base_images",
            FactType::StringList,
            "each base image with no tag, the tag latest, (with require_digest) no digest, or an ARG without a default, as \"node (line 1): no tag\"",
        ),
        FactSpec::new(
            "final_user",
            FactType::String,
            "the user of the final stage's last USER instruction (absent when the final stage sets none)",
        ),
        FactSpec::new(
            "runs_as_root",
            FactType::Bool,
            "the final stage sets no USER, or sets root or 0: the image is not shown to run as a non-root user",
        ),
    ],
    default_expect: &[("runs_as_root", "false"), ("unpinned_base_images", "[]")],
    observe: Some(observe),
    check: None,
    notes: &[
        "Lines are read as Docker reads them: `\\` continues a line, `#` starts a comment, `FROM [--platform=…] IMAGE [AS NAME]` starts a stage and `USER NAME[:GROUP]` sets the user. A stage that starts `FROM` an earlier stage's name, and `scratch`, have no base image to pin; `${NAME}` and `$NAME` in an image are filled in from the `ARG` defaults written before the first `FROM`.",
        "`runs_as_root` is true when the final stage sets no `USER`: the user then comes from the base image, which a Dockerfile does not show, so the check asks for it to be said. The reason names the user or says that none is set.",
    ],
};

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    let path = PathBuf::from(input.params.str("path").unwrap_or_default());
    let require_digest = input.params.bool("require_digest");
    Box::pin(blocking(move || {
        let bytes = crate::fsread::read_bounded(&path)
            .map_err(|e| ProbeError::new(format!("cannot read {}: {e}", path.display())))?;
        let built = read(&String::from_utf8_lossy(&bytes), require_digest);
        if built.stages == 0 {
            return Err(ProbeError::new(format!("{} has no FROM instruction: not a Dockerfile", path.display())));
        }
        let mut facts = Facts::default();
        facts.set("stages", Value::Int(built.stages));
        facts.set("base_images", Value::string_list(built.base_images));
        facts.set("unpinned_base_images", Value::string_list(built.unpinned));
        let root = match &built.final_user {
            None => {
                facts.explain("runs_as_root", "the final stage sets no USER");
                true
            }
            Some((user, line)) => {
                let name = user.split(':').next().unwrap_or_default();
                facts.explain("runs_as_root", format!("USER {user} (line {line})"));
                name == "root" || name == "0"
            }
        };
        if let Some((user, _)) = built.final_user {
            facts.set("final_user", Value::Str(user));
        }
        facts.set("runs_as_root", Value::Bool(root));
        Ok(facts)
    }))
}

#[derive(Debug, Default, PartialEq)]
struct Built {
    stages: i64,
    base_images: Vec<String>,
    unpinned: Vec<String>,
    /// The final stage's last USER and its line.
    final_user: Option<(String, usize)>,
}

/// Logical lines (continuations joined, comments and blank lines dropped), each with the
/// line it starts on. The bodies of heredocs (`RUN <<EOF … EOF`, `COPY <<'EOF' /etc/x …`)
/// are not instructions: a `user nginx;` line of a config file written by one is skipped.
fn instructions(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut heredocs: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if let Some(word) = heredocs.first() {
            if raw.trim_start_matches('\t').trim_end() == word {
                heredocs.remove(0);
            }
            continue;
        }
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_none()) {
            continue;
        }
        let (part, continues) = match line.strip_suffix('\\') {
            Some(p) => (p.trim_end(), true),
            None => (line, false),
        };
        let entry = current.get_or_insert_with(|| (i + 1, String::new()));
        if !entry.1.is_empty() {
            entry.1.push(' ');
        }
        entry.1.push_str(part);
        if !continues && let Some(done) = current.take() {
            heredocs = heredoc_words(&done.1);
            out.push(done);
        }
    }
    out.extend(current);
    out
}

/// The terminators of the heredocs an instruction opens: `<<EOF`, `<<-EOF`, `<<"EOF"`,
/// `<<'EOF'`, in order.
fn heredoc_words(instruction: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = instruction;
    while let Some(at) = rest.find("<<") {
        let after = rest[at + 2..].trim_start_matches('-');
        let quoted = after.strip_prefix(['"', '\'']);
        let body = quoted.unwrap_or(after);
        let end = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
        if end > 0 {
            words.push(body[..end].to_string());
        }
        rest = &body[end..];
    }
    words
}

fn read(text: &str, require_digest: bool) -> Built {
    let mut built = Built::default();
    let mut args: Vec<(String, Option<String>)> = Vec::new();
    // Each named stage and the user it ends with, so `FROM build` starts with build's user.
    let mut stages: Vec<(String, Option<(String, usize)>)> = Vec::new();
    let mut current_name: Option<String> = None;
    for (line, instruction) in instructions(text) {
        let mut words = instruction.split_whitespace();
        let Some(keyword) = words.next() else { continue };
        let rest: Vec<&str> = words.collect();
        match keyword.to_ascii_uppercase().as_str() {
            "ARG" if built.stages == 0 => {
                for arg in rest {
                    match arg.split_once('=') {
                        // A default may use earlier ARGs: `ARG BASE=node:${V}`.
                        Some((k, v)) => {
                            let v = substitute(v.trim_matches('"'), &args).ok();
                            args.push((k.to_string(), v));
                        }
                        None => args.push((arg.to_string(), None)),
                    }
                }
            }
            "FROM" => {
                if let Some(name) = current_name.take() {
                    stages.push((name, built.final_user.clone()));
                }
                built.stages += 1;
                built.final_user = None;
                let words: Vec<&str> = rest.iter().copied().filter(|w| !w.starts_with("--")).collect();
                let Some(image) = words.first() else { continue };
                // An earlier stage by name (not this stage's own name: `FROM node AS node`
                // starts from the image node).
                let earlier = stages.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(image));
                if let (Some(kw), Some(name)) = (words.get(1), words.get(2))
                    && kw.eq_ignore_ascii_case("as")
                {
                    current_name = Some(name.to_ascii_lowercase());
                }
                if let Some((_, user)) = earlier {
                    built.final_user = user.clone();
                    continue;
                }
                if image.eq_ignore_ascii_case("scratch") {
                    continue;
                }
                match substitute(image, &args) {
                    Ok(image) => {
                        if let Some(why) = super::kubernetes::unpinned(&image, require_digest) {
                            built.unpinned.push(format!("{image} (line {line}): {why}"));
                        }
                        if !built.base_images.contains(&image) {
                            built.base_images.push(image);
                        }
                    }
                    Err(arg) => built.unpinned.push(format!("{image} (line {line}): ARG {arg} has no default")),
                }
            }
            "USER" if built.stages > 0 => {
                if let Some(user) = rest.first() {
                    // `USER ${APP_USER}`: as the ARG default gives it (unknown stays as written).
                    let user = substitute(user, &args).unwrap_or_else(|_| user.to_string());
                    built.final_user = Some((user, line));
                }
            }
            _ => {}
        }
    }
    built
}

/// `${NAME}` and `$NAME` filled in from the ARG defaults; `Err(NAME)` for one without.
fn substitute(image: &str, args: &[(String, Option<String>)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = image;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            (&inner[..end], inner.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        // `${NAME:-default}`: the default written in place.
        let (name, inline) = match name.split_once(":-") {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (name, None),
        };
        let value = args.iter().rev().find(|(k, _)| k == name).and_then(|(_, v)| v.clone()).or(inline);
        out.push_str(&value.ok_or_else(|| name.to_string())?);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_base_images_and_the_final_user_are_read_as_docker_reads_them() {
        let built = read(
            "# syntax=docker/dockerfile:1\nARG RUST=1.82\nFROM --platform=$BUILDPLATFORM rust:${RUST} AS build\nUSER root\nRUN cargo build \\\n    --release\nFROM build AS test\nFROM debian:bookworm-slim\nUSER app:app\n",
            false,
        );
        assert_eq!(built.stages, 3);
        assert_eq!(built.base_images, vec!["rust:1.82", "debian:bookworm-slim"]);
        assert!(built.unpinned.is_empty(), "{:?}", built.unpinned);
        assert_eq!(built.final_user, Some(("app:app".into(), 9)));
    }

    #[test]
    fn unpinned_images_and_a_missing_user_are_found() {
        let built = read("ARG BASE\nFROM node\nFROM ${BASE}\nFROM alpine:latest\n", false);
        assert_eq!(
            built.unpinned,
            vec![
                "node (line 2): no tag",
                "${BASE} (line 3): ARG BASE has no default",
                "alpine:latest (line 4): tag latest"
            ]
        );
        assert_eq!(built.final_user, None);
        // A USER of an earlier stage is not the final stage's.
        assert_eq!(read("FROM a:1\nUSER app\nFROM b:2\n", false).final_user, None);
    }

    #[test]
    fn heredocs_stage_names_args_and_inherited_users() {
        // A config file written by a heredoc is not instructions.
        let built = read("FROM nginx:1.27\nCOPY <<EOF /etc/nginx/nginx.conf\nuser nginx;\nEOF\n", false);
        assert_eq!((built.stages, built.final_user), (1, None));
        let built = read("FROM python:3.12\nUSER app\nRUN python3 - <<'PY'\nfrom pathlib import Path\nPY\n", false);
        assert_eq!((built.stages, built.final_user.map(|u| u.0)), (1, Some("app".into())));
        // `FROM node AS node` starts from the image node, which is not pinned.
        assert_eq!(read("FROM node AS node\n", false).unpinned, vec!["node (line 1): no tag"]);
        // ARG defaults use earlier ARGs.
        let built = read("ARG V=latest\nARG BASE=node:${V}\nFROM ${BASE}\n", false);
        assert_eq!(built.unpinned, vec!["node:latest (line 3): tag latest"]);
        // USER from an ARG, and a stage starting from an earlier one keeps its user.
        assert_eq!(read("ARG U=root\nFROM a:1\nUSER ${U}\n", false).final_user.map(|u| u.0), Some("root".into()));
        let built = read("FROM a:1 AS base\nUSER app\nFROM base\nRUN true\n", false);
        assert_eq!(built.final_user, Some(("app".into(), 2)));
    }
}

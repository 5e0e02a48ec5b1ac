//! `kubernetes`: reads Kubernetes manifests on disk (a YAML file, or every `.yaml`/`.yml`
//! file under a directory, each with any number of `---` documents) and observes every
//! container of every workload: readiness and liveness probes, resource limits, whether it
//! is proven to run as a non-root user, privilege, and whether its image is pinned. Nothing
//! talks to a cluster: this is what is about to be applied, read before it is.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::config_formats::{Entry, Node, yaml_documents};
use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared, blocking};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "kubernetes",
    summary: "Reads Kubernetes manifests on disk: probes, resource limits, user, privilege and image pins of every container.",
    params: &[
        ParamSpec::required(
            "path",
            ParamType::Path,
            "a manifest file, or a directory whose .yaml and .yml files (at any depth) are read",
        ),
        ParamSpec::with_default(
            "resource_limits",
            ParamType::String,
            "cpu, memory",
            "the resources every container must have under resources.limits, separated by commas or spaces",
        ),
        ParamSpec::with_default(
            "require_digest",
            ParamType::Bool,
            "false",
            "an image is pinned only by a digest (image@sha256:…); when false a tag other than latest also pins it",
        ),
        ParamSpec::with_default(
            "max_files",
            ParamType::Integer,
            "2000",
            "read at most this many files; a directory with more is an error, not a partial reading",
        ),
    ],
    facts: &[
        FactSpec::new(
            "workloads",
            FactType::StringList,
            "every workload read, as Kind/name: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod (also inside a List)",
        ),
        FactSpec::new(
            "containers",
            FactType::Integer,
            "how many containers (init containers included) the workloads have",
        ),
        FactSpec::new(
            "missing_readiness_probe",
            FactType::StringList,
            "each container of a long-running workload (not a Job, CronJob or init container) without a readinessProbe, as \"Kind/name container NAME (file:line)\"",
        ),
        FactSpec::new(
            "missing_liveness_probe",
            FactType::StringList,
            "each container of a long-running workload without a livenessProbe, as for missing_readiness_probe",
        ),
        FactSpec::new(
            "missing_resource_limits",
            FactType::StringList,
            "each container lacking one of resource_limits under resources.limits, with which: \"Deployment/api container web (deploy/api.yaml:14): no limits.cpu\"",
        ),
        FactSpec::new(
            "runs_as_root",
            FactType::StringList,
            "each container not proven to run as a non-root user: neither its securityContext nor the pod's sets runAsNonRoot: true or a runAsUser other than 0 (runAsUser: 0 is root whatever runAsNonRoot says)",
        ),
        FactSpec::new(
            "privileged",
            FactType::StringList,
            "each container with securityContext privileged: true or allowPrivilegeEscalation: true",
        ),
        FactSpec::new(
            "unpinned_images",
            FactType::StringList,
            "each container whose image has no tag, the tag latest, or (with require_digest) no digest, with the image",
        ),
        FactSpec::new("images", FactType::StringList, "every image the containers use, each once"),
    ],
    default_expect: &[
        ("missing_readiness_probe", "[]"),
        ("missing_liveness_probe", "[]"),
        ("missing_resource_limits", "[]"),
        ("runs_as_root", "[]"),
        ("privileged", "[]"),
        ("unpinned_images", "[]"),
    ],
    observe: Some(observe),
    check: None,
    notes: &[
        "A file or directory of manifests as `kubectl apply -f` takes them: every `.yaml`/`.yml` file under a directory (hidden ones and symlinks left out), in name order, every document of each file. Documents that are not workloads (Services, ConfigMaps, Kustomization files, Helm values) are passed over; a file that is not valid YAML is an error at its line, and a path that holds no workload at all is an error, so a wrong path never passes. Helm charts and Kustomize overlays are templates: render them first (`helm template`, `kubectl kustomize`) into a directory and point `path` at it.",
        "Each finding names the workload, the container and where it is written: `Deployment/api container web (deploy/api.yaml:14)`. A Job's or CronJob's containers, and init containers, need no probes (they are meant to end); every container needs the resource limits, a non-root user and a pinned image. A securityContext on the container overrides the pod's, key by key, as Kubernetes applies them.",
    ],
};

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    let path = PathBuf::from(input.params.str("path").unwrap_or_default());
    let limits: Vec<String> = crate::value::list_items(input.params.str("resource_limits").unwrap_or("cpu, memory"))
        .map(String::from)
        .collect();
    let require_digest = input.params.bool("require_digest");
    let max_files = input.params.int("max_files").unwrap_or(2000).max(1) as usize;
    Box::pin(blocking(move || {
        let files = manifest_files(&path, max_files)?;
        let mut seen = Findings::default();
        for file in &files {
            let bytes = crate::fsread::read_bounded(file)
                .map_err(|e| ProbeError::new(format!("cannot read {}: {e}", file.display())))?;
            let text = String::from_utf8_lossy(&bytes);
            let docs = yaml_documents(&text).map_err(|e| {
                ProbeError::new(format!("{}:{}:{}: invalid YAML: {}", file.display(), e.line, e.column, e.message))
            })?;
            let shown = file.display().to_string();
            for doc in &docs {
                seen.document(doc, &shown, &limits, require_digest);
            }
        }
        if seen.workloads.is_empty() {
            let read = match files.len() {
                1 => format!("{}", path.display()),
                n => format!("{n} YAML files under {}", path.display()),
            };
            return Err(ProbeError::new(format!(
                "no Kubernetes workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod) in {read}"
            )));
        }
        let mut facts = Facts::default();
        facts.set("workloads", Value::string_list(seen.workloads));
        facts.set("containers", Value::Int(seen.containers));
        facts.set("missing_readiness_probe", Value::string_list(seen.no_readiness));
        facts.set("missing_liveness_probe", Value::string_list(seen.no_liveness));
        facts.set("missing_resource_limits", Value::string_list(seen.no_limits));
        facts.set("runs_as_root", Value::string_list(seen.root));
        facts.set("privileged", Value::string_list(seen.privileged));
        facts.set("unpinned_images", Value::string_list(seen.unpinned));
        facts.set("images", Value::string_list(seen.images));
        Ok(facts)
    }))
}

/// The YAML files at `path`: the file itself, or every `.yaml`/`.yml` file under the
/// directory in name order (hidden entries and symlinks are not followed).
fn manifest_files(path: &Path, max_files: usize) -> Result<Vec<PathBuf>, ProbeError> {
    let meta = std::fs::metadata(path).map_err(|e| ProbeError::new(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    // Directory entries looked at, all files counted: a path such as / or a checkout with
    // node_modules is refused, not walked for minutes.
    let mut looked_at = 0usize;
    let budget = max_files.saturating_mul(50).max(10_000);
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| ProbeError::new(format!("cannot list {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            looked_at += 1;
            if looked_at > budget {
                return Err(ProbeError::new(format!(
                    "{} holds more than {budget} files and directories: point path at the manifests",
                    path.display()
                )));
            }
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            let p = entry.path();
            if kind.is_dir() {
                dirs.push(p);
            } else if kind.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                found.push(p);
                if found.len() > max_files {
                    return Err(ProbeError::new(format!(
                        "{} holds more than {max_files} YAML files: raise max_files, or point path at the manifests",
                        path.display()
                    )));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

#[derive(Default)]
struct Findings {
    workloads: Vec<String>,
    containers: i64,
    no_readiness: Vec<String>,
    no_liveness: Vec<String>,
    no_limits: Vec<String>,
    root: Vec<String>,
    privileged: Vec<String>,
    unpinned: Vec<String>,
    images: Vec<String>,
}

/// A key's entry; a key written as `null` (Helm's `{{ toYaml .Values.x }}` of an unset
/// value) is absent, as Kubernetes reads it.
fn get<'a>(node: &'a Node, key: &str) -> Option<&'a Entry> {
    match node {
        Node::Map(entries) => entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, e)| e)
            .filter(|e| !matches!(e.node, Node::Scalar(Value::Null))),
        _ => None,
    }
}

fn path<'a>(node: &'a Node, keys: &[&str]) -> Option<&'a Entry> {
    let (first, rest) = keys.split_first()?;
    let entry = get(node, first)?;
    if rest.is_empty() { Some(entry) } else { path(&entry.node, rest) }
}

fn text(node: &Node, key: &str) -> Option<String> {
    match &get(node, key)?.node {
        Node::Scalar(Value::Null) => None,
        Node::Scalar(v) => Some(v.to_string()),
        _ => None,
    }
}

fn flag(node: &Node, key: &str) -> Option<bool> {
    match &get(node, key)?.node {
        Node::Scalar(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

fn int(node: &Node, key: &str) -> Option<i64> {
    match &get(node, key)?.node {
        Node::Scalar(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

impl Findings {
    fn document(&mut self, doc: &Entry, file: &str, limits: &[String], require_digest: bool) {
        let Some(kind) = text(&doc.node, "kind") else { return };
        if kind == "List" {
            if let Some(Entry { node: Node::List(items), .. }) = get(&doc.node, "items") {
                for item in items {
                    self.document(item, file, limits, require_digest);
                }
            }
            return;
        }
        let pod_spec: &[&str] = match kind.as_str() {
            "Pod" => &["spec"],
            "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => &["spec", "template", "spec"],
            _ => return,
        };
        let name = path(&doc.node, &["metadata", "name"])
            .and_then(|e| match &e.node {
                Node::Scalar(v) => Some(v.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "(unnamed)".into());
        let workload = format!("{kind}/{name}");
        self.workloads.push(workload.clone());
        let Some(spec) = path(&doc.node, pod_spec) else { return };
        let pod_security = get(&spec.node, "securityContext").map(|e| &e.node);
        let long_running = !matches!(kind.as_str(), "Job" | "CronJob");
        for (list, init) in [("initContainers", true), ("containers", false)] {
            let Some(Entry { node: Node::List(containers), .. }) = get(&spec.node, list) else { continue };
            for c in containers {
                self.container(&workload, c, file, init, long_running, pod_security, limits, require_digest);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn container(
        &mut self,
        workload: &str,
        c: &Entry,
        file: &str,
        init: bool,
        long_running: bool,
        pod_security: Option<&Node>,
        limits: &[String],
        require_digest: bool,
    ) {
        self.containers += 1;
        let name = text(&c.node, "name").unwrap_or_else(|| "(unnamed)".into());
        let which = if init { "init container" } else { "container" };
        let at = format!("{workload} {which} {name} ({file}:{})", c.line);
        if long_running && !init {
            if get(&c.node, "readinessProbe").is_none() {
                self.no_readiness.push(at.clone());
            }
            if get(&c.node, "livenessProbe").is_none() {
                self.no_liveness.push(at.clone());
            }
        }
        let missing: Vec<String> = limits
            .iter()
            .filter(|r| path(&c.node, &["resources", "limits", r.as_str()]).is_none())
            .map(|r| format!("limits.{r}"))
            .collect();
        if !missing.is_empty() {
            self.no_limits.push(format!("{at}: no {}", missing.join(", no ")));
        }
        // The container's securityContext overrides the pod's, key by key.
        let own = get(&c.node, "securityContext").map(|e| &e.node);
        let setting_int = |key: &str| own.and_then(|s| int(s, key)).or_else(|| pod_security.and_then(|s| int(s, key)));
        let setting_flag =
            |key: &str| own.and_then(|s| flag(s, key)).or_else(|| pod_security.and_then(|s| flag(s, key)));
        let non_root = match setting_int("runAsUser") {
            Some(0) => false,
            Some(_) => true,
            None => setting_flag("runAsNonRoot") == Some(true),
        };
        if !non_root {
            let why = match setting_int("runAsUser") {
                Some(0) => "runAsUser: 0",
                _ => "no runAsNonRoot: true or runAsUser",
            };
            self.root.push(format!("{at}: {why}"));
        }
        let privileged = own.and_then(|s| flag(s, "privileged")) == Some(true);
        let escalation = own.and_then(|s| flag(s, "allowPrivilegeEscalation")) == Some(true);
        if privileged || escalation {
            let what = if privileged { "privileged: true" } else { "allowPrivilegeEscalation: true" };
            self.privileged.push(format!("{at}: {what}"));
        }
        match text(&c.node, "image") {
            None => self.unpinned.push(format!("{at}: no image")),
            Some(image) => {
                if let Some(why) = unpinned(&image, require_digest) {
                    self.unpinned.push(format!("{at}: {image} ({why})"));
                }
                if !self.images.contains(&image) {
                    self.images.push(image);
                }
            }
        }
    }
}

/// Why an image reference is not pinned, if it is not: `registry:5000/app` has no tag (the
/// port is not one), `app:latest` floats, and with `require_digest` only `@sha256:…` pins.
pub fn unpinned(image: &str, require_digest: bool) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    if require_digest {
        return Some("no digest");
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("no tag"),
        Some((_, "latest")) => Some("tag latest"),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_pinned_by_a_tag_other_than_latest_or_by_a_digest() {
        assert_eq!(unpinned("registry.internal:5000/app", false), Some("no tag"));
        assert_eq!(unpinned("app:latest", false), Some("tag latest"));
        assert_eq!(unpinned("ghcr.io/acme/app:1.4.2", false), None);
        assert_eq!(unpinned("ghcr.io/acme/app:1.4.2", true), Some("no digest"));
        assert_eq!(unpinned("app@sha256:0123", true), None);
    }
}

//! Which facts say why an expectation failed. A failing row that reads only
//! `chain_trusted: expected == true, observed false` hides the why the probe already knows
//! (`verify_error`); every output shows the facts named here next to the failed
//! expectation (`engine::judge` builds the explanation, masked like every fact).
//!
//! Declared per probe kind and fact, beside the probes' own declarations; a test checks
//! that every name here is a declared fact of its probe.

/// (probe kind, fact, the facts that explain a failed expectation on it, in order).
pub static EXPLAINED_BY: &[(&str, &str, &[&str])] = &[
    ("tls", "chain_trusted", &["verify_error"]),
    ("tls", "hostname_valid", &["verify_error", "sans"]),
    ("tls", "days_remaining", &["not_after"]),
    ("tls", "chain_min_days_remaining", &["verify_error"]),
    ("tls", "accepts_tls10", &["tls10_answer"]),
    ("tls", "accepts_tls11", &["tls11_answer"]),
    ("tcp", "open", &["closed_reason"]),
    ("http", "status", &["redirect_location", "body_excerpt"]),
    ("http", "rate_limited", &["status_counts"]),
    ("http", "redirects_to_https", &["redirect_location", "final_url"]),
    ("http", "final_url", &["redirect_location"]),
    ("http", "hsts_max_age", &["headers.strict-transport-security"]),
    ("http", "hsts_include_subdomains", &["headers.strict-transport-security"]),
    ("http", "hsts_preload", &["headers.strict-transport-security"]),
    ("http", "cors_allows_any_origin_with_credentials", &["headers.access-control-allow-origin"]),
    ("http", "server_banner_version", &["headers.server"]),
    ("backup", "gzip_ok", &["gzip_error"]),
    ("backup", "pg_dump_ok", &["pg_dump_error"]),
    ("backup", "count", &["newest"]),
    ("backup", "age", &["newest"]),
    ("secrets_scan", "count", &["findings"]),
    ("secrets_scan", "kinds", &["findings"]),
    ("postgres", "migrations_failed_count", &["migrations_failed"]),
    ("postgres", "migrations_pending_count", &["migrations_pending"]),
    ("postgres", "superuser_count", &["current_user"]),
    ("postgres", "role_superuser", &["role_name"]),
    ("postgres", "role_createrole", &["role_name"]),
    ("postgres", "role_createdb", &["role_name"]),
    ("postgres", "role_replication", &["role_name"]),
    ("postgres", "role_bypassrls", &["role_name"]),
    ("postgres", "connections_headroom_percent", &["connections_used", "connections_max"]),
    ("ports", "count", &["open_ports"]),
    ("ports", "unexpected_open", &["address"]),
    ("systemd", "active", &["active_state", "sub_state"]),
    ("systemd", "enabled", &["unit_file_state"]),
    ("systemd", "runs_as_root", &["user"]),
    ("file", "world_readable", &["mode", "owner"]),
    ("file", "world_writable", &["mode", "owner"]),
    ("file", "mode", &["owner", "group"]),
    ("command", "exit_code", &["stderr"]),
    ("dns", "resolves", &["nxdomain", "reverse_name"]),
    ("dns", "answers", &["nxdomain", "reverse_name"]),
    ("dns", "ttl", &["answers"]),
    ("dns", "missing_answers", &["answers", "nxdomain", "reverse_name"]),
    ("dns", "unexpected_answers", &["answers"]),
    ("dns", "caa_issuers", &["answers", "nxdomain"]),
    ("dns", "caa_wildcard_issuers", &["answers", "nxdomain"]),
    ("dns", "srv_targets", &["answers", "nxdomain"]),
    ("dns", "srv_ports", &["answers", "nxdomain"]),
    ("dns", "soa_serial", &["answers", "nxdomain"]),
    ("dns", "soa_primary", &["answers", "nxdomain"]),
    ("dns", "soa_negative_ttl", &["answers", "nxdomain"]),
    ("redis", "master_link_status", &["role"]),
    ("redis", "credentials_accepted", &["auth_error"]),
];

/// The facts that explain a failed expectation on `fact` of probe `kind`.
pub fn explained_by(kind: &str, fact: &str) -> &'static [&'static str] {
    EXPLAINED_BY.iter().find(|(k, f, _)| *k == kind && *f == fact).map_or(&[], |(_, _, by)| by)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_explanation_names_declared_facts() {
        for (kind, fact, by) in EXPLAINED_BY {
            let spec = crate::probe::find(kind).unwrap_or_else(|| panic!("{kind} is a probe"));
            assert!(spec.fact(fact).is_some(), "{kind}: {fact} is a declared fact");
            assert!(!by.is_empty());
            for name in *by {
                assert!(spec.fact(name).is_some(), "{kind}: {name} (explaining {fact}) is a declared fact");
                assert_ne!(name, fact);
            }
        }
        assert_eq!(explained_by("tls", "chain_trusted"), ["verify_error"]);
        assert!(explained_by("tls", "no_such_fact").is_empty());
    }
}

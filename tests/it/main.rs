//! golive's integration tests, one module per area, built as one test binary: one link
//! and one copy of the shared servers (tests/it/support) instead of one per file. Run one
//! area with `cargo test --test it redis::`.

mod support;

mod catalogue;
mod catalogue_dirs;
mod child_env;
mod ci_outputs;
mod cli_conventions;
mod cli_run;
mod cli_validate;
mod concurrent_writers;
mod conditions;
mod config_facts;
mod coverage;
mod descriptors;
mod diagnostic_codes;
mod dns_records;
mod docs_sync;
mod exec_probe;
mod explanations;
mod fleet;
mod history;
mod hostile_input;
mod hostile_servers;
mod html_browser;
mod init;
mod legacy_tls;
mod loader_fuzz;
mod loader_hostile;
mod long_texts;
mod masking;
mod no_leftovers;
mod observed;
mod outcome_model;
mod postgres;
mod probes;
mod process_groups;
mod reach;
mod red_green;
mod redis;
mod report_formats;
mod schema;
mod security_probes;
mod shards;
mod shipped_checklists;
mod signals;
mod signing;
mod system_probes;
mod until_pass;
mod verifier_agreement;
mod waivers_attestations;
mod weak_passes_host;
mod weak_passes_net;

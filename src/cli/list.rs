//! `golive list`: the items of a checklist, without running anything.

use std::path::PathBuf;

use clap::Args;
use comfy_table::{ContentArrangement, Table, presets};

use super::{exit, load_and_report, parse_var};
use crate::checklist::{LoadMode, LoadOptions};

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Checklist files.
    #[arg(default_value = "golive.toml")]
    files: Vec<PathBuf>,
    /// Set a var, as for `run`.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
}

pub fn run(args: ListArgs) -> u8 {
    let opts = LoadOptions { vars: args.vars, mode: LoadMode::Validate, attestations: None };
    let (loaded, ok) = load_and_report(&args.files, &opts);
    let Some(checklist) = loaded.checklist.filter(|_| ok) else {
        return exit::INVALID;
    };
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(super::terminal_width().unwrap_or(120));
    table.force_no_tty();
    table.set_header(["ID", "Section", "Severity", "Probe", "Title", "Depends on", "Tags"]);
    for item in &checklist.items {
        table.add_row(vec![
            item.id.clone(),
            item.section.clone(),
            item.severity.as_str().to_string(),
            item.probe.kind.to_string(),
            item.title.clone(),
            item.depends_on.join(", "),
            item.tags.join(", "),
        ]);
    }
    println!("{table}");
    let n = checklist.items.len();
    println!("{n} item{}", if n == 1 { "" } else { "s" });
    exit::PASSED
}

//! `golive list`: the items of a checklist, without running anything.

use std::path::PathBuf;

use clap::Args;
use comfy_table::{ContentArrangement, Table, presets};

use super::{exit, load_and_report, parse_var};
use crate::checklist::{LoadMode, LoadOptions};
use crate::report::{cell_text, plural};

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
    // The checklist's text is masked as `run` masks it, value by value, before a cell can
    // cut it short; ids and probe kinds are names.
    let mask = |text: &str| loaded.redactor.redact(text).into_owned();
    for item in &checklist.items {
        let tags: Vec<String> = item.tags.iter().map(|t| mask(t)).collect();
        table.add_row(vec![
            cell_text(&item.id),
            cell_text(&mask(&item.section)),
            item.severity.as_str().to_string(),
            item.probe.kind.to_string(),
            cell_text(&mask(&item.title)),
            cell_text(&item.depends_on.join(", ")),
            cell_text(&tags.join(", ")),
        ]);
    }
    println!("{table}");
    println!("{}", plural(checklist.items.len(), "item"));
    exit::PASSED
}

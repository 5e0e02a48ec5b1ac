//! `golive list`: the items of a checklist, without running anything.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
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
    /// text: a table and a count; json: an array of the items, for tools.
    #[arg(long, value_enum, default_value = "text")]
    format: ListFormat,
    #[command(flatten)]
    targets: super::targets::TargetArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

pub fn run(args: ListArgs) -> u8 {
    let targets = match args.targets.targets() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return super::exit::INVALID;
        }
    };
    let opts = LoadOptions { vars: args.vars, mode: LoadMode::Validate, attestations: None, targets };
    let (loaded, ok) = load_and_report(&args.files, &opts);
    let Some(checklist) = loaded.checklist.filter(|_| ok) else {
        return exit::INVALID;
    };
    // The checklist's text is masked as `run` masks it, value by value, before a cell can
    // cut it short; ids and probe kinds are names.
    let mask = |text: &str| loaded.redactor.redact(text).into_owned();
    if args.format == ListFormat::Json {
        let items: Vec<serde_json::Value> = checklist
            .items
            .iter()
            .map(|item| {
                let (line, column) = loaded.sources.line_col(item.loc.file, item.loc.span.start);
                serde_json::json!({
                    "id": item.id,
                    "title": mask(&item.title),
                    "section": mask(&item.section),
                    "severity": item.severity.as_str(),
                    "probe": item.probe.kind,
                    "manual": item.is_manual(),
                    "depends_on": item.depends_on,
                    "tags": item.tags.iter().map(|t| mask(t)).collect::<Vec<_>>(),
                    "owner": item.owner.as_deref().map(mask),
                    "location": {
                        "file": mask(&loaded.sources.path(item.loc.file).display().to_string()),
                        "line": line,
                        "column": column,
                    },
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&items).unwrap_or_default());
        return exit::PASSED;
    }
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(super::terminal_width().unwrap_or(120));
    table.force_no_tty();
    table.set_header(["ID", "Section", "Severity", "Probe", "Title", "Depends on", "Tags"]);
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

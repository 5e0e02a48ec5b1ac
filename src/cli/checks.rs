//! `golive checks`: the check catalogue items can `use`, and the built-in checklists a
//! checklist can include as `golive:NAME`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use comfy_table::{ContentArrangement, Table, presets};

use super::exit;
use crate::checklist::catalogue::{Catalogue, builtin_checklist_names};
use crate::report::{cell_text, plural};

#[derive(Args, Debug)]
pub struct ChecksArgs {
    /// A check id: print its definition. Without it, list the catalogue.
    id: Option<String>,
    /// Also read checks from this directory of AREA/NAME.toml files (repeatable).
    #[arg(long = "dir", value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// text: a table (or the check's TOML); json: the same for tools.
    #[arg(long, value_enum, default_value = "text")]
    format: ChecksFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ChecksFormat {
    Text,
    Json,
}

/// The `[check]` keys a listing shows, read without validating the file.
fn summary(text: &str) -> (String, String, String) {
    let table: toml::Table = toml::from_str(text).unwrap_or_default();
    let check = table.get("check").and_then(|c| c.as_table());
    let get = |key: &str| check.and_then(|c| c.get(key)).and_then(|v| v.as_str()).unwrap_or("").to_string();
    (get("probe"), get("severity"), get("title"))
}

pub fn run(args: ChecksArgs) -> u8 {
    let mut catalogue = Catalogue::builtin();
    for dir in &args.dirs {
        if let Err(e) = catalogue.add_dir(dir) {
            eprintln!("error: cannot read check directory {}: {e}", dir.display());
            return exit::INVALID;
        }
    }
    if let Some(id) = &args.id {
        let Some(source) = catalogue.get(id) else {
            eprintln!("error: no check `{id}` in the catalogue; `golive checks` lists them");
            return exit::INVALID;
        };
        match source.read() {
            Ok(bytes) => {
                // A check's own text holds no known secret, but a URL with a password in it
                // is masked here as in every output.
                let text = crate::redact::mask_url_passwords(&String::from_utf8_lossy(&bytes)).into_owned();
                if args.format == ChecksFormat::Json {
                    // The definition as JSON; a file that is not TOML (a team's broken
                    // check) is `null`, its text is still there.
                    let definition =
                        toml::from_str::<toml::Table>(&text).ok().and_then(|t| serde_json::to_value(t).ok());
                    let json = serde_json::json!({
                        "id": id,
                        "file": source.display_path().display().to_string(),
                        "definition": definition,
                        "source": text,
                    });
                    println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
                } else {
                    println!("# {}", source.display_path().display());
                    print!("{text}");
                }
                exit::PASSED
            }
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", source.display_path().display());
                exit::INTERNAL
            }
        }
    } else if args.format == ChecksFormat::Json {
        let checks: Vec<serde_json::Value> = catalogue
            .ids()
            .map(|id| {
                let source = catalogue.get(id);
                let text = source.and_then(|s| s.read().ok()).unwrap_or_default();
                let (probe, severity, title) = summary(&String::from_utf8_lossy(&text));
                serde_json::json!({
                    "id": id,
                    "probe": probe,
                    "severity": severity,
                    "title": crate::redact::mask_url_passwords(&title),
                    "file": source.map(|s| s.display_path().display().to_string()),
                })
            })
            .collect();
        let json = serde_json::json!({ "checks": checks, "checklists": builtin_checklist_names() });
        println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        exit::PASSED
    } else {
        let mut table = Table::new();
        table.load_style(presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Dynamic);
        table.set_width(super::terminal_width().unwrap_or(120));
        table.force_no_tty();
        table.set_header(["Check", "Probe", "Severity", "Title"]);
        let ids: Vec<String> = catalogue.ids().map(str::to_string).collect();
        for id in &ids {
            let text = catalogue.get(id).and_then(|s| s.read().ok()).unwrap_or_default();
            let (probe, severity, title) = summary(&String::from_utf8_lossy(&text));
            let title = crate::redact::mask_url_passwords(&title).into_owned();
            table.add_row(vec![cell_text(id), cell_text(&probe), cell_text(&severity), cell_text(&title)]);
        }
        println!("{table}");
        println!(
            "{}. Use one in a checklist item: use = \"ID\", vars = {{ … }}; `golive checks ID` shows it.",
            plural(ids.len(), "check")
        );
        println!("Built-in checklists (include = [\"golive:NAME\"]): {}", builtin_checklist_names().join(", "));
        exit::PASSED
    }
}

//! `golive init`: a starter checklist that includes the chosen built-in checklists and
//! declares, with their descriptions, the vars they need. A new user goes from nothing to a
//! first real run with `golive init` and `golive run`.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::{exit, parse_var};
use crate::checklist::catalogue::{builtin_checklist, builtin_checklist_names, builtin_checklist_vars};
use crate::checklist::{LoadMode, LoadOptions, load};
use crate::diag::{self, Level};

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Built-in checklists to include, comma-separated (see `golive checks` for the list).
    #[arg(long = "with", value_name = "AREA,...", value_delimiter = ',', default_value = "go-live")]
    areas: Vec<String>,
    /// Where to write the checklist; an existing file is never overwritten.
    #[arg(long, default_value = "golive.toml")]
    out: PathBuf,
    /// The checklist's name (default: "<directory> go-live").
    #[arg(long)]
    name: Option<String>,
    /// Give a var its value now: --var base_url=https://api.example.com (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// The service's stack: fills in the commands and settings that depend on it (test,
    /// lint and audit commands, the log level variable, the variables that must be set).
    /// Asked on a terminal when the checklists need it; `other` leaves them to you.
    #[arg(long, value_enum)]
    stack: Option<Stack>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Stack {
    /// A Rust service (cargo).
    Rust,
    /// A Phoenix / Elixir release (mix).
    Phoenix,
    /// Anything else: every stack-specific var is left for you to set.
    Other,
}

/// The vars whose sensible value depends on the stack: the shipped checklists give them no
/// default (a default would check one stack's placeholder on every other).
const STACK_VARS: &[&str] =
    &["test_command", "lint_command", "audit_command", "log_level_setting", "required_env", "debug_setting"];

/// What each stack gives the stack-dependent vars. `log_level_setting` and
/// `debug_setting` empty: the setting is not in the env file (Phoenix configures both in
/// config/prod.exs), so those items are not applicable.
fn preset(stack: Stack, var: &str) -> Option<&'static str> {
    Some(match (stack, var) {
        (Stack::Rust, "test_command") => "cargo test --release",
        (Stack::Rust, "lint_command") => "cargo fmt --check && cargo clippy --release --all-targets -- -D warnings",
        (Stack::Rust, "audit_command") => "cargo audit --deny warnings",
        (Stack::Rust, "log_level_setting") => "RUST_LOG",
        (Stack::Rust, "required_env") => "DATABASE_URL RUST_LOG",
        (Stack::Rust, "debug_setting") => "",
        (Stack::Phoenix, "test_command") => "mix test",
        (Stack::Phoenix, "lint_command") => "mix format --check-formatted && mix compile --warnings-as-errors --force",
        (Stack::Phoenix, "audit_command") => "mix deps.audit && mix hex.audit",
        (Stack::Phoenix, "log_level_setting") => "",
        (Stack::Phoenix, "required_env") => "DATABASE_URL SECRET_KEY_BASE PHX_HOST PHX_SERVER",
        (Stack::Phoenix, "debug_setting") => "",
        _ => return None,
    })
}

/// The stack from `--stack`, else asked on a terminal; `None` (after saying why) when it is
/// needed and cannot be asked.
fn choose_stack(given: Option<Stack>) -> Option<Stack> {
    use std::io::IsTerminal as _;
    if given.is_some() {
        return given;
    }
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: the chosen checklists run stack-specific commands (tests, lints, the dependency audit); say which with --stack rust, --stack phoenix or --stack other (other: you set {} yourself)",
            STACK_VARS.join(", ")
        );
        return None;
    }
    loop {
        print!("Which stack does the service run? [rust/phoenix/other]: ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).unwrap_or(0) == 0 {
            eprintln!("error: no answer; pass --stack rust, phoenix or other");
            return None;
        }
        match <Stack as clap::ValueEnum>::from_str(line.trim(), true) {
            Ok(stack) => return Some(stack),
            Err(_) => println!("please answer rust, phoenix or other"),
        }
    }
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub fn run(args: InitArgs) -> u8 {
    let names = builtin_checklist_names();
    for area in &args.areas {
        if builtin_checklist(area).is_none() {
            eprintln!("error: no built-in checklist `{area}`; choose from: {}", names.join(", "));
            return exit::INVALID;
        }
    }
    let name = args.name.clone().unwrap_or_else(|| {
        let dir = std::env::current_dir().ok();
        let base = dir.as_deref().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned());
        format!("{} go-live", base.unwrap_or_else(|| "service".into()))
    });
    let mut text = format!(
        "# golive checklist, written by `golive init --with {}`.\n\
         # Give every required var below a value, then: golive validate && golive run\n\
         # `golive checks` lists reusable checks to add as [[item]] use = \"ID\"; `golive probes`\n\
         # lists what can be observed.\n\n[checklist]\nname = {}\nversion = \"0.1.0\"\ninclude = [{}]\n",
        args.areas.join(","),
        quoted(&name),
        args.areas.iter().map(|a| quoted(&format!("golive:{a}"))).collect::<Vec<_>>().join(", ")
    );
    let mut required = Vec::new();
    let mut declared = Vec::new();
    for area in &args.areas {
        for var in builtin_checklist_vars(area) {
            if !declared.iter().any(|d: &crate::checklist::catalogue::DeclaredVar| d.name == var.name) {
                declared.push(var);
            }
        }
    }
    let needs_stack =
        declared.iter().any(|v| STACK_VARS.contains(&v.name.as_str()) && !args.vars.iter().any(|(n, _)| *n == v.name));
    let stack = if needs_stack {
        match choose_stack(args.stack) {
            Some(stack) => Some(stack),
            None => return exit::INVALID,
        }
    } else {
        args.stack
    };
    if !declared.is_empty() {
        text.push_str("\n[vars]\n");
    }
    for var in &declared {
        let description = var.description.clone().unwrap_or_default();
        let given = args.vars.iter().find(|(n, _)| *n == var.name).map(|(_, v)| v.clone());
        let from_stack = given.is_none().then(|| stack.and_then(|s| preset(s, &var.name))).flatten();
        match (given, &var.default) {
            (Some(value), _) => {
                text.push_str(&format!("# {description}\n{} = {}\n", var.name, quoted(&value)));
            }
            (None, _) if from_stack.is_some() => {
                let stack = stack.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default();
                let value = from_stack.unwrap_or_default();
                text.push_str(&format!("# {description} (for --stack {stack})\n{} = {}\n", var.name, quoted(value)));
            }
            (None, Some(default)) => {
                text.push_str(&format!(
                    "# {description} (default {})\n# {} = {}\n",
                    quoted(default),
                    var.name,
                    quoted(default)
                ));
            }
            (None, None) => {
                required.push(var.name.clone());
                text.push_str(&format!(
                    "# REQUIRED: {description}. Replace with {} = \"…\" (use \"${{env:NAME}}\" for secrets).\n{} = {{ description = {} }}\n",
                    var.name,
                    var.name,
                    quoted(&description)
                ));
            }
        }
    }
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&args.out) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "error: {} already exists; golive init never overwrites a file (choose another --out)",
                args.out.display()
            );
            return exit::INVALID;
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", args.out.display());
            return exit::INTERNAL;
        }
    };
    if let Err(e) = file.write_all(text.as_bytes()) {
        eprintln!("error: cannot write {}: {e}", args.out.display());
        return exit::INTERNAL;
    }
    // What was written must load: check it the way `golive validate` would.
    let loaded = load(
        std::slice::from_ref(&args.out),
        &LoadOptions { vars: Vec::new(), mode: LoadMode::Validate, attestations: None, targets: Vec::new() },
    );
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.level == Level::Error).cloned().collect();
    if !errors.is_empty() {
        eprint!("{}", diag::render(&loaded.sources, &errors));
        eprintln!("golive: internal error: the starter checklist does not validate");
        return exit::INTERNAL;
    }
    let items = loaded.checklist.map(|c| c.items.len()).unwrap_or(0);
    println!("wrote {} ({items} items from {})", args.out.display(), args.areas.join(", "));
    if required.is_empty() {
        println!("next: golive run {}", args.out.display());
    } else {
        println!(
            "next: give these vars a value in {} (or pass --var NAME=VALUE): {}",
            args.out.display(),
            required.join(", ")
        );
        println!("then: golive run {}", args.out.display());
    }
    exit::PASSED
}

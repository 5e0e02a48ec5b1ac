//! `golive schema`: the JSON Schema of checklist files or of catalogue check files, for
//! editors (docs/golive.schema.json and docs/check.schema.json are this command's output).

use clap::{Args, ValueEnum};

use super::exit;
use crate::checklist::schema::{self, SchemaKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Which {
    /// A checklist file (docs/golive.schema.json).
    Checklist,
    /// A catalogue check file, checks/AREA/NAME.toml (docs/check.schema.json).
    Check,
}

#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// Which file the schema describes.
    #[arg(value_enum, default_value = "checklist")]
    which: Which,
}

pub fn run(args: SchemaArgs) -> u8 {
    let kind = match args.which {
        Which::Checklist => SchemaKind::Checklist,
        Which::Check => SchemaKind::Check,
    };
    print!("{}", schema::render(kind));
    exit::PASSED
}

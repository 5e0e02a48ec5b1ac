//! `golive completions SHELL`: the shell completion script for bash, zsh, fish, PowerShell or
//! elvish, generated from the same command definition that parses the arguments
//! (clap_complete), so every subcommand and option completes.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, exit};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell, elvish.
    #[arg(value_enum)]
    shell: Shell,
}

pub fn run(args: CompletionsArgs) -> u8 {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "golive", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
    exit::PASSED
}

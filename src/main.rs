//! The golive binary: everything happens in `golive::cli`.

fn main() -> std::process::ExitCode {
    golive::cli::main()
}

//! The golive binary: everything happens in `golive::cli`.

/// mimalloc: loading and running allocate many small values, and glibc malloc spent a
/// quarter of a 50,000-item validate in malloc/free (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    golive::cli::main()
}

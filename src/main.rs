//! The golive binary: everything happens in `golive::cli`.

/// mimalloc: loading and running allocate many small values, and glibc malloc spent a
/// quarter of a 50,000-item validate in malloc/free (docs/benchmarks.md).
/// `--features system-alloc` leaves the system allocator in place, for heap profilers.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // No transparent huge pages: the allocator's fresh memory would be faulted in (and
    // cleared) 2 MiB at a time, which made a large validate's peak RSS 5-15 % higher and
    // varying from run to run, for no measurable gain in a short-lived process.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    #[cfg(not(feature = "system-alloc"))]
    let _ = golive::cli::RETURN_FREED_MEMORY.set(|| {
        // SAFETY: mi_collect takes no pointers; `force` also purges what the runtime's
        // exited threads left.
        unsafe { libmimalloc_sys::mi_collect(true) }
    });
    golive::cli::main()
}

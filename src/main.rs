//! The golive binary: everything happens in `golive::cli`.

/// mimalloc: loading and running allocate many small values, and glibc malloc spent a
/// quarter of a 50,000-item validate in malloc/free (docs/benchmarks.md).
/// `--features system-alloc` leaves the system allocator in place, for heap profilers.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// No transparent huge pages: the allocator's fresh memory would be faulted in (and
/// cleared) 2 MiB at a time, which made a large validate's peak RSS 5-15 % higher and
/// varying from run to run, for no measurable gain in a short-lived process.
///
/// Set by a constructor, not in `main`: mimalloc takes its first memory before `main` (for
/// the runtime's own start-up), and faulting in and clearing that first huge page was
/// 0.6 ms of a one-item run's 3.9 ms (docs/benchmarks.md). The `.init_array.00101`
/// section runs before every constructor of default priority (mimalloc's among them); 101
/// is the first priority left to programs. The flag is inherited by the processes golive
/// starts, as it was when `main` set it.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array.00101")]
static NO_TRANSPARENT_HUGE_PAGES: extern "C" fn() = no_transparent_huge_pages;

#[cfg(target_os = "linux")]
extern "C" fn no_transparent_huge_pages() {
    // A bare system call: before `main` nothing else of the program is set up.
    let _ = nix::sys::prctl::set_thp_disable(true);
}

fn main() -> std::process::ExitCode {
    #[cfg(not(feature = "system-alloc"))]
    let _ = golive::cli::RETURN_FREED_MEMORY.set(|| {
        // SAFETY: mi_collect takes no pointers; `force` also purges what the runtime's
        // exited threads left.
        unsafe { libmimalloc_sys::mi_collect(true) }
    });
    golive::cli::main()
}

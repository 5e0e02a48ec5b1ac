//! How much heap loading a checklist keeps, counted exactly (whatever the allocator):
//! `cargo run --release --example load_heap -- FILE...` prints the items, the live heap
//! after loading, the peak while loading and the number of allocations. docs/benchmarks.md
//! ("validate") quotes it; `bench/validate.sh` gives the whole process's RSS and time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: the caller's layout is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    if paths.is_empty() {
        eprintln!("usage: load_heap FILE...");
        std::process::exit(2);
    }
    let opts = golive::checklist::LoadOptions {
        vars: Vec::new(),
        mode: golive::checklist::LoadMode::Validate,
        attestations: None,
        targets: Vec::new(),
    };
    let loaded = golive::checklist::load(&paths, &opts);
    let items = loaded.checklist.as_ref().map_or(0, |c| c.items.len());
    let live = LIVE.load(Relaxed);
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "items {items}  live {:.1} MiB ({} B/item)  peak {:.1} MiB  allocations {}  diagnostics {}",
        mib(live),
        live / items.max(1),
        mib(PEAK.load(Relaxed)),
        ALLOCATIONS.load(Relaxed),
        loaded.diagnostics.len()
    );
}

//! A counting global allocator, installed by the `ws-bench` binary, so a server process can say
//! how many heap allocations it made and how many bytes it holds. It can also print the
//! backtraces of the next few allocations, to find where the steady-state ones come from.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static TRACE_LEFT: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set while this thread prints a backtrace, whose own allocations are not traced.
    static TRACING: Cell<bool> = const { Cell::new(false) };
}

/// The system allocator, counting. `realloc` counts as one allocation (it may move the block).
pub struct CountingAlloc;

/// Counters since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Calls to `alloc`, `alloc_zeroed` and `realloc`.
    pub allocs: u64,
    /// Bytes requested by them.
    pub bytes: u64,
    /// Bytes currently allocated.
    pub live: i64,
}

/// The counters now.
pub fn stats() -> AllocStats {
    AllocStats {
        allocs: ALLOCS.load(Relaxed),
        bytes: ALLOC_BYTES.load(Relaxed),
        live: LIVE_BYTES.load(Relaxed),
    }
}

/// Prints the backtraces of the next `n` allocations to standard error.
pub fn trace_next(n: u64) {
    TRACE_LEFT.store(n, Relaxed);
}

fn count(size: usize) {
    ALLOCS.fetch_add(1, Relaxed);
    ALLOC_BYTES.fetch_add(size as u64, Relaxed);
    if TRACE_LEFT.load(Relaxed) > 0 {
        trace(size);
    }
}

#[cold]
fn trace(size: usize) {
    let _ = TRACING.try_with(|tracing| {
        if tracing.get() {
            return;
        }
        let claimed = TRACE_LEFT
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if !claimed {
            return;
        }
        tracing.set(true);
        let bt = std::backtrace::Backtrace::force_capture();
        eprintln!("=== allocation of {size} bytes\n{bt}");
        tracing.set(false);
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping only touches atomics
// and a const-initialised thread local.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        LIVE_BYTES.fetch_add(layout.size() as i64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        LIVE_BYTES.fetch_add(layout.size() as i64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

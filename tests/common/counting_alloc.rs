//! A global allocator that counts allocations per thread, for the tests
//! that check a hot path allocates nothing. Including this file (with
//! `#[path]`) installs it for the whole test binary; counting per thread
//! keeps the test harness and other tests, which allocate on their own
//! threads at the same time, out of the count.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // `const` thread-locals need no allocation on first use, so the
    // allocator itself can touch them.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

/// Allocations made by this thread so far.
pub fn allocations() -> usize {
    ALLOCS.with(Cell::get)
}

/// The allocations `f` makes on this thread.
pub fn allocations_in(f: impl FnOnce()) -> usize {
    let before = allocations();
    f();
    allocations() - before
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: during thread teardown the slot may be gone.
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwards the caller's layout unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

//! libFuzzer entry point of the `frontend_target` in `tests/common/hardening.rs`.
#![no_main]

#[allow(dead_code)]
#[path = "../../common/hardening.rs"]
mod hardening;

use hardening::CountingAlloc;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

libfuzzer_sys::fuzz_target!(init: { CountingAlloc::mark_installed(); }, |data: &[u8]| {
    hardening::frontend_target(data);
});

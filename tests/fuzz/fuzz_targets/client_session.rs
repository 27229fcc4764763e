//! libFuzzer entry point of the `client_target` in
//! `tests/common/client_fuzz.rs`: arbitrary server bytes against
//! `pgwire::client::Client`.
#![no_main]

#[path = "../../common/client_fuzz.rs"]
mod client_fuzz;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    client_fuzz::client_target(data);
});

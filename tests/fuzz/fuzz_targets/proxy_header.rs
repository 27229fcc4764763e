//! libFuzzer entry point of `proxy_header_target` in
//! `tests/common/proxy_fuzz.rs`: the PROXY protocol v1/v2 header parser.
#![no_main]

#[path = "../../common/proxy_fuzz.rs"]
mod proxy_fuzz;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    proxy_fuzz::proxy_header_target(data);
});

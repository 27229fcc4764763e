//! Replays the fuzz corpus (`tests/fuzz_corpus/<target>/`) through the
//! fuzz targets of `common::hardening`, so every input the fuzzers kept
//! (seeds, coverage finds and the inputs of fixed bugs) stays a regression
//! test on the stable toolchain. The fuzzing itself is `cargo fuzz`: see
//! `tests/fuzz/README.md`.

mod common;

use std::path::PathBuf;

use common::hardening::{self, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = common::repo_dir().join("tests/fuzz_corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).expect("read corpus file");
            (p, data)
        })
        .collect()
}

/// Runs `target` on every input of `name`'s corpus, naming the input that
/// fails.
fn replay<T>(name: &str, target: impl Fn(&[u8]) -> T) -> Vec<T> {
    CountingAlloc::mark_installed();
    corpus(name)
        .iter()
        .map(|(path, data)| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(data)))
                .unwrap_or_else(|_| panic!("{name} target failed on {}", path.display()))
        })
        .collect()
}

#[test]
fn frontend_corpus() {
    let stats = replay("frontend", hardening::frontend_target);
    let messages: usize = stats.iter().map(|s| s.messages).sum();
    // The corpus is not all garbage: it reaches the message decoders.
    assert!(messages > stats.len(), "only {messages} messages decoded");
}

#[test]
fn backend_corpus() {
    let stats = replay("backend", hardening::backend_target);
    let messages: usize = stats.iter().map(|s| s.messages).sum();
    assert!(messages > stats.len(), "only {messages} messages decoded");
}

#[test]
fn server_corpus() {
    let stats = replay("server", hardening::server_target);
    let sessions_with_output = stats.iter().filter(|s| s.messages > 0).count();
    assert!(
        sessions_with_output * 2 > stats.len(),
        "most inputs should reach a session"
    );
    let peak = stats.iter().map(|s| s.peak_heap).max().unwrap_or(0);
    let stalled = stats.iter().filter(|s| s.stalled).count();
    println!(
        "server corpus: {} inputs, {} with decoded output, {stalled} stalled \
         (client not reading), peak session heap {peak} bytes (bound {})",
        stats.len(),
        sessions_with_output,
        hardening::session_memory_bound()
    );
}

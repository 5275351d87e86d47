//! The `redress` binary: a thin shell around [`redress::cli`].

/// mimalloc rather than the system's allocator: requests are allocated on
/// the async workers and freed on the store's writer thread, which glibc's
/// allocator handles poorly under load with the durable store (the profile
/// and the A/B runs are in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    redress::cli::main()
}

//! The `redress` binary: a thin shell around [`redress::cli`].

/// mimalloc rather than the system's allocator: with glibc's, malloc and
/// free were 14% of the machine's CPU under load with the durable store
/// (requests are allocated on the async workers and freed on the store's
/// writer thread); see BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    redress::cli::main()
}

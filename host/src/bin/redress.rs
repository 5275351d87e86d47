//! The `redress` binary: a thin shell around [`redress::cli`].

fn main() -> std::process::ExitCode {
    redress::cli::main()
}

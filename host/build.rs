//! Builds the WebAssembly guests from source, so no `.wasm` is committed:
//! the example plugins (copied next to their manifests in `plugins/`, where
//! `redress serve` finds them) and the hostile test guests of
//! `tests/guests/` (left in the target directory; tests find them through
//! `REDRESS_GUESTS_DIR`).
//!
//! Guests are built by a nested `cargo build --target wasm32-wasip2` into
//! their own target directory, so one build serves every profile. The
//! `wasm32-wasip2` target is installed with rustup when it is missing. Set
//! `REDRESS_SKIP_GUESTS=1` to skip all of this (the engine still builds;
//! plugins and their tests will not be available).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Example plugins: package name = manifest name.
const EXAMPLES: [&str; 3] = ["sentiment", "classify", "goodwill"];
/// Hostile guests used by the plugin tests, built with redress-sdk.
const HOSTILE: [&str; 9] = [
    "guest-loop",
    "guest-memory-bomb",
    "guest-stack-overflow",
    "guest-panic",
    "guest-huge-output",
    "guest-wrong-type",
    "guest-log-flood",
    "guest-alias-output",
    "guest-wrong-export",
];
/// Hostile guests built with `std` (so they import WASI). A separate cargo
/// run: building them with the others would unify wit-bindgen's `std`
/// feature into the `no_std` SDK.
const HOSTILE_STD: [&str; 3] = [
    "guest-wasi-files",
    "guest-wasi-sockets",
    "guest-old-version",
];
const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let workspace = manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    println!("cargo:rerun-if-env-changed=REDRESS_SKIP_GUESTS");
    for watched in [
        "sdk/src",
        "sdk/wit",
        "sdk/macros/src",
        "sdk/Cargo.toml",
        "tests/guests",
    ]
    .iter()
    .map(|p| p.to_string())
    .chain(EXAMPLES.iter().flat_map(|e| {
        [
            format!("plugins/{e}/src"),
            format!("plugins/{e}/Cargo.toml"),
        ]
    })) {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("wasm-guests");
    let out = target_dir.join(TARGET).join("release");
    println!("cargo:rustc-env=REDRESS_GUESTS_DIR={}", out.display());
    if std::env::var_os("REDRESS_SKIP_GUESTS").is_some() {
        println!("cargo:warning=REDRESS_SKIP_GUESTS is set: WebAssembly plugins are not built");
        return;
    }
    if !ensure_target() {
        println!(
            "cargo:warning=the {TARGET} target is not installed and `rustup target add {TARGET}` failed: plugins are not built"
        );
        return;
    }
    let packages: Vec<&str> = EXAMPLES.iter().chain(HOSTILE.iter()).copied().collect();
    build_guests(&workspace, &target_dir, &packages);
    build_guests(&workspace, &target_dir, &HOSTILE_STD);
    for example in EXAMPLES {
        let built = out.join(format!("{example}.wasm"));
        let destination = workspace.join("plugins").join(format!("{example}.wasm"));
        copy_if_changed(&built, &destination);
    }
}

/// `cargo build --release --target wasm32-wasip2 -p ...` for `packages`.
fn build_guests(workspace: &Path, target_dir: &Path, packages: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    // The outer build's settings are not the guests' business.
    for variable in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MAKEFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(variable);
    }
    // Guests are small: optimise them as one unit (the SDK's matching is
    // inlined into each plugin), without debug info in the module.
    command
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => {
            panic!("building the WebAssembly guests failed ({status}); see the errors above")
        }
        Err(error) => panic!("cannot run cargo to build the WebAssembly guests: {error}"),
    }
}

/// Installs the wasm target with rustup when the active toolchain lacks it.
fn ensure_target() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if sysroot.is_some_and(|root| root.join("lib/rustlib").join(TARGET).is_dir()) {
        return true;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup (once)");
    let mut command = Command::new("rustup");
    command.args(["target", "add", TARGET]);
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        command.args(["--toolchain", &toolchain]);
    }
    command.status().is_ok_and(|s| s.success())
}

/// Copies only when the content differs, so an unchanged plugin does not
/// look modified to a running daemon's watcher.
fn copy_if_changed(from: &Path, to: &Path) {
    let Ok(bytes) = std::fs::read(from) else {
        panic!("the guest build did not produce {}", from.display());
    };
    if std::fs::read(to).is_ok_and(|existing| existing == bytes) {
        return;
    }
    let temporary = to.with_extension("wasm.tmp");
    if let Err(error) =
        std::fs::write(&temporary, &bytes).and_then(|_| std::fs::rename(&temporary, to))
    {
        panic!("cannot write {}: {error}", to.display());
    }
}

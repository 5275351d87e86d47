//! Builds the core-module guest (`guest-core/`) for `wasm32-unknown-unknown`
//! and tells the crate where it is (`GUEST_CORE_WASM`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let guest = manifest_dir.join("guest-core");
    println!("cargo:rerun-if-changed={}", guest.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        guest.join("Cargo.toml").display()
    );
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
        .unwrap_or(false);
    if !installed {
        let status = Command::new("rustup")
            .args(["target", "add", "wasm32-unknown-unknown"])
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            panic!(
                "cannot install the wasm32-unknown-unknown target: run `rustup target add wasm32-unknown-unknown`"
            );
        }
    }
    let target_dir = out_dir.join("guest");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--manifest-path",
        ])
        .arg(guest.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        panic!("building guest-core failed");
    }
    let wasm = target_dir.join("wasm32-unknown-unknown/release/guest_core_goodwill.wasm");
    println!("cargo:rustc-env=GUEST_CORE_WASM={}", wasm.display());
}

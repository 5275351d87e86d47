//! `redress plugin build [DIR]`: builds a plugin crate for
//! `wasm32-wasip2`, puts the component where its manifest says, and checks
//! both as the daemon would load them; then runs its fixtures, if any.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;

use anyhow::{Context as _, bail};

use crate::diagnostic::render_all;
use crate::plugin::{PluginRuntime, PluginSpec, RuntimeOptions, load_one};

/// The target plugins are built for.
const TARGET: &str = "wasm32-wasip2";

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The plugin crate (its `Cargo.toml`). Default: the current directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The manifest. Default: `NAME.toml` in DIR (NAME is the crate's
    /// library name), or `DIR.toml` beside it.
    #[arg(long)]
    manifest: Option<PathBuf>,
}

pub fn build_plugin(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let cargo_toml = args.dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo_toml).with_context(|| {
        format!(
            "cannot read {}: `plugin build` builds a plugin crate (`redress plugin new NAME` creates one)",
            cargo_toml.display()
        )
    })?;
    let package: toml::Table =
        toml::from_str(&text).with_context(|| format!("in {}", cargo_toml.display()))?;
    let Some(crate_name) = package
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
    else {
        bail!("{} has no [package] name", cargo_toml.display());
    };
    let library = package
        .get("lib")
        .and_then(|l| l.get("name"))
        .and_then(toml::Value::as_str)
        .unwrap_or(crate_name)
        .replace('-', "_");
    let manifest = match &args.manifest {
        Some(manifest) => manifest.clone(),
        None => [
            args.dir.join(format!("{library}.toml")),
            args.dir.join(format!("{crate_name}.toml")),
            args.dir.with_extension("toml"),
        ]
        .into_iter()
        .find(|path| path.is_file())
        .with_context(|| {
            format!(
                "no manifest {library}.toml in {} (nor {}); name it with --manifest",
                args.dir.display(),
                args.dir.with_extension("toml").display()
            )
        })?,
    };
    // The manifest first: a broken one is reported before a long build.
    let spec = match PluginSpec::load(&manifest) {
        Ok(spec) => spec,
        Err(diagnostics) => {
            eprint!("{}", render_all(&diagnostics, &Default::default()));
            return Ok(ExitCode::FAILURE);
        }
    };
    ensure_target();
    let status = Command::new(cargo())
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(&cargo_toml)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        eprintln!("error: cargo build failed for {}", cargo_toml.display());
        return Ok(ExitCode::FAILURE);
    }
    let built = target_directory(&cargo_toml)?
        .join(TARGET)
        .join("release")
        .join(format!("{library}.wasm"));
    if !built.is_file() {
        bail!(
            "cargo built no {}: is the crate a `cdylib` (`[lib] crate-type = [\"cdylib\", \"rlib\"]`)?",
            built.display()
        );
    }
    std::fs::copy(&built, &spec.wasm_path).with_context(|| {
        format!(
            "cannot copy {} to {}",
            built.display(),
            spec.wasm_path.display()
        )
    })?;
    let size = std::fs::metadata(&spec.wasm_path).map_or(0, |m| m.len());
    let runtime = Arc::new(PluginRuntime::new(&RuntimeOptions::default())?);
    if let Err(diagnostics) = load_one(&manifest, &runtime, None) {
        eprint!("{}", render_all(&diagnostics, &Default::default()));
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "built {} ({} KiB); it loads with {} as the daemon would load it",
        spec.wasm_path.display(),
        size.div_ceil(1024),
        manifest.display()
    );
    let fixtures = args.dir.join("fixtures");
    if fixtures.is_dir() {
        println!();
        return super::plugin_test::test_plugin(super::plugin_test::TestArgs::new(
            args.dir.clone(),
            Some(manifest),
        ));
    }
    println!(
        "no fixtures in {}: add some to check its outputs (`redress plugin test`)",
        fixtures.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The cargo that runs us, when we run under cargo; otherwise the one on
/// `PATH`.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Installs the target with rustup when it is missing. Without rustup the
/// build says what is missing itself.
fn ensure_target() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let Ok(installed) = installed else {
        return;
    };
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == TARGET)
    {
        return;
    }
    eprintln!("installing the {TARGET} target: rustup target add {TARGET}");
    let _ = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
}

/// Where cargo puts the crate's build outputs (its workspace's target
/// directory, or `CARGO_TARGET_DIR`).
fn target_directory(cargo_toml: &Path) -> anyhow::Result<PathBuf> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(cargo_toml)
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed no JSON")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata names no target directory")
}

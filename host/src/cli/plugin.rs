//! `redress plugin run PLUGIN.wasm EVENT.json` and `redress plugin new NAME`
//! (`plugin test` and `plugin build` have files of their own).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::decision::Name;
use crate::diagnostic::render_all;
use crate::event::ComplaintEvent;
use crate::plugin::{
    LoadedPlugin, PluginRuntime, PluginSpec, RuntimeOptions, complaint, read_component,
};
use crate::time::Timestamp;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run a plugin on one event: its outputs, fuel used, peak memory and time.
    Run(RunArgs),
    /// Create a new plugin crate that builds, with a manifest and a test.
    New(NewArgs),
    /// Run a plugin over fixture events and check its outputs.
    Test(super::plugin_test::TestArgs),
    /// Build a plugin crate, put the component next to its manifest, check
    /// both, and run its fixtures.
    Build(super::plugin_build::BuildArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The component (`.wasm`).
    plugin: PathBuf,
    /// The event (JSON; `-` reads standard input).
    event: PathBuf,
    /// The manifest. Default: `PLUGIN.toml` next to the component, if any;
    /// otherwise default limits and no declared outputs.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Warm calls to time after the first.
    #[arg(long, default_value_t = 200)]
    repeat: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The plugin's name (lowercase letters, digits, `_`).
    name: String,
    /// Where to create it. Default: `./NAME`.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Path to redress-sdk. Default: the `sdk/` of the Redress checkout this
    /// binary was built from.
    #[arg(long)]
    sdk: Option<PathBuf>,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run_plugin(args),
        Command::New(args) => new_plugin(args),
        Command::Test(args) => super::plugin_test::test_plugin(args),
        Command::Build(args) => super::plugin_build::build_plugin(args),
    }
}

fn run_plugin(args: RunArgs) -> anyhow::Result<ExitCode> {
    let sibling = args.plugin.with_extension("toml");
    let manifest = args
        .manifest
        .clone()
        .or_else(|| sibling.is_file().then_some(sibling));
    let mut spec = match &manifest {
        Some(path) => match PluginSpec::load(path) {
            Ok(spec) => spec,
            Err(diagnostics) => {
                eprint!("{}", render_all(&diagnostics, &Default::default()));
                return Ok(ExitCode::FAILURE);
            }
        },
        None => PluginSpec::bare(&args.plugin),
    };
    spec.wasm_path = args.plugin.clone();
    let bytes = read_component(&args.plugin)?;
    let digest = Name::from(crate::digest::tagged(&bytes));
    let runtime = PluginRuntime::new(&RuntimeOptions::default())?;
    let started = Instant::now();
    let pre = match runtime.compile(&args.plugin.display().to_string(), &bytes) {
        Ok(pre) => pre,
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(help) = error.help() {
                eprintln!("help: {help}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let compile_time = started.elapsed();
    let event_bytes = if args.event.as_os_str() == "-" {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buffer)?;
        buffer
    } else {
        std::fs::read(&args.event)
            .with_context(|| format!("cannot read event file {}", args.event.display()))?
    };
    let mut event = ComplaintEvent::from_json(&event_bytes)
        .with_context(|| format!("in {}", args.event.display()))?;
    if event.received_at.is_none() {
        event.received_at = Some(Timestamp::now());
    }
    let limits = spec.limits.clone();
    let plugin = LoadedPlugin::new(
        spec,
        digest.clone(),
        std::sync::Arc::from(bytes),
        runtime,
        pre,
    );
    let input = complaint(&event);
    // The guest's log lines, for the first call only: the timed repeats
    // would print them again and again.
    let (result, first) = super::plugin_voice::with_guest_log(|| plugin.call(&input));
    let mut warm = Vec::new();
    if result.is_ok() {
        for _ in 0..args.repeat {
            let (_, report) = plugin.call(&input);
            warm.push(report.elapsed);
        }
        warm.sort();
    }
    let median = warm.get(warm.len() / 2).copied();
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "plugin": plugin.spec.name,
            "digest": digest.to_string(),
            "outcome": match &result { Ok(_) => "ok".to_string(), Err(error) => error.failure.to_string() },
            "outputs": result.as_ref().ok().map(|o| &o.values),
            "offers": result.as_ref().ok().map(|o| o.offers.iter().map(|offer| serde_json::json!({"kind": offer.kind, "value": offer.value, "note": offer.note})).collect::<Vec<_>>()),
            "fuel_used": first.fuel_used,
            "fuel_limit": limits.fuel,
            "peak_memory_bytes": first.peak_memory,
            "memory_limit_bytes": limits.memory,
            "compile_ms": compile_time.as_secs_f64() * 1e3,
            "first_call_us": first.elapsed.as_secs_f64() * 1e6,
            "warm_call_median_us": median.map(|d| d.as_secs_f64() * 1e6),
        });
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
    } else {
        writeln!(out, "plugin {} ({digest})", plugin.spec.name)?;
        match &result {
            Ok(outputs) => {
                writeln!(out, "outputs:")?;
                for (key, value) in &outputs.values {
                    writeln!(out, "  {key} = {}", serde_json::to_string(value)?)?;
                }
                for offer in &outputs.offers {
                    write!(out, "offer: {} worth {}", offer.kind, offer.value)?;
                    if let Some(note) = &offer.note {
                        write!(out, " ({note})")?;
                    }
                    writeln!(out)?;
                }
            }
            Err(error) => writeln!(out, "failed: {error}")?,
        }
        writeln!(out, "fuel used:   {} of {}", first.fuel_used, limits.fuel)?;
        writeln!(
            out,
            "peak memory: {:.1} MiB of {} MiB",
            first.peak_memory as f64 / (1 << 20) as f64,
            limits.memory >> 20
        )?;
        writeln!(
            out,
            "compile:     {:.1} ms",
            compile_time.as_secs_f64() * 1e3
        )?;
        writeln!(
            out,
            "first call:  {:.1} us (new instance)",
            first.elapsed.as_secs_f64() * 1e6
        )?;
        if let Some(median) = median {
            writeln!(
                out,
                "warm call:   {:.1} us (median of {})",
                median.as_secs_f64() * 1e6,
                warm.len()
            )?;
        }
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn new_plugin(args: NewArgs) -> anyhow::Result<ExitCode> {
    let name = &args.name;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!(
            "invalid plugin name `{name}`: use lowercase letters, digits and `_`, starting with a letter"
        );
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let sdk = match args.sdk {
        Some(sdk) => sdk,
        None => {
            let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
            if !built_from.join("Cargo.toml").is_file() {
                bail!(
                    "cannot find redress-sdk; pass --sdk PATH (the `sdk/` directory of a Redress checkout)"
                );
            }
            built_from
        }
    };
    let sdk = std::fs::canonicalize(&sdk)
        .with_context(|| format!("cannot find redress-sdk at {}", sdk.display()))?;
    std::fs::create_dir_all(dir.join("src"))?;
    let sdk_path = sdk.display().to_string().replace('\\', "/");
    std::fs::write(
        dir.join("Cargo.toml"),
        template::cargo_toml(name, &sdk_path),
    )?;
    std::fs::write(
        dir.join("src/lib.rs"),
        template::LIB_RS.replace("NAME.toml", &format!("{name}.toml")),
    )?;
    std::fs::write(dir.join(format!("{name}.toml")), template::manifest(name))?;
    std::fs::write(dir.join("README.md"), template::readme(name))?;
    std::fs::create_dir_all(dir.join("fixtures"))?;
    std::fs::write(dir.join("fixtures/cases.toml"), template::FIXTURES)?;
    std::fs::write(dir.join(".gitignore"), "/target\n*.wasm\n")?;
    println!("created plugin `{name}` in {}", dir.display());
    println!();
    println!("  cd {}", dir.display());
    println!("  cargo test                                          # test the logic natively");
    println!(
        "  redress plugin build                                # build {name}.wasm, check it, run fixtures/"
    );
    println!("  redress plugin run {name}.wasm EVENT.json            # try it on one event");
    println!("  cp {name}.toml {name}.wasm /path/to/redress/plugins/  # use it");
    Ok(ExitCode::SUCCESS)
}

mod template {
    pub fn cargo_toml(name: &str, sdk: &str) -> String {
        format!(
            r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

# A Redress plugin: a WebAssembly component built for wasm32-wasip2, and a
# native library for `cargo test`.
[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
redress-sdk = {{ path = "{sdk}" }}

# Small components (tens of KiB rather than a MiB): one codegen unit,
# link-time optimization, no debug info. A panic still names its file and
# line.
[profile.release]
lto = true
codegen-units = 1
debug = false
strip = "debuginfo"

# A standalone crate, not part of another workspace.
[workspace]
"#
        )
    }

    pub const LIB_RS: &str = r#"//! A Redress plugin. Edit `analyze`, declare its outputs in the manifest.

#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;

use redress_sdk::prelude::*;

/// Looks at one complaint and says what it sees.
#[redress_sdk::plugin]
pub fn analyze(complaint: &Complaint) -> Result<Analysis, String> {
    let keyword = redress_sdk::config("keyword").unwrap_or_else(|| String::from("refund"));
    let mentions = complaint.text.to_lowercase().contains(&keyword);
    let words = complaint.text.split_whitespace().count();
    Ok(Analysis::new()
        .flag("mentions_keyword", mentions)
        .number("words", words as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_keyword() {
        let analysis = analyze(&Complaint::from_text("I want a refund now")).unwrap();
        assert_eq!(analysis.flag_value("mentions_keyword"), Some(true));
        assert_eq!(analysis.number_value("words"), Some(5.0));
    }

    #[test]
    fn outputs_match_the_manifest() {
        // The host's own check: a mismatch here would make rules that read
        // the output silently never fire.
        let analysis = analyze(&Complaint::from_text("refund please")).unwrap();
        redress_sdk::testing::check_manifest(include_str!("../NAME.toml"), &analysis).unwrap();
    }

    #[test]
    fn the_keyword_comes_from_config() {
        redress_sdk::testing::set_config("keyword", "parking");
        let analysis = analyze(&Complaint::from_text("I want a refund")).unwrap();
        assert_eq!(analysis.flag_value("mentions_keyword"), Some(false));
    }
}
"#;

    pub const FIXTURES: &str = r#"# `redress plugin test .` runs these on the built component: each event,
# and the outputs it must produce (others are not checked).

[[case]]
name = "a refund is mentioned"
event = { text = "I want a refund now" }
expect = { mentions_keyword = true, words = 5 }

[[case]]
name = "nothing to see"
event = { text = "Thank you" }
expect = { mentions_keyword = false, words = { min = 1, max = 2 } }
"#;

    pub fn manifest(name: &str) -> String {
        format!(
            r#"# Redress plugin manifest: see docs/plugins.md in the Redress repository.
name = "{name}"
description = "What this plugin adds to a complaint"
# file = "{name}.wasm"   # default: <name>.wasm next to this file
order = 100
on_error = "skip"
# inline = true          # call on the request's own async worker: fastest when a
#                        # call takes microseconds (docs/plugins.md, "Inline plugins")

[outputs]
mentions_keyword = {{ type = "flag", default = false }}
words = {{ type = "number", default = 0 }}

[config]
keyword = "refund"

[limits]
fuel = 10_000_000
memory = "8MiB"
timeout = "50ms"
"#
        )
    }

    pub fn readme(name: &str) -> String {
        format!(
            r#"# {name}: a Redress plugin

```sh
cargo test                                           # the logic, natively
redress plugin build                                 # {name}.wasm, checked, and fixtures/ run
redress plugin test .                                # fixtures/ again, without building
redress plugin run {name}.wasm event.json             # outputs, fuel, memory, time
```

`fixtures/*.toml` holds events and the outputs they must produce
(docs/plugins.md, "Testing a plugin").

Install it by copying `{name}.toml` and `{name}.wasm` into the daemon's
plugins directory; rules read its outputs as `plugins.{name}.<output>`.
"#
        )
    }
}

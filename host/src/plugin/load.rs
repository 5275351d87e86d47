//! Loads the plugins directory: every `*.toml` manifest and the component
//! it names. Plugins whose manifest and component are unchanged since the
//! previous load are reused as they are, warm instances and counters
//! included.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::decision::Name;
use crate::diagnostic::{Diagnostic, Location};
use crate::plugin::error::LoadError;
use crate::plugin::instance::LoadedPlugin;
use crate::plugin::manifest::PluginSpec;
use crate::plugin::runtime::PluginRuntime;
use crate::plugin::set::PluginSet;

/// What loading a plugins directory produced.
#[derive(Debug)]
pub struct PluginLoad {
    /// The set, if there was no error.
    pub set: Option<PluginSet>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Largest component accepted, in bytes.
const MAX_COMPONENT: u64 = 64 << 20;

/// Loads every plugin of `dir` (each `*.toml` but `Cargo.toml` is a
/// manifest); `previous` lends unchanged plugins.
pub fn load_plugins(
    dir: &Path,
    runtime: &Arc<PluginRuntime>,
    previous: Option<&PluginSet>,
) -> PluginLoad {
    let mut diagnostics = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            return PluginLoad {
                set: None,
                diagnostics: vec![
                    Diagnostic::error(format!("cannot read the plugins directory: {error}"))
                        .at(Location::file_only(dir))
                        .with_help("pass the directory holding the plugin manifests (`*.toml`) and components (`*.wasm`)"),
                ],
            };
        }
    };
    let mut manifests: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            crate::rules::is_rule_file(p) && p.file_name().is_some_and(|n| n != "Cargo.toml")
        })
        .collect();
    manifests.sort();
    let mut plugins: Vec<Arc<LoadedPlugin>> = Vec::new();
    for manifest in manifests {
        match load_one(&manifest, runtime, previous) {
            Ok(plugin) => {
                if let Some(other) = plugins.iter().find(|p| p.spec.name == plugin.spec.name) {
                    diagnostics.push(
                        Diagnostic::error(format!("two plugins are named `{}`", plugin.spec.name))
                            .at(Location::file_only(&manifest))
                            .with_help(format!(
                                "the other is {}",
                                other.spec.manifest_path.display()
                            )),
                    );
                    continue;
                }
                plugins.push(plugin);
            }
            Err(mut problems) => diagnostics.append(&mut problems),
        }
    }
    let set = (!diagnostics.iter().any(Diagnostic::is_error)).then(|| PluginSet::new(plugins));
    PluginLoad { set, diagnostics }
}

/// Loads one plugin from its manifest.
pub fn load_one(
    manifest: &Path,
    runtime: &Arc<PluginRuntime>,
    previous: Option<&PluginSet>,
) -> Result<Arc<LoadedPlugin>, Vec<Diagnostic>> {
    let spec = PluginSpec::load(manifest)?;
    let at_manifest = |error: LoadError| {
        let help = error.help();
        vec![
            Diagnostic::error(error.to_string())
                .at(Location::file_only(manifest))
                .in_rule(format!("plugin `{}`", spec.name))
                .with_help_opt(help),
        ]
    };
    let bytes = read_component(&spec.wasm_path).map_err(|error| {
        let mut diagnostics = at_manifest(error);
        if !spec.wasm_path.exists()
            && let Some(first) = diagnostics.first_mut()
        {
            first.help = Some(format!(
                "build it (`cargo build --release --target wasm32-wasip2`) and copy the `.wasm` to {}; the example plugins are built by `cargo build` in this repository",
                spec.wasm_path.display()
            ));
        }
        diagnostics
    })?;
    let digest: Name = Name::from(format!("sha256:{:x}", Sha256::digest(&bytes)));
    if let Some(old) = previous.and_then(|set| set.get(&spec.name))
        && old.digest == digest
        && same_manifest(&old.spec, &spec)
    {
        return Ok(old.clone());
    }
    let path = spec.wasm_path.display().to_string();
    let pre = runtime.compile(&path, &bytes).map_err(at_manifest)?;
    Ok(Arc::new(LoadedPlugin::new(
        spec,
        digest,
        runtime.clone(),
        pre,
    )))
}

/// Reads a component file, refusing missing, huge or unreadable ones.
pub fn read_component(path: &Path) -> Result<Vec<u8>, LoadError> {
    let read_error = |message: String| LoadError::Read {
        path: path.display().to_string(),
        message,
    };
    let metadata = std::fs::metadata(path).map_err(|e| read_error(e.to_string()))?;
    if metadata.len() > MAX_COMPONENT {
        return Err(read_error(format!(
            "larger than {} MiB",
            MAX_COMPONENT >> 20
        )));
    }
    std::fs::read(path).map_err(|e| read_error(e.to_string()))
}

fn same_manifest(a: &PluginSpec, b: &PluginSpec) -> bool {
    // The manifest's text decides everything a plugin is; compare the parts.
    format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        a.outputs, a.config, a.limits, a.on_error, a.isolation, a.may_propose, a.order
    ) == format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        b.outputs, b.config, b.limits, b.on_error, b.isolation, b.may_propose, b.order
    )
}

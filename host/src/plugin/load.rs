//! Loads the plugins directory: every `*.toml` manifest and the component
//! it names. Plugins whose manifest and component are unchanged since the
//! previous load are reused as they are, warm instances and counters
//! included.

use std::path::Path;
use std::sync::Arc;

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
    /// The plugins that loaded; `None` only when the directory itself
    /// cannot be read. A plugin that cannot load is refused alone (its
    /// errors are in `diagnostics`, and it is listed in the set's
    /// [`refused`](PluginSet::refused)); the others load.
    pub set: Option<PluginSet>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A plugin that could not be loaded.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RefusedPlugin {
    /// Its name (from the manifest, or the manifest's file name when the
    /// manifest itself is broken).
    pub name: String,
    pub manifest: std::path::PathBuf,
    /// The first error, on one line.
    pub reason: String,
    /// The digest of the last good version, which keeps serving in its
    /// place (a reload of the daemon); `None`: the plugin is not loaded.
    pub kept: Option<Name>,
}

/// Largest component accepted, in bytes.
const MAX_COMPONENT: u64 = 64 << 20;

/// Loads every plugin of `dir` (each `*.toml` but `Cargo.toml` is a
/// manifest); `previous` lends unchanged plugins, and stands in for a
/// plugin whose new version is refused.
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
    let mut refused: Vec<RefusedPlugin> = Vec::new();
    for manifest in manifests {
        match load_one(&manifest, runtime, previous) {
            Ok(plugin) => {
                if let Some(other) = plugins.iter().find(|p| p.spec.name == plugin.spec.name) {
                    let diagnostic =
                        Diagnostic::error(format!("two plugins are named `{}`", plugin.spec.name))
                            .at(Location::file_only(&manifest))
                            .with_help(format!(
                                "the other is {}",
                                other.spec.manifest_path.display()
                            ));
                    refused.push(RefusedPlugin {
                        name: plugin.spec.name.clone(),
                        manifest: manifest.clone(),
                        reason: diagnostic.message.clone(),
                        kept: None,
                    });
                    diagnostics.push(diagnostic);
                    continue;
                }
                plugins.push(plugin);
            }
            Err(mut problems) => {
                let name = refused_name(&manifest);
                let reason = problems
                    .iter()
                    .find(|d| d.is_error())
                    .map(|d| d.message.clone())
                    .unwrap_or_default();
                let last_good = previous
                    .and_then(|set| set.get(&name))
                    .filter(|old| !plugins.iter().any(|p| p.spec.name == old.spec.name));
                diagnostics.append(&mut problems);
                if let Some(old) = last_good {
                    diagnostics.push(
                        Diagnostic::warning(format!(
                            "plugin `{name}` is refused; its last good version ({}) keeps serving",
                            old.digest
                        ))
                        .at(Location::file_only(&manifest)),
                    );
                    plugins.push(old.clone());
                }
                refused.push(RefusedPlugin {
                    name,
                    manifest,
                    reason,
                    kept: last_good.map(|old| old.digest.clone()),
                });
            }
        }
    }
    PluginLoad {
        set: Some(PluginSet::new(plugins).with_refused(refused)),
        diagnostics,
    }
}

/// The name of a plugin whose manifest may not parse: the manifest's, or
/// its file name's.
fn refused_name(manifest: &Path) -> String {
    let stem = manifest
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_string();
    crate::source_file::read_regular_text(manifest, 1 << 20)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| table.get("name")?.as_str().map(str::to_string))
        .unwrap_or(stem)
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
    let digest: Name = Name::from(crate::digest::tagged(&bytes));
    if let Some(old) = previous.and_then(|set| set.get(&spec.name))
        && old.digest == digest
        && same_manifest(&old.spec, &spec)
    {
        return Ok(old.clone());
    }
    let path = spec.wasm_path.display().to_string();
    let pre = runtime.compile(&path, &bytes).map_err(at_manifest)?;
    let plugin = LoadedPlugin::new(spec.clone(), digest, Arc::from(bytes), runtime.clone(), pre);
    plugin.check_instantiates().map_err(|failure| {
        at_manifest(LoadError::Instantiate {
            path: path.clone(),
            message: match failure {
                crate::plugin::Failure::Instantiate { message } => message,
                other => other.to_string(),
            },
        })
    })?;
    Ok(Arc::new(plugin))
}

/// Reads a component file, refusing missing, huge or unreadable ones, and
/// anything that is not a regular file (a device, a FIFO, a socket).
pub fn read_component(path: &Path) -> Result<Vec<u8>, LoadError> {
    crate::source_file::read_regular(path, MAX_COMPONENT).map_err(|error| LoadError::Read {
        path: path.display().to_string(),
        message: error.to_string(),
    })
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

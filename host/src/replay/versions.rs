//! The rule sets that decided, compiled again from what the store kept,
//! once per snapshot version for a whole replay.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::decision::Name;
use crate::diagnostic::render_all;
use crate::intake::PluginLayout;
use crate::plugin::{LoadedPlugin, PluginRuntime, PluginSet, PluginSpec};
use crate::rules::{RuleFileText, RuleSet, load_files};
use crate::store::{AuditReader, SnapshotRecord};

/// A kept snapshot, compiled: its rules against its plugins' declared
/// outputs.
pub struct Compiled {
    pub version: Name,
    pub ruleset: RuleSet,
    pub layout: PluginLayout,
    pub record: SnapshotRecord,
}

/// The plugin specs of a kept snapshot, from their manifests' texts.
fn specs(record: &SnapshotRecord) -> Result<Vec<PluginSpec>, String> {
    record
        .plugins
        .iter()
        .map(|plugin| {
            let path = format!("{}.toml", plugin.name);
            PluginSpec::parse(Path::new(&path), &plugin.manifest).map_err(|problems| {
                format!(
                    "plugin `{}`'s kept manifest does not parse: {}",
                    plugin.name,
                    problems
                        .first()
                        .map(|d| d.message.clone())
                        .unwrap_or_default()
                )
            })
        })
        .collect()
}

/// Compiles `files` against `layout`; the rendered errors if they do not
/// compile.
pub fn compile(files: Vec<RuleFileText>, layout: &PluginLayout) -> Result<RuleSet, String> {
    let outcome = load_files(files, &layout.env());
    outcome
        .ruleset
        .ok_or_else(|| render_all(&outcome.diagnostics, &outcome.sources))
}

/// Compiled snapshots by version, read from a store as they are needed.
pub struct Versions<'r> {
    reader: &'r dyn AuditReader,
    compiled: HashMap<Name, Result<Arc<Compiled>, String>>,
    plugins: HashMap<Name, Result<Arc<PluginSet>, String>>,
}

impl<'r> Versions<'r> {
    pub fn new(reader: &'r dyn AuditReader) -> Self {
        Versions {
            reader,
            compiled: HashMap::new(),
            plugins: HashMap::new(),
        }
    }

    /// The snapshot `version`, compiled; why not, if it cannot be.
    pub fn get(&mut self, version: &Name) -> Result<Arc<Compiled>, String> {
        if let Some(found) = self.compiled.get(version) {
            return found.clone();
        }
        let compiled = self.load(version);
        self.compiled.insert(version.clone(), compiled.clone());
        compiled
    }

    fn load(&self, version: &Name) -> Result<Arc<Compiled>, String> {
        let record = self
            .reader
            .snapshot(version)
            .map_err(|error| error.to_string())?
            .ok_or_else(|| format!("its snapshot {version} is not kept in the store"))?;
        let specs = specs(&record)?;
        let layout = PluginLayout::of(&specs);
        let ruleset = compile(record.files.clone(), &layout)
            .map_err(|errors| format!("its kept rule set does not compile here:\n{errors}"))?;
        Ok(Arc::new(Compiled {
            version: version.clone(),
            ruleset,
            layout,
            record,
        }))
    }

    /// The plugins of snapshot `version`, loaded from the components the
    /// store kept, to run them again.
    pub fn plugins(
        &mut self,
        version: &Name,
        runtime: &Arc<PluginRuntime>,
    ) -> Result<Arc<PluginSet>, String> {
        if let Some(found) = self.plugins.get(version) {
            return found.clone();
        }
        let loaded = self.load_plugins(version, runtime);
        self.plugins.insert(version.clone(), loaded.clone());
        loaded
    }

    fn load_plugins(
        &mut self,
        version: &Name,
        runtime: &Arc<PluginRuntime>,
    ) -> Result<Arc<PluginSet>, String> {
        let compiled = self.get(version)?;
        let specs = specs(&compiled.record)?;
        let mut plugins = Vec::with_capacity(specs.len());
        for (spec, kept) in specs.into_iter().zip(&compiled.record.plugins) {
            let bytes = self
                .reader
                .component(&kept.digest)
                .map_err(|error| error.to_string())?
                .ok_or_else(|| {
                    format!(
                        "plugin `{}`'s component {} is not kept in the store",
                        kept.name, kept.digest
                    )
                })?;
            let pre = runtime
                .compile(&format!("{} ({})", kept.name, kept.digest), &bytes)
                .map_err(|error| error.to_string())?;
            plugins.push(Arc::new(LoadedPlugin::new(
                spec,
                kept.digest.clone(),
                Arc::from(bytes),
                runtime.clone(),
                pre,
            )));
        }
        Ok(Arc::new(PluginSet::new(plugins)))
    }
}

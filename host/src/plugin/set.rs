//! The plugins of a snapshot, in order, and the enrichment stage: each
//! plugin sees the complaint and what the plugins before it said; a failure
//! is handled as its manifest's `on_error` says.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::annotation::AnnotationValue;
use crate::decision::{Name, PluginOutcome, PluginRun};
use crate::engine::{Enrichment, Proposal};
use crate::event::ComplaintEvent;
use crate::expr::Env;
use crate::intake::PluginLayout;
use crate::plugin::convert;
use crate::plugin::error::{Failure, PluginError};
use crate::plugin::instance::LoadedPlugin;
use crate::plugin::load::RefusedPlugin;
use crate::plugin::manifest::OnError;

/// Loaded plugins in run order, with the annotation slot of each output.
#[derive(Debug, Default, Clone)]
pub struct PluginSet {
    plugins: Vec<Arc<LoadedPlugin>>,
    /// `slots[i][j]`: the slot of plugin `i`'s `j`-th declared output.
    slots: Vec<Vec<usize>>,
    slot_count: usize,
    /// Plugins of the directory that could not be loaded.
    refused: Vec<RefusedPlugin>,
}

impl PluginSet {
    /// No plugins.
    pub fn empty() -> Self {
        PluginSet::default()
    }

    /// Orders plugins by `order`, then name, and assigns output slots.
    pub fn new(mut plugins: Vec<Arc<LoadedPlugin>>) -> Self {
        plugins.sort_by(|a, b| (a.spec.order, &a.spec.name).cmp(&(b.spec.order, &b.spec.name)));
        let mut slot_count = 0;
        let slots = plugins
            .iter()
            .map(|plugin| {
                (0..plugin.spec.outputs.len())
                    .map(|_| {
                        slot_count += 1;
                        slot_count - 1
                    })
                    .collect()
            })
            .collect();
        PluginSet {
            plugins,
            slots,
            slot_count,
            refused: Vec::new(),
        }
    }

    /// The set, naming the plugins of its directory that were refused.
    pub fn with_refused(mut self, refused: Vec<RefusedPlugin>) -> Self {
        self.refused = refused;
        self
    }

    /// Plugins of the directory that could not be loaded (some may serve
    /// in their last good version: [`RefusedPlugin::kept`]).
    pub fn refused(&self) -> &[RefusedPlugin] {
        &self.refused
    }

    pub fn plugins(&self) -> &[Arc<LoadedPlugin>] {
        &self.plugins
    }

    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// Whether the daemon may call these plugins on the async worker that
    /// took the request: every plugin is declared `inline` and none made a
    /// slow call recently ([`LoadedPlugin::is_slow`]).
    pub fn run_inline(&self) -> bool {
        self.plugins.iter().all(|plugin| !plugin.runs_off_worker())
    }

    /// The plugins' declared outputs and their slots, as rules read them.
    pub fn layout(&self) -> PluginLayout {
        PluginLayout::of(self.plugins.iter().map(|p| &p.spec))
    }

    pub fn get(&self, name: &str) -> Option<&Arc<LoadedPlugin>> {
        self.plugins.iter().find(|p| p.spec.name == name)
    }

    /// The names conditions can read: the event's, plus every declared
    /// plugin output.
    pub fn env(&self) -> Env {
        let mut env = self.layout().env();
        for refused in self.refused.iter().filter(|r| r.kept.is_none()) {
            env.add_refused_plugin(&refused.name, &refused.reason);
        }
        env
    }

    /// Runs every plugin on `event`. `stubs` replaces named plugins with
    /// fixed outputs (rule tests). An error means a plugin with
    /// `on_error = "reject"` failed, or a stub was invalid.
    pub fn enrich(
        &self,
        event: &ComplaintEvent,
        stubs: &BTreeMap<String, toml::Table>,
    ) -> Result<Enrichment, PluginError> {
        for name in stubs.keys() {
            if self.get(name).is_none() {
                return Err(PluginError {
                    plugin: name.clone(),
                    failure: Failure::BadOutput {
                        message: "is stubbed by the test, but no such plugin is loaded".to_string(),
                    },
                });
            }
        }
        let mut enrichment = Enrichment {
            slots: vec![None; self.slot_count],
            ..Enrichment::none()
        };
        if self.plugins.is_empty() {
            return Ok(enrichment);
        }
        let mut complaint = convert::complaint(event);
        let mut by_plugin = crate::decision::Annotations::new();
        let mut runs: Vec<PluginRun> = Vec::with_capacity(self.plugins.len());
        for (plugin, slots) in self.plugins.iter().zip(&self.slots) {
            let spec = &plugin.spec;
            let (outputs, run) = match stubs.get(&spec.name) {
                Some(stub) => (
                    stubbed(plugin, stub)?,
                    run(plugin, PluginOutcome::Stubbed, None),
                ),
                None => {
                    let (result, _report) = plugin.call(&complaint);
                    match result {
                        Ok(outputs) => {
                            enrichment
                                .proposals
                                .extend(outputs.offers.iter().map(|offer| Proposal {
                                    plugin: plugin.name.clone(),
                                    source: plugin.source.clone(),
                                    kind: Name::from(offer.kind.as_str()),
                                    value: offer.value,
                                    note: offer.note.as_deref().map(Name::from),
                                }));
                            (outputs.values, run(plugin, PluginOutcome::Ok, None))
                        }
                        Err(error) => {
                            tracing::warn!(plugin = %plugin.name, event = %event.id, error = %error.failure, on_error = ?spec.on_error, "plugin failed");
                            match spec.on_error {
                                OnError::Reject => return Err(error),
                                OnError::Skip => (
                                    BTreeMap::new(),
                                    run(plugin, PluginOutcome::Skipped, Some(error)),
                                ),
                                OnError::Default => (
                                    BTreeMap::new(),
                                    run(plugin, PluginOutcome::Defaults, Some(error)),
                                ),
                            }
                        }
                    }
                }
            };
            let use_defaults = run.outcome != PluginOutcome::Skipped;
            let mut values = BTreeMap::new();
            for (output, slot) in spec.outputs.iter().zip(slots) {
                let value = outputs.get(&output.key).cloned().or_else(|| {
                    if use_defaults {
                        output.default.clone()
                    } else {
                        None
                    }
                });
                if let Some(value) = value {
                    if output.fills_category
                        && event.category.is_none()
                        && enrichment.category.is_none()
                        && let AnnotationValue::Text(category) = &value
                    {
                        enrichment.category = Some(category.clone());
                        complaint.category = Some(category.clone());
                    }
                    enrichment.slots[*slot] = Some(value.clone());
                    values.insert(output.key.clone(), value);
                }
            }
            if spec.outputs.is_empty() {
                values = outputs;
            }
            complaint
                .earlier
                .push(convert::earlier(&spec.name, &values));
            by_plugin.insert(spec.name.clone(), values);
            runs.push(run);
        }
        enrichment.by_plugin = std::sync::Arc::new(by_plugin);
        enrichment.runs = std::sync::Arc::new(runs);
        Ok(enrichment)
    }
}

fn run(plugin: &LoadedPlugin, outcome: PluginOutcome, error: Option<PluginError>) -> PluginRun {
    PluginRun {
        name: plugin.name.clone(),
        digest: plugin.digest.clone(),
        outcome,
        error: error.map(|e| e.failure.to_string()),
    }
}

/// A test's stub for a plugin, checked against the manifest.
fn stubbed(
    plugin: &LoadedPlugin,
    stub: &toml::Table,
) -> Result<BTreeMap<String, AnnotationValue>, PluginError> {
    let mut values = BTreeMap::new();
    for (key, value) in stub {
        let bad = |message: String| PluginError {
            plugin: plugin.spec.name.clone(),
            failure: Failure::BadOutput { message },
        };
        let Some(output) = plugin.spec.output(key) else {
            return Err(bad(format!(
                "stub sets `{key}`, which the manifest does not declare"
            )));
        };
        let value = AnnotationValue::from_toml(output.ty, value).ok_or_else(|| {
            bad(format!(
                "stub sets `{key}` to a value that is not a {}",
                output.ty.name()
            ))
        })?;
        if let Some(problem) = output.out_of_range(&value) {
            return Err(bad(format!("stub sets {problem}")));
        }
        values.insert(key.clone(), value);
    }
    Ok(values)
}

//! A logged decision's plugin stage, rebuilt from what was recorded rather
//! than run again: the outputs (the decision's `annotations`), the runs
//! (`plugins`), the category a plugin filled in, and the proposals. Rules
//! read plugin outputs by slot, so the slots are laid out as the snapshot
//! that decided laid them out: [`PluginLayout`].

use std::sync::Arc;

use crate::annotation::AnnotationType;
use crate::decision::{Annotations, PluginRun};
use crate::engine::Enrichment;
use crate::event::ComplaintEvent;
use crate::expr::Env;
use crate::intake::recording::Recording;
use crate::plugin::PluginSpec;

/// The declared outputs of a snapshot's plugins, in run order: what a rule
/// set is compiled against, and where each output's value goes.
#[derive(Debug, Clone, Default)]
pub struct PluginLayout {
    pub plugins: Vec<LayoutPlugin>,
}

/// A declared output: key, type and, for numbers, range.
pub type LayoutOutput = (String, AnnotationType, Option<(f64, f64)>);

/// One plugin of a [`PluginLayout`].
#[derive(Debug, Clone)]
pub struct LayoutPlugin {
    pub name: String,
    /// Declared outputs: key, type and, for numbers, range.
    pub outputs: Vec<LayoutOutput>,
    /// Offer kinds it may propose.
    pub may_propose: Vec<String>,
}

impl PluginLayout {
    /// The layout of `specs`, which are in run order.
    pub fn of<'s>(specs: impl IntoIterator<Item = &'s PluginSpec>) -> Self {
        PluginLayout {
            plugins: specs
                .into_iter()
                .map(|spec| LayoutPlugin {
                    name: spec.name.clone(),
                    outputs: spec
                        .outputs
                        .iter()
                        .map(|o| (o.key.clone(), o.ty, o.range))
                        .collect(),
                    may_propose: spec.may_propose.clone(),
                })
                .collect(),
        }
    }

    /// Every output with its slot, in slot order.
    fn slots(
        &self,
    ) -> impl Iterator<Item = (&str, &str, AnnotationType, Option<(f64, f64)>, usize)> {
        self.plugins
            .iter()
            .flat_map(|plugin| {
                plugin
                    .outputs
                    .iter()
                    .map(move |(key, ty, range)| (plugin.name.as_str(), key.as_str(), *ty, *range))
            })
            .enumerate()
            .map(|(slot, (plugin, key, ty, range))| (plugin, key, ty, range, slot))
    }

    /// Number of slots.
    pub fn slot_count(&self) -> usize {
        self.plugins.iter().map(|p| p.outputs.len()).sum()
    }

    /// The names conditions can read: the event's, and every output.
    pub fn env(&self) -> Env {
        let mut env = Env::standard();
        for (plugin, key, ty, range, slot) in self.slots() {
            env.add_plugin_output(plugin, key, ty, slot);
            env.set_range(&format!("plugins.{plugin}.{key}"), range);
        }
        for plugin in &self.plugins {
            for kind in &plugin.may_propose {
                env.add_proposal(&plugin.name, kind);
            }
        }
        env
    }
}

/// What the plugin stage gave a logged decision, read from its JSON (the
/// rest of the decision is skipped).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RecordedStage {
    #[serde(default)]
    pub category: Option<String>,
    pub plugins: Arc<Vec<PluginRun>>,
    pub annotations: Arc<Annotations>,
}

/// The enrichment `decision` was decided with, laid out as `layout` says.
pub fn recorded_enrichment(
    layout: &PluginLayout,
    event: &ComplaintEvent,
    decision: &RecordedStage,
    recording: &Recording,
) -> Enrichment {
    let mut slots = vec![None; layout.slot_count()];
    for (plugin, key, _, _, slot) in layout.slots() {
        slots[slot] = decision
            .annotations
            .get(plugin)
            .and_then(|outputs| outputs.get(key))
            .cloned();
    }
    Enrichment {
        slots,
        by_plugin: decision.annotations.clone(),
        category: match &event.category {
            Some(_) => None,
            None => decision.category.clone(),
        },
        proposals: recording
            .proposals
            .iter()
            .map(|p| p.to_proposal())
            .collect(),
        runs: Arc::clone(&decision.plugins),
    }
}

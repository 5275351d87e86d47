//! What the plugin stage hands to the rules: annotations by slot (as
//! conditions read them) and by name (as the decision shows them), a
//! category a plugin filled in, and offers plugins proposed.

use std::sync::Arc;

use crate::annotation::AnnotationValue;
use crate::decision::{Annotations, Name, PluginRun};

/// An offer a plugin proposed; it goes through the rule set's caps.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub plugin: Name,
    /// `plugin:<name>`, as offers name their source.
    pub source: Name,
    pub kind: Name,
    pub value: f64,
    pub note: Option<Name>,
}

/// The plugin stage's output for one complaint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Enrichment {
    /// Annotation values by slot; see `Env::add_plugin_output`.
    pub slots: Vec<Option<AnnotationValue>>,
    /// plugin → output → value, for the decision (shared with it).
    pub by_plugin: Arc<Annotations>,
    /// A category a plugin filled in for an event that had none.
    pub category: Option<String>,
    pub proposals: Vec<Proposal>,
    /// The plugins that ran (shared with the decision).
    pub runs: Arc<Vec<PluginRun>>,
}

impl Enrichment {
    /// No plugins ran.
    pub fn none() -> Self {
        Enrichment::default()
    }
}

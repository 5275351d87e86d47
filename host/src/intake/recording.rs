//! What the audit log keeps with each complaint decision, beside the event
//! and the decision, so that it can be decided again exactly: the snapshot
//! that decided (its rule-set text and plugin manifests are kept by
//! version in the store), the trace level asked for, every read of durable
//! state, and the offers plugins proposed before caps. The plugin outputs
//! themselves are in the decision (`annotations`, `plugins`, `category`).
//!
//! In `decisions.jsonl` it is the line's `replay` member:
//! `{"snapshot":"3f2a...","trace":"compact","reads":{...},"proposals":[...]}`
//! (about 100 to 300 bytes on the default rules; see BENCHMARKS.md).

use serde::{Deserialize, Serialize};

use crate::decision::{Name, TraceLevel};
use crate::engine::Proposal;
use crate::intake::reads::Reads;

/// The recorded inputs of one decision, but for the event and the plugin
/// outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// The version of the snapshot (rules and plugins) that decided.
    pub snapshot: Name,
    pub trace: TraceLevel,
    #[serde(default)]
    pub reads: Reads,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposals: Vec<RecordedProposal>,
}

/// An offer a plugin proposed, before the caps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedProposal {
    pub plugin: Name,
    pub kind: Name,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Name>,
}

impl RecordedProposal {
    pub fn of(proposal: &Proposal) -> Self {
        RecordedProposal {
            plugin: proposal.plugin.clone(),
            kind: proposal.kind.clone(),
            value: proposal.value,
            note: proposal.note.clone(),
        }
    }

    pub fn to_proposal(&self) -> Proposal {
        Proposal {
            plugin: self.plugin.clone(),
            source: Name::from(format!("plugin:{}", self.plugin)),
            kind: self.kind.clone(),
            value: self.value,
            note: self.note.clone(),
        }
    }
}

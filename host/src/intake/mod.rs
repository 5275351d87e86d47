//! One intake path: how a complaint becomes a recorded decision, used by the
//! daemon (`server`), and by `replay` and `diff`, so that a decision is
//! re-decided by the very code that decided it.
//!
//! ```text
//! event JSON ─► prepare (validate, received_at, plugins) ─► Prepared
//!            ─► decide (rules, against the store's view, reads recorded)
//!            ─► Decided { decision, recording } ─► store (audit line)
//! recorded line ─► recorded::enrichment + RecordedView ─► decide ─► compare
//! ```
//!
//! - [`reads`]: the reads of durable state, recorded and answered again.
//! - [`recording`]: what the audit line keeps beside event and decision.
//! - [`pipeline`]: prepare and decide.
//! - [`event_digest`]: what tells a retry from a different complaint.
//! - [`record`]: decide and record a batch through the store.
//! - [`overlay`]: the serving rule set with changed files, for simulations.
//! - [`recorded`]: a recorded decision's plugin stage, rebuilt.
//! - [`window`]: the timestamps the daemon accepts around its clock.

pub mod event_digest;
pub mod overlay;
pub mod pipeline;
pub mod reads;
pub mod record;
pub mod recorded;
pub mod recording;
pub mod window;

pub use event_digest::event_digest;
pub use overlay::{OverlayError, overlay, overlay_outcome};
pub use pipeline::{Decided, IntakeError, Prepared, decide, evaluate, prepare};
pub use reads::{Reads, RecordedView, RecordingView};
pub use record::{RecordError, Submitted, record};
pub use recorded::{LayoutPlugin, PluginLayout, RecordedStage, recorded_enrichment};
pub use recording::{RecordedProposal, Recording};
pub use window::{OutOfWindow, TimeWindow};

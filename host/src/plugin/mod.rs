//! Sandboxed WebAssembly plugins that add facts to a complaint.
//!
//! A plugin is a component built against the WIT contract in `sdk/wit/`
//! ([`bindings`]), described by a TOML manifest ([`manifest`]). The
//! `runtime` module holds the one wasmtime engine, checks each component's
//! world when it loads and compiles it once into an `InstancePre`. A
//! [`LoadedPlugin`] keeps warm instances and bounds every call by fuel, a
//! wall-clock deadline and a memory cap, validates the outputs, and
//! quarantines a plugin that keeps failing. A [`PluginSet`] runs the plugins
//! of a snapshot in order and hands the rules an
//! [`Enrichment`](crate::engine::Enrichment).

pub mod bindings;
mod convert;
mod error;
mod host;
mod instance;
mod load;
pub mod manifest;
mod outputs;
mod runtime;
mod set;

pub use convert::{complaint, earlier as convert_earlier};
pub use error::{Failure, LoadError, PluginError};
pub use host::HostState;
pub use instance::{CallReport, LoadedPlugin, PluginStats, SLOW_FOR, SLOW_FUEL};
pub use load::{PluginLoad, RefusedPlugin, load_one, load_plugins, read_component};
pub use manifest::{OnError, PluginSpec};
pub use outputs::Outputs;
pub use runtime::{PluginRuntime, RuntimeOptions, default_cache_dir};
pub use set::PluginSet;

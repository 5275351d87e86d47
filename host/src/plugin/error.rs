//! Why a plugin could not be loaded, or failed for one complaint.

use crate::time::Duration;

/// How one call of a plugin failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    #[error("ran out of fuel (limit {limit})")]
    OutOfFuel { limit: u64 },
    #[error("timed out after {limit}")]
    Timeout { limit: Duration },
    #[error("exceeded its memory limit of {} MiB", .limit >> 20)]
    MemoryExceeded { limit: u64 },
    #[error("sent more than its transfer limit of {} to the host in one go (limits.transfer)", crate::plugin::manifest::ByteSize(*.limit))]
    TransferLimit { limit: u64 },
    #[error("overflowed its stack (deep recursion)")]
    StackOverflow,
    #[error("panicked{}", .message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Panic { message: Option<String> },
    #[error("trapped: {message}")]
    Trap { message: String },
    #[error("returned an error: {message}")]
    Returned { message: String },
    #[error("returned a bad output: {message}")]
    BadOutput { message: String },
    #[error("is quarantined after {failures} failures in a row; next try in {remaining}")]
    Quarantined { failures: u32, remaining: Duration },
    #[error("could not be instantiated: {message}")]
    Instantiate { message: String },
}

impl Failure {
    /// A short name for metrics: `out_of_fuel`, `timeout`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::OutOfFuel { .. } => "out_of_fuel",
            Failure::Timeout { .. } => "timeout",
            Failure::MemoryExceeded { .. } => "memory",
            Failure::TransferLimit { .. } => "transfer",
            Failure::StackOverflow => "stack_overflow",
            Failure::Panic { .. } => "panic",
            Failure::Trap { .. } => "trap",
            Failure::Returned { .. } => "returned_error",
            Failure::BadOutput { .. } => "bad_output",
            Failure::Quarantined { .. } => "quarantined",
            Failure::Instantiate { .. } => "instantiate",
        }
    }
}

/// A plugin failure, naming the plugin.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("plugin `{plugin}` {failure}")]
pub struct PluginError {
    pub plugin: String,
    pub failure: Failure,
}

/// Why a plugin could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} is not a WebAssembly file")]
    NotWasm { path: String },
    #[error("{path} is a core WebAssembly module, not a component")]
    CoreModule { path: String },
    #[error("{path} is not a valid component: {message}")]
    Invalid { path: String, message: String },
    #[error("{path} was built for {found}, but this Redress speaks redress:plugin@{expected}")]
    WrongVersion {
        path: String,
        found: String,
        expected: String,
    },
    #[error(
        "{path} is not a Redress plugin: it does not export `{expected}` (it exports: {found})"
    )]
    NotAPlugin {
        path: String,
        expected: String,
        found: String,
    },
    #[error("{path} imports `{import}`, which plugins are not given")]
    ForbiddenImport { path: String, import: String },
    #[error("{path} does not start: {message}")]
    Instantiate { path: String, message: String },
    #[error("cannot start the plugin runtime: {message}")]
    Runtime { message: String },
}

impl LoadError {
    /// What to do about it.
    pub fn help(&self) -> Option<String> {
        match self {
            LoadError::NotWasm { .. } | LoadError::CoreModule { .. } => Some(
                "build the plugin with `cargo build --release --target wasm32-wasip2`; see docs/plugins.md".to_string(),
            ),
            LoadError::WrongVersion { .. } => Some(
                "rebuild the plugin against this Redress's redress-sdk (sdk/wit/plugin.wit)".to_string(),
            ),
            LoadError::ForbiddenImport { import, .. } if import.starts_with("wasi:") => Some(
                "plugins get no filesystem, network, clock or environment; build with redress-sdk, whose plugins are `no_std` and import only `redress:plugin/host`".to_string(),
            ),
            LoadError::Instantiate { message, .. } if message.contains("memory limit") => Some(
                "raise `limits.memory` in the manifest".to_string(),
            ),
            LoadError::Instantiate { .. } => Some(
                "the component's exports do not match this Redress's contract (sdk/wit/plugin.wit), or it fails as it starts: rebuild it against this Redress's redress-sdk".to_string(),
            ),
            LoadError::ForbiddenImport { .. } => Some(format!(
                "a plugin may import only `{}`",
                crate::plugin::bindings::HOST_IMPORT
            )),
            _ => None,
        }
    }
}

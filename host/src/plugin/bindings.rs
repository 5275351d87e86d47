//! Host bindings generated from the WIT contract in `sdk/wit/` (the same
//! file the SDK builds plugins against).

wasmtime::component::bindgen!({
    path: "../sdk/wit",
    world: "plugin",
});

pub use self::redress::plugin::host::Level;
pub use exports::redress::plugin::analyzer::{
    Analysis, Annotation, Complaint, Customer, EarlierPlugin, Offer, Value,
};

/// The WIT package and version this host speaks.
pub const PACKAGE: &str = "redress:plugin";
pub const VERSION: &str = "0.1.0";
/// The one interface a plugin may import.
pub const HOST_IMPORT: &str = "redress:plugin/host@0.1.0";
/// The interface a plugin must export.
pub const ANALYZER_EXPORT: &str = "redress:plugin/analyzer@0.1.0";

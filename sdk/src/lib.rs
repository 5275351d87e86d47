//! Write Redress plugins in Rust.
//!
//! A plugin looks at one complaint and says what it sees: scores, labels,
//! flags, lists, and optionally offers it proposes (the rule set's caps still
//! apply). You write one function and mark it `#[redress_sdk::plugin]`; the
//! SDK takes care of the WebAssembly component glue, the allocator and the
//! panic handler.
//!
//! ```
//! // src/lib.rs of a plugin crate (crate-type = ["cdylib", "rlib"]).
//! #![cfg_attr(target_arch = "wasm32", no_std)]
//! extern crate alloc;
//!
//! use redress_sdk::prelude::*;
//!
//! /// Flags complaints that mention a refund.
//! #[redress_sdk::plugin]
//! fn analyze(complaint: &Complaint) -> Result<Analysis, String> {
//!     let text = complaint.text.to_lowercase();
//!     let wants_refund = text.contains("refund") || complaint.text.contains("退款");
//!     let threshold = redress_sdk::config_f64("threshold", 0.5);
//!     redress_sdk::log::debug(&format!("threshold {threshold}"));
//!     Ok(Analysis::new()
//!         .flag("wants_refund", wants_refund)
//!         .number("threshold", threshold))
//! }
//!
//! # fn main() {
//! // The logic is plain Rust: test it natively with `cargo test`.
//! let analysis = analyze(&Complaint::from_text("I want a refund")).unwrap();
//! assert_eq!(analysis.flag_value("wants_refund"), Some(true));
//! # }
//! ```
//!
//! Its manifest (`plugins/refunds.toml`) declares the outputs, so rules using
//! `plugins.refunds.wants_refund` are type-checked when they load:
//!
//! ```toml
//! name = "refunds"
//! [outputs]
//! wants_refund = { type = "flag", default = false }
//! threshold = { type = "number" }
//! [config]
//! threshold = "0.7"
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` and copy
//! `target/wasm32-wasip2/release/refunds.wasm` next to the manifest; try it
//! with `redress plugin run refunds.wasm event.json`.
//!
//! On `wasm32` the plugin is `no_std` (it gets `alloc`: `String`, `Vec`,
//! `BTreeMap`, `format!`), so it imports nothing but the Redress host
//! interface: no filesystem, network, clock or environment. The
//! [`prelude`] brings the `alloc` names in. A panic traps the plugin; its
//! message reaches the host's log.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;
extern crate self as redress_sdk;

use alloc::string::String;
use alloc::vec::Vec;

#[doc(hidden)]
pub mod __private {
    pub use alloc::string::String;
    pub use wit_bindgen;

    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        default_bindings_module: "redress_sdk::__private",
        runtime_path: "redress_sdk::__private::wit_bindgen::rt",
    });
}

pub use __private::exports::redress::plugin::analyzer::{
    Analysis, Annotation, Complaint, Customer, EarlierPlugin, Offer, Value,
};
/// Marks the function that analyzes a complaint:
/// `fn(&Complaint) -> Result<Analysis, String>`.
pub use redress_sdk_macros::plugin;

/// The names a plugin usually needs, `no_std`-ready.
pub mod prelude {
    pub use crate::{Analysis, Annotation, Complaint, Customer, EarlierPlugin, Offer, Value};
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::collections::BTreeMap;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

mod host;
mod runtime;
pub mod text;

pub use host::{config, config_f64, config_list, config_phrases, log, once_per_instance};

#[cfg(not(target_arch = "wasm32"))]
mod manifest_check;

/// Native test support: set manifest config values for
/// [`config`], read what was logged, and check an answer
/// against the manifest as the host does.
#[cfg(not(target_arch = "wasm32"))]
pub mod testing {
    pub use crate::host::native::{logged, set_config};
    pub use crate::manifest_check::check_manifest;
}

impl Analysis {
    /// An analysis with no outputs yet.
    pub fn new() -> Self {
        Analysis {
            annotations: Vec::new(),
            offers: Vec::new(),
        }
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.annotations.push(Annotation {
            key: String::from(key),
            value,
        });
        self
    }

    /// Adds a `number` output.
    pub fn number(self, key: &str, value: f64) -> Self {
        self.with(key, Value::Number(value))
    }

    /// Adds a `text` output.
    pub fn text(self, key: &str, value: impl Into<String>) -> Self {
        self.with(key, Value::Text(value.into()))
    }

    /// Adds a `flag` output.
    pub fn flag(self, key: &str, value: bool) -> Self {
        self.with(key, Value::Flag(value))
    }

    /// Adds a `list` output.
    pub fn list(self, key: &str, values: Vec<String>) -> Self {
        self.with(key, Value::List(values))
    }

    /// Proposes an offer. The manifest must list the kind in `may_propose`,
    /// and the rule set's caps decide how much of it is given.
    pub fn offer(mut self, kind: &str, value: f64, note: Option<&str>) -> Self {
        self.offers.push(Offer {
            kind: String::from(kind),
            value,
            note: note.map(String::from),
        });
        self
    }

    /// The output named `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.annotations
            .iter()
            .find(|a| a.key == key)
            .map(|a| &a.value)
    }

    /// The `number` output named `key`, if any.
    pub fn number_value(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The `text` output named `key`, if any.
    pub fn text_value(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The `flag` output named `key`, if any.
    pub fn flag_value(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Flag(b) => Some(*b),
            _ => None,
        }
    }
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis::new()
    }
}

impl Complaint {
    /// A complaint with this text and nothing else: for tests.
    pub fn from_text(text: &str) -> Self {
        Complaint {
            id: String::from("test"),
            received_at: 0,
            occurred_at: None,
            channel: None,
            location: None,
            language: None,
            text: String::from(text),
            category: None,
            product_line: None,
            amount: None,
            currency: None,
            status: None,
            customer: Customer {
                id: None,
                tier: None,
                lifetime_value: 0.0,
                deposits: 0.0,
                tenure_days: 0,
                prior_complaints: 0,
                prior_goodwill: 0.0,
            },
            attrs: Vec::new(),
            earlier: Vec::new(),
        }
    }

    /// What an earlier plugin said under `key`.
    pub fn earlier(&self, plugin: &str, key: &str) -> Option<&Value> {
        self.earlier
            .iter()
            .find(|p| p.plugin == plugin)?
            .annotations
            .iter()
            .find(|a| a.key == key)
            .map(|a| &a.value)
    }

    /// A `number` an earlier plugin produced.
    pub fn earlier_number(&self, plugin: &str, key: &str) -> Option<f64> {
        match self.earlier(plugin, key)? {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// A `text` an earlier plugin produced.
    pub fn earlier_text(&self, plugin: &str, key: &str) -> Option<&str> {
        match self.earlier(plugin, key)? {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A site-specific attribute.
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

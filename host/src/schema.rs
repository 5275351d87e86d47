//! JSON Schemas generated from the Rust types, so editors (Taplo, Even
//! Better TOML) can complete and check rule files, and integrators can
//! validate events. The checked-in copies under `docs/` are tested to be
//! current.

use crate::event::ComplaintEvent;
use crate::rules::raw::RawRuleFile;
use crate::testing::TestFile;

/// Which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaKind {
    /// Rule files (`rules/*.toml`).
    Rules,
    /// Rule test files (`rules/tests/*.toml`).
    Tests,
    /// Complaint events (JSON).
    Event,
    /// Plugin manifests (`plugins/*.toml`).
    Plugin,
    /// The daemon's configuration file (`redress serve --config`).
    Daemon,
    /// Plugin fixture files (`redress plugin test`, `fixtures/*.toml`).
    Fixtures,
    /// The HTTP API (OpenAPI 3.1), components generated from the types.
    Openapi,
}

impl SchemaKind {
    /// Where the checked-in copy lives, relative to the repository root.
    pub fn docs_path(self) -> &'static str {
        match self {
            SchemaKind::Rules => "docs/rules.schema.json",
            SchemaKind::Tests => "docs/rule-tests.schema.json",
            SchemaKind::Event => "docs/event.schema.json",
            SchemaKind::Plugin => "docs/plugin.schema.json",
            SchemaKind::Daemon => "docs/daemon.schema.json",
            SchemaKind::Fixtures => "docs/plugin-fixtures.schema.json",
            SchemaKind::Openapi => "docs/openapi.json",
        }
    }
}

/// The schema as pretty JSON with a trailing newline.
pub fn schema_json(kind: SchemaKind) -> String {
    let schema = match kind {
        SchemaKind::Openapi => {
            return match crate::server::openapi::document() {
                Ok(text) => text.clone(),
                Err(error) => format!("{{\"error\": {:?}}}\n", error.to_string()),
            };
        }
        SchemaKind::Rules => schemars::schema_for!(RawRuleFile),
        SchemaKind::Tests => schemars::schema_for!(TestFile),
        SchemaKind::Event => schemars::schema_for!(ComplaintEvent),
        SchemaKind::Plugin => schemars::schema_for!(crate::plugin::manifest::RawManifest),
        SchemaKind::Daemon => schemars::schema_for!(crate::server::config::RawServeConfig),
        SchemaKind::Fixtures => schemars::schema_for!(crate::cli::FixtureFileSchema),
    };
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn every_checked_in_schema_is_current() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for kind in SchemaKind::value_variants() {
            let path = kind.docs_path();
            let checked_in = std::fs::read_to_string(root.join(path)).unwrap_or_default();
            let name = kind.to_possible_value().unwrap().get_name().to_string();
            assert!(
                checked_in == schema_json(*kind),
                "{path} is stale: regenerate it with `cargo run --release -- schema {name} > {path}`"
            );
        }
    }
}

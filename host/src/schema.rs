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
        }
    }
}

/// The schema as pretty JSON with a trailing newline.
pub fn schema_json(kind: SchemaKind) -> String {
    let schema = match kind {
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

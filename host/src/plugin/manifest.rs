//! Plugin manifests: `plugins/<name>.toml` next to `<name>.wasm`. The raw
//! format (documented in `docs/plugins.md`, schema in
//! `docs/plugin.schema.json`) is validated into a [`PluginSpec`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::annotation::{AnnotationType, AnnotationValue};
use crate::diagnostic::{Diagnostic, Location};
use crate::suggest::did_you_mean;
use crate::time::Duration;

/// A plugin manifest as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Redress plugin manifest")]
pub struct RawManifest {
    /// The plugin's name; rules read its outputs as `plugins.<name>.<key>`.
    /// Default: the manifest's file name without `.toml`.
    #[serde(default)]
    pub name: Option<String>,
    /// What the plugin does. Default: none.
    #[serde(default)]
    pub description: Option<String>,
    /// The component, relative to the manifest. Default: `<name>.wasm`.
    #[serde(default)]
    pub file: Option<String>,
    /// Plugins run in ascending `order`, ties by name; a plugin sees the
    /// outputs of those before it. Default: `100`.
    #[serde(default)]
    pub order: Option<i32>,
    /// What a failure (trap, timeout, bad output, error) does to the event:
    /// `skip` drops this plugin's outputs, `default` uses the declared
    /// defaults, `reject` refuses the event. Default: `"skip"`.
    #[serde(default)]
    pub on_error: Option<OnError>,
    /// `pooled` reuses warm instances; `per-event` gives every complaint a
    /// fresh instance (nothing shared in memory between complaints).
    /// Default: `"pooled"`.
    #[serde(default)]
    pub isolation: Option<Isolation>,
    /// `true`: the daemon calls the plugin on the async worker thread that
    /// took the request, which is fastest for a call of microseconds; a
    /// call then holds up that worker's other requests for as long as it
    /// runs (at most `limits.timeout`). A call that uses over 10,000,000
    /// fuel or times out moves the plugin's calls to a thread of their own
    /// for the next 10 s. `false`: always on a thread of their own.
    /// Default: `false`.
    #[serde(default)]
    pub inline: Option<bool>,
    /// Offer kinds the plugin may propose. Default: `[]` (none).
    #[serde(default)]
    pub may_propose: Vec<String>,
    /// The outputs the plugin produces, by name. Rules using them are
    /// type-checked against these declarations.
    #[serde(default)]
    pub outputs: BTreeMap<String, RawOutput>,
    /// Values the plugin reads with `config(key)`. Default: empty.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub config: BTreeMap<String, toml::Value>,
    /// Resource limits. Every key has a default.
    #[serde(default)]
    pub limits: RawLimits,
}

/// One declared output.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// `number`, `text`, `flag` or `list` (of strings). Required.
    #[serde(rename = "type")]
    pub ty: AnnotationType,
    /// Used when the plugin leaves the output out, and for every output
    /// when it fails with `on_error = "default"`. Default: none (unset).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub default: Option<toml::Value>,
    /// An event field this output fills in when the event has none. Only
    /// `"category"` (for a `text` output). Default: none.
    #[serde(default)]
    pub fills: Option<String>,
    /// What the output means. Default: none.
    #[serde(default)]
    pub description: Option<String>,
    /// For a `number` output: `[lowest, highest]` it always lies in. The
    /// host refuses a value outside it (a bad output, handled by
    /// `on_error`), and the worst-case analysis relies on it. Default:
    /// none (any finite number).
    #[serde(default)]
    pub range: Option<[f64; 2]>,
}

/// `[limits]`: what one call may use.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Fuel (roughly, WebAssembly instructions) per call.
    /// Default: `50000000`.
    #[serde(default)]
    pub fuel: Option<u64>,
    /// Linear memory, e.g. `"16MiB"`. Default: `"16MiB"`; at least
    /// `"2MiB"` (a plugin built with redress-sdk needs 1088 KiB to start),
    /// at most `"256MiB"`.
    #[serde(default)]
    pub memory: Option<ByteSize>,
    /// Wall-clock time per call, e.g. `"100ms"`. Default: `"100ms"`.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Calls an instance serves before it is replaced by a fresh one.
    /// Default: `10000`.
    #[serde(default)]
    pub recycle_after: Option<u64>,
    /// Warm instances kept ready. Default: twice the number of CPUs.
    #[serde(default)]
    pub instances: Option<usize>,
    /// Failures in a row after which the plugin is quarantined (not
    /// called). Default: `5`.
    #[serde(default)]
    pub quarantine_after: Option<u32>,
    /// How long a quarantine lasts. Default: `"30s"`.
    #[serde(default)]
    pub quarantine_for: Option<Duration>,
    /// Log lines kept per call (each cut to 1 KiB); more are counted and
    /// dropped. Default: `32`.
    #[serde(default)]
    pub log_lines: Option<usize>,
    /// Most bytes one host call (a log message, a config key) or the
    /// call's outputs may carry from the plugin to the host; more fails
    /// the call. Default: `"1MiB"`; between `"64KiB"` and `"64MiB"`.
    #[serde(default)]
    pub transfer: Option<ByteSize>,
    /// Most bytes of text the plugin is given: the complaint's text, and
    /// each text attribute, are cut to this (at a character boundary), so
    /// a long complaint costs bounded fuel. Default: `"64KiB"`.
    #[serde(default)]
    pub text: Option<ByteSize>,
}

/// What a plugin failure does to the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Drop the plugin's outputs for this event; rules see them unset.
    Skip,
    /// Refuse the event with an error naming the plugin.
    Reject,
    /// Use the outputs' declared defaults.
    Default,
}

/// How instances are shared between complaints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    Pooled,
    PerEvent,
}

/// A size in bytes: `"16MiB"`, `"512KiB"`, `"1GiB"` or a number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(with = "serde_json::Value")]
pub struct ByteSize(pub u64);

impl std::fmt::Display for ByteSize {
    /// In the largest unit that divides it: `16MiB`, `1088KiB`, `1000B`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = self.0;
        for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if bytes >= size && bytes.is_multiple_of(size) {
                return write!(f, "{}{unit}", bytes / size);
            }
        }
        write!(f, "{bytes}B")
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Bytes(bytes) => Ok(ByteSize(bytes)),
            Raw::Text(text) => parse_size(&text).map(ByteSize).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid size `{text}`: write a number and a unit, like `16MiB`, `512KiB` or `1GiB`"
                ))
            }),
        }
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "B" => 1,
        "KiB" | "KB" | "K" => 1 << 10,
        "MiB" | "MB" | "M" => 1 << 20,
        "GiB" | "GB" | "G" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// Largest manifest read, in bytes.
const MAX_MANIFEST: u64 = 1 << 20;

/// Largest `limits.memory` accepted (the pooling allocator reserves this
/// much address space per instance slot).
pub const MAX_MEMORY: u64 = 256 << 20;
/// Smallest `limits.memory` accepted: a plugin built with redress-sdk
/// starts with 17 pages (1088 KiB: its data, stack and allocator) and
/// needs room to read a complaint.
pub const MIN_MEMORY: u64 = 2 << 20;
/// Bounds of `limits.transfer`: below, ordinary outputs would not fit;
/// above, one call could make the host hold more than it should.
pub const MIN_TRANSFER: u64 = 64 << 10;
pub const MAX_TRANSFER: u64 = 64 << 20;

/// A validated plugin manifest.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    pub name: String,
    pub description: Option<String>,
    pub manifest_path: PathBuf,
    pub wasm_path: PathBuf,
    pub order: i32,
    pub on_error: OnError,
    pub isolation: Isolation,
    /// Called on the async worker that took the request (`inline`).
    pub inline: bool,
    pub may_propose: Vec<String>,
    pub outputs: Vec<OutputSpec>,
    pub config: BTreeMap<String, String>,
    pub limits: PluginLimits,
    /// The manifest's text, as read: what a kept snapshot stores.
    pub source: std::sync::Arc<str>,
}

/// A validated output declaration.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    pub key: String,
    pub ty: AnnotationType,
    pub default: Option<AnnotationValue>,
    pub fills_category: bool,
    pub description: Option<String>,
    /// `[lowest, highest]` of a number output.
    pub range: Option<(f64, f64)>,
}

impl OutputSpec {
    /// Why `value` breaks the declared range, if it does.
    pub fn out_of_range(&self, value: &AnnotationValue) -> Option<String> {
        let (lo, hi) = self.range?;
        match value {
            AnnotationValue::Number(n) if *n < lo || *n > hi => Some(format!(
                "output `{}` is {n}, outside its declared range [{lo}, {hi}]",
                self.key
            )),
            _ => None,
        }
    }
}

/// Limits with their defaults applied.
#[derive(Debug, Clone)]
pub struct PluginLimits {
    pub fuel: u64,
    pub memory: u64,
    pub timeout: Duration,
    pub recycle_after: u64,
    pub instances: usize,
    pub quarantine_after: u32,
    pub quarantine_for: Duration,
    pub log_lines: usize,
    /// Bytes, see [`RawLimits::transfer`].
    pub transfer: u64,
    /// Bytes, see [`RawLimits::text`].
    pub text: u64,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            fuel: 50_000_000,
            memory: 16 << 20,
            timeout: Duration::from_millis(100),
            recycle_after: 10_000,
            instances: std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
            quarantine_after: 5,
            quarantine_for: Duration::from_millis(30_000),
            log_lines: 32,
            transfer: 1 << 20,
            text: 64 << 10,
        }
    }
}

impl PluginSpec {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<PluginSpec, Vec<Diagnostic>> {
        let text = crate::source_file::read_regular_text(path, MAX_MANIFEST).map_err(|error| {
            vec![
                Diagnostic::error(format!("cannot read plugin manifest: {error}"))
                    .at(Location::file_only(path)),
            ]
        })?;
        Self::parse(path, &text)
    }

    /// Validates manifest `text` read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<PluginSpec, Vec<Diagnostic>> {
        let raw: RawManifest = toml::from_str(text).map_err(|error| {
            let mut diagnostic = Diagnostic::error(format!(
                "invalid plugin manifest: {}",
                error.message().trim()
            ));
            diagnostic = match error.span() {
                Some(span) => diagnostic.at(Location::new(path, text, span)),
                None => diagnostic.at(Location::file_only(path)),
            };
            vec![diagnostic.with_help_opt(crate::suggest::from_serde_message(error.message()))]
        })?;
        let mut problems = Vec::new();
        let here = || Location::file_only(path);
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plugin")
            .to_string();
        let name = raw.name.clone().unwrap_or(stem);
        if !is_identifier(&name) {
            problems.push(
                Diagnostic::error(format!("invalid plugin name `{name}`"))
                    .at(here())
                    .with_help("use lowercase letters, digits and `_`, starting with a letter (rules read `plugins.<name>.<output>`)"),
            );
        }
        let directory = path.parent().unwrap_or(Path::new("."));
        let wasm_path = directory.join(raw.file.clone().unwrap_or_else(|| format!("{name}.wasm")));
        let mut outputs = Vec::new();
        for (key, output) in &raw.outputs {
            if !is_identifier(key) {
                problems.push(
                    Diagnostic::error(format!("invalid output name `{key}`"))
                        .at(here())
                        .with_help("use lowercase letters, digits and `_`, starting with a letter"),
                );
            }
            let default = match &output.default {
                Some(value) => match AnnotationValue::from_toml(output.ty, value) {
                    Some(value) => Some(value),
                    None => {
                        problems.push(
                            Diagnostic::error(format!(
                                "the default of output `{key}` is not a {}",
                                output.ty.name()
                            ))
                            .at(here()),
                        );
                        None
                    }
                },
                None => None,
            };
            let fills_category = match output.fills.as_deref() {
                None => false,
                Some("category") if output.ty == AnnotationType::Text => true,
                Some("category") => {
                    problems.push(
                        Diagnostic::error(format!(
                            "output `{key}` fills `category`, so its type must be `text`"
                        ))
                        .at(here()),
                    );
                    false
                }
                Some(other) => {
                    problems.push(
                        Diagnostic::error(format!("output `{key}` cannot fill `{other}`"))
                            .at(here())
                            .with_help("only `fills = \"category\"` is supported"),
                    );
                    false
                }
            };
            let range = match output.range {
                None => None,
                Some(_) if output.ty != AnnotationType::Number => {
                    problems.push(
                        Diagnostic::error(format!(
                            "output `{key}` has a `range`, but only `number` outputs can"
                        ))
                        .at(here()),
                    );
                    None
                }
                Some([lo, hi]) if lo.is_finite() && hi.is_finite() && lo <= hi => Some((lo, hi)),
                Some([lo, hi]) => {
                    problems.push(
                        Diagnostic::error(format!(
                            "the range of output `{key}` must be `[lowest, highest]` with lowest <= highest, not [{lo}, {hi}]"
                        ))
                        .at(here()),
                    );
                    None
                }
            };
            let spec = OutputSpec {
                key: key.clone(),
                ty: output.ty,
                default,
                fills_category,
                description: output.description.clone(),
                range,
            };
            if let Some(default) = &spec.default
                && let Some(problem) = spec.out_of_range(default)
            {
                problems.push(Diagnostic::error(format!("the default of {problem}")).at(here()));
            }
            outputs.push(spec);
        }
        if outputs.iter().filter(|o| o.fills_category).count() > 1 {
            problems.push(Diagnostic::error("only one output may fill `category`").at(here()));
        }
        let mut config = BTreeMap::new();
        for (key, value) in &raw.config {
            if let Err(problem) = flatten_config(key, value, &mut config) {
                problems.push(Diagnostic::error(problem).at(here()));
            }
        }
        let defaults = PluginLimits::default();
        let limits = PluginLimits {
            fuel: raw.limits.fuel.unwrap_or(defaults.fuel),
            memory: raw.limits.memory.map_or(defaults.memory, |m| m.0),
            timeout: raw.limits.timeout.unwrap_or(defaults.timeout),
            recycle_after: raw
                .limits
                .recycle_after
                .unwrap_or(defaults.recycle_after)
                .max(1),
            instances: raw.limits.instances.unwrap_or(defaults.instances),
            quarantine_after: raw
                .limits
                .quarantine_after
                .unwrap_or(defaults.quarantine_after)
                .max(1),
            quarantine_for: raw.limits.quarantine_for.unwrap_or(defaults.quarantine_for),
            log_lines: raw.limits.log_lines.unwrap_or(defaults.log_lines),
            transfer: raw.limits.transfer.map_or(defaults.transfer, |t| t.0),
            text: raw.limits.text.map_or(defaults.text, |t| t.0),
        };
        if limits.memory < MIN_MEMORY || limits.memory > MAX_MEMORY {
            problems.push(
                Diagnostic::error(format!(
                    "`limits.memory` must be between {} and {}",
                    ByteSize(MIN_MEMORY),
                    ByteSize(MAX_MEMORY)
                ))
                .at(here())
                .with_help("a plugin built with redress-sdk needs 1088KiB to start, and room to read a complaint"),
            );
        }
        if limits.transfer < MIN_TRANSFER || limits.transfer > MAX_TRANSFER {
            problems.push(
                Diagnostic::error(format!(
                    "`limits.transfer` must be between {} and {}",
                    ByteSize(MIN_TRANSFER),
                    ByteSize(MAX_TRANSFER)
                ))
                .at(here()),
            );
        }
        if limits.text == 0 {
            problems.push(Diagnostic::error("`limits.text` must be positive").at(here()));
        }
        if limits.fuel == 0 || limits.timeout.millis() <= 0 {
            problems.push(
                Diagnostic::error("`limits.fuel` and `limits.timeout` must be positive").at(here()),
            );
        }
        for kind in &raw.may_propose {
            if !crate::rules::raw::OFFER_KINDS.contains(&kind.as_str()) {
                let help = did_you_mean(kind, crate::rules::raw::OFFER_KINDS);
                problems.push(
                    Diagnostic::warning(format!(
                        "`may_propose` lists `{kind}`, which is not a built-in offer kind; rule sets must add it to `offer_kinds`"
                    ))
                    .at(here())
                    .with_help_opt(help),
                );
            }
        }
        if problems.iter().any(Diagnostic::is_error) {
            return Err(problems);
        }
        Ok(PluginSpec {
            name,
            description: raw.description,
            manifest_path: path.to_path_buf(),
            wasm_path,
            order: raw.order.unwrap_or(100),
            on_error: raw.on_error.unwrap_or(OnError::Skip),
            isolation: raw.isolation.unwrap_or(Isolation::Pooled),
            inline: raw.inline.unwrap_or(false),
            may_propose: raw.may_propose,
            outputs,
            config,
            limits,
            source: std::sync::Arc::from(text),
        })
    }

    /// A spec for a component without a manifest (`redress plugin run`):
    /// no declared outputs (anything goes), default limits.
    pub fn bare(wasm_path: &Path) -> PluginSpec {
        let name = wasm_path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plugin")
            .to_string();
        PluginSpec {
            name,
            description: None,
            manifest_path: wasm_path.with_extension("toml"),
            wasm_path: wasm_path.to_path_buf(),
            order: 100,
            on_error: OnError::Skip,
            isolation: Isolation::Pooled,
            inline: false,
            may_propose: crate::rules::raw::OFFER_KINDS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            outputs: Vec::new(),
            config: BTreeMap::new(),
            limits: PluginLimits::default(),
            source: std::sync::Arc::from(""),
        }
    }

    pub fn output(&self, key: &str) -> Option<&OutputSpec> {
        self.outputs.iter().find(|o| o.key == key)
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Puts one `[config]` entry into `config` as the text `config(key)`
/// answers: a string as it is, a number or boolean as TOML writes it, a
/// list as its items one per line (`config_list` splits them), and a table
/// as one key per entry, `table.entry` (`[config.phrases] after_sales =
/// [...]` is `phrases.after_sales`), with `table` itself naming the
/// entries one per line.
fn flatten_config(
    key: &str,
    value: &toml::Value,
    config: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let scalar = |item: &toml::Value| match item {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
            Some(item.to_string())
        }
        _ => None,
    };
    match value {
        toml::Value::Table(table) => {
            // The table's own key names its entries, so a plugin can refuse
            // one it does not know.
            let names: Vec<&str> = table.keys().map(String::as_str).collect();
            config.insert(key.to_string(), names.join("\n"));
            for (entry, value) in table {
                flatten_config(&format!("{key}.{entry}"), value, config)?;
            }
        }
        toml::Value::Array(items) => {
            let mut lines = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let Some(text) = scalar(item) else {
                    return Err(format!(
                        "config `{key}`[{index}] must be a string, number or boolean"
                    ));
                };
                if text.contains(['\n', '\r']) {
                    return Err(format!(
                        "config `{key}`[{index}] holds a line break, which a list item cannot"
                    ));
                }
                lines.push(text);
            }
            config.insert(key.to_string(), lines.join("\n"));
        }
        _ => {
            let Some(text) = scalar(value) else {
                return Err(format!(
                    "config `{key}` must be a string, number, boolean, list or table"
                ));
            };
            config.insert(key.to_string(), text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_manifest_parses_with_defaults() {
        let spec = PluginSpec::parse(
            Path::new("plugins/sentiment.toml"),
            r#"
order = 10
on_error = "default"
[outputs]
anger = { type = "number", default = 0 }
language = { type = "text" }
[config]
anger_scale = 1.5
[limits]
memory = "8MiB"
timeout = "50ms"
"#,
        )
        .unwrap();
        assert_eq!(spec.name, "sentiment");
        assert_eq!(spec.wasm_path, Path::new("plugins/sentiment.wasm"));
        assert_eq!(spec.on_error, OnError::Default);
        assert_eq!(
            spec.output("anger").unwrap().default,
            Some(AnnotationValue::Number(0.0))
        );
        assert_eq!(spec.config["anger_scale"], "1.5");
        let lists = PluginSpec::parse(
            Path::new("p.toml"),
            "[config]\nmin_score = 2\n[config.phrases]\nafter_sales = [\"left my bag\", \"nawala\"]\n",
        )
        .unwrap();
        assert_eq!(lists.config["min_score"], "2");
        assert_eq!(lists.config["phrases.after_sales"], "left my bag\nnawala");
        assert_eq!(lists.config["phrases"], "after_sales");
        let broken = PluginSpec::parse(
            Path::new("p.toml"),
            "[config]\nphrases = [\"one\\ntwo\", { a = 1 }]\n",
        )
        .unwrap_err();
        assert!(
            format!("{broken:?}").contains("config `phrases`[0] holds a line break"),
            "{broken:?}"
        );
        assert_eq!(spec.limits.memory, 8 << 20);
        assert_eq!(spec.limits.fuel, 50_000_000);
        assert!(!spec.inline, "plugins run off the async workers by default");
        let inline = PluginSpec::parse(Path::new("p.toml"), "inline = true").unwrap();
        assert!(inline.inline);
    }

    #[test]
    fn mistakes_are_named() {
        let error = PluginSpec::parse(Path::new("p.toml"), "on_eror = \"skip\"").unwrap_err();
        assert!(
            error[0].message.contains("unknown field `on_eror`"),
            "{error:?}"
        );
        assert_eq!(error[0].help.as_deref(), Some("did you mean `on_error`?"));
        let error = PluginSpec::parse(
            Path::new("p.toml"),
            "[outputs]\nx = { type = \"number\", default = \"high\" }",
        )
        .unwrap_err();
        assert!(
            error[0]
                .message
                .contains("default of output `x` is not a number"),
            "{error:?}"
        );
        let error =
            PluginSpec::parse(Path::new("p.toml"), "[limits]\nmemory = \"lots\"").unwrap_err();
        assert!(
            error[0].message.contains("invalid size `lots`"),
            "{error:?}"
        );
        let error =
            PluginSpec::parse(Path::new("p.toml"), "[limits]\nmemory = \"4GiB\"").unwrap_err();
        assert!(
            error[0].message.contains("between 2MiB and 256MiB"),
            "{error:?}"
        );
    }

    #[test]
    fn ranges_are_for_numbers_and_hold_their_default() {
        let spec = PluginSpec::parse(
            Path::new("p.toml"),
            "[outputs]
score = { type = \"number\", default = 0.5, range = [0, 1] }",
        )
        .unwrap();
        let score = spec.output("score").unwrap();
        assert_eq!(score.range, Some((0.0, 1.0)));
        assert!(score.out_of_range(&AnnotationValue::Number(1.0)).is_none());
        let problem = score.out_of_range(&AnnotationValue::Number(1.5)).unwrap();
        assert!(
            problem.contains("outside its declared range [0, 1]"),
            "{problem}"
        );
        for (text, message) in [
            (
                "[outputs]\nx = { type = \"text\", range = [0, 1] }",
                "only `number` outputs can",
            ),
            (
                "[outputs]\nx = { type = \"number\", range = [2, 1] }",
                "lowest <= highest",
            ),
            (
                "[outputs]\nx = { type = \"number\", default = 3.0, range = [0, 1] }",
                "the default of output `x` is 3",
            ),
        ] {
            let error = PluginSpec::parse(Path::new("p.toml"), text).unwrap_err();
            assert!(error[0].message.contains(message), "{error:?}");
        }
    }
}

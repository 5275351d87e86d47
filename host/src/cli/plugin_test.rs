//! `redress plugin test DIR`: a plugin over fixture events, each with the
//! outputs (and offers, or failure) it must produce, checked against its
//! manifest as the daemon would check them.
//!
//! A fixture file is `DIR/fixtures/*.toml`:
//!
//! ```toml
//! [[case]]
//! name = "a refund is mentioned"
//! event = { text = "I want a refund" }
//! expect = { mentions_keyword = true, words = 4 }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use toml::Spanned;

use crate::annotation::{AnnotationType, AnnotationValue};
use crate::diagnostic::render_all;
use crate::event::ComplaintEvent;
use crate::plugin::{LoadedPlugin, PluginRuntime, PluginSpec, RuntimeOptions, complaint, load_one};
use crate::testing::{Mismatch, check_fragment, toml_to_json};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The plugin's directory: its manifest (`NAME.toml`, or `DIR.toml`
    /// beside the directory), its component (`NAME.wasm`, as `redress
    /// plugin build` leaves it, or the manifest's `file`) and `fixtures/`.
    dir: PathBuf,
    /// The manifest, when it is not the only plugin manifest in DIR (the
    /// example plugins keep theirs in `plugins/`).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Fixture files or directories. Default: `DIR/fixtures`.
    #[arg(long)]
    fixtures: Vec<PathBuf>,
}

impl TestArgs {
    /// The fixtures of `dir`, for `manifest`.
    pub fn new(dir: PathBuf, manifest: Option<PathBuf>) -> Self {
        TestArgs {
            dir,
            manifest,
            fixtures: Vec::new(),
        }
    }
}

/// The fixture events of one file, each kept apart so that one broken case
/// does not hide the others.
#[derive(Deserialize)]
struct FixtureFile {
    #[serde(default)]
    case: Vec<Spanned<toml::Table>>,
}

/// A fixture file as its JSON Schema describes it (`redress schema
/// fixtures`).
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
pub struct FixtureFileSchema {
    /// One fixture event each.
    case: Vec<Fixture>,
}

/// One fixture, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Fixture {
    /// Shown in the results; the event's `id` when it has none.
    name: String,
    /// The event; `id` defaults to the case's name, `received_at` to a
    /// fixed time, so a fixture decides the same every time.
    #[schemars(with = "crate::event::ComplaintEvent")]
    event: toml::Table,
    /// What earlier plugins said: plugin → output → value. Default: none.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BTreeMap<String, serde_json::Value>>")]
    earlier: BTreeMap<String, BTreeMap<String, toml::Value>>,
    /// Outputs that must be produced: a value, or `{ min, max }` for a
    /// number. Outputs not named are not checked. Default: none.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    expect: BTreeMap<String, toml::Value>,
    /// The offers the plugin must propose, all of them, in order; each
    /// `{ kind, value, note }`, keys left out not checked. Default: not
    /// checked.
    #[serde(default)]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    expect_offers: Option<Vec<toml::Value>>,
    /// The call must fail, with this in its message. Default: it must
    /// succeed.
    #[serde(default)]
    expect_error: Option<String>,
}

/// A fixture's outcome.
struct Outcome {
    name: String,
    place: String,
    problems: Vec<String>,
}

pub fn test_plugin(args: TestArgs) -> anyhow::Result<ExitCode> {
    let manifest = match &args.manifest {
        Some(manifest) => manifest.clone(),
        None => only_manifest(&args.dir)?,
    };
    let runtime = Arc::new(PluginRuntime::new(&RuntimeOptions::default())?);
    let plugin = match load_one(&manifest, &runtime, None) {
        Ok(plugin) => plugin,
        Err(diagnostics) => {
            eprint!("{}", render_all(&diagnostics, &Default::default()));
            return Ok(ExitCode::FAILURE);
        }
    };
    let sources = if args.fixtures.is_empty() {
        vec![args.dir.join("fixtures")]
    } else {
        args.fixtures.clone()
    };
    let files = fixture_files(&sources, !args.fixtures.is_empty())?;
    if files.is_empty() {
        bail!(
            "no fixtures: write `{}` with [[case]] entries (docs/plugins.md, \"Testing a plugin\")",
            args.dir.join("fixtures/cases.toml").display()
        );
    }
    let mut outcomes = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        outcomes.extend(run_file(&plugin, file, &text));
    }
    let failed = outcomes.iter().filter(|o| !o.problems.is_empty()).count();
    for outcome in &outcomes {
        if outcome.problems.is_empty() {
            println!("pass {}", outcome.name);
        } else {
            println!("FAIL {} ({})", outcome.name, outcome.place);
            for problem in &outcome.problems {
                println!("  {problem}");
            }
        }
    }
    println!();
    println!(
        "plugin {}: {} passed, {failed} failed",
        plugin.spec.name,
        outcomes.len() - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The one plugin manifest in `dir` (any `.toml` but `Cargo.toml`), or
/// `DIR.toml` beside it.
fn only_manifest(dir: &Path) -> anyhow::Result<PathBuf> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut manifests: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension().is_some_and(|e| e == "toml")
                && path.file_name().is_some_and(|n| n != "Cargo.toml")
        })
        .collect();
    manifests.sort();
    match manifests.as_slice() {
        [one] => Ok(one.clone()),
        // The example plugins: `plugins/classify/` beside `plugins/classify.toml`.
        [] if dir.with_extension("toml").is_file() => Ok(dir.with_extension("toml")),
        [] => bail!(
            "no plugin manifest in {} nor {}; name one with --manifest",
            dir.display(),
            dir.with_extension("toml").display()
        ),
        many => bail!(
            "{} manifests in {} ({}); name one with --manifest",
            many.len(),
            dir.display(),
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Every `.toml` file of `sources`, files as given and directories read.
/// A source `given` on the command line must exist.
fn fixture_files(sources: &[PathBuf], given: bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for source in sources {
        if source.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(source)
                .with_context(|| format!("cannot read {}", source.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|e| e == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else if source.is_file() {
            files.push(source.clone());
        } else if !given {
            // The default directory, absent: reported as no fixtures.
        } else {
            bail!("no fixture file or directory {}", source.display());
        }
    }
    Ok(files)
}

fn run_file(plugin: &LoadedPlugin, file: &Path, text: &str) -> Vec<Outcome> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let parsed: FixtureFile = match toml::from_str(text) {
        Ok(parsed) => parsed,
        Err(error) => {
            let line = error.span().map_or(0, |s| line_of(s.start));
            return vec![Outcome {
                name: file.display().to_string(),
                place: format!("{}:{line}", file.display()),
                problems: vec![error.message().to_string()],
            }];
        }
    };
    parsed
        .case
        .into_iter()
        .map(|entry| {
            let place = format!("{}:{}", file.display(), line_of(entry.span().start));
            let table = entry.into_inner();
            let fallback = table
                .get("name")
                .and_then(toml::Value::as_str)
                .unwrap_or("unnamed case")
                .to_string();
            match toml::Value::Table(table).try_into::<Fixture>() {
                Ok(fixture) => Outcome {
                    name: fixture.name.clone(),
                    problems: run_fixture(plugin, &fixture),
                    place,
                },
                Err(error) => Outcome {
                    name: fallback,
                    place,
                    problems: vec![error.message().to_string()],
                },
            }
        })
        .collect()
}

/// What is wrong with the plugin's answer to one fixture; empty when right.
fn run_fixture(plugin: &LoadedPlugin, fixture: &Fixture) -> Vec<String> {
    let spec = &plugin.spec;
    let mut problems = undeclared(spec, fixture);
    if !problems.is_empty() {
        return problems;
    }
    let mut event_json = toml_to_json(&toml::Value::Table(fixture.event.clone()));
    if let Some(object) = event_json.as_object_mut() {
        object
            .entry("id")
            .or_insert_with(|| serde_json::Value::from(fixture.name.clone()));
        object
            .entry("received_at")
            .or_insert_with(|| serde_json::Value::from(crate::testing::DEFAULT_RECEIVED_AT));
    }
    let event = match ComplaintEvent::from_json(event_json.to_string().as_bytes()) {
        Ok(event) => event,
        Err(error) => return vec![format!("event: {error}")],
    };
    let mut input = complaint(&event);
    for (earlier, outputs) in &fixture.earlier {
        let mut values = BTreeMap::new();
        for (key, value) in outputs {
            match annotation(value) {
                Some(value) => {
                    values.insert(key.clone(), value);
                }
                None => {
                    problems.push(format!(
                        "earlier.{earlier}.{key}: a number, text, flag or list of texts"
                    ));
                }
            }
        }
        input
            .earlier
            .push(crate::plugin::convert_earlier(earlier, &values));
    }
    if !problems.is_empty() {
        return problems;
    }
    let (result, _) = plugin.call(&input);
    let outputs = match (result, &fixture.expect_error) {
        (Err(error), Some(expected)) => {
            let message = error.to_string();
            if !message.contains(expected.as_str()) {
                problems.push(format!(
                    "failed with `{message}`, which does not contain `{expected}`"
                ));
            }
            return problems;
        }
        (Err(error), None) => return vec![format!("failed: {error}")],
        (Ok(_), Some(expected)) => {
            return vec![format!(
                "expected a failure containing `{expected}`, but the call succeeded"
            )];
        }
        (Ok(outputs), None) => outputs,
    };
    // What rules would see: the outputs, and the defaults of those left out.
    let mut seen = serde_json::Map::new();
    for output in &spec.outputs {
        if let Some(value) = outputs.values.get(&output.key).or(output.default.as_ref()) {
            seen.insert(
                output.key.clone(),
                serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
            );
        }
    }
    let mut expected = serde_json::Map::new();
    for (key, value) in &fixture.expect {
        match number_range(value) {
            Some((min, max)) => match seen.get(key) {
                Some(found) if found.as_f64().is_some_and(|f| f >= min && f <= max) => {}
                found => problems.push(format!(
                    "outputs.{key}: expected a number in [{min}, {max}], found {}",
                    found.map_or_else(|| "nothing".to_string(), |f| f.to_string())
                )),
            },
            None => {
                expected.insert(key.clone(), toml_to_json(value));
            }
        }
    }
    // One fragment, so the paths say where: `outputs.words`, `offers[0].kind`.
    let mut expected = serde_json::json!({ "outputs": expected });
    if let Some(offers) = &fixture.expect_offers {
        expected["offers"] = offers.iter().map(toml_to_json).collect();
    }
    let found = serde_json::json!({
        "outputs": seen,
        "offers": outputs
            .offers
            .iter()
            .map(|offer| serde_json::json!({ "kind": offer.kind, "value": offer.value, "note": offer.note }))
            .collect::<Vec<_>>(),
    });
    problems.extend(
        check_fragment(&expected, &[], &found)
            .into_iter()
            .map(|m: Mismatch| format!("{}: expected {}, found {}", m.path, m.expected, m.found)),
    );
    problems
}

/// Expectations on outputs the manifest does not declare: a typo would
/// otherwise check nothing.
fn undeclared(spec: &PluginSpec, fixture: &Fixture) -> Vec<String> {
    if spec.outputs.is_empty() {
        return Vec::new();
    }
    let declared: Vec<&str> = spec.outputs.iter().map(|o| o.key.as_str()).collect();
    fixture
        .expect
        .keys()
        .filter(|key| !declared.contains(&key.as_str()))
        .map(|key| {
            let hint = crate::suggest::did_you_mean(key, declared.iter().copied())
                .map(|s| format!("; {s}"))
                .unwrap_or_default();
            format!(
                "expect.{key}: plugin `{}` declares no output `{key}` (it declares {}){hint}",
                spec.name,
                declared.join(", ")
            )
        })
        .collect()
}

/// `{ min = .., max = .. }`: a number within bounds (either may be left out).
fn number_range(value: &toml::Value) -> Option<(f64, f64)> {
    let table = value.as_table()?;
    if table.is_empty() || !table.keys().all(|k| k == "min" || k == "max") {
        return None;
    }
    let bound = |key: &str, default: f64| match table.get(key) {
        None => Some(default),
        Some(toml::Value::Float(f)) => Some(*f),
        Some(toml::Value::Integer(i)) => Some(*i as f64),
        Some(_) => None,
    };
    Some((
        bound("min", f64::NEG_INFINITY)?,
        bound("max", f64::INFINITY)?,
    ))
}

fn annotation(value: &toml::Value) -> Option<AnnotationValue> {
    let ty = match value {
        toml::Value::Float(_) | toml::Value::Integer(_) => AnnotationType::Number,
        toml::Value::String(_) => AnnotationType::Text,
        toml::Value::Boolean(_) => AnnotationType::Flag,
        toml::Value::Array(_) => AnnotationType::List,
        _ => return None,
    };
    AnnotationValue::from_toml(ty, value)
}

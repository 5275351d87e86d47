//! The OpenAPI document. The endpoints, with their prose, are written by
//! hand in `openapi.paths.json`; every body they name under
//! `#/components/schemas/` is generated here from the Rust type the
//! handlers send or read, so the document cannot drift from the code.
//! `redress schema openapi` prints it, `docs/openapi.json` is the
//! checked-in copy (a test keeps it current), and `GET /v1/openapi.json`
//! serves it.
//!
//! Requests are described as serde reads them and answers as serde writes
//! them (schemars' two contracts): an optional field an answer leaves out
//! is not required there, and a default a request fills in is not
//! required either.

use std::sync::OnceLock;

use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value};

use crate::decision::Decision;
use crate::event::ComplaintEvent;
use crate::reload::ReloadStatus;
use crate::replay::DiffReport;
use crate::server::bodies::{
    BatchAnswer, DiffRequest, ErrorEnvelope, Health, Ready, ReloadRequest, RulesetView,
    SimulateAnswer, SimulateRequest,
};
use crate::store::{CaseView, DecisionPage, LifecycleEvent, Report};

/// The endpoints, written by hand.
const PATHS: &str = include_str!("openapi.paths.json");

/// Why the document could not be put together: only a broken
/// `openapi.paths.json`, a reference to a type not generated, or a name
/// clash, all caught by the tests.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("openapi.paths.json is not valid JSON: {0}")]
    Paths(#[source] serde_json::Error),
    #[error("openapi.paths.json has no `components` object")]
    NoComponents,
    #[error(
        "`{0}` names both a type and the written form of another: rename one with #[schemars(rename)]"
    )]
    NameClash(String),
    #[error("the document refers to `{0}`, which no type generates")]
    Dangling(String),
}

/// The document, built once.
pub fn document() -> &'static Result<String, OpenApiError> {
    static DOCUMENT: OnceLock<Result<String, OpenApiError>> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        build().map(|value| {
            let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
            text.push('\n');
            text
        })
    })
}

fn generator(contract: Contract) -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = "/components/schemas".into();
            settings.meta_schema = None;
            settings.contract = contract;
        })
        .into_generator()
}

fn build() -> Result<Value, OpenApiError> {
    let mut document: Value = serde_json::from_str(PATHS).map_err(OpenApiError::Paths)?;

    let mut requests = generator(Contract::Deserialize);
    requests.subschema_for::<ComplaintEvent>();
    requests.subschema_for::<SimulateRequest>();
    requests.subschema_for::<ReloadRequest>();
    requests.subschema_for::<DiffRequest>();
    requests.subschema_for::<LifecycleEvent>();

    let mut answers = generator(Contract::Serialize);
    answers.subschema_for::<ErrorEnvelope>();
    answers.subschema_for::<Decision>();
    answers.subschema_for::<BatchAnswer>();
    answers.subschema_for::<SimulateAnswer>();
    answers.subschema_for::<RulesetView>();
    answers.subschema_for::<ReloadStatus>();
    answers.subschema_for::<DiffReport>();
    answers.subschema_for::<CaseView>();
    answers.subschema_for::<DecisionPage>();
    answers.subschema_for::<Report>();
    answers.subschema_for::<Health>();
    answers.subschema_for::<Ready>();

    let mut schemas = requests.take_definitions(true);
    let mut written = answers.take_definitions(true);
    // A type both read and written (an event is sent in and echoed back in
    // a worst-case witness) can differ between the two contracts: a field
    // with a default is optional going in but always present coming out.
    // The answer side's copy is then named `<Type>Written`.
    let differing: Vec<String> = written
        .iter()
        .filter(|(name, schema)| schemas.get(*name).is_some_and(|read| read != *schema))
        .map(|(name, _)| name.clone())
        .collect();
    for name in &differing {
        let renamed = format!("{name}Written");
        if schemas.contains_key(&renamed) || written.contains_key(&renamed) {
            return Err(OpenApiError::NameClash(renamed));
        }
        if let Some(schema) = written.remove(name) {
            written.insert(renamed.clone(), schema);
        }
        for schema in written.values_mut() {
            rename_references(schema, name, &renamed);
        }
    }
    for (name, schema) in written {
        schemas.entry(name).or_insert(schema);
    }
    let referred = referred_names(&document);
    if let Some(missing) = referred.iter().find(|name| !schemas.contains_key(*name)) {
        return Err(OpenApiError::Dangling(missing.clone()));
    }
    let components = document
        .get_mut("components")
        .and_then(Value::as_object_mut)
        .ok_or(OpenApiError::NoComponents)?;
    components.insert("schemas".into(), Value::Object(sorted(schemas)));
    Ok(document)
}

fn sorted(map: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// Points every `$ref` to component `from` at component `to` instead.
fn rename_references(value: &mut Value, from: &str, to: &str) {
    let from = format!("{REFERENCE_PREFIX}{from}");
    let to = format!("{REFERENCE_PREFIX}{to}");
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if key == "$ref" && value.as_str() == Some(from.as_str()) {
                        *value = Value::String(to.clone());
                    } else {
                        stack.push(value);
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}

const REFERENCE_PREFIX: &str = "#/components/schemas/";

/// The component names `$ref`s in the hand-written part point at.
fn referred_names(value: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix(REFERENCE_PREFIX))
                {
                    names.push(name.to_string());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_builds_and_every_reference_resolves() {
        let text = document().as_ref().unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        let schemas = value["components"]["schemas"].as_object().unwrap();
        for name in referred_names(&value) {
            assert!(schemas.contains_key(&name), "dangling $ref to {name}");
        }
        assert!(schemas.contains_key("Decision"));
        assert!(schemas.contains_key("TraceEntry"));
    }
}

//! The complaint event: what arrives, typed and validated.
//!
//! Events are JSON. Unknown top-level fields are refused (site-specific data
//! goes in `attrs`), and every error names the field and what was expected.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// One customer complaint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintEvent {
    /// Unique id of the complaint (required, 1 to 200 characters, no
    /// control characters such as a newline or a NUL).
    pub id: String,
    /// When Redress received it. Filled in with the current time on intake
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<Timestamp>,
    /// When the thing complained about happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
    /// How it came in: `phone`, `email`, `web`, `chat`, `social`,
    /// `in_person`, `fax`, `letter`, or a site-specific name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Where: store, branch or site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Language tag of `text` if known (`en`, `zh-Hans`, `zh-Hant`, `tl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// What the customer said, in any language.
    #[serde(default)]
    pub text: String,
    /// What it is about, if the sender knows; a plugin may fill it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The product line the complaint concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_line: Option<String>,
    /// What is at stake, in `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// ISO 4217 code of `amount`, e.g. `USD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Who is complaining.
    #[serde(default, deserialize_with = "object_only")]
    pub customer: Customer,
    /// Status reported by the sender (`new` unless told otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Anything site-specific: string keys, JSON values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, serde_json::Value>,
}

/// The customer behind a complaint. Unknown numbers default to zero.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// The customer's id: their history, budgets and cases are found by it.
    /// No control characters. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Service tier, e.g. `key` (key account) or `ordinary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// What the customer has brought the business over the relationship.
    #[serde(default)]
    pub lifetime_value: f64,
    /// Money the customer holds with the business (banks).
    #[serde(default)]
    pub deposits: f64,
    /// Days since the customer's first purchase or account.
    #[serde(default)]
    pub tenure_days: i64,
    /// Complaints the customer made before this one.
    #[serde(default)]
    pub prior_complaints: i64,
    /// Goodwill already given to the customer, in the event's currency.
    #[serde(default)]
    pub prior_goodwill: f64,
}

/// Why an event was refused: the field, what was wrong, and where in the
/// JSON text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct EventError {
    /// Dotted path of the offending field (`customer.deposits`), empty for
    /// the event as a whole.
    pub field: String,
    pub message: String,
    /// 1-based line and column in the JSON text, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The text is not JSON at all (as opposed to JSON that is not a valid
    /// event).
    pub syntax: bool,
}

impl EventError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        EventError {
            field: field.into(),
            message: message.into(),
            line: None,
            column: None,
            syntax: false,
        }
    }

    fn describe(&self) -> String {
        let mut text = if self.field.is_empty() {
            format!("invalid event: {}", self.message)
        } else {
            format!("invalid event field `{}`: {}", self.field, self.message)
        };
        if let (Some(line), Some(column)) = (self.line, self.column) {
            text.push_str(&format!(" (at line {line}, column {column})"));
        }
        text
    }
}

const MAX_ID_LEN: usize = 200;

/// Deserializes a struct from a JSON object only. serde's derived structs
/// also take an array of their fields in order, so `"customer": []` would
/// read as a customer with every field at its default.
fn object_only<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectVisitor<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
}

/// `T`, deserialized with [`object_only`].
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object_only(deserializer).map(Object)
    }
}

impl ComplaintEvent {
    /// An event with only an id and the time it was received; every other
    /// field unset or zero. What analyses and tests start from.
    pub fn received(id: &str, at: Timestamp) -> Self {
        ComplaintEvent {
            id: id.to_string(),
            received_at: Some(at),
            occurred_at: None,
            channel: None,
            location: None,
            language: None,
            text: String::new(),
            category: None,
            product_line: None,
            amount: None,
            currency: None,
            customer: Customer::default(),
            status: None,
            attrs: BTreeMap::new(),
        }
    }

    /// Parses and validates one event from JSON text.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EventError> {
        // Tracking the path costs an allocation per key, so only a body that
        // fails to parse is read a second time, to say where it failed.
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let event = match object_only::<_, ComplaintEvent>(&mut deserializer) {
            Ok(event) => event,
            Err(error) => {
                let mut deserializer = serde_json::Deserializer::from_slice(bytes);
                let traced = serde_path_to_error::deserialize::<_, Object<ComplaintEvent>>(
                    &mut deserializer,
                )
                .map(|object| object.0);
                return Err(match traced {
                    Err(error) => from_path_error(&error),
                    // Cannot happen (the same parse, with its path traced);
                    // the first error still says what failed.
                    Ok(_) => positioned_error(String::new(), &error),
                });
            }
        };
        deserializer.end().map_err(|error| EventError {
            line: Some(error.line()),
            column: Some(error.column()),
            syntax: true,
            ..EventError::new("", "trailing characters after the event")
        })?;
        event.validate()?;
        Ok(event)
    }

    /// Parses and validates one event from an already parsed JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, EventError> {
        let Object(event): Object<ComplaintEvent> =
            serde_path_to_error::deserialize(value).map_err(|error| from_path_error(&error))?;
        event.validate()?;
        Ok(event)
    }

    /// Checks what the type system cannot: non-empty id, finite
    /// non-negative amounts, a plausible currency code.
    pub fn validate(&self) -> Result<(), EventError> {
        if self.id.trim().is_empty() {
            return Err(EventError::new("id", "must not be empty"));
        }
        if self.id.chars().count() > MAX_ID_LEN {
            return Err(EventError::new(
                "id",
                format!("is longer than {MAX_ID_LEN} characters"),
            ));
        }
        check_identifier("id", &self.id)?;
        if let Some(customer_id) = &self.customer.id {
            check_identifier("customer.id", customer_id)?;
        }
        if let Some(amount) = self.amount {
            check_money("amount", amount)?;
        }
        if let Some(currency) = &self.currency
            && !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(EventError::new(
                "currency",
                format!("`{currency}` is not an ISO 4217 code such as `USD`, `CNY` or `PHP`"),
            ));
        }
        let customer = &self.customer;
        check_money("customer.lifetime_value", customer.lifetime_value)?;
        check_money("customer.deposits", customer.deposits)?;
        check_money("customer.prior_goodwill", customer.prior_goodwill)?;
        for (field, value) in [
            ("customer.tenure_days", customer.tenure_days),
            ("customer.prior_complaints", customer.prior_complaints),
        ] {
            if value < 0 {
                return Err(EventError::new(field, "must not be negative"));
            }
        }
        Ok(())
    }
}

/// Ids end up in logs, audit listings and terminals: a newline or a NUL
/// in one would forge or cut a line there.
fn check_identifier(field: &str, value: &str) -> Result<(), EventError> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(EventError::new(
            field,
            format!(
                "must not contain control characters (found U+{:04X} at character {})",
                c as u32,
                value.chars().position(|x| x == c).unwrap_or(0) + 1
            ),
        )),
        None => Ok(()),
    }
}

fn check_money(field: &str, value: f64) -> Result<(), EventError> {
    if !value.is_finite() {
        return Err(EventError::new(field, "must be a finite number"));
    }
    if value < 0.0 {
        return Err(EventError::new(field, "must not be negative"));
    }
    Ok(())
}

fn from_path_error<E: std::fmt::Display + JsonPosition>(
    error: &serde_path_to_error::Error<E>,
) -> EventError {
    let path = error.path().to_string();
    let field = if path == "." { String::new() } else { path };
    positioned_error(field, error.inner())
}

fn positioned_error<E: std::fmt::Display + JsonPosition>(field: String, inner: &E) -> EventError {
    EventError {
        field,
        message: strip_position(&inner.to_string()),
        line: inner.line(),
        column: inner.column(),
        syntax: inner.is_syntax(),
    }
}

/// serde_json appends " at line L column C" to its messages; the position is
/// reported separately, so strip it.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// Where in the JSON text an error happened, when the error knows.
trait JsonPosition {
    fn line(&self) -> Option<usize>;
    fn column(&self) -> Option<usize>;
    fn is_syntax(&self) -> bool;
}

impl JsonPosition for serde_json::Error {
    fn line(&self) -> Option<usize> {
        (serde_json::Error::line(self) > 0).then(|| serde_json::Error::line(self))
    }

    fn column(&self) -> Option<usize> {
        (serde_json::Error::line(self) > 0).then(|| serde_json::Error::column(self))
    }

    fn is_syntax(&self) -> bool {
        matches!(
            self.classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ComplaintEvent, EventError> {
        ComplaintEvent::from_json(json.as_bytes())
    }

    #[test]
    fn a_minimal_event_needs_only_an_id() {
        let event = parse(r#"{"id": "c-1"}"#).unwrap();
        assert_eq!(event.id, "c-1");
        assert_eq!(event.customer.deposits, 0.0);
    }

    #[test]
    fn ids_with_control_characters_are_refused() {
        let error = parse(r#"{"id": "c-1\nforged line"}"#).unwrap_err();
        assert_eq!(error.field, "id");
        assert!(error.message.contains("U+000A at character 4"), "{error}");
        let error = parse(r#"{"id": "c-1", "customer": {"id": "k\u0000"}}"#).unwrap_err();
        assert_eq!(error.field, "customer.id");
        assert!(parse(r#"{"id": "c-1 \u00e9t\u00e9", "customer": {"id": "k 1"}}"#).is_ok());
    }

    #[test]
    fn unknown_field_is_named() {
        let error = parse(r#"{"id": "c-1", "severity": 3}"#).unwrap_err();
        assert!(
            error.message.contains("unknown field `severity`"),
            "{error}"
        );
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn nested_type_error_names_the_path() {
        let error = parse(r#"{"id": "c-1", "customer": []}"#).unwrap_err();
        assert_eq!(error.field, "customer");
        assert!(error.message.contains("expected an object"), "{error}");
        let error = parse(r#"["c-1"]"#).unwrap_err();
        assert!(error.message.contains("expected an object"), "{error}");
        let error = parse(r#"{"id": "c-1", "customer": {"deposits": "lots"}}"#).unwrap_err();
        assert_eq!(error.field, "customer.deposits");
        assert!(error.message.contains("expected f64"), "{error}");
    }

    #[test]
    fn missing_id_and_bad_timestamp_are_explained() {
        let error = parse(r#"{"text": "hi"}"#).unwrap_err();
        assert!(error.message.contains("missing field `id`"), "{error}");
        let error = parse(r#"{"id": "c", "received_at": "yesterday"}"#).unwrap_err();
        assert_eq!(error.field, "received_at");
        assert!(error.message.contains("RFC 3339"), "{error}");
    }

    #[test]
    fn semantic_checks_apply() {
        assert_eq!(parse(r#"{"id": " "}"#).unwrap_err().field, "id");
        assert_eq!(
            parse(r#"{"id": "c", "amount": -5}"#).unwrap_err().field,
            "amount"
        );
        assert_eq!(
            parse(r#"{"id": "c", "currency": "dollars"}"#)
                .unwrap_err()
                .field,
            "currency"
        );
        assert!(parse("").is_err());
        assert!(parse(r#"{"id": "c"} {"id": "d"}"#).is_err());
    }
}

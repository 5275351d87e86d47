//! What a condition can read: the event's fields, the customer's history
//! (with durable state), and plugin outputs, each with its static type and a
//! reader that borrows the value from the facts of one complaint.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::annotation::{AnnotationType, AnnotationValue};
use crate::event::ComplaintEvent;
use crate::expr::named::NamedCondition;
use crate::expr::types::Type;
use crate::expr::value::{List, MapRef, Value};

/// Everything known about one complaint while rules run.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub event: &'a ComplaintEvent,
    /// The event's category, or the one a plugin filled in.
    pub category: Option<&'a str>,
    /// Plugin outputs by slot (see [`Env::add_plugin_output`]).
    pub annotations: &'a [Option<AnnotationValue>],
    /// The customer's history from the store; `None` without durable state.
    pub history: Option<&'a CustomerHistory>,
}

impl<'a> Facts<'a> {
    /// Facts of an event with no plugins and no history.
    pub fn of_event(event: &'a ComplaintEvent) -> Self {
        Facts {
            event,
            category: event.category.as_deref(),
            annotations: &[],
            history: None,
        }
    }
}

/// What the store knows about a customer when a complaint arrives.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct CustomerHistory {
    /// Cases of this customer not yet closed (this complaint excluded).
    pub open_cases: i64,
    /// Complaints of this customer in the 30 days before this one.
    pub complaints_30d: i64,
    /// Goodwill given to this customer in the last 365 days.
    pub goodwill_365d: f64,
}

/// Reads one value out of the facts; `None` when it is not set.
pub type Reader = Arc<dyn for<'a> Fn(&Facts<'a>) -> Option<Value<'a>> + Send + Sync>;

/// A readable field: its type, whether it can be unset, and what it means.
#[derive(Clone)]
pub struct FieldDef {
    pub ty: Type,
    pub optional: bool,
    pub doc: &'static str,
    pub reader: Reader,
    /// `[lowest, highest]` the value always lies in, when known.
    pub range: Option<(f64, f64)>,
    /// The annotation slot of a plugin output.
    pub slot: Option<usize>,
}

/// The names a condition may use, with their types.
#[derive(Clone)]
pub struct Env {
    fields: BTreeMap<String, FieldDef>,
    plugins: BTreeMap<String, usize>,
    /// Plugins of the directory that were refused at load, and why.
    refused: BTreeMap<String, String>,
    /// (plugin, offer kind) for every kind a plugin may propose.
    proposals: Vec<(String, String)>,
    /// The rule set's `[conditions]`, by name.
    pub(super) conditions: BTreeMap<String, NamedCondition>,
}

fn borrowed(s: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(s))
}

macro_rules! field {
    ($fields:ident, $path:literal, $ty:expr, $optional:expr, $doc:literal, $read:expr) => {
        $fields.insert(
            $path.to_string(),
            FieldDef {
                ty: $ty,
                optional: $optional,
                doc: $doc,
                reader: Arc::new($read),
                range: None,
                slot: None,
            },
        );
    };
}

impl Env {
    /// The event's fields and the customer's history; no plugins.
    pub fn standard() -> Self {
        let mut f = BTreeMap::new();
        field!(
            f,
            "id",
            Type::String,
            false,
            "the complaint's id",
            |x: &Facts<'_>| Some(borrowed(&x.event.id))
        );
        field!(
            f,
            "received_at",
            Type::Timestamp,
            false,
            "when Redress received it",
            |x: &Facts<'_>| x.event.received_at.map(Value::Timestamp)
        );
        field!(
            f,
            "occurred_at",
            Type::Timestamp,
            true,
            "when it happened",
            |x: &Facts<'_>| x.event.occurred_at.map(Value::Timestamp)
        );
        field!(
            f,
            "channel",
            Type::String,
            true,
            "how it came in",
            |x: &Facts<'_>| x.event.channel.as_deref().map(borrowed)
        );
        field!(
            f,
            "location",
            Type::String,
            true,
            "store, branch or site",
            |x: &Facts<'_>| x.event.location.as_deref().map(borrowed)
        );
        field!(
            f,
            "language",
            Type::String,
            true,
            "language tag of the text",
            |x: &Facts<'_>| x.event.language.as_deref().map(borrowed)
        );
        field!(
            f,
            "text",
            Type::String,
            false,
            "what the customer said",
            |x: &Facts<'_>| Some(borrowed(&x.event.text))
        );
        field!(
            f,
            "category",
            Type::String,
            true,
            "what it is about (sent, or filled by a plugin)",
            |x: &Facts<'_>| x.category.map(borrowed)
        );
        field!(
            f,
            "product_line",
            Type::String,
            true,
            "the product line",
            |x: &Facts<'_>| x.event.product_line.as_deref().map(borrowed)
        );
        field!(
            f,
            "amount",
            Type::Double,
            true,
            "what is at stake",
            |x: &Facts<'_>| x.event.amount.map(Value::Double)
        );
        field!(
            f,
            "currency",
            Type::String,
            true,
            "currency of amount",
            |x: &Facts<'_>| x.event.currency.as_deref().map(borrowed)
        );
        field!(
            f,
            "status",
            Type::String,
            true,
            "status sent with the event",
            |x: &Facts<'_>| x.event.status.as_deref().map(borrowed)
        );
        field!(
            f,
            "attrs",
            Type::Map,
            false,
            "site-specific attributes",
            |x: &Facts<'_>| Some(Value::Map(MapRef::Attrs(&x.event.attrs)))
        );
        field!(
            f,
            "customer.id",
            Type::String,
            true,
            "the customer's id",
            |x: &Facts<'_>| x.event.customer.id.as_deref().map(borrowed)
        );
        field!(
            f,
            "customer.tier",
            Type::String,
            true,
            "service tier",
            |x: &Facts<'_>| x.event.customer.tier.as_deref().map(borrowed)
        );
        field!(
            f,
            "customer.lifetime_value",
            Type::Double,
            false,
            "value over the relationship",
            |x: &Facts<'_>| Some(Value::Double(x.event.customer.lifetime_value))
        );
        field!(
            f,
            "customer.deposits",
            Type::Double,
            false,
            "money held with the business",
            |x: &Facts<'_>| Some(Value::Double(x.event.customer.deposits))
        );
        field!(
            f,
            "customer.tenure_days",
            Type::Int,
            false,
            "days as a customer",
            |x: &Facts<'_>| Some(Value::Int(x.event.customer.tenure_days))
        );
        field!(
            f,
            "customer.prior_complaints",
            Type::Int,
            false,
            "complaints before this one",
            |x: &Facts<'_>| Some(Value::Int(x.event.customer.prior_complaints))
        );
        field!(
            f,
            "customer.prior_goodwill",
            Type::Double,
            false,
            "goodwill given before",
            |x: &Facts<'_>| Some(Value::Double(x.event.customer.prior_goodwill))
        );
        field!(
            f,
            "customer.open_cases",
            Type::Int,
            true,
            "open cases of this customer (needs the store)",
            |x: &Facts<'_>| x.history.map(|h| Value::Int(h.open_cases))
        );
        field!(
            f,
            "customer.complaints_30d",
            Type::Int,
            true,
            "complaints in the last 30 days (needs the store)",
            |x: &Facts<'_>| x.history.map(|h| Value::Int(h.complaints_30d))
        );
        field!(
            f,
            "customer.goodwill_365d",
            Type::Double,
            true,
            "goodwill given in the last 365 days (needs the store)",
            |x: &Facts<'_>| x.history.map(|h| Value::Double(h.goodwill_365d))
        );
        // Intake refuses negative money and counts; nothing bounds them
        // from above.
        for path in [
            "amount",
            "customer.lifetime_value",
            "customer.deposits",
            "customer.tenure_days",
            "customer.prior_complaints",
            "customer.prior_goodwill",
            "customer.open_cases",
            "customer.complaints_30d",
            "customer.goodwill_365d",
        ] {
            if let Some(field) = f.get_mut(path) {
                field.range = Some((0.0, f64::INFINITY));
            }
        }
        Env {
            fields: f,
            plugins: BTreeMap::new(),
            refused: BTreeMap::new(),
            proposals: Vec::new(),
            conditions: BTreeMap::new(),
        }
    }

    /// Makes `plugins.<plugin>.<key>` readable, typed as declared, from
    /// annotation slot `slot`.
    pub fn add_plugin_output(&mut self, plugin: &str, key: &str, ty: AnnotationType, slot: usize) {
        *self.plugins.entry(plugin.to_string()).or_default() += 1;
        let reader: Reader =
            Arc::new(
                move |facts: &Facts<'_>| match facts.annotations.get(slot)?.as_ref()? {
                    AnnotationValue::Number(n) => Some(Value::Double(*n)),
                    AnnotationValue::Text(s) => Some(Value::Str(Cow::Borrowed(s))),
                    AnnotationValue::Flag(b) => Some(Value::Bool(*b)),
                    AnnotationValue::List(items) => Some(Value::List(List::Strings(items))),
                },
            );
        let ty = match ty {
            AnnotationType::Number => Type::Double,
            AnnotationType::Text => Type::String,
            AnnotationType::Flag => Type::Bool,
            AnnotationType::List => Type::List(Box::new(Type::String)),
        };
        self.fields.insert(
            format!("plugins.{plugin}.{key}"),
            FieldDef {
                ty,
                optional: true,
                doc: "plugin output",
                reader,
                range: None,
                slot: Some(slot),
            },
        );
    }

    /// Declares the range a field's values keep.
    pub fn set_range(&mut self, path: &str, range: Option<(f64, f64)>) {
        if let Some(field) = self.fields.get_mut(path) {
            field.range = range;
        }
    }

    /// Records that `plugin` may propose offers of `kind`.
    pub fn add_proposal(&mut self, plugin: &str, kind: &str) {
        self.proposals.push((plugin.to_string(), kind.to_string()));
    }

    /// (plugin, offer kind) for every kind a plugin may propose.
    pub fn proposals(&self) -> &[(String, String)] {
        &self.proposals
    }

    pub fn field(&self, path: &str) -> Option<&FieldDef> {
        self.fields.get(path)
    }

    /// Names a plugin that was refused at load: conditions reading its
    /// outputs are told so, rather than that no such plugin exists.
    pub fn add_refused_plugin(&mut self, plugin: &str, reason: &str) {
        self.refused.insert(plugin.to_string(), reason.to_string());
    }

    /// Why plugin `name` was refused at load, if it was.
    pub fn refused_plugin(&self, name: &str) -> Option<&str> {
        self.refused.get(name).map(String::as_str)
    }

    pub fn has_plugin(&self, name: &str) -> bool {
        self.plugins.contains_key(name)
    }

    pub fn plugin_names(&self) -> impl Iterator<Item = &str> {
        self.plugins.keys().map(String::as_str)
    }

    /// Every readable path, for "did you mean" hints and documentation.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &FieldDef)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Paths that are groups of fields (`customer`, `plugins.sentiment`).
    pub fn is_group(&self, path: &str) -> bool {
        let prefix = format!("{path}.");
        self.fields.keys().any(|k| k.starts_with(&prefix))
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::standard()
    }
}

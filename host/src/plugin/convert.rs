//! The complaint event as the plugin contract's typed record.

use crate::annotation::AnnotationValue;
use crate::event::ComplaintEvent;
use crate::plugin::bindings::{Annotation, Complaint, Customer, EarlierPlugin, Value};

/// The event as a `complaint` record, with no earlier plugins yet.
pub fn complaint(event: &ComplaintEvent) -> Complaint {
    let customer = &event.customer;
    Complaint {
        id: event.id.clone(),
        received_at: event.received_at.map_or(0, |t| t.millis()),
        occurred_at: event.occurred_at.map(|t| t.millis()),
        channel: event.channel.clone(),
        location: event.location.clone(),
        language: event.language.clone(),
        text: event.text.clone(),
        category: event.category.clone(),
        product_line: event.product_line.clone(),
        amount: event.amount,
        currency: event.currency.clone(),
        status: event.status.clone(),
        customer: Customer {
            id: customer.id.clone(),
            tier: customer.tier.clone(),
            lifetime_value: customer.lifetime_value,
            deposits: customer.deposits,
            tenure_days: customer.tenure_days,
            prior_complaints: customer.prior_complaints,
            prior_goodwill: customer.prior_goodwill,
        },
        attrs: event
            .attrs
            .iter()
            .filter_map(|(key, value)| Some((key.clone(), attr_value(value)?)))
            .collect(),
        earlier: Vec::new(),
    }
}

/// An `attrs` value: scalars as themselves, lists of strings as lists,
/// anything else as JSON text; `null` is left out.
fn attr_value(value: &serde_json::Value) -> Option<Value> {
    Some(match value {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => Value::Flag(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        serde_json::Value::Array(items) if items.iter().all(|i| i.is_string()) => Value::List(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
        ),
        other => Value::Text(other.to_string()),
    })
}

/// An earlier plugin's outputs, for the plugins after it.
pub fn earlier(
    plugin: &str,
    values: &std::collections::BTreeMap<String, AnnotationValue>,
) -> EarlierPlugin {
    EarlierPlugin {
        plugin: plugin.to_string(),
        annotations: values
            .iter()
            .map(|(key, value)| Annotation {
                key: key.clone(),
                value: match value {
                    AnnotationValue::Number(n) => Value::Number(*n),
                    AnnotationValue::Text(s) => Value::Text(s.clone()),
                    AnnotationValue::Flag(b) => Value::Flag(*b),
                    AnnotationValue::List(items) => Value::List(items.clone()),
                },
            })
            .collect(),
    }
}

//! What makes a retry a retry: the digest of a complaint as its sender
//! sent it (before the daemon fills in `received_at`), kept with its
//! decision. A complaint sent again under a recorded id is answered with
//! the recorded decision only if its digest is the same; a different body
//! under that id is refused, so a new complaint is never lost behind an
//! old answer.

use sha2::{Digest, Sha256};

use crate::event::ComplaintEvent;

/// `sha256:<hex>` of the event's JSON as Redress writes it: the same event
/// (whatever the order or spacing of its keys on the wire) has the same
/// digest.
pub fn event_digest(event: &ComplaintEvent) -> String {
    let mut hasher = Sha256::new();
    // Writing a parsed event cannot fail (no maps with non-string keys).
    if let Ok(json) = serde_json::to_vec(event) {
        hasher.update(&json);
    }
    crate::digest::tagged_of(hasher)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> ComplaintEvent {
        ComplaintEvent::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn the_same_complaint_in_other_words_has_the_same_digest() {
        let a = event(r#"{"id": "c-1", "text": "late", "customer": {"id": "u-1"}}"#);
        let b = event(r#"{"customer":{"id":"u-1"},"text":"late","id":"c-1"}"#);
        assert_eq!(event_digest(&a), event_digest(&b));
        let c = event(r#"{"id": "c-1", "text": "broken", "customer": {"id": "u-1"}}"#);
        assert_ne!(event_digest(&a), event_digest(&c));
        assert!(event_digest(&a).starts_with("sha256:"));
    }
}

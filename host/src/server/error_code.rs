//! Every code the API's errors carry, with the HTTP status each answers
//! with: the one place a client's `match` on `error.code` can be checked
//! against (`docs/openapi.json` lists them; a test keeps the two equal).

use axum::http::StatusCode;
use serde::Serialize;

/// A stable, machine-readable error code: `{"error": {"code": ...}}`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorCode {
    /// No or an unknown bearer token.
    Unauthorized,
    /// The endpoint needs the admin token.
    Forbidden,
    /// No such endpoint.
    NotFound,
    /// The endpoint exists but not with this method.
    MethodNotAllowed,
    /// The body is over `[limits] body`.
    PayloadTooLarge,
    /// The body did not arrive within `[limits] body_timeout`.
    BodyTimeout,
    /// The body could not be read.
    UnreadableBody,
    /// Not valid HTTP/1.1: the request line or a header could not be parsed.
    MalformedRequest,
    /// The request's headers are larger than the daemon reads.
    HeadersTooLarge,
    /// The request's URI is too long.
    UriTooLong,
    /// A batch over `[limits] batch`.
    BatchTooLarge,
    /// A batch, or `/v1/simulate`'s `events`, with nothing in it.
    EmptyBatch,
    /// The body is not JSON.
    InvalidJson,
    /// JSON that is not a complaint event (`details` names the field).
    InvalidEvent,
    /// A query, path or body that does not fit the endpoint.
    InvalidRequest,
    /// Rule files given to `/v1/simulate` or `/v1/diff` have errors.
    InvalidRules,
    /// A plugin with `on_error = "reject"` failed on the event.
    PluginRejected,
    /// The event's currency is neither the rule set's nor in its rates.
    UnknownCurrency,
    /// The event's `received_at` is outside `[intake] timestamp_window`.
    TimestampOutOfRange,
    /// Too many requests in flight; `Retry-After` says when to retry.
    Overloaded,
    /// The request took longer than `request_timeout`.
    Timeout,
    /// A reload asked for through the API found errors; the serving rule set is unchanged.
    ReloadFailed,
    /// No rule set with that version is held by the reload gate.
    NotHeld,
    /// The daemon is draining and takes no new work.
    ShuttingDown,
    /// No case with that id.
    NoCase,
    /// The lifecycle event is not possible in the case's status.
    Conflict,
    /// The event id was decided, but its audit line was lost.
    DecisionLost,
    /// The event id was decided long ago: its decision is in the archive.
    DecisionArchived,
    /// The event id was decided before for a different complaint: the
    /// recorded decision stands and this one was not recorded.
    EventIdReused,
    /// An `authority_used` beyond the grant or its budget, or malformed.
    InvalidLifecycleEvent,
    /// The store could not record or read; nothing was decided.
    StoreUnavailable,
    /// `[store] enabled = false`: no cases and no audit log.
    StoreDisabled,
    /// A fault in the daemon; it is logged with the request id.
    Internal,
}

impl ErrorCode {
    /// The code as the API writes it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The HTTP status an error with this code answers with.
    pub fn status(self) -> StatusCode {
        use ErrorCode as C;
        match self {
            C::Unauthorized => StatusCode::UNAUTHORIZED,
            C::Forbidden => StatusCode::FORBIDDEN,
            C::NotFound | C::NoCase => StatusCode::NOT_FOUND,
            C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            C::PayloadTooLarge | C::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            C::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            C::UnreadableBody
            | C::MalformedRequest
            | C::EmptyBatch
            | C::InvalidJson
            | C::InvalidRequest => StatusCode::BAD_REQUEST,
            C::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            C::UriTooLong => StatusCode::URI_TOO_LONG,
            C::InvalidEvent
            | C::InvalidRules
            | C::PluginRejected
            | C::UnknownCurrency
            | C::TimestampOutOfRange
            | C::ReloadFailed
            | C::InvalidLifecycleEvent => StatusCode::UNPROCESSABLE_ENTITY,
            C::Overloaded | C::Timeout | C::ShuttingDown | C::StoreUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            C::NotHeld | C::Conflict | C::DecisionLost | C::DecisionArchived | C::EventIdReused => {
                StatusCode::CONFLICT
            }
            C::StoreDisabled => StatusCode::NOT_IMPLEMENTED,
            C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn the_openapi_document_lists_every_code_and_no_other() {
        let document: serde_json::Value =
            serde_json::from_str(crate::server::openapi::document().as_ref().unwrap()).unwrap();
        // Each code is one `const` with its description.
        let listed: Vec<&str> = document["components"]["schemas"]["ErrorCode"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|code| code["const"].as_str().unwrap())
            .collect();
        let codes: Vec<&str> = ErrorCode::iter().map(ErrorCode::as_str).collect();
        assert_eq!(listed, codes);
        assert_eq!(
            serde_json::to_value(ErrorCode::TimestampOutOfRange).unwrap(),
            "timestamp_out_of_range"
        );
    }
}

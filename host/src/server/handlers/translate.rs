//! Why a request failed, as the API says it: each error of the layers
//! below becomes an [`ApiError`] with its code.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;

use crate::event::EventError;
use crate::intake::{IntakeError, RecordError};
use crate::plugin::PluginError;
use crate::server::error::{ApiError, ErrorCode};
use crate::store::StoreError;

pub(super) fn record_error(error: RecordError) -> ApiError {
    match error {
        RecordError::Store(StoreError::DecisionLost { .. }) => {
            ApiError::new(ErrorCode::DecisionLost, error.to_string())
        }
        RecordError::Store(StoreError::DecisionArchived { .. }) => {
            ApiError::new(ErrorCode::DecisionArchived, error.to_string())
        }
        RecordError::Store(other) => store_unavailable(&other.to_string()),
        RecordError::StoreStopped => store_unavailable("the store stopped"),
        other => ApiError::internal(other.to_string()),
    }
}

pub(super) fn store_unavailable(message: &str) -> ApiError {
    ApiError::new(
        ErrorCode::StoreUnavailable,
        format!("the decision could not be recorded durably, so it is not given: {message}"),
    )
}

/// A query string that does not fit the endpoint, e.g. `?trace=al`.
pub(super) fn query_error(error: QueryRejection) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, error.body_text())
}

/// A path that does not fit the endpoint, e.g. an id that is not UTF-8.
pub(super) fn path_error(error: PathRejection) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, error.body_text())
}

pub(super) fn event_error(error: EventError) -> ApiError {
    let code = if error.syntax {
        ErrorCode::InvalidJson
    } else {
        ErrorCode::InvalidEvent
    };
    ApiError::new(code, error.to_string()).with_details(serde_json::json!({
        "field": error.field,
        "line": error.line,
        "column": error.column,
    }))
}

/// Why the intake refused an event, as the API says it.
pub(super) fn intake_error(error: IntakeError) -> ApiError {
    match error {
        IntakeError::OutOfWindow(error) => {
            ApiError::new(ErrorCode::TimestampOutOfRange, error.to_string())
        }
        IntakeError::UnknownCurrency(error) => {
            ApiError::new(ErrorCode::UnknownCurrency, error.to_string())
        }
        IntakeError::Plugin(error) => plugin_rejected(error),
    }
}

pub(super) fn plugin_rejected(error: PluginError) -> ApiError {
    ApiError::new(
        ErrorCode::PluginRejected,
        format!("{error}; its manifest says on_error = \"reject\""),
    )
    .with_details(serde_json::json!({ "plugin": error.plugin, "failure": error.failure.kind() }))
}

pub(super) fn body_error(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large()
    } else {
        ApiError::new(ErrorCode::UnreadableBody, rejection.body_text()).with_status(status)
    }
}

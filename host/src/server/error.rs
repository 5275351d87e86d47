//! API errors: JSON with a stable code and a message a person can act on.
//!
//! ```json
//! {"error": {"code": "invalid_event", "message": "invalid event field `customer.deposits`: ..."}}
//! ```

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::server::bodies::ErrorEnvelope;
pub use crate::server::error_code::ErrorCode;

/// An error the API returns.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: ErrorCode,
    pub message: String,
    /// Extra structure (diagnostics of a rejected rule set, the field of a
    /// bad event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `code`, answered with the code's HTTP status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status: code.status(),
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// The same error answered with another status (a body that could not
    /// be read says why with the status hyper gave).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            ErrorCode::Unauthorized,
            "this endpoint needs `Authorization: Bearer <token>` with a configured token",
        )
    }

    pub fn forbidden() -> Self {
        ApiError::new(ErrorCode::Forbidden, "this endpoint needs an admin token")
    }

    pub fn overloaded() -> Self {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                ErrorCode::Overloaded,
                "too many requests in flight; retry after a second",
            )
        }
    }

    pub fn timeout() -> Self {
        ApiError::new(
            ErrorCode::Timeout,
            "the request took longer than the configured request_timeout",
        )
    }

    pub fn payload_too_large() -> Self {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the body is larger than the configured limit (`[limits] body`)",
        )
    }

    pub fn body_timeout() -> Self {
        ApiError::new(
            ErrorCode::BodyTimeout,
            "the body did not arrive within the configured time (`[limits] body_timeout`)",
        )
    }

    pub fn not_found() -> Self {
        ApiError::new(
            ErrorCode::NotFound,
            "no such endpoint; see GET /v1/openapi.json",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Internal, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorEnvelope { error: &self }).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

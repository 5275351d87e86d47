//! The API's handlers, a file per area; each only translates between HTTP
//! and the layers below (intake, store, reload, replay).

mod admin;
mod cases;
mod complaints;
mod health;
mod simulate;
mod translate;

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::server::error::{ApiError, ErrorCode};
use crate::server::state::AppState;
use crate::store::Store;

pub(in crate::server) use admin::diff_logged;
pub use admin::{diff, reload, ruleset};
pub use cases::{case, case_event, decisions, report};
pub use complaints::complaints;
pub use health::{healthz, metrics, openapi, readyz};
pub use simulate::simulate;
pub(in crate::server) use simulate::simulate_all;

/// Runs `work` on the plugin threads, so a slow plugin or a large batch
/// does not hold up an async worker.
pub(in crate::server) async fn on_workers<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    state
        .workers
        .run(work)
        .await
        .map_err(|stopped| ApiError::new(ErrorCode::ShuttingDown, stopped.to_string()))
}

/// A response whose body is already JSON.
pub(super) fn raw_json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(error) => {
            ApiError::internal(format!("cannot encode the response: {error}")).into_response()
        }
    }
}

pub(in crate::server) fn store_of(state: &AppState) -> Result<&Arc<dyn Store>, ApiError> {
    state.store.as_ref().ok_or_else(|| {
        ApiError::new(ErrorCode::StoreDisabled,
            "durable state is turned off (`[store] enabled = false`), so there are no cases or audit log",
        )
    })
}

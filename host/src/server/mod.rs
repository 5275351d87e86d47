//! The daemon's HTTP API (tokio + axum).
//!
//! [`run`] serves the [`ENDPOINTS`] behind one layer for auth, timeout and
//! the access log, until the shutdown future completes, finishing requests
//! in flight. The OpenAPI document in
//! `docs/openapi.json` describes exactly these endpoints (a test checks).
//! The operator console ([`console`]) is served beside them, under
//! `/console`.

mod admission;
mod bodies;
pub mod config;
mod connections;
pub mod console;
mod error;
mod error_code;
mod handlers;
mod metrics;
pub mod openapi;
mod state;
mod workers;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tokio::net::TcpListener;
use tower_layer::Layer as _;

pub use config::{ConfigError, LogFormat, Overrides, ServeConfig};
pub use connections::raise_open_files_limit;
pub use error::{ApiError, ErrorCode};
pub use metrics::Metrics;
pub use state::AppState;

/// An endpoint of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    /// Needs no token even when tokens are configured.
    pub public: bool,
    /// Needs an admin token when tokens are configured.
    pub admin: bool,
}

const fn endpoint(method: &'static str, path: &'static str) -> Endpoint {
    Endpoint {
        method,
        path,
        public: false,
        admin: false,
    }
}

/// Every endpoint the daemon serves.
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint("POST", "/v1/complaints"),
    endpoint("POST", "/v1/complaints/{id}/events"),
    endpoint("GET", "/v1/cases/{id}"),
    endpoint("GET", "/v1/decisions"),
    endpoint("GET", "/v1/report"),
    endpoint("POST", "/v1/simulate"),
    endpoint("GET", "/v1/ruleset"),
    Endpoint {
        admin: true,
        ..endpoint("POST", "/v1/reload")
    },
    Endpoint {
        admin: true,
        ..endpoint("POST", "/v1/diff")
    },
    Endpoint {
        public: true,
        ..endpoint("GET", "/healthz")
    },
    endpoint("GET", "/readyz"),
    endpoint("GET", "/metrics"),
    endpoint("GET", "/v1/openapi.json"),
];

/// The handler of `endpoint`.
fn handler(endpoint: &Endpoint) -> Option<MethodRouter<Arc<AppState>>> {
    Some(match (endpoint.method, endpoint.path) {
        ("POST", "/v1/complaints") => post(handlers::complaints),
        ("POST", "/v1/complaints/{id}/events") => post(handlers::case_event),
        ("GET", "/v1/cases/{id}") => get(handlers::case),
        ("GET", "/v1/decisions") => get(handlers::decisions),
        ("GET", "/v1/report") => get(handlers::report),
        ("POST", "/v1/simulate") => post(handlers::simulate),
        ("GET", "/v1/ruleset") => get(handlers::ruleset),
        ("POST", "/v1/reload") => post(handlers::reload),
        ("POST", "/v1/diff") => post(handlers::diff),
        ("GET", "/healthz") => get(handlers::healthz),
        ("GET", "/readyz") => get(handlers::readyz),
        ("GET", "/metrics") => get(handlers::metrics),
        ("GET", "/v1/openapi.json") => get(handlers::openapi),
        _ => return None,
    })
}

/// The API's routes, without auth: [`run`] puts [`guard`] in front of them.
fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    for endpoint in ENDPOINTS {
        match handler(endpoint) {
            Some(method_router) => router = router.route(endpoint.path, method_router),
            None => tracing::error!(path = endpoint.path, "endpoint without a handler"),
        }
    }
    if state.config.console {
        router = router.merge(console::routes());
    }
    router
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "this endpoint does not take that method; see GET /v1/openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes; requests in
/// flight then get `[limits] shutdown_grace` to finish before this returns.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The guard wraps the router as a whole rather than each route through
    // `Router::layer`: passing a request on then clones the router (an
    // `Arc`) instead of a boxed route.
    let app = middleware::from_fn_with_state(state.clone(), guard).layer(router(state.clone()));
    let on_shutdown = {
        let state = state.clone();
        async move {
            shutdown.await;
            state
                .shutting_down
                .store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::info!("shutting down: finishing requests in flight");
        }
    };
    let finished = connections::serve(
        listener,
        state.connections.clone(),
        app,
        on_shutdown,
        state.config.shutdown_grace,
    )
    .await;
    if !finished {
        tracing::warn!(
            open = state.connections.len(),
            grace_s = state.config.shutdown_grace.as_secs_f64(),
            "connections still open after the shutdown grace period; closing them"
        );
    }
    Ok(())
}

/// When a request must be answered by: `[limits] request_timeout` after it
/// arrived. Work that runs off the async workers checks it between steps.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

/// Every request passes here: the bearer-token check, the body (read whole
/// here, within `[limits] body` and `body_timeout`), the per-request
/// timeout and a debug line. One middleware rather than one per concern:
/// each layer costs a boxed service and a boxed future per request.
async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let deadline = started + state.config.request_timeout;
    let logged = tracing::enabled!(tracing::Level::DEBUG)
        .then(|| (request.method().clone(), request.uri().path().to_owned()));
    let response = match refusal(&state, &request) {
        Some(refused) => refused,
        None => match read_body(&state, request, deadline).await {
            Err(refused) => refused.into_response(),
            Ok(mut request) => {
                request.extensions_mut().insert(Deadline(deadline));
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => ApiError::timeout().into_response(),
                }
            }
        },
    };
    if let Some((method, path)) = logged {
        tracing::debug!(
            %method,
            path,
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
    }
    response
}

/// Reads the request's body whole: refused at once with 413 when its
/// `Content-Length` is over `[limits] body` (however slowly it would be
/// sent), as soon as it passes the limit otherwise, and with 408 when it
/// does not arrive within `[limits] body_timeout` (or the request's
/// deadline).
async fn read_body(
    state: &AppState,
    request: Request,
    deadline: Instant,
) -> Result<Request, ApiError> {
    let limit = state.config.body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::payload_too_large());
    }
    if declared == Some(0)
        || (declared.is_none() && !request.headers().contains_key(header::TRANSFER_ENCODING))
    {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let until = deadline.min(Instant::now() + state.config.body_timeout);
    let read = tokio::time::timeout_at(
        tokio::time::Instant::from_std(until),
        axum::body::to_bytes(body, limit),
    )
    .await;
    match read {
        Err(_) => Err(ApiError::body_timeout()),
        Ok(Err(error)) => {
            let too_large =
                std::iter::successors(std::error::Error::source(&error), |cause| cause.source())
                    .any(|cause| cause.is::<http_body_util::LengthLimitError>());
            if too_large {
                Err(ApiError::payload_too_large())
            } else {
                Err(ApiError::new(
                    ErrorCode::UnreadableBody,
                    format!("the body could not be read: {error}"),
                ))
            }
        }
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
    }
}

/// Bearer-token auth: `/healthz` is open; with tokens configured everything
/// else needs one, and admin endpoints need an admin token. The answer to a
/// request that may not pass, or `None`.
fn refusal(state: &AppState, request: &Request) -> Option<Response> {
    if !request.headers().contains_key(console::REQUEST_HEADER)
        && let Some(refused) = console::cross_site_refusal(request.method(), request.uri().path())
    {
        return Some(refused.into_response());
    }
    if !state.config.auth_required() {
        return None;
    }
    let path = request.uri().path();
    let endpoint = ENDPOINTS.iter().find(|e| e.path == path);
    let console = console::access(path);
    // (Endpoints with `{id}` in their path are neither public nor admin.)
    if endpoint.is_some_and(|e| e.public) || console == Some(console::Access::Public) {
        return None;
    }
    let admin_only = endpoint.is_some_and(|e| e.admin) || console == Some(console::Access::Admin);
    let Some(token) = bearer(request.headers()) else {
        return Some(ApiError::unauthorized().into_response());
    };
    let is_admin = state
        .config
        .admin_tokens
        .iter()
        .any(|t| constant_time_eq(t, token));
    let is_user = state
        .config
        .tokens
        .iter()
        .any(|t| constant_time_eq(t, token));
    match (is_admin, is_user, admin_only) {
        (true, _, _) | (false, true, false) => None,
        (false, true, true) => Some(ApiError::forbidden().into_response()),
        (false, false, _) => Some(ApiError::unauthorized().into_response()),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim())
}

/// Compares without an early exit, so timing does not reveal prefixes.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_a_handler() {
        for endpoint in ENDPOINTS {
            assert!(handler(endpoint).is_some(), "{endpoint:?}");
        }
    }

    #[test]
    fn the_openapi_document_describes_exactly_the_endpoints() {
        let document: serde_json::Value =
            serde_json::from_str(openapi::document().as_ref().unwrap()).unwrap();
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                    documented.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        documented.sort();
        let mut served: Vec<(String, String)> = ENDPOINTS
            .iter()
            .map(|e| (e.method.to_string(), e.path.to_string()))
            .collect();
        served.sort();
        assert_eq!(
            documented, served,
            "docs/openapi.json and the router disagree"
        );
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq("secret", "secret"));
        assert!(!constant_time_eq("secret", "secreT"));
        assert!(!constant_time_eq("secret", "secre"));
    }
}

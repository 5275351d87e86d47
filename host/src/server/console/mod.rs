//! The operator console at `/console`, embedded in the binary.
//!
//! Pages are rendered here (maud, which escapes every value it is given)
//! and a small script (`assets/console.js`) does what a page cannot do by
//! itself: keep the operator's token and send it as a bearer token, load
//! each screen's content from its fragment under `/console/f/`, post forms,
//! check a draft as it is typed and refresh the live screen.
//!
//! The page shells and assets hold no data and are open like `/healthz`;
//! every fragment needs a token when tokens are configured, and the ones
//! that change or reveal more than a user token may (the effect of a draft
//! on past complaints, saving a draft, accepting a held rule set) need an
//! admin token, as the API's `/v1/diff` and `/v1/reload` do.

mod assets;
mod cases;
mod draft;
mod html;
mod layout;
mod live;
mod report;
mod ruleset;
mod try_event;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::server::state::AppState;

pub use live::LiveSampler;

/// Who may open a console path when tokens are configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The page shells and assets: no data in them.
    Public,
    /// Any token.
    User,
    /// An admin token.
    Admin,
}

/// Where fragments live: a screen's page at `/console/X` loads
/// `/console/f/X` with the same query.
pub const FRAGMENTS: &str = "/console/f";

/// Fragments that need an admin token.
const ADMIN_FRAGMENTS: &[&str] = &[
    "/console/f/draft/effect",
    "/console/f/draft/save",
    "/console/f/ruleset/accept",
];

/// The header the console's script sends with every request. A page on
/// another site can make a browser post a form to the daemon, but not add
/// a header (that needs a CORS preflight the daemon never answers), so a
/// console POST without it did not come from the console: refused, with
/// tokens or without, so an open daemon on loopback cannot have its rules
/// rewritten by a web page its operator happens to visit.
pub const REQUEST_HEADER: &str = "x-redress-console";

/// The answer to a console POST that did not come from the console's own
/// script, or `None`.
pub fn cross_site_refusal(
    method: &axum::http::Method,
    path: &str,
) -> Option<crate::server::ApiError> {
    (method == axum::http::Method::POST && access(path).is_some()).then(|| {
        crate::server::ApiError::new(
            crate::server::ErrorCode::Forbidden,
            format!("console forms are accepted only from the console's own page (the `{REQUEST_HEADER}` header)"),
        )
    })
}

/// Who may open `path`, or `None` when it is not the console's.
pub fn access(path: &str) -> Option<Access> {
    if path != "/console" && !path.starts_with("/console/") {
        return None;
    }
    Some(if ADMIN_FRAGMENTS.contains(&path) {
        Access::Admin
    } else if path == FRAGMENTS || path.starts_with("/console/f/") {
        Access::User
    } else {
        Access::Public
    })
}

/// The console's routes.
pub fn routes() -> Router<Arc<AppState>> {
    let mut router = Router::new()
        .route("/console", get(layout::page))
        .route("/console/assets/console.js", get(assets::script))
        .route("/console/assets/console.css", get(assets::style));
    for screen in layout::Screen::ALL {
        router = router.route(screen.path(), get(layout::page));
    }
    router
        .route("/console/cases/{id}", get(layout::page))
        .route("/console/f/ruleset", get(ruleset::fragment))
        .route("/console/f/ruleset/accept", post(ruleset::accept))
        .route(
            "/console/f/try",
            get(try_event::fragment).post(try_event::decide),
        )
        .route("/console/f/draft", get(draft::fragment))
        .route("/console/f/draft/check", post(draft::check))
        .route("/console/f/draft/effect", post(draft::effect))
        .route("/console/f/draft/save", post(draft::save))
        .route("/console/f/cases", get(cases::search))
        .route("/console/f/cases/{id}", get(cases::case))
        .route("/console/f/live", get(live::fragment))
        .route("/console/f/report", get(report::fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_are_open_fragments_need_a_token_and_changes_an_admin_one() {
        assert_eq!(access("/v1/complaints"), None);
        assert_eq!(access("/consoles"), None);
        assert_eq!(access("/console"), Some(Access::Public));
        assert_eq!(access("/console/cases/c-1"), Some(Access::Public));
        assert_eq!(access("/console/assets/console.js"), Some(Access::Public));
        assert_eq!(access("/console/f/cases/c-1"), Some(Access::User));
        assert_eq!(access("/console/f"), Some(Access::User));
        assert_eq!(access("/console/f/draft/save"), Some(Access::Admin));
        assert_eq!(access("/console/f/draft/effect"), Some(Access::Admin));
        assert_eq!(access("/console/f/ruleset/accept"), Some(Access::Admin));
    }
}

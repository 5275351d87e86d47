//! The page every console URL opens: the top bar, the sign-in form, and
//! an empty main area the script fills from the screen's fragment.

use axum::http::Uri;
use axum::response::Response;
use maud::{DOCTYPE, Markup, html};

use super::FRAGMENTS;
use super::html::ok;

/// The console's screens, in the order of the top bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Ruleset,
    Try,
    Draft,
    Cases,
    Live,
    Report,
}

impl Screen {
    pub const ALL: [Screen; 6] = [
        Screen::Ruleset,
        Screen::Try,
        Screen::Draft,
        Screen::Cases,
        Screen::Live,
        Screen::Report,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Screen::Ruleset => "/console/ruleset",
            Screen::Try => "/console/try",
            Screen::Draft => "/console/draft",
            Screen::Cases => "/console/cases",
            Screen::Live => "/console/live",
            Screen::Report => "/console/report",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Screen::Ruleset => "Rule set",
            Screen::Try => "Try an event",
            Screen::Draft => "Draft a change",
            Screen::Cases => "Cases",
            Screen::Live => "Live",
            Screen::Report => "Report",
        }
    }

    /// The screen a console path belongs to (`/console` is the rule set).
    fn of(path: &str) -> Screen {
        Screen::ALL
            .into_iter()
            .find(|screen| {
                path == screen.path() || path.starts_with(&format!("{}/", screen.path()))
            })
            .unwrap_or(Screen::Ruleset)
    }
}

/// `GET /console/...`: the page; its content comes from the fragment of
/// the same path and query under [`FRAGMENTS`].
pub async fn page(uri: Uri) -> Response {
    let path = uri.path();
    let screen = Screen::of(path);
    let rest = match path.strip_prefix("/console") {
        Some("") | Some("/") | None => "/ruleset",
        Some(rest) => rest,
    };
    let fragment = match uri.query() {
        Some(query) => format!("{FRAGMENTS}{rest}?{query}"),
        None => format!("{FRAGMENTS}{rest}"),
    };
    ok(shell(screen, &fragment))
}

fn shell(current: Screen, fragment: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (current.title()) " · Redress" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Redress" }
                    nav aria-label="Screens" {
                        ul {
                            @for screen in Screen::ALL {
                                li {
                                    a href=(screen.path())
                                        aria-current=[(screen == current).then_some("page")] {
                                        (screen.title())
                                    }
                                }
                            }
                        }
                    }
                    button #sign-out type="button" hidden { "Sign out" }
                }
                section #login hidden aria-labelledby="login-title" {
                    h2 #login-title { "Sign in" }
                    p #login-message role="status" {}
                    form #login-form {
                        label for="token" { "Token" }
                        input #token name="token" type="password" autocomplete="current-password" required;
                        button type="submit" { "Sign in" }
                    }
                    p.hint {
                        "The token is one of the daemon's " code { "[auth] tokens" }
                        " (or " code { "admin_tokens" } " for reloads and drafts). "
                        "It is kept in this tab only and sent as a bearer token."
                    }
                }
                main #main tabindex="-1" data-fragment=(fragment) aria-live="polite" {
                    h1 { (current.title()) }
                    noscript { p.problem { "The console needs JavaScript to send your token." } }
                    p.loading { "Loading…" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_loads_the_fragment_of_its_own_path_and_query() {
        let page = shell(Screen::Cases, "/console/f/cases?q=c-1").into_string();
        assert!(
            page.contains(r#"data-fragment="/console/f/cases?q=c-1""#),
            "{page}"
        );
        assert!(
            page.contains(r#"href="/console/cases" aria-current="page""#),
            "{page}"
        );
        assert_eq!(Screen::of("/console/cases/c-1"), Screen::Cases);
        assert_eq!(Screen::of("/console"), Screen::Ruleset);
    }
}

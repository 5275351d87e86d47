//! What `eval`, `test` and `plugin run` say on standard error about the
//! plugins: the guest's own log lines, and every plugin failure or fallback
//! to defaults. Without it a plugin whose output does not match its
//! manifest makes the rules that read it silently never fire.

use std::io::IsTerminal as _;

use crate::decision::{Decision, PluginOutcome, PluginRun};

/// Runs `work` with the plugins' log lines (and the host's warnings about
/// what a guest sent it, such as a truncated log line) printed on standard
/// error. Failures are not logged here: [`plugin_warnings`] says them once,
/// with what they mean for the rules. `RUST_LOG` overrides what is shown.
pub(crate) fn with_guest_log<T>(work: impl FnOnce() -> T) -> T {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "redress::plugin::guest=trace,redress::plugin::host=warn",
        )
    });
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .finish();
    tracing::subscriber::with_default(subscriber, work)
}

/// One line per plugin that failed on the decision's complaint, saying
/// what the rules saw instead of its outputs.
pub(crate) fn plugin_warnings(decision: &Decision) -> Vec<String> {
    run_warnings(&decision.plugins, &decision.event_id)
}

/// [`plugin_warnings`] for the plugin runs of complaint `event_id`.
pub(crate) fn run_warnings(runs: &[PluginRun], event_id: &str) -> Vec<String> {
    runs.iter()
        .filter_map(|run| {
            let consequence = match run.outcome {
                PluginOutcome::Ok | PluginOutcome::Stubbed => return None,
                PluginOutcome::Skipped => format!(
                    "its outputs were dropped (on_error = \"skip\"): conditions on `plugins.{}.*` do not match",
                    run.name
                ),
                PluginOutcome::Defaults => format!(
                    "its manifest's defaults stand in (on_error = \"default\"): conditions on `plugins.{}.*` see the defaults",
                    run.name
                ),
            };
            Some(format!(
                "warning: plugin `{}` failed on complaint `{}`: {}; {consequence}",
                run.name,
                event_id,
                run.error.as_deref().unwrap_or("no reason given"),
            ))
        })
        .collect()
}

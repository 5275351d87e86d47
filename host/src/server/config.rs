//! The daemon's configuration: a TOML file (every key optional, documented
//! in `docs/daemon.md` with its default), overridden by command-line flags,
//! with tokens also from the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::decision::TraceLevel;
use crate::plugin::manifest::ByteSize;
use crate::time::Duration;

/// `redress.toml` as written.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Redress daemon configuration")]
pub struct RawServeConfig {
    /// Address to listen on. Default: `"127.0.0.1:8080"`.
    pub listen: Option<String>,
    /// The rules directory. Default: `"rules"`.
    pub rules: Option<PathBuf>,
    /// The plugins directory; `""` for none. Default: `"plugins"`.
    pub plugins: Option<PathBuf>,
    /// Where durable state and the compiled-plugin cache live.
    /// Default: `"data"`.
    pub data: Option<PathBuf>,
    #[serde(default)]
    pub auth: RawAuth,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub reload: RawReload,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub decisions: RawDecisions,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub console: RawConsole,
}

/// `[console]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConsole {
    /// Serve the operator console at `/console` (its fragments need a
    /// token when `[auth]` has tokens, as the API does). Default: `true`.
    pub enabled: Option<bool>,
}

/// `[store]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// Keep durable state (audit log, cases, timers, counts, budgets) in
    /// `data/redress.db` and `data/decisions.jsonl`. Without it decisions
    /// are not recorded, control lines are not counted and budgets are not
    /// checked. Default: `true`.
    pub enabled: Option<bool>,
    /// `full`: an answer waits until the decision is synced to disk
    /// (survives power loss); `normal`: until it is written to the
    /// operating system (survives a crash of the daemon, not of the
    /// machine; faster). Default: `"full"`.
    pub durability: Option<crate::store::Durability>,
    /// Most requests committed together in one transaction. Default: `512`.
    pub max_batch: Option<usize>,
    /// How often due SLA timers and follow-ups are checked. Default: `"1s"`.
    pub timer_interval: Option<Duration>,
    /// Where the state is kept: `sqlite` (embedded, in the data directory)
    /// or `postgres` (a database several daemons may share; see
    /// docs/cluster.md). Default: `"sqlite"`.
    pub backend: Option<StoreBackendName>,
    /// With `backend = "postgres"`: the database,
    /// `postgres://user:password@host:port/database`. Also read from
    /// `REDRESS_DATABASE_URL`, which wins (keep passwords out of the file).
    /// No default.
    pub url: Option<String>,
    /// With `backend = "postgres"`: connections for reads (cases, the
    /// audit log, reports, simulations), beside the writers' own.
    /// Default: `4`.
    pub pool_size: Option<usize>,
    /// With `backend = "postgres"`: writer threads of this node, each
    /// with its own connection and batches, so that the node decides one
    /// batch while the database commits another. With the database on
    /// the same two cores, 2 was not reliably faster than 1
    /// (BENCHMARKS.md).
    /// Default: `1`.
    pub writers: Option<usize>,
    /// With `backend = "postgres"`: longest one statement may run before
    /// the server cancels it (the batch then fails and is answered with
    /// 503). Default: `"10s"`.
    pub statement_timeout: Option<Duration>,
    #[serde(default)]
    pub retention: RawRetention,
}

/// `[store.retention]`: how long the store keeps what no rule reads any
/// more (docs/retention.md). What a rule may still read is kept whatever
/// these say: open cases, pending timers, a year of closed cases (the
/// customer history), and the longest control-line and budget windows of
/// the serving rule set, each with a day to spare.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    /// Prune and archive in the background. With `false` the store keeps
    /// everything, as before retention existed. Default: `true`.
    pub enabled: Option<bool>,
    /// How long audit entries stay in the live log. A segment whose last
    /// entry is older is compressed into `data/archive/` (still read by
    /// `redress audit`, `replay` and `diff` with `--include-archive`) and
    /// its entries leave the database. Default: `"180d"`.
    pub decisions: Option<Duration>,
    /// How long a closed case, with its history, timers and grants, is
    /// kept after it closed (and at least 365 days after it opened).
    /// Default: `"400d"`.
    pub closed_cases: Option<Duration>,
    /// How long control-line counts are kept (at least the longest
    /// control-line window). Default: `"400d"`.
    pub tallies: Option<Duration>,
    /// How long uses of authority are kept (at least the longest budget
    /// window). Default: `"400d"`.
    pub authority_uses: Option<Duration>,
    /// With the SQLite store: the audit log starts a new segment file once
    /// the one it appends to holds this much. Default: `"256MiB"`.
    pub segment_size: Option<ByteSize>,
    /// How often pruning runs. Default: `"1m"`.
    pub every: Option<Duration>,
    /// Most rows one step of pruning deletes from each table; steps
    /// follow each other between the writer's batches until nothing is
    /// left. Default: `500`.
    pub step_rows: Option<usize>,
}

/// `[store] backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackendName {
    /// `data/redress.db` and `data/decisions.jsonl`.
    Sqlite,
    /// A PostgreSQL database (`url`).
    Postgres,
}

/// `[auth]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// Bearer tokens accepted for the API (not for admin endpoints). Also
    /// read, comma-separated, from `REDRESS_TOKENS`. Default: `[]`.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Bearer tokens accepted everywhere, including `POST /v1/reload`. Also
    /// read from `REDRESS_ADMIN_TOKENS`. Default: `[]`.
    #[serde(default)]
    pub admin_tokens: Vec<String>,
    /// Without tokens the API is open; that is refused on a non-loopback
    /// address unless this is `true`. Default: `false`.
    #[serde(default)]
    pub allow_unauthenticated: bool,
}

/// `[limits]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Largest request body. Default: `"1MiB"`.
    pub body: Option<ByteSize>,
    /// Most events in one batch. Default: `1000`.
    pub batch: Option<usize>,
    /// Longest a request may take. Default: `"10s"`.
    pub request_timeout: Option<Duration>,
    /// Requests handled at once; beyond it, `503` with `Retry-After`.
    /// Default: `512`.
    pub max_in_flight: Option<usize>,
    /// Longest the body of a request may take to arrive (`408`).
    /// Default: `"10s"`.
    pub body_timeout: Option<Duration>,
    /// Longest a request's headers may take to arrive, from their first
    /// byte; then the connection is closed. Default: `"10s"`.
    pub header_timeout: Option<Duration>,
    /// Longest a connection may stay open with no request under way.
    /// Default: `"60s"`.
    pub idle_timeout: Option<Duration>,
    /// Connections open at once; at the limit, a new connection takes the
    /// place of the one that has waited longest without a request. Lowered
    /// to the process's limit on open files (less 64 for the rest).
    /// Default: `10000`.
    pub max_connections: Option<usize>,
    /// After SIGTERM, how long requests in flight get to finish before the
    /// process exits regardless. Default: `"15s"`.
    pub shutdown_grace: Option<Duration>,
    /// Threads that run plugins (those not `inline`) and large batches; a
    /// request waits for one. They bound what plugins can make the daemon
    /// hold at once (see docs/plugins.md). Default: twice the CPUs.
    pub plugin_threads: Option<usize>,
    /// How long before the daemon's clock an event's `received_at` or
    /// `occurred_at` may be; earlier ones are refused (`422
    /// timestamp_out_of_range`). Default: `"3650d"`.
    pub timestamp_past: Option<Duration>,
    /// How long after the daemon's clock they may be. Default: `"1d"`.
    pub timestamp_future: Option<Duration>,
}

/// `[reload]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReload {
    /// Watch the rules and plugins directories and reload on change.
    /// Default: `true`.
    pub watch: Option<bool>,
    /// Quiet time after a change before reloading, so a burst of writes is
    /// one reload. Default: `"50ms"`.
    pub debounce: Option<Duration>,
    /// How long a rule file of the serving rule set that is gone, or any
    /// rule file that is empty, is waited for before a reload takes the
    /// directory as it is: it may be caught in the middle of a save
    /// (truncate, then write; delete, then create). Default: `"1s"`.
    pub settle: Option<Duration>,
    /// Longest a reload may take; one that takes longer is reported as
    /// failed and the last good rule set keeps serving. Default: `"30s"`.
    pub timeout: Option<Duration>,
    /// `[reload.gate]`: judge a changed rule set on the recent decisions
    /// before it goes live. Off by default.
    #[serde(default)]
    pub gate: crate::reload::RawGate,
}

/// `[log]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// `human` or `json`. Default: `"human"`.
    pub format: Option<LogFormat>,
    /// Filter in `RUST_LOG` syntax; `RUST_LOG` wins. Default: `"info"`.
    pub filter: Option<String>,
}

/// `[decisions]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDecisions {
    /// Trace returned when a request does not say (`?trace=`): `none`,
    /// `compact` or `full`. Default: `"compact"`.
    pub trace: Option<TraceLevel>,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// The configuration with defaults applied.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub rules: PathBuf,
    pub plugins: Option<PathBuf>,
    pub data: PathBuf,
    pub tokens: Vec<String>,
    pub admin_tokens: Vec<String>,
    pub allow_unauthenticated: bool,
    pub body_limit: usize,
    pub batch_limit: usize,
    pub request_timeout: std::time::Duration,
    pub max_in_flight: usize,
    pub body_timeout: std::time::Duration,
    pub header_timeout: std::time::Duration,
    pub idle_timeout: std::time::Duration,
    pub max_connections: usize,
    pub shutdown_grace: std::time::Duration,
    pub plugin_threads: usize,
    pub timestamps: crate::intake::TimeWindow,
    pub watch: bool,
    /// `[console] enabled`.
    pub console: bool,
    pub debounce: std::time::Duration,
    pub settle: std::time::Duration,
    pub reload_timeout: std::time::Duration,
    pub gate: Option<crate::reload::Gate>,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub default_trace: TraceLevel,
    /// The store, or `None` with `[store] enabled = false`.
    pub store: Option<crate::store::StoreBackend>,
    pub timer_interval: std::time::Duration,
    pub retention: crate::store::RetentionOptions,
}

/// Command-line values that override the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub rules: Option<PathBuf>,
    pub plugins: Option<PathBuf>,
    pub no_plugins: bool,
    pub data: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: crate::source_file::ReadError,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("invalid listen address `{0}`: expected host:port, like `127.0.0.1:8080`")]
    Listen(String),
    #[error(
        "`[store] backend = \"postgres\"` needs the database: set `[store] url` or REDRESS_DATABASE_URL (postgres://user:password@host:port/database)"
    )]
    NoDatabaseUrl,
    #[error(
        "refusing to serve {0} without authentication: set `[auth] tokens` (or REDRESS_TOKENS), or `allow_unauthenticated = true`"
    )]
    Unauthenticated(SocketAddr),
}

impl ServeConfig {
    /// Reads `path` (if given), applies `overrides` and the environment.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let raw = match path {
            Some(path) => {
                let text =
                    crate::source_file::read_regular_text(path, 1 << 20).map_err(|source| {
                        ConfigError::Read {
                            path: path.display().to_string(),
                            source,
                        }
                    })?;
                toml::from_str::<RawServeConfig>(&text).map_err(|error| {
                    let line = error
                        .span()
                        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
                    let mut message = error.message().trim().to_string();
                    if let Some(help) = crate::suggest::from_serde_message(&message) {
                        message.push_str(&format!(" ({help})"));
                    }
                    ConfigError::Invalid {
                        path: match line {
                            Some(line) => format!("{}:{line}", path.display()),
                            None => path.display().to_string(),
                        },
                        message,
                    }
                })?
            }
            None => RawServeConfig::default(),
        };
        Self::from_raw(raw, overrides, &|name| std::env::var(name).ok())
    }

    /// Applies defaults, overrides and environment variables.
    pub fn from_raw(
        raw: RawServeConfig,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let listen_text = overrides
            .listen
            .clone()
            .or(raw.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|_| ConfigError::Listen(listen_text.clone()))?;
        let from_env = |name: &str| -> Vec<String> {
            env(name)
                .map(|value| {
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut tokens = raw.auth.tokens;
        tokens.extend(from_env("REDRESS_TOKENS"));
        let mut admin_tokens = raw.auth.admin_tokens;
        admin_tokens.extend(from_env("REDRESS_ADMIN_TOKENS"));
        if tokens.is_empty()
            && admin_tokens.is_empty()
            && !listen.ip().is_loopback()
            && !raw.auth.allow_unauthenticated
        {
            return Err(ConfigError::Unauthenticated(listen));
        }
        let plugins = if overrides.no_plugins {
            None
        } else {
            let plugins = overrides
                .plugins
                .clone()
                .or(raw.plugins)
                .unwrap_or_else(|| PathBuf::from("plugins"));
            (!plugins.as_os_str().is_empty()).then_some(plugins)
        };
        let millis = |d: Duration| std::time::Duration::from_millis(d.millis().max(0) as u64);
        let data = overrides
            .data
            .clone()
            .or(raw.data)
            .unwrap_or_else(|| PathBuf::from("data"));
        Ok(ServeConfig {
            listen,
            rules: overrides
                .rules
                .clone()
                .or(raw.rules)
                .unwrap_or_else(|| PathBuf::from("rules")),
            plugins,
            data: data.clone(),
            tokens,
            admin_tokens,
            allow_unauthenticated: raw.auth.allow_unauthenticated,
            body_limit: raw.limits.body.map_or(1 << 20, |b| b.0 as usize),
            batch_limit: raw.limits.batch.unwrap_or(1000).max(1),
            request_timeout: millis(
                raw.limits
                    .request_timeout
                    .unwrap_or(Duration::from_millis(10_000)),
            ),
            max_in_flight: raw.limits.max_in_flight.unwrap_or(512).max(1),
            body_timeout: millis(
                raw.limits
                    .body_timeout
                    .unwrap_or(Duration::from_millis(10_000)),
            ),
            header_timeout: millis(
                raw.limits
                    .header_timeout
                    .unwrap_or(Duration::from_millis(10_000)),
            ),
            idle_timeout: millis(
                raw.limits
                    .idle_timeout
                    .unwrap_or(Duration::from_millis(60_000)),
            ),
            max_connections: raw.limits.max_connections.unwrap_or(10_000).max(1),
            shutdown_grace: millis(
                raw.limits
                    .shutdown_grace
                    .unwrap_or(Duration::from_millis(15_000)),
            ),
            plugin_threads: raw
                .limits
                .plugin_threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()) * 2)
                .max(1),
            timestamps: crate::intake::TimeWindow {
                past: raw
                    .limits
                    .timestamp_past
                    .unwrap_or(crate::intake::TimeWindow::DEFAULT.past),
                future: raw
                    .limits
                    .timestamp_future
                    .unwrap_or(crate::intake::TimeWindow::DEFAULT.future),
            },
            watch: raw.reload.watch.unwrap_or(true),
            console: raw.console.enabled.unwrap_or(true),
            debounce: millis(raw.reload.debounce.unwrap_or(Duration::from_millis(50))),
            settle: millis(raw.reload.settle.unwrap_or(Duration::from_millis(1000))),
            reload_timeout: millis(raw.reload.timeout.unwrap_or(Duration::from_millis(30_000)))
                .max(std::time::Duration::from_millis(100)),
            gate: raw.reload.gate.gate(),
            log_format: overrides
                .log_format
                .or(raw.log.format)
                .unwrap_or(LogFormat::Human),
            log_filter: raw.log.filter.unwrap_or_else(|| "info".to_string()),
            default_trace: raw.decisions.trace.unwrap_or(TraceLevel::Compact),
            store: store_backend(&raw.store, &data, env)?,
            timer_interval: millis(
                raw.store
                    .timer_interval
                    .unwrap_or(Duration::from_millis(1000)),
            )
            .max(std::time::Duration::from_millis(10)),
            retention: retention(&raw.store.retention),
        })
    }

    /// The bounds on connections, with `max_connections` lowered to what
    /// `open_files` (the process's limit on open files) allows.
    pub fn connection_limits(&self) -> crate::server::connections::ConnectionLimits {
        crate::server::connections::ConnectionLimits {
            max: self.max_connections,
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
        }
    }

    /// Lowers `max_connections` to fit `open_files` descriptors, keeping
    /// 64 for the database, the audit file, plugins and the listener.
    pub fn fit_open_files(&mut self, open_files: u64) {
        let room = open_files.saturating_sub(64).max(16) as usize;
        if self.max_connections > room {
            tracing::info!(
                configured = self.max_connections,
                open_files,
                max_connections = room,
                "max_connections lowered to the limit on open files"
            );
            self.max_connections = room;
        }
    }

    /// Whether requests need a token.
    pub fn auth_required(&self) -> bool {
        !(self.tokens.is_empty() && self.admin_tokens.is_empty())
    }
}

/// `[store.retention]` with its defaults.
fn retention(raw: &RawRetention) -> crate::store::RetentionOptions {
    let defaults = crate::store::RetentionOptions::default();
    crate::store::RetentionOptions {
        enabled: raw.enabled.unwrap_or(defaults.enabled),
        decisions: raw.decisions.unwrap_or(defaults.decisions),
        closed_cases: raw.closed_cases.unwrap_or(defaults.closed_cases),
        tallies: raw.tallies.unwrap_or(defaults.tallies),
        authority_uses: raw.authority_uses.unwrap_or(defaults.authority_uses),
        every: raw
            .every
            .map_or(defaults.every, |every| {
                std::time::Duration::from_millis(every.millis().max(0) as u64)
            })
            .max(std::time::Duration::from_millis(10)),
        step_rows: raw.step_rows.unwrap_or(defaults.step_rows).max(1),
    }
}

/// The configured store, or `None` with `[store] enabled = false`.
fn store_backend(
    raw: &RawStore,
    data: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::store::StoreBackend>, ConfigError> {
    use crate::store::{Durability, PostgresOptions, StoreBackend, StoreOptions};
    if !raw.enabled.unwrap_or(true) {
        return Ok(None);
    }
    let max_batch = raw.max_batch.unwrap_or(512).max(1);
    Ok(Some(
        match raw.backend.unwrap_or(StoreBackendName::Sqlite) {
            StoreBackendName::Sqlite => StoreBackend::Sqlite {
                directory: data.to_path_buf(),
                options: StoreOptions {
                    durability: raw.durability.unwrap_or(Durability::Full),
                    max_batch,
                    segment_bytes: raw
                        .retention
                        .segment_size
                        .map_or(crate::store::DEFAULT_SEGMENT_BYTES, |size| size.0.max(1)),
                },
            },
            StoreBackendName::Postgres => {
                let url = env("REDRESS_DATABASE_URL")
                    .filter(|url| !url.trim().is_empty())
                    .or_else(|| raw.url.clone())
                    .ok_or(ConfigError::NoDatabaseUrl)?;
                let mut options = PostgresOptions::new(url);
                options.max_batch = max_batch;
                if let Some(pool_size) = raw.pool_size {
                    options.pool_size = pool_size.max(1);
                }
                if let Some(writers) = raw.writers {
                    options.writers = writers.max(1);
                }
                if let Some(timeout) = raw.statement_timeout {
                    options.statement_timeout = Some(std::time::Duration::from_millis(
                        timeout.millis().max(0) as u64,
                    ));
                }
                StoreBackend::Postgres(options)
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str, env: &[(&str, &str)]) -> Result<ServeConfig, ConfigError> {
        let raw: RawServeConfig = toml::from_str(text).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServeConfig::from_raw(raw, &Overrides::default(), &|name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_are_loopback_and_open() {
        let config = config("", &[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(!config.auth_required());
        assert_eq!(config.body_limit, 1 << 20);
        assert_eq!(config.plugins.as_deref(), Some(Path::new("plugins")));
    }

    #[test]
    fn an_open_public_address_is_refused() {
        let error = config("listen = \"0.0.0.0:8080\"", &[]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("refusing to serve 0.0.0.0:8080 without authentication")
        );
        assert!(
            config("listen = \"0.0.0.0:8080\"", &[("REDRESS_TOKENS", "a, b")])
                .unwrap()
                .auth_required()
        );
    }

    #[test]
    fn sizes_and_durations_parse() {
        let config = config(
            "[limits]\nbody = \"64KiB\"\nrequest_timeout = \"2s\"\n[reload]\ndebounce = \"10ms\"",
            &[],
        )
        .unwrap();
        assert_eq!(config.body_limit, 64 << 10);
        assert_eq!(config.request_timeout, std::time::Duration::from_secs(2));
        assert_eq!(config.debounce, std::time::Duration::from_millis(10));
    }
}

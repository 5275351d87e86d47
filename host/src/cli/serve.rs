//! `redress serve`: the daemon.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::plugin::{PluginRuntime, RuntimeOptions};
use crate::reload::{DirectoryWatcher, ReloadTiming, ReloadTrigger, Reloader};
use crate::server::{self, AppState, LogFormat, Overrides, ServeConfig};
use crate::snapshot::Sources;
use crate::store::{self, Store, StoreError, spawn_scheduler};
use crate::time::{Clock, SystemClock};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (TOML; see docs/daemon.md). Default: none, so
    /// every setting has its default.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Address to listen on. Default: 127.0.0.1:8080.
    #[arg(long)]
    listen: Option<String>,
    /// The rules directory. Default: rules.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The plugins directory. Default: plugins.
    #[arg(long)]
    plugins: Option<PathBuf>,
    /// Serve without plugins.
    #[arg(long, conflicts_with = "plugins")]
    no_plugins: bool,
    /// Where durable state and caches live. Default: data.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Log format. Default: human.
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        listen: args.listen,
        rules: args.rules,
        plugins: args.plugins,
        no_plugins: args.no_plugins,
        data: args.data,
        log_format: args.log_format,
    };
    let config = ServeConfig::load(args.config.as_deref(), &overrides)?;
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("redress")
        .build()
        .context("cannot start the async runtime")?;
    let grace = config.shutdown_grace;
    let result = runtime.block_on(serve(config));
    // Work that cannot be interrupted (a plugin call, a reload stuck on a
    // file) must not keep the process alive past the grace period.
    runtime.shutdown_timeout(grace);
    result
}

fn init_logging(config: &ServeConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_filter));
    // Colours only on a terminal: a file or the journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

async fn serve(mut config: ServeConfig) -> anyhow::Result<ExitCode> {
    if let Some(open_files) = server::raise_open_files_limit() {
        config.fit_open_files(open_files);
    }
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("cannot create the data directory {}", config.data.display()))?;
    let runtime = match &config.plugins {
        Some(_) => Some(PluginRuntime::new(&RuntimeOptions {
            cache_dir: Some(config.data.join("cache").join("wasmtime")),
            ..RuntimeOptions::default()
        })?),
        None => None,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Option<Arc<dyn Store>> = if let Some(backend) = config.store.clone() {
        let backend_location = backend.location();
        let opened = {
            let clock = clock.clone();
            tokio::task::spawn_blocking(move || store::open(&backend, clock)).await?
        };
        match opened {
            Ok(store) => {
                tracing::info!(location = %store.location(), backend = ?config.store, "store open");
                Some(Arc::from(store))
            }
            Err(
                error @ (StoreError::Open { .. }
                | StoreError::AuditFile { .. }
                | StoreError::AuditFileShort { .. }
                | StoreError::Locked { .. }),
            ) => {
                eprintln!("error: {error}");
                return Ok(ExitCode::FAILURE);
            }
            // The other errors do not say which database they are about.
            Err(error) => {
                eprintln!("error: {}: {error}", backend_location);
                return Ok(ExitCode::FAILURE);
            }
        }
    } else {
        tracing::warn!(
            "durable state is off: decisions are not recorded, control lines and budgets are not counted"
        );
        None
    };
    let sources = Sources {
        rules_dir: config.rules.clone(),
        plugins_dir: config.plugins.clone(),
    };
    let timing = ReloadTiming {
        settle: config.settle,
        timeout: config.reload_timeout,
        gate: config.gate.clone(),
    };
    if timing.gate.is_some() && store.is_none() {
        tracing::warn!(
            "[reload.gate] needs the store (the decisions to judge a change on); it is off"
        );
    }
    let keeper = store.clone();
    let reloader = match tokio::task::spawn_blocking(move || {
        Reloader::start(sources, runtime, timing, keeper)
    })
    .await?
    {
        Ok(reloader) => Arc::new(reloader),
        Err(error) => {
            eprint!("{}", error.rendered);
            eprintln!(
                "error: not serving: fix the problems above and start again (check with `redress check`)"
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    if !config.auth_required() {
        tracing::warn!(listen = %config.listen, "no tokens configured: the API is open to anyone who can reach this address");
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let state = Arc::new(
        AppState::new(
            config.clone(),
            reloader.clone(),
            clock.clone(),
            store.clone(),
        )
        .context("cannot start the plugin threads")?,
    );
    let scheduler = store.clone().map(|store| {
        let metrics_state = state.clone();
        spawn_scheduler(store, clock.clone(), config.timer_interval, move |fired| {
            metrics_state.metrics.timer_fired(fired.timer.as_str());
        })
    });
    let retention = store
        .clone()
        .filter(|_| config.retention.enabled)
        .map(|store| {
            let live = state.clone();
            store::spawn_retention(store, clock.clone(), config.retention.clone(), move || {
                store::RuleWindows::of(&live.live.load().ruleset)
            })
        });

    let (changed_tx, mut changed_rx) = tokio::sync::mpsc::channel::<()>(1);
    let _watcher = if config.watch {
        let mut directories = vec![config.rules.clone()];
        directories.extend(config.plugins.clone());
        match DirectoryWatcher::start(directories, config.debounce, changed_tx.clone()) {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                tracing::warn!(%error, "cannot watch files; reload with SIGHUP or POST /v1/reload");
                None
            }
        }
    } else {
        None
    };
    {
        let reloader = reloader.clone();
        tokio::spawn(async move {
            while changed_rx.recv().await.is_some() {
                reloader.reload(ReloadTrigger::Watch).await;
            }
        });
    }
    spawn_sighup(reloader.clone());

    let snapshot = state.live.load_full();
    tracing::info!(%address, version = %snapshot.version, ruleset_version = %snapshot.ruleset.version, rules = %config.rules.display(), "listening");
    println!(
        "redress: serving {} ({}) on http://{address}",
        config.rules.display(),
        snapshot.versions()
    );
    drop(snapshot);
    server::run(listener, state, shutdown_signal()).await?;
    if let Some(scheduler) = scheduler {
        scheduler.abort();
        let _ = scheduler.await;
    }
    if let Some(retention) = retention {
        retention.abort();
        let _ = retention.await;
    }
    // The last reference to the store commits what is queued and stops
    // its writer.
    drop(store);
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Reloads on SIGHUP.
fn spawn_sighup(reloader: Arc<Reloader>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot listen for SIGHUP");
            return;
        };
        while hangups.recv().await.is_some() {
            reloader.reload(ReloadTrigger::Signal).await;
        }
    });
    #[cfg(not(unix))]
    let _ = reloader;
}

/// Completes on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}

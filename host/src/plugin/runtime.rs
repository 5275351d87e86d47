//! The one wasmtime `Engine` of the process, its `Linker`, the epoch ticker
//! that enforces wall-clock timeouts, and compilation with the checks every
//! plugin passes before it is used: it must be a component, speak this
//! host's version of the contract, and import nothing but `host`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::plugin::bindings::{self, ANALYZER_EXPORT, HOST_IMPORT, PluginPre};
use crate::plugin::error::LoadError;
use crate::plugin::host::HostState;
use crate::plugin::manifest::MAX_MEMORY;

/// How often the epoch advances; timeouts are counted in these ticks.
pub const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(2);

/// Settings of the plugin runtime.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled code is cached between runs. `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Instances that may exist at once, across all plugins.
    pub max_instances: u32,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: default_cache_dir(),
            max_instances: 256,
        }
    }
}

/// `$XDG_CACHE_HOME/redress/wasmtime`, or `~/.cache/redress/wasmtime`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("redress").join("wasmtime"))
}

/// The engine, linker and ticker shared by every plugin.
pub struct PluginRuntime {
    engine: Engine,
    linker: Linker<HostState>,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for PluginRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRuntime").finish_non_exhaustive()
    }
}

impl PluginRuntime {
    /// Builds the engine (fuel, epochs, pooling allocator, cache).
    pub fn new(options: &RuntimeOptions) -> Result<Arc<Self>, LoadError> {
        let runtime_error = |error: wasmtime::Error| LoadError::Runtime {
            message: format!("{error:#}"),
        };
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(512 * 1024);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(options.max_instances)
            .total_core_instances(options.max_instances * 4)
            .total_memories(options.max_instances)
            .total_tables(options.max_instances * 2)
            .max_core_instances_per_component(16)
            .max_memories_per_component(2)
            .max_tables_per_component(4)
            .max_memory_size(MAX_MEMORY as usize);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if let Some(directory) = &options.cache_dir {
            let directory = std::path::absolute(directory).unwrap_or_else(|_| directory.clone());
            let mut cache = wasmtime::CacheConfig::new();
            cache.with_directory(&directory);
            match wasmtime::Cache::new(cache) {
                Ok(cache) => {
                    config.cache(Some(cache));
                }
                Err(error) => {
                    tracing::warn!(directory = %directory.display(), error = %error, "compiled-plugin cache disabled");
                }
            }
        }
        let engine = Engine::new(&config).map_err(runtime_error)?;
        let mut linker = Linker::new(&engine);
        linker
            .instance(HOST_IMPORT)
            .and_then(|mut host| crate::plugin::host::add_to_linker(&mut host))
            .map_err(runtime_error)?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Arc::new(PluginRuntime {
            engine,
            linker,
            _ticker: ticker,
        }))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a plugin and checks that it is one this host can run.
    pub fn compile(&self, path: &str, bytes: &[u8]) -> Result<PluginPre<HostState>, LoadError> {
        match bytes.get(..8) {
            Some([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]) => {
                return Err(LoadError::CoreModule {
                    path: path.to_string(),
                });
            }
            Some([0x00, 0x61, 0x73, 0x6d, ..]) => {}
            _ => {
                return Err(LoadError::NotWasm {
                    path: path.to_string(),
                });
            }
        }
        let component =
            Component::new(&self.engine, bytes).map_err(|error| LoadError::Invalid {
                path: path.to_string(),
                message: format!("{error:#}"),
            })?;
        let ty = component.component_type();
        // The export's version first: it is the most useful thing to say
        // about a plugin built for another version of the contract.
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        if !exports.iter().any(|name| name == ANALYZER_EXPORT) {
            if let Some(version) = exports
                .iter()
                .find_map(|name| name.strip_prefix("redress:plugin/analyzer@"))
            {
                return Err(LoadError::WrongVersion {
                    path: path.to_string(),
                    found: format!("redress:plugin@{version}"),
                    expected: bindings::VERSION.to_string(),
                });
            }
            return Err(LoadError::NotAPlugin {
                path: path.to_string(),
                expected: ANALYZER_EXPORT.to_string(),
                found: if exports.is_empty() {
                    "nothing".to_string()
                } else {
                    exports.join(", ")
                },
            });
        }
        for (name, _) in ty.imports(&self.engine) {
            if name == HOST_IMPORT {
                continue;
            }
            if let Some(version) = name.strip_prefix("redress:plugin/host@") {
                return Err(LoadError::WrongVersion {
                    path: path.to_string(),
                    found: format!("redress:plugin@{version}"),
                    expected: bindings::VERSION.to_string(),
                });
            }
            return Err(LoadError::ForbiddenImport {
                path: path.to_string(),
                import: name.to_string(),
            });
        }
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|error| LoadError::Invalid {
                path: path.to_string(),
                message: format!("{error:#}"),
            })?;
        PluginPre::new(pre).map_err(|error| LoadError::Invalid {
            path: path.to_string(),
            message: format!("{error:#}"),
        })
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a thread of its own,
/// until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("redress-epoch".to_string())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|error| tracing::warn!(%error, "no epoch ticker: plugin timeouts are not enforced, only fuel"))
            .ok();
        EpochTicker { stop, handle }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

//! What the host gives a plugin instance (`redress:plugin/host`): its
//! manifest config and a log. Also the per-store resource limiter that caps
//! memory and records the peak.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::plugin::bindings::Level;

/// Most log lines kept per call; the rest are counted and dropped.
pub const MAX_LOG_LINES: usize = 32;
/// Longest log line kept, in bytes.
pub const MAX_LOG_LINE: usize = 1024;

/// The data of one plugin instance's store.
pub struct HostState {
    pub(crate) plugin: Arc<str>,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: Vec<(Level, String)>,
    pub(crate) dropped_log_lines: usize,
}

impl HostState {
    pub fn new(plugin: Arc<str>, config: Arc<BTreeMap<String, String>>, memory_limit: u64) -> Self {
        HostState {
            plugin,
            config,
            limiter: MemoryLimiter {
                limit: memory_limit,
                peak: 0,
                exceeded: false,
            },
            log: Vec::new(),
            dropped_log_lines: 0,
        }
    }

    /// Forgets the previous call's log and memory verdict.
    pub fn reset_call(&mut self) {
        self.log.clear();
        self.dropped_log_lines = 0;
        self.limiter.exceeded = false;
    }

    /// The last line logged at error level (a panic message, usually).
    pub fn last_error(&self) -> Option<&str> {
        self.log
            .iter()
            .rev()
            .find(|(level, _)| matches!(level, Level::Error))
            .map(|(_, message)| message.as_str())
    }

    /// Sends the call's log lines to `tracing`, tagged with the plugin.
    pub fn flush_log(&mut self) {
        for (level, message) in self.log.drain(..) {
            let plugin = &*self.plugin;
            match level {
                Level::Debug => tracing::debug!(plugin, "{message}"),
                Level::Info => tracing::info!(plugin, "{message}"),
                Level::Warn => tracing::warn!(plugin, "{message}"),
                Level::Error => tracing::error!(plugin, "{message}"),
            }
        }
        if self.dropped_log_lines > 0 {
            tracing::warn!(
                plugin = &*self.plugin,
                dropped = self.dropped_log_lines,
                "plugin log lines dropped"
            );
            self.dropped_log_lines = 0;
        }
    }
}

impl crate::plugin::bindings::redress::plugin::host::Host for HostState {
    fn log(&mut self, level: Level, mut message: String) {
        if self.log.len() >= MAX_LOG_LINES {
            self.dropped_log_lines += 1;
            return;
        }
        if message.len() > MAX_LOG_LINE {
            let mut end = MAX_LOG_LINE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        self.log.push((level, message));
    }

    fn config(&mut self, key: String) -> Option<String> {
        self.config.get(&key).cloned()
    }
}

/// Caps an instance's linear memory and records its peak.
pub struct MemoryLimiter {
    pub(crate) limit: u64,
    pub(crate) peak: u64,
    pub(crate) exceeded: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > self.limit {
            self.exceeded = true;
            wasmtime::bail!(
                "memory limit of {} MiB exceeded (asked for {} MiB)",
                self.limit >> 20,
                desired >> 20
            );
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

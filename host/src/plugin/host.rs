//! What the host gives a plugin instance (`redress:plugin/host`): its
//! manifest config and a log. Also the per-store resource limiter that caps
//! memory and records the peak.
//!
//! Everything a guest makes the host do on its behalf is bounded per call,
//! like the guest's own work:
//! - a log message is read in place from the guest's memory (no copy of
//!   the whole message); only its first [`MAX_LOG_LINE`] bytes are kept,
//!   and only `limits.log_lines` lines per call, until the call ends;
//! - what one host call or the call's result carries across the boundary
//!   is capped by `limits.transfer` (wasmtime's hostcall fuel); more fails
//!   the call;
//! - the host's work in a host call is charged to the call's fuel
//!   ([`HOST_CALL_FUEL`] plus [`HOST_BYTE_FUEL`] per byte read), so a plugin
//!   whose time goes into host calls runs out of fuel, and counts as slow,
//!   like one that computes.
//!
//! The functions are defined on the linker by hand rather than through the
//! generated `Host` trait: only the store (`StoreContextMut`) can read a
//! string in place ([`WasmStr`]) and charge fuel.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{LinkerInstance, WasmStr};
use wasmtime::{AsContext, AsContextMut, StoreContextMut};

use crate::plugin::bindings::Level;

/// Longest log line kept, in bytes; the rest of a longer message is cut
/// (read in place, never copied).
pub const MAX_LOG_LINE: usize = 1024;
/// Fuel charged for each call into the host, whatever it carries: about
/// what the guest could compute in the time the host spends entering and
/// leaving the call.
pub const HOST_CALL_FUEL: u64 = 2_000;
/// Fuel charged per byte a host call reads from the guest (a log message,
/// a config key): the host checks every byte, so a plugin that logs
/// megabytes pays for them.
pub const HOST_BYTE_FUEL: u64 = 4;

/// The data of one plugin instance's store.
pub struct HostState {
    pub(crate) plugin: Arc<str>,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: Vec<(Level, String)>,
    /// Most lines kept per call (`limits.log_lines`).
    log_lines: usize,
    pub(crate) dropped_log_lines: usize,
}

impl HostState {
    pub fn new(
        plugin: Arc<str>,
        config: Arc<BTreeMap<String, String>>,
        memory_limit: u64,
        log_lines: usize,
    ) -> Self {
        HostState {
            plugin,
            config,
            limiter: MemoryLimiter {
                limit: memory_limit,
                peak: 0,
                exceeded: false,
            },
            log: Vec::new(),
            log_lines,
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

    /// Takes the call's log lines (for `plugin run` and `eval` to print).
    pub fn take_log(&mut self) -> Vec<(Level, String)> {
        std::mem::take(&mut self.log)
    }

    /// Sends the call's log lines to `tracing`, tagged with the plugin and
    /// escaped, so a line from a plugin can never pass for the host's.
    pub fn flush_log(&mut self) {
        let plugin = self.plugin.clone();
        for (level, message) in self.log.drain(..) {
            log_line(&plugin, level, &message);
        }
        if self.dropped_log_lines > 0 {
            tracing::warn!(
                plugin = &*self.plugin,
                dropped = self.dropped_log_lines,
                kept = self.log_lines,
                "plugin log lines dropped (more than limits.log_lines in one call)"
            );
            self.dropped_log_lines = 0;
        }
    }

    fn keep(&mut self, level: Level, line: KeptLine) {
        if self.log.len() >= self.log_lines {
            self.dropped_log_lines += 1;
            return;
        }
        let line = match line {
            KeptLine::Whole(line) => line,
            KeptLine::Cut(mut prefix) => {
                prefix.push('…');
                prefix
            }
        };
        self.log.push((level, line));
    }
}

/// Writes one plugin line to the log: target `redress::plugin::guest`, the
/// plugin's name in brackets and as a field, control characters escaped.
pub fn log_line(plugin: &str, level: Level, message: &str) {
    let text = escape_control(message);
    match level {
        Level::Debug => {
            tracing::debug!(target: "redress::plugin::guest", plugin, "[{plugin}] {text}")
        }
        Level::Info => {
            tracing::info!(target: "redress::plugin::guest", plugin, "[{plugin}] {text}")
        }
        Level::Warn => {
            tracing::warn!(target: "redress::plugin::guest", plugin, "[{plugin}] {text}")
        }
        Level::Error => {
            tracing::error!(target: "redress::plugin::guest", plugin, "[{plugin}] {text}")
        }
    }
}

/// `text` with every control character (newlines, carriage returns,
/// terminal escapes) and bidirectional override written as an escape, so
/// it stays on one line and shows what it is.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    let needs =
        |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(needs) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if needs(c) => escaped.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => escaped.push(c),
        }
    }
    std::borrow::Cow::Owned(escaped)
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Takes `bytes` worth of host work out of the call's fuel. A call that
/// cannot pay is left with none, so the guest stops with `OutOfFuel` at
/// its next instruction, as if it had computed for that long.
fn charge(store: &mut StoreContextMut<'_, HostState>, bytes: usize) -> wasmtime::Result<()> {
    let cost = HOST_CALL_FUEL.saturating_add(HOST_BYTE_FUEL.saturating_mul(bytes as u64));
    let left = store.get_fuel()?;
    store.set_fuel(left.saturating_sub(cost))
}

/// Defines `redress:plugin/host` on the linker.
pub(crate) fn add_to_linker(host: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    host.func_wrap(
        "log",
        |mut store: StoreContextMut<'_, HostState>, (level, message): (Level, WasmStr)| {
            let (length, kept) = {
                let text = message.to_str(store.as_context())?;
                (text.len(), KeptLine::of(&text))
            };
            charge(&mut store, length)?;
            store.data_mut().keep(level, kept);
            Ok(())
        },
    )?;
    host.func_wrap(
        "config",
        |mut store: StoreContextMut<'_, HostState>, (key,): (WasmStr,)| {
            let (length, value) = {
                let key = key.to_str(store.as_context())?;
                let value = store.data().config.get(key.as_ref()).cloned();
                (key.len(), value)
            };
            charge(&mut store.as_context_mut(), length)?;
            Ok((value,))
        },
    )?;
    Ok(())
}

/// What of a log message is kept: the whole of a short one, or the first
/// [`MAX_LOG_LINE`] bytes of a long one (copied out of the guest's memory
/// before the store is touched again).
enum KeptLine {
    Whole(String),
    Cut(String),
}

impl KeptLine {
    fn of(text: &str) -> Self {
        let prefix = clip(text, MAX_LOG_LINE);
        if prefix.len() == text.len() {
            KeptLine::Whole(prefix.to_string())
        } else {
            KeptLine::Cut(prefix.to_string())
        }
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
                "memory limit of {} exceeded (asked for {})",
                crate::plugin::manifest::ByteSize(self.limit),
                crate::plugin::manifest::ByteSize(desired)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("plain text, 中文"), "plain text, 中文");
        assert_eq!(
            escape_control("ok\n2026-12-01T00:00:00Z  INFO redress::cli::serve: stopped"),
            "ok\\n2026-12-01T00:00:00Z  INFO redress::cli::serve: stopped"
        );
        assert_eq!(
            escape_control("a\rb\u{1b}[2Jc\u{0}"),
            "a\\rb\\u{1b}[2Jc\\u{0}"
        );
        assert_eq!(escape_control("abc\u{202E}cba"), "abc\\u{202e}cba");
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_LOG_LINE);
        match KeptLine::of(&text) {
            KeptLine::Cut(prefix) => {
                assert_eq!(prefix.len(), MAX_LOG_LINE);
                assert!(text.starts_with(&prefix));
            }
            KeptLine::Whole(_) => panic!("should be cut"),
        }
        let mut state = HostState::new("p".into(), Arc::default(), 1 << 20, 2);
        for _ in 0..5 {
            state.keep(Level::Info, KeptLine::of("line"));
        }
        assert_eq!(state.log.len(), 2);
        assert_eq!(state.dropped_log_lines, 3);
    }
}

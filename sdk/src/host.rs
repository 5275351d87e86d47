//! What the host gives a plugin: manifest config and a log. Natively (in a
//! plugin's unit tests) the same calls read config set with
//! `testing::set_config` and record log lines for `testing::logged`.

use alloc::string::String;

/// A value from the `[config]` table of the plugin's manifest. Values are
/// fixed for an instance's life, so each key is asked of the host once.
pub fn config(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        cache::config(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        native::config(key)
    }
}

#[cfg(target_arch = "wasm32")]
mod cache {
    use alloc::collections::BTreeMap;
    use alloc::string::String;
    use core::cell::RefCell;

    /// A config value already asked for, and its reading as a number.
    struct Entry {
        value: Option<String>,
        number: Option<f64>,
    }

    /// Config values already asked for.
    struct Cache(RefCell<BTreeMap<String, Entry>>);

    // SAFETY: a Redress plugin instance is a single-threaded component
    // (wasm32 without the threads proposal): this static is never touched
    // by two threads, which is all `Sync` promises here.
    unsafe impl Sync for Cache {}

    static CACHE: Cache = Cache(RefCell::new(BTreeMap::new()));

    /// Reads `key`'s entry, asking the host the first time.
    fn with_entry<T>(key: &str, read: impl FnOnce(&Entry) -> T) -> T {
        if let Some(entry) = CACHE.0.borrow().get(key) {
            return read(entry);
        }
        let value = crate::__private::redress::plugin::host::config(key);
        let entry = Entry {
            number: value.as_deref().and_then(super::parse_number),
            value,
        };
        let result = read(&entry);
        CACHE.0.borrow_mut().insert(String::from(key), entry);
        result
    }

    pub fn config(key: &str) -> Option<String> {
        with_entry(key, |entry| entry.value.clone())
    }

    pub fn config_number(key: &str) -> Option<f64> {
        with_entry(key, |entry| entry.number)
    }
}

/// A config value read as a number.
fn parse_number(value: &str) -> Option<f64> {
    value.trim().parse().ok()
}

/// A number from the manifest's `[config]`, or `default` when it is absent
/// or not a number. Read once per instance: calling it for every complaint
/// costs a lookup, not a parse.
pub fn config_f64(key: &str, default: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    let number = cache::config_number(key);
    #[cfg(not(target_arch = "wasm32"))]
    let number = native::config(key).as_deref().and_then(parse_number);
    number.unwrap_or(default)
}

/// Lines in the host's log, tagged with the plugin's name.
pub mod log {
    #[cfg(target_arch = "wasm32")]
    use crate::__private::redress::plugin::host::{Level, log as host_log};

    macro_rules! level {
        ($name:ident, $level:ident) => {
            #[doc = concat!("Logs at `", stringify!($name), "` level.")]
            pub fn $name(message: &str) {
                #[cfg(target_arch = "wasm32")]
                host_log(Level::$level, message);
                #[cfg(not(target_arch = "wasm32"))]
                super::native::log(stringify!($name), message);
            }
        };
    }

    level!(debug, Debug);
    level!(info, Info);
    level!(warn, Warn);
    level!(error, Error);
}

#[cfg(not(target_arch = "wasm32"))]
pub mod native {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    thread_local! {
        static CONFIG: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
        static LOG: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    }

    /// Sets a config value for this thread's tests.
    pub fn set_config(key: &str, value: &str) {
        CONFIG.with(|c| c.borrow_mut().insert(key.to_string(), value.to_string()));
    }

    pub(crate) fn config(key: &str) -> Option<String> {
        CONFIG.with(|c| c.borrow().get(key).cloned())
    }

    pub(crate) fn log(level: &str, message: &str) {
        LOG.with(|l| {
            l.borrow_mut()
                .push((level.to_string(), message.to_string()))
        });
    }

    /// The `(level, message)` lines logged on this thread so far.
    pub fn logged() -> Vec<(String, String)> {
        LOG.with(|l| l.borrow().clone())
    }
}

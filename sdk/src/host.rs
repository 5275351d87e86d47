//! What the host gives a plugin: manifest config and a log. Natively (in a
//! plugin's unit tests) the same calls read config set with
//! `testing::set_config` and record log lines for `testing::logged`.

use alloc::string::String;

/// A value from the `[config]` table of the plugin's manifest.
pub fn config(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::__private::redress::plugin::host::config(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        native::config(key)
    }
}

/// A number from the manifest's `[config]`, or `default` when it is absent
/// or not a number.
pub fn config_f64(key: &str, default: f64) -> f64 {
    config(key)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
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

//! What the host gives a plugin: manifest config and a log. Natively (in a
//! plugin's unit tests) the same calls read config set with
//! `testing::set_config` and record log lines for `testing::logged`.

use alloc::string::String;
use alloc::vec::Vec;

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

/// A list from the manifest's `[config]`: its items in order, each as
/// text (`phrases = ["left my bag", "nawala"]`). The key of a table
/// (`[config.phrases]`) lists the table's entry names, and each entry is
/// `table.entry`. Empty when the key is absent.
pub fn config_list(key: &str) -> Vec<String> {
    match config(key) {
        Some(text) if !text.is_empty() => text.split('\n').map(String::from).collect(),
        _ => Vec::new(),
    }
}

/// The phrase lists of `[config.<table>]`, for [`Phrases::from_list`]:
/// each entry's name is turned by `value_of` into the value its phrases
/// carry (a category, a language). A name `value_of` does not know is
/// refused, naming it, `what` it should be and the `known` ones:
/// ``config `phrases.aftersales`: no such type; the types are ...``.
///
/// [`Phrases::from_list`]: crate::text::Phrases::from_list
pub fn config_phrases<V: Clone>(
    table: &str,
    what: &str,
    known: &[&str],
    value_of: impl Fn(&str) -> Option<V>,
) -> Result<Vec<(String, V)>, String> {
    let mut phrases = Vec::new();
    for name in config_list(table) {
        let Some(value) = value_of(&name) else {
            return Err(alloc::format!(
                "config `{table}.{name}`: no such {what}; the {what}s are {}",
                known.join(", ")
            ));
        };
        for phrase in config_list(&alloc::format!("{table}.{name}")) {
            phrases.push((phrase, value.clone()));
        }
    }
    Ok(phrases)
}

/// Builds a value once per plugin instance and hands out the same one
/// afterwards, for tables made from `[config]`, which is fixed for an
/// instance's life (natively, until the next `testing::set_config`). `key`
/// tells values apart; a key asked again with another type builds anew.
pub fn once_per_instance<T: core::any::Any>(key: &str, build: impl FnOnce() -> T) -> &'static T {
    #[cfg(target_arch = "wasm32")]
    {
        instance::get_or_build(key, build)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        native::get_or_build(key, build)
    }
}

#[cfg(target_arch = "wasm32")]
mod instance {
    use alloc::boxed::Box;
    use alloc::collections::BTreeMap;
    use alloc::string::String;
    use core::any::Any;
    use core::cell::RefCell;

    /// Values built once, by key. Leaked on purpose: they live as long as
    /// the instance, and one is built per key.
    struct Built(RefCell<BTreeMap<String, &'static dyn Any>>);

    // SAFETY: as for the config cache: a plugin instance is single-threaded.
    unsafe impl Sync for Built {}

    static BUILT: Built = Built(RefCell::new(BTreeMap::new()));

    pub fn get_or_build<T: Any>(key: &str, build: impl FnOnce() -> T) -> &'static T {
        if let Some(value) = BUILT
            .0
            .borrow()
            .get(key)
            .and_then(|v| v.downcast_ref::<T>())
        {
            return value;
        }
        let value: &'static T = Box::leak(Box::new(build()));
        BUILT.0.borrow_mut().insert(String::from(key), value);
        value
    }
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
    use std::any::Any;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    thread_local! {
        static BUILT: RefCell<BTreeMap<String, &'static dyn Any>> = const { RefCell::new(BTreeMap::new()) };
        static CONFIG: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
        static LOG: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    }

    /// Sets a config value for this thread's tests (a list's items one per
    /// line), and forgets what `once_per_instance` built from the old ones.
    pub fn set_config(key: &str, value: &str) {
        CONFIG.with(|c| c.borrow_mut().insert(key.to_string(), value.to_string()));
        BUILT.with(|b| b.borrow_mut().clear());
    }

    pub(crate) fn get_or_build<T: Any>(key: &str, build: impl FnOnce() -> T) -> &'static T {
        if let Some(value) = BUILT.with(|b| b.borrow().get(key).and_then(|v| v.downcast_ref::<T>()))
        {
            return value;
        }
        // Leaked: a test thread builds a value per key and config.
        let value: &'static T = Box::leak(Box::new(build()));
        BUILT.with(|b| b.borrow_mut().insert(key.to_string(), value));
        value
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

//! Hostile plugin: logs `lines` messages of `bytes` bytes each (or its
//! config's `message`, as given), then answers normally. With the defaults,
//! 32 lines of 10 MB: the host must neither keep nor copy them whole.
#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;
use redress_sdk::prelude::*;

#[redress_sdk::plugin]
pub fn analyze(_complaint: &Complaint) -> Result<Analysis, String> {
    let lines = redress_sdk::config_f64("lines", 32.0) as usize;
    let message = match redress_sdk::config("message") {
        Some(message) => message,
        None => {
            let bytes = redress_sdk::config_f64("bytes", 10_000_000.0) as usize;
            "x".repeat(bytes)
        }
    };
    for _ in 0..lines {
        redress_sdk::log::info(&message);
    }
    Ok(Analysis::new().flag("done", true))
}

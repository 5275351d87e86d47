//! Hostile plugin: returns eight megabytes of text.
#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;
use redress_sdk::prelude::*;

#[redress_sdk::plugin]
pub fn analyze(_complaint: &Complaint) -> Result<Analysis, String> {
    let mut text = String::with_capacity(8 << 20);
    while text.len() < (8 << 20) {
        text.push_str("spam spam spam spam ");
    }
    Ok(Analysis::new().text("language", text))
}

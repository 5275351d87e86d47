//! Hostile plugin: says `anger` is a word, where its manifest declares a
//! number.
#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;
use redress_sdk::prelude::*;

#[redress_sdk::plugin]
pub fn analyze(_complaint: &Complaint) -> Result<Analysis, String> {
    Ok(Analysis::new().text("anger", "very"))
}

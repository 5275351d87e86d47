//! Hostile plugin: indexes past the end of an empty list.
#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;
use redress_sdk::prelude::*;

#[redress_sdk::plugin]
pub fn analyze(complaint: &Complaint) -> Result<Analysis, String> {
    let empty: Vec<f64> = Vec::new();
    let index = core::hint::black_box(complaint.text.len() + 3);
    Ok(Analysis::new().number("value", empty[index]))
}

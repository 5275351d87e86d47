//! Hostile plugin: recurses until the stack overflows.
#![cfg_attr(target_arch = "wasm32", no_std)]
#![allow(unconditional_recursion)]
extern crate alloc;
use redress_sdk::prelude::*;

fn deeper(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 32]);
    deeper(depth + 1).wrapping_add(frame[depth as usize % 32])
}

#[redress_sdk::plugin]
pub fn analyze(complaint: &Complaint) -> Result<Analysis, String> {
    let depth = deeper(complaint.text.len() as u64);
    Ok(Analysis::new().number("depth", depth as f64))
}

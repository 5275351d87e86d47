//! Hostile plugin: never returns. Fuel or the wall-clock deadline stops it.
#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;
use redress_sdk::prelude::*;

#[redress_sdk::plugin]
pub fn analyze(complaint: &Complaint) -> Result<Analysis, String> {
    let mut counter = complaint.text.len() as u64;
    loop {
        counter = core::hint::black_box(counter.wrapping_mul(6364136223846793005).wrapping_add(1));
        if counter == 42 {
            return Ok(Analysis::new());
        }
    }
}

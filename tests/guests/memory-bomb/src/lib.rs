//! Hostile plugin: allocates a megabyte at a time until memory runs out.
#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;
use redress_sdk::prelude::*;

#[redress_sdk::plugin]
pub fn analyze(_complaint: &Complaint) -> Result<Analysis, String> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![7u8; 1 << 20]);
        core::hint::black_box(&hoard);
    }
}

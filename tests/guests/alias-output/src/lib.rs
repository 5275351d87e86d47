//! Hostile plugin: returns a `list` output of 100 items that all point at
//! the same 10 MB buffer, so the guest spends 10 MB of its own memory and
//! asks the host to copy a gigabyte.
#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;
use core::mem::ManuallyDrop;
use redress_sdk::prelude::*;

#[redress_sdk::plugin]
pub fn analyze(_complaint: &Complaint) -> Result<Analysis, String> {
    let mut buffer = ManuallyDrop::new("y".repeat(10_000_000));
    let (pointer, length, capacity) = (buffer.as_mut_ptr(), buffer.len(), buffer.capacity());
    let items: Vec<String> = (0..100)
        // SAFETY: none. Every item aliases one buffer on purpose; the host
        // must refuse the copy before the guest's post-return frees them.
        .map(|_| unsafe { String::from_raw_parts(pointer, length, capacity) })
        .collect();
    Ok(Analysis::new().list("items", items))
}

//! A plugin whose `analysis` record has a field the contract does not have
//! (same package, version and names, so only the types differ). Redress
//! refuses it at load instead of failing every call.
//!
//! It cannot use redress-sdk (whose bindings are of the real contract), so
//! it brings the little a `no_std` component needs itself; without `std`
//! it imports only `redress:plugin/host`, so the loader gets as far as
//! checking its exports.
#![cfg_attr(target_arch = "wasm32", no_std)]

#[cfg(target_arch = "wasm32")]
mod guest {
    extern crate alloc;
    use alloc::vec::Vec;

    wit_bindgen::generate!({ path: "wit", world: "plugin" });

    use exports::redress::plugin::analyzer::{Analysis, Complaint, Guest};

    struct Extra;

    impl Guest for Extra {
        fn analyze(_complaint: Complaint) -> Result<Analysis, alloc::string::String> {
            Ok(Analysis {
                annotations: Vec::new(),
                offers: Vec::new(),
                confidence: 1.0,
            })
        }
    }

    export!(Extra);

    #[global_allocator]
    static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

    #[link(name = "c")]
    unsafe extern "C" {}

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }

    /// The canonical ABI's allocation entry point.
    ///
    /// # Safety
    ///
    /// Called by the component model as the ABI prescribes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn cabi_realloc(
        old_ptr: *mut u8,
        old_len: usize,
        align: usize,
        new_len: usize,
    ) -> *mut u8 {
        use alloc::alloc::{Layout, alloc, realloc};
        let pointer = unsafe {
            if old_len == 0 {
                if new_len == 0 {
                    return align as *mut u8;
                }
                alloc(Layout::from_size_align_unchecked(new_len, align))
            } else {
                realloc(
                    old_ptr,
                    Layout::from_size_align_unchecked(old_len, align),
                    new_len,
                )
            }
        };
        if pointer.is_null() {
            core::arch::wasm32::unreachable();
        }
        pointer
    }
}

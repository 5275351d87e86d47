//! What a `no_std` WebAssembly component needs and `std` would otherwise
//! provide: an allocator, a panic handler that reports to the host, the
//! canonical ABI's `cabi_realloc`, and libc's `memcmp` and friends.

#[cfg(target_arch = "wasm32")]
mod wasm {
    use core::sync::atomic::{AtomicBool, Ordering};

    #[global_allocator]
    static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

    // memcmp, memcpy and friends come from the target's libc; nothing else
    // of it is linked, so it brings no imports.
    #[link(name = "c")]
    unsafe extern "C" {}

    static PANICKING: AtomicBool = AtomicBool::new(false);

    /// Reports the panic to the host's log, then traps. A panic while
    /// reporting (out of memory, say) traps at once.
    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        if !PANICKING.swap(true, Ordering::SeqCst) {
            let message = match info.location() {
                Some(at) => alloc::format!(
                    "panicked: {} (at {}:{})",
                    info.message(),
                    at.file(),
                    at.line()
                ),
                None => alloc::format!("panicked: {}", info.message()),
            };
            crate::__private::redress::plugin::host::log(
                crate::__private::redress::plugin::host::Level::Error,
                &message,
            );
        }
        core::arch::wasm32::unreachable()
    }

    /// The canonical ABI's allocation entry point, used by the host to pass
    /// strings and lists into the plugin.
    ///
    /// # Safety
    ///
    /// Called by the component model with a pointer and size it got from
    /// this function before (or null and 0), as the ABI prescribes.
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

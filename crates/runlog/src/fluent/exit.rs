//! The fluent API's exit hook: when the process exits normally (`main`
//! returns or `std::process::exit` is called), runs still open are ended
//! `FINISHED` and everything logged is flushed, as MLflow's `atexit` hook
//! does. A killed process leaves its runs `RUNNING` with everything its
//! writer had written.

use std::sync::Once;

static REGISTER: Once = Once::new();

extern "C" {
    /// The C library's `atexit` (libc is linked by std on every Unix).
    fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

extern "C" fn at_exit() {
    // Unwinding out of an `extern "C"` function aborts: catch everything.
    let _ = std::panic::catch_unwind(crate::fluent::end_open_runs_and_flush);
}

/// Registers the exit hook, once per process.
pub(crate) fn end_runs_at_exit() {
    REGISTER.call_once(|| {
        #[allow(
            unsafe_code,
            reason = "libc atexit registration of a plain extern \"C\" fn"
        )]
        // SAFETY: `atexit` only stores the function pointer; `at_exit` is a
        // plain `extern "C" fn()` that never unwinds across the boundary.
        // If registration fails (the table is full), runs are left open as
        // after a crash, which readers handle.
        unsafe {
            atexit(at_exit);
        }
    });
}

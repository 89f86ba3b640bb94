//! The fluent API's exit hook: when the process exits normally (`main`
//! returns or `std::process::exit` is called), runs still open are ended
//! `FINISHED` and everything logged is flushed, as MLflow's `atexit` hook
//! does; then the local stores it wrote are compacted by a detached child
//! once the process has exited ([`compact_after_exit`]). A killed process
//! leaves its runs `RUNNING` with everything its writer had written.

use std::sync::Once;

use crate::compact::{compactable_bytes, ExitingLanes, AFTER_EXIT_MIN_BYTES};
use crate::tracking::client::Client;

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

/// The environment variable that turns the compaction after exit off
/// (`0`, `false`, `no` or `off`); anything else, or unset, leaves it on.
pub const COMPACT_AT_EXIT_ENV: &str = "RUNLOG_COMPACT_AT_EXIT";

/// Whether a value of [`COMPACT_AT_EXIT_ENV`] leaves the compaction on.
fn compaction_wanted(value: Option<&str>) -> bool {
    !matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("0" | "false" | "no" | "off")
    )
}

/// At exit, after the flush: has the local stores of `clients` compacted
/// by a detached child once this process has exited
/// ([`crate::compact::compact_after_exit`]), when the store compacts in
/// the background (the default), [`COMPACT_AT_EXIT_ENV`] does not turn it
/// off, and its raw segments add up to at least
/// [`AFTER_EXIT_MIN_BYTES`]. A server's spool (an `http(s)://` tracking
/// URI) is left to its sync. Failing to fork is not an error: the next
/// compaction takes what is left.
pub(crate) fn compact_after_exit<'a>(clients: impl Iterator<Item = &'a Client>) {
    if !compaction_wanted(std::env::var(COMPACT_AT_EXIT_ENV).ok().as_deref()) {
        return;
    }
    let mut lanes = ExitingLanes::default();
    for client in clients.filter(|c| !c.is_remote()) {
        let Ok(store) = client.store() else {
            continue; // read-only
        };
        let worth = || {
            compactable_bytes(store.path(), store.lane())
                .is_ok_and(|bytes| bytes >= AFTER_EXIT_MIN_BYTES)
        };
        if store.compacts_in_background() && worth() {
            lanes.push(store.path(), store.lane());
        }
    }
    let _ = crate::compact::compact_after_exit(&lanes);
}

#[cfg(test)]
mod tests {
    use super::compaction_wanted;

    #[test]
    fn the_variable_turns_the_compaction_off_only_when_it_says_so() {
        for off in ["0", "false", "FALSE", " no ", "off"] {
            assert!(!compaction_wanted(Some(off)), "{off}");
        }
        for on in [None, Some(""), Some("1"), Some("true"), Some("yes")] {
            assert!(compaction_wanted(on), "{on:?}");
        }
    }
}

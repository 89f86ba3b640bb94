#![allow(
    clippy::unwrap_used,
    unsafe_code,
    reason = "tests unwrap; they fork a child through libc as a user's program would"
)]
//! A child that a program forks without exec (a `DataLoader`'s worker,
//! Python's `multiprocessing` with fork) keeps none of the store's locks:
//! once the parent lets go of a lane or the compaction lock, another
//! writer or compaction takes it while the child lives on.

#![cfg(unix)]

mod common;

use std::path::Path;

use runlog::compact::{compact_with_progress, CompactOptions};
use runlog::engine::Store;
use runlog::Options;

/// A child that sleeps until dropped (killed and reaped then, also when
/// the test fails: a child left running would hold the test's output
/// pipes open).
struct Sleeper(libc::pid_t);

impl Drop for Sleeper {
    fn drop(&mut self) {
        // SAFETY: `self.0` is this process's child, not reaped yet.
        unsafe {
            libc::kill(self.0, libc::SIGKILL);
            libc::waitpid(self.0, std::ptr::null_mut(), 0);
        }
    }
}

/// Forks a child that sleeps until killed, once it has started (the fork
/// handlers run in the child before `fork` returns there). The child
/// calls only async-signal-safe functions (`write`, `pause`).
fn fork_sleeper() -> Sleeper {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let [read_end, write_end] = fds;
    // SAFETY: the child runs `write` and `pause` only, which are
    // async-signal-safe, and never returns into the test harness.
    match unsafe { libc::fork() } {
        -1 => panic!("fork: {}", std::io::Error::last_os_error()),
        // SAFETY: as above: one byte written from a local, then pause.
        0 => unsafe {
            libc::write(write_end, [1u8].as_ptr().cast(), 1);
            loop {
                libc::pause();
            }
        },
        pid => {
            let child = Sleeper(pid);
            let mut started = [0u8];
            // SAFETY: reads one byte into `started`, then closes both ends.
            unsafe {
                libc::close(write_end);
                assert_eq!(libc::read(read_end, started.as_mut_ptr().cast(), 1), 1);
                libc::close(read_end);
            }
            child
        }
    }
}

/// Held by each test for its whole length: a child another test forks
/// holds copies of this test's descriptors until it has started (its fork
/// handlers run then), which no code can prevent; the tests here measure
/// what a child holds after it started.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn logged_store(path: &Path) -> Store {
    let store = Store::open_with(path, Options::default().auto_compact(None)).unwrap();
    common::log_steps(&store, 0..10_000);
    store.flush().unwrap();
    store
}

#[test]
fn a_forked_child_keeps_no_lane_lock() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let store = logged_store(dir.path());
    let lane = store.lane();
    let child = fork_sleeper();
    store.close().unwrap();
    // The child lives on; the lane its parent freed is adopted by the next
    // writer (a lane still locked would make it create lane 2).
    let next = Store::open_with(dir.path(), Options::default().auto_compact(None));
    let adopted = next.as_ref().map(Store::lane).ok();
    drop(child);
    assert_eq!(adopted, Some(lane), "the freed lane is adopted");
}

#[test]
fn a_child_forked_during_a_compaction_keeps_no_compaction_lock() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    logged_store(dir.path()).close().unwrap();
    // Forked while the compaction holds the lock (its progress is reported
    // under it).
    let child = std::cell::OnceCell::new();
    compact_with_progress(dir.path(), &CompactOptions::default(), &|_| {
        child.get_or_init(fork_sleeper);
    })
    .unwrap();
    assert!(child.get().is_some(), "the compaction reported progress");
    // The child lives on; the next compaction is not refused as running.
    let again = compact_with_progress(dir.path(), &CompactOptions::default(), &|_| {});
    drop(child);
    assert!(again.is_ok(), "{again:?}");
}

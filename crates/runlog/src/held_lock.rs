//! Locks a child forked without exec does not keep.
//!
//! The store's locks are `flock` locks, which belong to the open file: a
//! process that forks (a `DataLoader`'s workers, Python's
//! `multiprocessing` with the fork start method) hands its child a copy
//! of every descriptor, and the lock stays held until the last copy is
//! closed. A worker forked while the background compactor runs would keep
//! the store's compaction lock for as long as it lives (every compaction
//! meanwhile skipped), and every worker keeps its parent's lane lock.
//!
//! A [`HeldLock`] registers its descriptor in a fixed table. In a child
//! forked by `fork()` (which runs `pthread_atfork` handlers; `posix_spawn`
//! execs at once and closes the descriptors then, as they are opened
//! close-on-exec), a handler points each registered descriptor at
//! `/dev/null`: the child's reference to the locked file goes, the
//! parent's lock stays, and the descriptor number stays open (on
//! `/dev/null`), so that the child closing its copy of the lock later
//! closes nothing else. The compaction after exit forks a child that must
//! keep its locks: it forks inside [`keeping_locks_in_child`].

use std::fs::File;

/// A lock file held by this process (a lane's, the compaction lock), which
/// a child it forks does not keep (see the module's description).
#[derive(Debug)]
pub(crate) struct HeldLock {
    /// Held open for the lock.
    #[cfg_attr(
        not(unix),
        allow(dead_code, reason = "read for its descriptor on unix only")
    )]
    file: File,
    /// The slot the descriptor is registered in, if one was free.
    slot: Option<usize>,
}

impl HeldLock {
    /// Registers `file`, which holds a lock.
    pub(crate) fn new(file: File) -> HeldLock {
        let slot = imp::register(&file);
        HeldLock { file, slot }
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for HeldLock {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        // Before the file closes: a registered number is always this
        // lock's, never a file opened later under the same number.
        if let Some(slot) = self.slot {
            imp::unregister(slot);
        }
    }
}

/// Runs `fork` (which forks) so that the child keeps every lock this
/// process holds: the compaction after exit hands its locks to its child.
pub(crate) fn keeping_locks_in_child<T>(fork: impl FnOnce() -> T) -> T {
    imp::KEEP_IN_CHILD.store(true, std::sync::atomic::Ordering::SeqCst);
    let forked = fork();
    imp::KEEP_IN_CHILD.store(false, std::sync::atomic::Ordering::SeqCst);
    forked
}

#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "pthread_atfork, open, dup2, fcntl and close through libc"
)]
mod imp {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
    use std::sync::Once;

    /// Locks a process holds at once: a store's lane and compaction lock,
    /// for each store it has open. A lock past it is not registered (a
    /// child keeps it, as it would without this module).
    const SLOTS: usize = 128;

    /// Registered descriptors; -1 in a free slot.
    static REGISTERED: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];

    /// Set while this process forks a child that keeps its locks.
    pub(super) static KEEP_IN_CHILD: AtomicBool = AtomicBool::new(false);

    static INSTALL: Once = Once::new();

    pub(super) fn register(file: &std::fs::File) -> Option<usize> {
        INSTALL.call_once(|| {
            // SAFETY: registers a plain `extern "C" fn()` that never
            // unwinds; failing (no memory) leaves forks as they were.
            unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        });
        let fd = file.as_raw_fd();
        REGISTERED.iter().position(|slot| {
            slot.compare_exchange(-1, fd, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        })
    }

    pub(super) fn unregister(slot: usize) {
        if let Some(s) = REGISTERED.get(slot) {
            s.store(-1, Ordering::SeqCst);
        }
    }

    /// Runs in the child of every `fork()`, before `fork` returns there:
    /// only async-signal-safe calls (open, dup2, fcntl, close) and atomics.
    extern "C" fn in_child() {
        if KEEP_IN_CHILD.load(Ordering::SeqCst) {
            return;
        }
        // SAFETY: a constant NUL-terminated path; flags of the C library.
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if null < 0 {
            return;
        }
        for slot in &REGISTERED {
            let fd = slot.load(Ordering::SeqCst);
            if fd >= 0 && fd != null {
                // SAFETY: `fd` is open in this child (a copy of the
                // parent's lock); dup2 replaces it with /dev/null, which
                // an exec then closes, as it would have closed the lock.
                unsafe {
                    if libc::dup2(null, fd) == fd {
                        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                    }
                }
            }
        }
        // SAFETY: ours, opened above.
        unsafe { libc::close(null) };
    }
}

#[cfg(not(unix))]
mod imp {
    use std::sync::atomic::AtomicBool;

    pub(super) static KEEP_IN_CHILD: AtomicBool = AtomicBool::new(false);

    pub(super) fn register(_: &std::fs::File) -> Option<usize> {
        None
    }

    pub(super) fn unregister(_: usize) {}
}

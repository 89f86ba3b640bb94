//! Compaction after a process exits: a finished training program leaves
//! a compacted store without anyone running `runlog compact`, and without
//! its exit waiting for the compaction.
//!
//! At exit (the fluent API's exit hook), after everything logged is
//! flushed, the process takes the store's compaction lock and forks a
//! detached child, which inherits the lock (or, when the process's own
//! background compactor held it, that compactor's descriptor, which holds
//! it as well). The child closes every other
//! file it inherited (so that a pipe reading the program's output ends
//! with the program), waits until the parent's lane is free (the parent's
//! exit releases it), then compacts the store as `runlog compact` would
//! and exits. The parent waits only for the fork; as the lock is held from
//! before the parent's exit to the compaction's end, whoever looks at the
//! store right after the program ends (`runlog stats`, a compaction)
//! waits for the compaction instead of racing it.
//!
//! A killed child leaves what any killed compaction leaves: a store that
//! reads the same, whose next compaction (the next opener's background
//! compactor among them) takes what is left.

use std::fs;
use std::path::Path;

use crate::compact::CompactOptions;
use crate::error::StorageResult;
use crate::layout::lane_path;
use crate::log::lane::{list_lanes, list_segments, try_lock};
use crate::log::manifest::Manifest;

/// Raw segment bytes below which a compaction after exit is not worth a
/// generation file: many small runs are compacted together, once their
/// segments add up to this much.
pub const AFTER_EXIT_MIN_BYTES: u64 = 4 << 20;

/// Bytes of raw segments a compaction would take if `own_lane` (the
/// caller's, about to be released) were free: every segment not yet
/// replaced of a lane no live writer holds, all but the last one of a lane
/// a live writer holds.
pub fn compactable_bytes(store: &Path, own_lane: u64) -> StorageResult<u64> {
    raw_bytes(store, own_lane, true)
}

/// Bytes of raw segments in lanes no writer holds (writers that exited
/// without compacting): what the background compactor of the writer of
/// `own_lane` takes now and then.
pub(crate) fn left_by_others(store: &Path, own_lane: u64) -> StorageResult<u64> {
    raw_bytes(store, own_lane, false)
}

fn raw_bytes(store: &Path, own_lane: u64, count_own: bool) -> StorageResult<u64> {
    let replaced = Manifest::load(store)?.replaced();
    let mut total = 0;
    for lane in list_lanes(store)? {
        if lane.id == own_lane && !count_own {
            continue;
        }
        let free = lane.id == own_lane || try_lock(&lane.path)?.is_some();
        if !count_own && !free {
            continue; // a live writer's: its own compactor's cadence
        }
        let segments = list_segments(&lane.path)?;
        let candidates = match (free, segments.split_last()) {
            (true, _) => &segments[..],
            (false, Some((_writers, older))) => older,
            (false, None) => continue,
        };
        for seg in candidates {
            if replaced.contains(&(lane.id, seg.sequence)) {
                continue;
            }
            // A segment a concurrent compaction just deleted counts nothing.
            total += fs::metadata(&seg.path).map_or(0, |m| m.len());
        }
    }
    Ok(total)
}

/// Lanes whose writers end with this process, by store.
#[derive(Debug, Default)]
pub struct ExitingLanes {
    /// Each store once (its path made absolute and resolved, so that two
    /// spellings of one store are one), with its lanes.
    stores: Vec<(std::path::PathBuf, Vec<u64>)>,
}

impl ExitingLanes {
    /// Adds the lane `lane` of `store`, which a writer of this process
    /// holds until it exits (once: clients sharing a writer add it again).
    pub fn push(&mut self, store: &Path, lane: u64) {
        let store = fs::canonicalize(store).unwrap_or_else(|_| store.to_owned());
        match self.stores.iter_mut().find(|(s, _)| *s == store) {
            Some((_, lanes)) if lanes.contains(&lane) => {}
            Some((_, lanes)) => lanes.push(lane),
            None => self.stores.push((store, vec![lane])),
        }
    }

    /// Whether no lane was added.
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }
}

/// How long the child waits for its parent's lanes to be released before
/// it gives up (the parent did not exit: a later compaction takes them).
const PARENT_EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Forks a detached child that compacts each store of `lanes` once this
/// process has exited (see the module's documentation), if this process
/// is resident in at most [`AFTER_EXIT_MAX_RESIDENT`] bytes; returns
/// whether it forked. Returns as soon as the child is forked: the
/// compaction locks are taken before, and the child holds them on; where
/// this process's background compactor held one, the child keeps its copy
/// of the compactor's descriptor (the lock stays held through the exit,
/// which ends that compaction), and where another process's compaction
/// held it, the child waits for that to end first. Call it only at exit: the child holds
/// copies of this process's memory (copy-on-write) until it ends. Does
/// nothing where `fork` is not available or the resident size is unknown
/// (not Linux).
pub fn compact_after_exit(lanes: &ExitingLanes) -> std::io::Result<bool> {
    let small = resident_bytes().is_some_and(|b| b <= AFTER_EXIT_MAX_RESIDENT);
    if lanes.is_empty() || !small {
        return Ok(false);
    }
    imp::fork_compactor(lanes).map(|()| true)
}

/// The largest resident size of a process whose exit forks the compaction:
/// a fork copies the page tables, about 16 ms for each GiB resident here
/// (BENCHMARKS.md), which the exit would wait for. A larger process leaves
/// its segments to the next compaction (the next opener's background
/// compactor, the server's, `runlog compact`).
pub const AFTER_EXIT_MAX_RESIDENT: u64 = 256 << 20;

/// This process's resident memory, where the system tells it cheaply.
#[cfg(target_os = "linux")]
#[allow(unsafe_code, reason = "sysconf through libc")]
fn resident_bytes() -> Option<u64> {
    // statm: sizes in pages; the second is the resident set.
    let statm = fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf reads a constant of the system.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    Some(pages.saturating_mul(page))
}

#[cfg(not(target_os = "linux"))]
fn resident_bytes() -> Option<u64> {
    None
}

#[cfg(not(unix))]
mod imp {
    pub(super) fn fork_compactor(_: &super::ExitingLanes) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "fork, setsid, dup2, close and _exit through libc"
)]
mod imp {
    use std::io;
    use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
    use std::path::PathBuf;

    use super::{ExitingLanes, PARENT_EXIT_WAIT};
    use crate::compact::compactor::{compact_while_locked, lock_compactions};
    use crate::held_lock::HeldLock;
    use crate::layout::{COMPACT_DIR, COMPACT_LOCK_FILE};

    pub(super) fn fork_compactor(lanes: &ExitingLanes) -> io::Result<()> {
        // Taken here, before the fork: the child's copy of each descriptor
        // holds the lock on after this process's copy is closed (an flock
        // belongs to the open file, which both share), so the store is
        // never without it between this process's exit and the compaction.
        let locked = lock_stores(lanes);
        // SAFETY: the child runs only `child`, which never returns: it
        // ends with `_exit`, so no destructor or exit hook of the parent's
        // runs twice. Other threads of the parent are not in the child;
        // the child takes no lock they may hold but the allocator's, which
        // the C library makes safe across fork.
        match crate::held_lock::keeping_locks_in_child(|| unsafe { libc::fork() }) {
            -1 => Err(io::Error::last_os_error()),
            0 => child(&locked),
            // This process's descriptors close as `locked` drops; the
            // child's hold the locks.
            _ => Ok(()),
        }
    }

    /// The child: detaches, waits for each lane's writer to exit, compacts,
    /// exits.
    fn child(locked: &[(PathBuf, Vec<u64>, Option<HeldLock>)]) -> ! {
        let _ = std::panic::catch_unwind(|| {
            // Where the lock was held when the parent forked by one of its
            // own threads (its background compactor), this process has a
            // copy of that thread's descriptor: kept, it holds the lock on
            // through the parent's exit, with no moment without it.
            let inherited: Vec<Vec<RawFd>> = locked
                .iter()
                .map(|(store, _, lock)| match lock {
                    Some(_) => Vec::new(),
                    None => descriptors_of(&store.join(COMPACT_DIR).join(COMPACT_LOCK_FILE)),
                })
                .collect();
            let keep: Vec<RawFd> = locked
                .iter()
                .filter_map(|(_, _, f)| f.as_ref().map(AsRawFd::as_raw_fd))
                .chain(inherited.iter().flatten().copied())
                .collect();
            detach(&keep);
            for ((store, lanes, lock), inherited) in locked.iter().zip(&inherited) {
                // Another process's compaction ran when the parent forked:
                // wait for it to end.
                let _waited = match lock.is_none() && inherited.is_empty() {
                    false => None,
                    true => match lock_compactions(store, true) {
                        Ok(lock) => Some(lock),
                        Err(_) => continue,
                    },
                };
                let deadline = std::time::Instant::now() + PARENT_EXIT_WAIT;
                if lanes
                    .iter()
                    .all(|&lane| super::wait_for_lane(store, lane, deadline))
                {
                    let _ = compact_while_locked(store, &super::options(), &|_| {});
                }
            }
        });
        // SAFETY: ends the child at once, running no exit hook of the
        // parent's (its atexit handlers, its buffered output).
        unsafe { libc::_exit(0) }
    }

    /// Leaves the parent's session (a terminal's hang-up or Ctrl-C no
    /// longer reaches the child) and every file it inherited but `keep`;
    /// standard input and outputs become /dev/null.
    fn detach(keep: &[RawFd]) {
        // SAFETY: setsid takes no argument; failing (already a leader)
        // leaves the child where it was, which is harmless.
        unsafe { libc::setsid() };
        close_all_but(keep);
        if let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            // Kept open when it took one of the three (the parent had
            // closed it): no file the compaction opens may land there.
            let null = null.into_raw_fd();
            for fd in (0..3).filter(|fd| *fd != null) {
                // SAFETY: both descriptors are open; dup2 replaces `fd`.
                unsafe { libc::dup2(null, fd) };
            }
            if null > 2 {
                // SAFETY: ours, and not used again.
                unsafe { libc::close(null) };
            }
        }
    }

    /// Closes every descriptor from 3 on but those of `keep`.
    fn close_all_but(keep: &[RawFd]) {
        let mut keep: Vec<u32> = keep
            .iter()
            .filter_map(|&fd| u32::try_from(fd).ok())
            .collect();
        keep.sort_unstable();
        let mut first = 3u32;
        for k in keep {
            if k > first {
                close_range(first, k - 1);
            }
            first = first.max(k.saturating_add(1));
        }
        close_range(first, u32::MAX);
    }

    #[cfg(target_os = "linux")]
    fn close_range(first: u32, last: u32) {
        // SAFETY: close_range closes descriptors in the range and touches
        // no memory.
        let done = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) } == 0;
        if !done {
            close_each(first, last);
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn close_range(first: u32, last: u32) {
        close_each(first, last);
    }

    /// Closes the descriptors of a range one by one, up to the process's
    /// limit of open files.
    fn close_each(first: u32, last: u32) {
        // SAFETY: sysconf reads a limit.
        let limit = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
        let limit = u32::try_from(limit).unwrap_or(1 << 16).min(1 << 20);
        for fd in first..=last.min(limit) {
            if let Ok(fd) = i32::try_from(fd) {
                // SAFETY: closing a descriptor that may not be open.
                unsafe { libc::close(fd) };
            }
        }
    }

    /// The descriptors of this process open on the file at `path` (Linux:
    /// read from /proc/self/fd; elsewhere none are found).
    fn descriptors_of(path: &std::path::Path) -> Vec<RawFd> {
        let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| std::fs::read_link(e.path()).is_ok_and(|target| target == path))
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect()
    }

    /// Takes each store's compaction lock: `None` where a compaction holds
    /// it (the child waits for it to end).
    fn lock_stores(lanes: &ExitingLanes) -> Vec<(PathBuf, Vec<u64>, Option<HeldLock>)> {
        lanes
            .stores
            .iter()
            .map(|(store, lanes)| {
                let lock = lock_compactions(store, false).ok();
                (store.clone(), lanes.clone(), lock)
            })
            .collect()
    }
}

/// The compaction after exit: at most 64 MiB of segments a generation, as
/// in the background (about 60 MiB of memory while it sorts), the replaced segments deleted at
/// once (a follower that had not read them reads the store again).
fn options() -> CompactOptions {
    CompactOptions {
        max_input_bytes: super::background::AUTO_COMPACT_INPUT_BYTES,
        keep_replaced_for: std::time::Duration::ZERO,
        wait_for_other: false,
    }
}

/// Waits until lane `lane` of `store` is free (its writer's process
/// ended), polling, until `deadline`. False if it never was.
fn wait_for_lane(store: &Path, lane: u64, deadline: std::time::Instant) -> bool {
    let path = lane_path(store, lane);
    let mut pause = std::time::Duration::from_micros(200);
    loop {
        match try_lock(&path) {
            Ok(Some(_free)) => return true,
            Ok(None) if std::time::Instant::now() < deadline => {}
            _ => return false,
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_listed_once_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("mlruns");
        fs::create_dir_all(&store).unwrap();
        let mut lanes = ExitingLanes::default();
        lanes.push(&store, 1);
        lanes.push(&dir.path().join("./mlruns/../mlruns"), 1);
        lanes.push(&store, 2);
        assert_eq!(lanes.stores.len(), 1);
        assert_eq!(lanes.stores[0].1, [1, 2]);
    }
}

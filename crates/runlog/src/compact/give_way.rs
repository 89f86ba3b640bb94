//! Foreground work the background compactor gives way to: a server counts
//! the requests it is serving, and while any is, the compactor pauses
//! between the steps of its work (2,048 entries read, a series sorted, a
//! chunk of 4,096 points written), so that the requests have the cores. Paused
//! work waits for a gap in the load, not for ever: once the writer has
//! sealed [`GIVE_WAY_MAX_BACKLOG`] of segments since the compaction began,
//! the compactor stops giving way until it has caught up.

use std::time::Duration;

use crate::foreground::Foreground;

/// Segment bytes sealed during one compaction past which it stops giving
/// way: what deferring may leave raw, in bytes on disk and in reads that
/// replay them, at most (about 7 M points).
pub const GIVE_WAY_MAX_BACKLOG: u64 = 256 << 20;

/// How long a paused compactor sleeps before it looks at the load again.
pub(crate) const GIVE_WAY_NAP: Duration = Duration::from_millis(1);

/// Whether a compaction should pause now: foreground work is in progress,
/// the store is not closing, and fewer than [`GIVE_WAY_MAX_BACKLOG`] bytes
/// of segments were sealed since it began (`sealed_since` segments of
/// `segment_size` bytes).
pub(crate) fn should_pause(
    foreground: &Foreground,
    closing: bool,
    sealed_since: u64,
    segment_size: u64,
) -> bool {
    foreground.is_busy()
        && !closing
        && sealed_since.saturating_mul(segment_size) < GIVE_WAY_MAX_BACKLOG
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compaction_pauses_only_while_busy_open_and_below_the_backlog_bound() {
        let requests = Foreground::new();
        let segment = 8 << 20;
        assert!(!should_pause(&requests, false, 0, segment), "idle");
        let _serving = requests.begin();
        assert!(should_pause(&requests, false, 0, segment));
        assert!(
            should_pause(&requests, false, 31, segment),
            "248 MiB sealed"
        );
        assert!(
            !should_pause(&requests, false, 32, segment),
            "256 MiB sealed"
        );
        assert!(!should_pause(&requests, true, 0, segment), "closing");
        assert!(
            !should_pause(&requests, false, u64::MAX, segment),
            "no overflow"
        );
    }
}

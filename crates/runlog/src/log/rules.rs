//! The segment-level rules of FORMAT.md ("Validity"), applied in order to
//! what the scanner finds: nothing after a seal, a seal that counts the
//! entries before it. Recovery and replay share them.

use crate::format::Entry;
use crate::log::recovery::{Damage, TornTail};
use crate::log::scan::ScanItem;

/// What a scanned item means for the segment.
#[derive(Debug)]
pub(crate) enum Checked<'a> {
    /// A valid entry in its place.
    Entry {
        /// Offset of the entry.
        offset: u64,
        /// The entry.
        entry: Entry<'a>,
    },
    /// Bytes that break a rule.
    Damage(Damage),
    /// An incomplete tail.
    Torn(TornTail),
}

/// The state of the rules over one segment.
#[derive(Debug, Clone)]
pub(crate) struct SegmentRules {
    lane: u64,
    segment: u64,
    entries: u64,
    sealed: bool,
    /// Invalid bytes were seen: the seal's count cannot match then.
    damaged: bool,
}

impl SegmentRules {
    /// Rules for segment `segment` of lane `lane`, from its first entry.
    pub(crate) fn new(lane: u64, segment: u64) -> Self {
        SegmentRules {
            lane,
            segment,
            entries: 0,
            sealed: false,
            damaged: false,
        }
    }

    /// Valid entries seen so far (a seal, and entries after it, included).
    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    /// Whether a seal entry was seen.
    pub(crate) fn sealed(&self) -> bool {
        self.sealed
    }

    /// Damage in this segment.
    pub(crate) fn damage(&self, offset: u64, len: u64, reason: impl Into<String>) -> Damage {
        Damage {
            lane: self.lane,
            segment: self.segment,
            offset,
            len,
            reason: reason.into(),
        }
    }

    /// The damage a torn tail is when the segment is not its lane's last
    /// (only the last segment can be mid-write or left by a crash).
    pub(crate) fn torn_damage(&self, torn: &TornTail, is_last: bool) -> Option<Damage> {
        (!is_last).then(|| {
            self.damage(
                torn.offset,
                torn.bytes,
                "incomplete entry in a sealed segment",
            )
        })
    }

    /// The damage of a whole read window without a valid entry in a file
    /// that goes on after it: not a torn tail, as bytes follow.
    pub(crate) fn window_damage(&self, torn: &TornTail) -> Damage {
        self.damage(
            torn.offset,
            torn.bytes,
            "a whole read window of bytes that are no valid entry",
        )
    }

    /// The damage, at the end of the segment, of a segment that is not
    /// sealed though a later one exists.
    pub(crate) fn end_damage(&self, end: u64, is_last: bool) -> Option<Damage> {
        (!self.sealed && !is_last)
            .then(|| self.damage(end, 0, "segment is not sealed but a later segment exists"))
    }

    /// The damage of a metric entry whose series the segment never bound.
    pub(crate) fn unbound_damage(&self, offset: u64, end: u64, series: u32) -> Damage {
        self.damage(
            offset,
            end - offset,
            format!("metric of series {series} that no Series entry of the segment binds"),
        )
    }

    /// Counts a valid Metric or Points entry read by a reader's fast path, which
    /// takes one only before the seal (after it, an entry is damage that
    /// [`check`](SegmentRules::check) reports).
    #[inline]
    pub(crate) fn count_point(&mut self) {
        debug_assert!(!self.sealed, "the fast path reads no entry after a seal");
        self.entries += 1;
    }

    /// Classifies the next item of the scan; `end` is the scanner's position
    /// after it.
    pub(crate) fn check<'a>(&mut self, item: ScanItem<Entry<'a>>, end: u64) -> Checked<'a> {
        match item {
            ScanItem::Entry { offset, entry } => {
                let before = self.entries;
                self.entries += 1;
                if self.sealed {
                    return Checked::Damage(self.damage(
                        offset,
                        end - offset,
                        "entry after the seal",
                    ));
                }
                if let Entry::Seal { entries } = entry {
                    self.sealed = true;
                    // After damage the count cannot match: reported already.
                    if entries != before && !self.damaged {
                        return Checked::Damage(self.damage(
                            offset,
                            end - offset,
                            format!("seal counts {entries} entries, the segment holds {before}"),
                        ));
                    }
                }
                Checked::Entry { offset, entry }
            }
            ScanItem::Corrupt { offset, len } => {
                self.damaged = true;
                Checked::Damage(self.damage(
                    offset,
                    len,
                    "invalid entry (bad length, kind or checksum)",
                ))
            }
            ScanItem::Torn {
                offset,
                len,
                entries,
            } => Checked::Torn(TornTail {
                lane: self.lane,
                segment: self.segment,
                offset,
                bytes: len,
                entries,
            }),
        }
    }
}

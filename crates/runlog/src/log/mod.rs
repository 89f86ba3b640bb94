//! The segmented log: lanes of segments, the scanner that classifies their
//! bytes, and recovery of lanes left by dead writers.

pub mod generation;
pub(crate) mod lane;
pub mod manifest;
pub(crate) mod mapped;
pub(crate) mod marker;
pub(crate) mod reader;
pub(crate) mod recovery;
pub(crate) mod rules;
pub(crate) mod scan;
pub(crate) mod segment;

pub use lane::{list_lanes, list_segments, LaneDir, SegmentFile};
pub use recovery::{Damage, RecoveryReport, TornTail};
pub use scan::{EntryRules, ScanItem, SegmentEntries, SegmentScan};

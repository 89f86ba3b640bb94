//! Compaction (FORMAT.md, "Compaction"): sealed segments become immutable
//! generation files of records and compressed per-series chunks, published
//! by an atomic rename of the manifest; the replaced segments are deleted
//! afterwards.

mod after_exit;
mod background;
mod compactor;
mod give_way;
mod write;

pub use crate::error::CompactError;
pub use crate::layout::COMPACT_LOCK_FILE;
pub use after_exit::{
    compact_after_exit, compactable_bytes, ExitingLanes, AFTER_EXIT_MAX_RESIDENT,
    AFTER_EXIT_MIN_BYTES,
};
pub use write::MAX_CHUNK_POINTS;

pub(crate) use background::spawn_background;
pub(crate) use compactor::hold_compactions;
pub use compactor::{
    compact, compact_with, compact_with_progress, wait_for_compaction, CompactOptions,
    CompactionReport,
};
#[cfg(feature = "internals")]
pub use compactor::{compact_steered, Steering};
pub use give_way::GIVE_WAY_MAX_BACKLOG;
pub(crate) use give_way::{should_pause, GIVE_WAY_NAP};
#[cfg(test)]
pub(crate) use write::{write_generation, SeriesMap};

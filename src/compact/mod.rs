//! Compaction (FORMAT.md, "Compaction"): sealed segments become immutable
//! generation files of records and compressed per-series chunks, published
//! by an atomic rename of the manifest; the replaced segments are deleted
//! afterwards.

pub mod codec;
mod compactor;
pub mod curves;
pub mod generation;
pub mod manifest;

pub(crate) use compactor::hold_compactions;
pub use compactor::{
    compact, compact_with, compact_with_progress, CompactOptions, CompactionReport,
    COMPACT_LOCK_FILE,
};

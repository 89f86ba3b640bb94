//! The bytes on disk, exactly as FORMAT.md specifies them.
//!
//! Every constant here names the FORMAT.md section that defines it. Reader
//! and writer share these definitions; `tests/format_golden.rs` pins them to
//! the hex examples of the spec.

pub mod codec;
mod entry;
mod frame;
mod generation;
mod header;
mod kind;
mod manifest;
mod metric;
mod record;
mod wire;

pub(crate) use entry::{
    decode_metric_frame, decode_points_frame, encode_record, PointsEncoder,
};
pub use entry::{Entry, Points};
pub(crate) use frame::count_frame_starts;
pub use frame::{claimed_frame_len, decode_frame, encode_frame, FrameCheck, FRAME_HEADER_LEN};
pub use generation::{
    block_extremes, decode_blocks_payload, decode_chunk_payload, decode_replaces,
    encode_blocks_payload, encode_chunk_payload, encode_replaces, extremes, ChunkBlocks,
    ChunkHeader,
};
pub use header::{
    GenerationHeader, SegmentHeader, StoreMarker, GENERATION_HEADER_LEN, SEGMENT_HEADER_LEN,
    STORE_MARKER_LEN,
};
pub use kind::{
    EntryKind, MAX_BLOCKS_PER_ENTRY, MAX_CHUNK_PAYLOAD_LEN, MAX_PAYLOAD_LEN, MAX_POINTS_PER_ENTRY,
    MAX_RECORD_PAYLOAD_LEN, MAX_REPLACES_PER_ENTRY, MAX_SERIES_PAYLOAD_LEN,
};
pub use manifest::{decode_manifest, encode_manifest, GenerationEntry, MANIFEST_MAGIC};
pub use metric::Metric;
pub use record::{DatasetInput, ModelStatus, Record, RunStatus};
pub use wire::DecodeError;
pub(crate) use wire::{put_i64, put_str, put_u32, put_u64, Cursor};

/// The newest format version this build reads and writes (FORMAT.md,
/// "Versions"): version 2 adds compacted generations to version 1; version
/// 3 lets compaction replace a lane's last segment (a lane's numbering then
/// goes on from the manifest); version 4 adds Blocks entries (the extremes
/// of each run of a chunk's points, for plots) to generation files; version
/// 5 adds MLflow 3's logged models and the model registry (entry kinds 32
/// to 54); version 6 writes metric points in Points entries (kind 7), up to
/// 256 under one CRC.
pub const FORMAT_VERSION: u32 = 6;

/// Version in segment headers (unchanged since version 1).
pub const SEGMENT_VERSION: u32 = 1;

/// Store marker version of a store that was never compacted: any reader of
/// version 1 reads it.
pub const STORE_VERSION_PLAIN: u32 = 1;

/// Store marker version of a store compacted by this version: readers of
/// versions 1 and 2 refuse it (they would miss the compacted data, or
/// number a lane's next segment after one the manifest already lists), and
/// readers of version 3 too (they cannot read version 4 generation files).
pub const STORE_VERSION_COMPACTED: u32 = 4;

/// Store marker version of a store that holds logged-model records (entry
/// kinds 32 to 54): readers of versions 1 to 4 refuse it, rather than read
/// those entries as damage. Set by a version 5 writer before its first
/// such record; this build's writers raise every store to
/// [`STORE_VERSION_POINTS`] as they open it, which covers those records.
pub const STORE_VERSION_MODELS: u32 = 5;

/// Store marker version of a store whose segments may hold Points entries
/// (kind 7): readers of versions 1 to 5 refuse it, rather than read its
/// points as damage. Every store this build opens for writing is raised to
/// it before its writer starts.
pub const STORE_VERSION_POINTS: u32 = 6;

/// Version in the headers of the generation files this build writes:
/// version 3 begins with Replaces entries, version 4 may hold Blocks
/// entries (FORMAT.md, "Generation files").
pub const GENERATION_VERSION: u32 = 4;

/// The oldest generation version this build reads (version 2 files have no
/// Replaces entries: a lost manifest cannot be rebuilt from them).
pub const GENERATION_VERSION_OLDEST: u32 = 2;

/// Version of the compaction manifest (unchanged since version 2).
pub const MANIFEST_VERSION: u32 = 2;

/// Encoded size of a metric entry including its frame (FORMAT.md, "Entry kinds").
pub const METRIC_FRAME_LEN: usize = FRAME_HEADER_LEN + kind::METRIC_PAYLOAD_LEN;

/// Encoded size of a seal entry including its frame (FORMAT.md, "Entry kinds").
pub const SEAL_FRAME_LEN: usize = FRAME_HEADER_LEN + kind::SEAL_PAYLOAD_LEN;

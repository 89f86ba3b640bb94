//! The bytes on disk, exactly as FORMAT.md specifies them.
//!
//! Every constant here names the FORMAT.md section that defines it. Reader
//! and writer share these definitions; `tests/format_golden.rs` pins them to
//! the hex examples of the spec.

mod entry;
mod frame;
mod header;
mod record;
mod wire;

pub(crate) use entry::{encode_metric, encode_record};
pub use entry::{Entry, EntryKind, MetricPoint, MAX_RECORD_PAYLOAD_LEN, MAX_SERIES_PAYLOAD_LEN};
pub(crate) use frame::count_frame_starts;
pub use frame::{decode_frame, encode_frame, FrameCheck, FRAME_HEADER_LEN, MAX_PAYLOAD_LEN};
pub use header::{SegmentHeader, StoreMarker, SEGMENT_HEADER_LEN, STORE_MARKER_LEN};
pub use record::{DatasetInput, Record, RunStatus};
pub use wire::DecodeError;

/// The format version this build writes and reads (FORMAT.md, "Versions").
pub const FORMAT_VERSION: u32 = 1;

/// Encoded size of a metric entry including its frame (FORMAT.md, "Metric").
pub const METRIC_FRAME_LEN: usize = FRAME_HEADER_LEN + entry::METRIC_PAYLOAD_LEN;

/// Encoded size of a seal entry including its frame (FORMAT.md, "Seal").
pub const SEAL_FRAME_LEN: usize = FRAME_HEADER_LEN + entry::SEAL_PAYLOAD_LEN;

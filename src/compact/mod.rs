//! Compaction (issue 4): the chunk codec that compresses a metric series
//! sorted by step. Chunk files, the manifest and the metadata snapshot
//! build on it.

pub mod codec;
pub mod curves;

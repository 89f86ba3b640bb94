//! The chunk index of a generation: where each series' chunks sit, their
//! step ranges, counts and extremes, read once from the file's entries so
//! that a query picks chunks without decoding them.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Result, StorageError};
use crate::format::Metric;
use crate::log::generation::{Generation, GenerationItem};

/// Where a chunk sits and what it holds, without decoding it.
#[derive(Debug, Clone, Copy)]
pub struct ChunkRef {
    /// Offset of its entry in the generation file.
    pub offset: u64,
    /// Smallest step.
    pub first_step: i64,
    /// Largest step.
    pub last_step: i64,
    /// Number of points.
    pub count: u32,
    /// Point of least value.
    pub min: Metric,
    /// Point of greatest value.
    pub max: Metric,
    /// The chunk's Blocks entry, when it has one: its offset and its points
    /// per block.
    pub blocks: Option<(u64, u32)>,
}

/// Where each series' chunks sit in one generation.
pub struct ChunkIndex {
    /// The generation, mapped.
    pub generation: Generation,
    /// (run id, key) -> chunks in step order.
    pub chunks: HashMap<(Arc<str>, Arc<str>), Vec<ChunkRef>>,
}

impl ChunkIndex {
    /// Reads a generation's entries once (checking every CRC) and indexes
    /// its chunks. Damage (a header, an entry, a cut end) is skipped: a
    /// damaged entry costs only its own points, and the rest is indexed.
    /// It is reported where the generation is read whole (the client's
    /// replay yields it as [`StorageError::Corrupt`], `runlog verify` lists it);
    /// any other error fails.
    pub fn build(generation: Generation) -> Result<ChunkIndex> {
        let mut chunks: HashMap<_, Vec<ChunkRef>> = HashMap::new();
        // The last chunk indexed: a Blocks entry right after it belongs to it.
        let mut last: Option<(Arc<str>, Arc<str>)> = None;
        for item in generation.items() {
            match item {
                Ok((offset, GenerationItem::Chunk(h, _))) => {
                    let series = (h.run_id, h.key);
                    last = Some(series.clone());
                    chunks.entry(series).or_default().push(ChunkRef {
                        offset,
                        first_step: h.first_step,
                        last_step: h.last_step,
                        count: h.count,
                        min: h.min,
                        max: h.max,
                        blocks: None,
                    })
                }
                Ok((offset, GenerationItem::Blocks(b))) => {
                    let chunk = last
                        .take()
                        .and_then(|series| chunks.get_mut(&series))
                        .and_then(|refs| refs.last_mut())
                        .filter(|c| b.covers(c.count));
                    // Blocks after anything but a chunk, or not as many as
                    // the chunk needs, are ignored: the chunk is then
                    // decoded (`runlog verify` reports them).
                    if let Some(c) = chunk {
                        c.blocks = Some((offset, b.size));
                    }
                }
                Ok((_, GenerationItem::Record(_))) => last = None,
                Err(StorageError::Corrupt(_)) => last = None,
                Err(e) => return Err(e.into()),
            }
        }
        // Built once and kept: the scan's pages need not stay resident.
        generation.release_all();
        Ok(ChunkIndex { generation, chunks })
    }
}

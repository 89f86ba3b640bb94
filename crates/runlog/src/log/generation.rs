//! Generation files (`compact/<number>.gen`): what one compaction made of
//! the segments it replaced. A 32-byte header, then framed entries exactly
//! as in segments: the segments it replaces (Replaces entries, from which a
//! lost manifest is rebuilt), the records (params, tags, runs, experiments,
//! inputs) in replay order, then one Chunk entry per at most 4,096 points
//! of each metric series, sorted by step (a long chunk followed by a Blocks
//! entry with the extremes of each run of its points), then a Seal counting the entries
//! before it (FORMAT.md, "Generation files"). Read here; written by
//! [`compact`](crate::compact).

use std::path::Path;

use crate::error::{Damage, StorageError, StorageResult};
use crate::format::{
    codec, decode_blocks_payload, decode_chunk_payload, decode_frame, decode_replaces,
    ChunkBlocks, ChunkHeader, Entry, EntryKind,
    FrameCheck, GenerationHeader, Metric, Record, GENERATION_HEADER_LEN, GENERATION_VERSION,
    GENERATION_VERSION_OLDEST,
};
use crate::log::mapped::SegmentBytes;
use crate::log::scan::{EntryRules, ScanItem, SegmentScan};

/// One entry of a generation file.
#[derive(Debug, Clone)]
pub enum GenerationItem<'a> {
    /// A record, in replay order.
    Record(Record<&'a str>),
    /// A chunk of a series: its header and codec bytes.
    Chunk(ChunkHeader, &'a [u8]),
    /// The extremes of each block of points of the chunk before it.
    Blocks(ChunkBlocks<'a>),
}

/// An entry of a generation file as the scanner finds it (FORMAT.md,
/// "Generation files": Replaces, records, Chunks, Blocks, a Seal; a
/// segment's Series and Metric entries are not valid here).
enum GenerationEntry<'a> {
    Replaces,
    Record(Record<&'a str>),
    Chunk(ChunkHeader, &'a [u8]),
    Blocks(ChunkBlocks<'a>),
    Seal { entries: u64 },
}

/// The entry rules of generation files, for the segments' scanner.
struct GenerationEntries;

impl<'a> EntryRules<'a> for GenerationEntries {
    type Entry = GenerationEntry<'a>;

    fn valid_at(buf: &'a [u8], pos: usize) -> Option<(GenerationEntry<'a>, usize)> {
        let FrameCheck::Valid { kind, payload, end } = decode_frame(buf, pos) else {
            return None;
        };
        let entry = match kind {
            EntryKind::Chunk => {
                let (header, chunk) = decode_chunk_payload(payload).ok()?;
                GenerationEntry::Chunk(header, chunk)
            }
            EntryKind::Replaces => {
                decode_replaces(payload).ok()?;
                GenerationEntry::Replaces
            }
            EntryKind::Blocks => GenerationEntry::Blocks(decode_blocks_payload(payload).ok()?),
            _ => match Entry::decode(kind, payload).ok()? {
                Entry::Record(r) => GenerationEntry::Record(r),
                Entry::Seal { entries } => GenerationEntry::Seal { entries },
                Entry::Series { .. } | Entry::Metric { .. } | Entry::Points(_) => return None,
            },
        };
        Some((entry, end))
    }
}

/// An open generation file (memory-mapped).
pub struct Generation {
    number: u64,
    bytes: SegmentBytes,
    /// Why the header failed its checks, when it did.
    header_damage: Option<String>,
}

impl Generation {
    /// Opens generation `number` at `path` and checks its header. A header
    /// that fails its magic or CRC is damage, reported by
    /// [`header_damage`](Generation::header_damage): the manifest gives the
    /// number and the version, so the entries after it are read all the
    /// same. A valid header of another version or number is an error.
    pub fn open(path: &Path, number: u64) -> StorageResult<Generation> {
        let bytes = SegmentBytes::open(path, true)?;
        let header = match GenerationHeader::decode(bytes.window().0) {
            Ok(header) => header,
            Err(e) => {
                let reason = format!(
                    "generation header: {}; read as generation {number}, as the manifest says",
                    e
                );
                return Ok(Generation {
                    number,
                    bytes,
                    header_damage: Some(reason),
                });
            }
        };
        if !(GENERATION_VERSION_OLDEST..=GENERATION_VERSION).contains(&header.version) {
            return Err(StorageError::UnsupportedVersion {
                path: path.to_owned(),
                found: header.version,
                supported: GENERATION_VERSION,
            });
        }
        if header.generation != number {
            return Err(StorageError::Corrupt(Damage {
                lane: 0,
                segment: number,
                offset: 0,
                len: GENERATION_HEADER_LEN as u64,
                reason: format!(
                    "the file says generation {}, the manifest {number}",
                    header.generation
                ),
            }));
        }
        Ok(Generation {
            number,
            bytes,
            header_damage: None,
        })
    }

    /// The generation number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The damage of the file's header, when it failed its checks (as
    /// [`StorageError::Corrupt`], lane 0, the generation number as segment).
    pub fn header_damage(&self) -> Option<StorageError> {
        let reason = self.header_damage.as_deref()?;
        let len = self.bytes.end().min(GENERATION_HEADER_LEN) as u64;
        Some(self.damage(0, len, reason))
    }

    /// Every entry with its byte offset, in file order, checking each CRC
    /// and the final seal. A generation is written whole before it is
    /// published, so any damage is an error.
    pub fn items(&self) -> GenerationItems<'_> {
        GenerationItems {
            generation: self,
            cursor: ItemCursor::default(),
        }
    }

    /// The entry at the cursor, advancing it (for readers that keep the
    /// cursor apart from the generation). Damage is found and skipped by
    /// the segments' scanner, with a generation file's entry rules.
    pub(crate) fn next_item(
        &self,
        cur: &mut ItemCursor,
    ) -> Option<StorageResult<(u64, GenerationItem<'_>)>> {
        let bytes: &[u8] = self.bytes.window().0; // opened sealed: the whole file
        loop {
            if cur.done {
                return None;
            }
            if cur.pos == 0 {
                cur.pos = GENERATION_HEADER_LEN;
            }
            let mut scan = SegmentScan::<GenerationEntries>::in_window(bytes, 0, cur.pos);
            let Some(item) = scan.next() else {
                // Cut before its seal (or inside its header).
                cur.done = true;
                let offset = cur.pos as u64;
                return Some(Err(self.damage(offset, 0, "the file ends before its seal")));
            };
            cur.pos = scan.position();
            let (offset, entry) = match item {
                ScanItem::Entry { offset, entry } => (offset, entry),
                // Damage: go on at the next valid entry, as in segments, so
                // that one bad chunk costs only its own points; at the end
                // of the file, there is none.
                ScanItem::Corrupt { offset, len } | ScanItem::Torn { offset, len, .. } => {
                    cur.damaged = true;
                    cur.done = cur.pos >= bytes.len();
                    return Some(Err(self.damage(
                        offset,
                        len,
                        "bytes that are no valid entry (CRC, bounds, kind or a cut end)",
                    )));
                }
            };
            match entry {
                GenerationEntry::Seal { entries } => {
                    cur.done = true;
                    // After damage the count cannot match: already reported.
                    let counted = entries == cur.entries || cur.damaged;
                    if counted && cur.pos == bytes.len() {
                        return None;
                    }
                    let len = cur.pos as u64 - offset;
                    return Some(Err(self.damage(offset, len, "bad seal")));
                }
                GenerationEntry::Chunk(header, chunk) => {
                    cur.entries += 1;
                    return Some(Ok((offset, GenerationItem::Chunk(header, chunk))));
                }
                GenerationEntry::Blocks(blocks) => {
                    cur.entries += 1;
                    return Some(Ok((offset, GenerationItem::Blocks(blocks))));
                }
                // Read by `replaced_segments`; the manifest says the same.
                GenerationEntry::Replaces => cur.entries += 1,
                GenerationEntry::Record(r) => {
                    cur.entries += 1;
                    return Some(Ok((offset, GenerationItem::Record(r))));
                }
            }
        }
    }

    /// The segments this generation replaces, from its Replaces entries
    /// (the first entries of the file); `None` when it has none (a version
    /// 2 file) or one is damaged: then only the manifest knows.
    pub fn replaced_segments(&self) -> Option<Vec<(u64, u64)>> {
        let bytes: &[u8] = self.bytes.window().0; // opened sealed: the whole file
        let mut pos = GENERATION_HEADER_LEN;
        let mut segments = Vec::new();
        let mut any = false;
        loop {
            match decode_frame(bytes, pos) {
                FrameCheck::Valid {
                    kind: EntryKind::Replaces,
                    payload,
                    end,
                } => {
                    segments.extend(decode_replaces(payload).ok()?);
                    any = true;
                    pos = end;
                }
                // Entries lie back to back: the list ends at a valid entry
                // of another kind, never at damage (a damaged Replaces
                // entry would cut the list short).
                FrameCheck::Valid { .. } => return any.then_some(segments),
                FrameCheck::Incomplete | FrameCheck::Invalid => return None,
            }
        }
    }

    /// The points of a chunk, decoded.
    pub fn decode_chunk(&self, offset: u64, bytes: &[u8]) -> StorageResult<Vec<Metric>> {
        codec::decode(bytes).map_err(|e| self.damage(offset, bytes.len() as u64, e.0))
    }

    /// Damage at `offset..offset + len` of this file, with `reason`.
    pub(crate) fn damage(&self, offset: u64, len: u64, reason: &str) -> StorageError {
        StorageError::Corrupt(Damage {
            lane: 0,
            segment: self.number,
            offset,
            len,
            reason: format!("generation {}: {reason}", self.number),
        })
    }
}

impl Generation {
    /// Drops the whole file from the process's resident memory (after a
    /// scan whose result is kept, such as a chunk index).
    pub(crate) fn release_all(&self) {
        self.bytes.release(0, usize::MAX);
    }

    /// The chunk whose entry starts at `offset`: its header and points.
    pub fn chunk_at(&self, offset: u64) -> StorageResult<(ChunkHeader, Vec<Metric>)> {
        self.read_chunk(offset)
            .map(|(header, points, _)| (header, points))
    }

    /// [`chunk_at`](Generation::chunk_at) for a chunk read once: its bytes
    /// are then dropped from the process's resident memory.
    pub(crate) fn chunk_at_once(&self, offset: u64) -> StorageResult<(ChunkHeader, Vec<Metric>)> {
        let (header, points, end) = self.read_chunk(offset)?;
        self.bytes.release(offset as usize, end - offset as usize);
        Ok((header, points))
    }

    /// Hands each point of the chunk whose entry starts at `offset` to `out`,
    /// in order, without collecting them; returns the chunk's header and
    /// the offset just past its entry (for [`release`](Generation::release)).
    pub(crate) fn chunk_each(
        &self,
        offset: u64,
        out: &mut impl codec::PutPoint,
    ) -> StorageResult<(ChunkHeader, usize)> {
        let (header, chunk, end) = self.chunk_entry(offset)?;
        codec::decode_each(chunk, out).map_err(|e| self.damage(offset, chunk.len() as u64, e.0))?;
        Ok((header, end))
    }

    /// Drops bytes `from..to` of the file, read once, from the process's
    /// resident memory (one call for a run of chunks: each call interrupts
    /// the process's other threads).
    pub(crate) fn release(&self, from: usize, to: usize) {
        self.bytes.release(from, to.saturating_sub(from));
    }

    /// The Blocks entry at `offset`, its CRC checked, and the offset just
    /// past it.
    pub(crate) fn blocks_at(&self, offset: u64) -> StorageResult<(ChunkBlocks<'_>, usize)> {
        let bytes: &[u8] = self.bytes.window().0; // opened sealed: the whole file
        let pos = usize::try_from(offset).unwrap_or(usize::MAX);
        match decode_frame(bytes, pos) {
            FrameCheck::Valid {
                kind: EntryKind::Blocks,
                payload,
                end,
            } => {
                let blocks = decode_blocks_payload(payload)
                    .map_err(|r| self.damage(offset, payload.len() as u64, r.0))?;
                Ok((blocks, end))
            }
            _ => Err(self.damage(offset, 0, "no valid blocks entry at this offset")),
        }
    }

    /// A chunk's header and points, and the offset just past its entry.
    fn read_chunk(&self, offset: u64) -> StorageResult<(ChunkHeader, Vec<Metric>, usize)> {
        let (header, chunk, end) = self.chunk_entry(offset)?;
        let points = self.decode_chunk(offset, chunk)?;
        Ok((header, points, end))
    }

    /// The chunk entry at `offset`, its CRC checked: its header, its
    /// encoded points, and the offset just past it.
    fn chunk_entry(&self, offset: u64) -> StorageResult<(ChunkHeader, &[u8], usize)> {
        let bytes: &[u8] = self.bytes.window().0; // opened sealed: the whole file
        let pos = usize::try_from(offset).unwrap_or(usize::MAX);
        match decode_frame(bytes, pos) {
            FrameCheck::Valid {
                kind: EntryKind::Chunk,
                payload,
                end,
            } => {
                let (header, chunk) = decode_chunk_payload(payload)
                    .map_err(|r| self.damage(offset, payload.len() as u64, r.0))?;
                Ok((header, chunk, end))
            }
            _ => Err(self.damage(offset, 0, "no valid chunk entry at this offset")),
        }
    }
}

/// Where a reader is in a generation file.
#[derive(Debug, Clone, Default)]
pub(crate) struct ItemCursor {
    pos: usize,
    entries: u64,
    done: bool,
    /// Damage was skipped (the seal's count is then not checked).
    damaged: bool,
}

/// Iterator over a generation's entries: `(offset, item)`.
pub struct GenerationItems<'g> {
    generation: &'g Generation,
    cursor: ItemCursor,
}

impl<'g> Iterator for GenerationItems<'g> {
    type Item = StorageResult<(u64, GenerationItem<'g>)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.generation.next_item(&mut self.cursor)
    }
}

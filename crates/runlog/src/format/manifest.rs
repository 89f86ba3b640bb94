//! The compaction manifest's bytes (FORMAT.md, "Manifest"): which
//! generations are published, and the segments each replaces.

use crate::format::wire::{put_u32, put_u64, Cursor, DecodeError};
use crate::format::MANIFEST_VERSION;

/// The manifest's first eight bytes.
pub const MANIFEST_MAGIC: [u8; 8] = *b"RUNLOGMF";

/// One published generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationEntry {
    /// Its number; the file is `compact/<number, 8 digits>.gen`.
    pub number: u64,
    /// The segments (lane, sequence) whose entries it holds: readers skip
    /// them, compaction deletes them.
    pub segments: Vec<(u64, u64)>,
}

/// The manifest listing `generations`, in publication order: magic,
/// version u32, count u32, then per generation its number u64, segment
/// count u32 and (lane u64, sequence u64) pairs; then a CRC32 of every
/// byte before it.
pub fn encode_manifest(generations: &[GenerationEntry]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&MANIFEST_MAGIC);
    put_u32(&mut b, MANIFEST_VERSION);
    put_u32(&mut b, generations.len() as u32);
    for g in generations {
        put_u64(&mut b, g.number);
        put_u32(&mut b, g.segments.len() as u32);
        for (lane, sequence) in &g.segments {
            put_u64(&mut b, *lane);
            put_u64(&mut b, *sequence);
        }
    }
    let crc = crc32fast::hash(&b);
    put_u32(&mut b, crc);
    b
}

/// The generations of manifest bytes, every check passed (magic, CRC,
/// version, counts, no trailing bytes); why not, otherwise.
pub fn decode_manifest(bytes: &[u8]) -> Result<Vec<GenerationEntry>, DecodeError> {
    if bytes.len() < 20 || bytes[..8] != MANIFEST_MAGIC {
        return Err(DecodeError("not a manifest (bad magic or too short)"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let crc = crc.first_chunk::<4>().map(|b| u32::from_le_bytes(*b));
    if crc != Some(crc32fast::hash(body)) {
        return Err(DecodeError("the manifest's CRC does not match"));
    }
    let mut c = Cursor::new(&body[8..]);
    let ends_early = |_| DecodeError("the manifest ends early");
    let version = c.u32().map_err(ends_early)?;
    if version != MANIFEST_VERSION {
        return Err(DecodeError(
            "a manifest version this runlog does not read (FORMAT.md, \"Versions\")",
        ));
    }
    let count = c.u32().map_err(ends_early)?;
    let mut generations = Vec::new();
    for _ in 0..count {
        let number = c.u64().map_err(ends_early)?;
        let n = c.u32().map_err(ends_early)? as usize;
        if n > c.remaining() / 16 {
            return Err(DecodeError(
                "a generation lists more segments than the manifest holds",
            ));
        }
        let mut segments = Vec::with_capacity(n);
        for _ in 0..n {
            segments.push((c.u64().map_err(ends_early)?, c.u64().map_err(ends_early)?));
        }
        generations.push(GenerationEntry { number, segments });
    }
    if c.remaining() != 0 {
        return Err(DecodeError("trailing bytes after the last generation"));
    }
    Ok(generations)
}

//! The store marker file and the segment header (FORMAT.md, "Store marker"
//! and "Segment header").

use byteorder::{ByteOrder, LittleEndian as LE};

use super::wire::DecodeError;

/// Magic bytes at the start of the `RUNLOG` marker file.
pub const STORE_MAGIC: [u8; 8] = *b"RUNLOGST";
/// Magic bytes at the start of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"RUNLOGSG";

const MAGIC_LEN: usize = 8;
const VERSION_LEN: usize = size_of::<u32>();
const CRC_LEN: usize = size_of::<u32>();

/// Size of the `RUNLOG` marker file: magic, version, CRC.
pub const STORE_MARKER_LEN: usize = MAGIC_LEN + VERSION_LEN + CRC_LEN;

const SEG_VERSION_AT: usize = MAGIC_LEN;
const SEG_LANE_AT: usize = SEG_VERSION_AT + VERSION_LEN;
const SEG_SEQUENCE_AT: usize = SEG_LANE_AT + size_of::<u64>();
const SEG_CRC_AT: usize = SEG_SEQUENCE_AT + size_of::<u64>();
/// Size of a segment header: magic, version, lane id, sequence, CRC.
pub const SEGMENT_HEADER_LEN: usize = SEG_CRC_AT + CRC_LEN;

/// The contents of the `RUNLOG` file that marks a directory as a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreMarker {
    /// The format version of the store.
    pub version: u32,
}

/// A header shorter than its fixed size.
const SHORT: DecodeError = DecodeError("too short");
/// A header whose magic bytes differ.
const BAD_MAGIC: DecodeError = DecodeError("wrong magic bytes");
/// A header whose CRC does not match.
const BAD_CRC: DecodeError = DecodeError("checksum mismatch");

impl StoreMarker {
    /// Encodes the marker.
    pub fn encode(&self) -> [u8; STORE_MARKER_LEN] {
        let mut out = [0u8; STORE_MARKER_LEN];
        out[..MAGIC_LEN].copy_from_slice(&STORE_MAGIC);
        LE::write_u32(&mut out[MAGIC_LEN..], self.version);
        let crc = crc32fast::hash(&out[..MAGIC_LEN + VERSION_LEN]);
        LE::write_u32(&mut out[MAGIC_LEN + VERSION_LEN..], crc);
        out
    }

    /// The marker of one of `versions` that `bytes` hold but for one
    /// flipped bit (in the magic, the version or the CRC), if there is
    /// one: a damaged marker is then mended, not the whole store refused.
    /// `None` for intact bytes, more damage, or another version.
    ///
    /// ```
    /// use runlog::format::StoreMarker;
    /// let mut bytes = StoreMarker { version: 3 }.encode();
    /// bytes[9] ^= 0x04;
    /// assert!(StoreMarker::decode(&bytes).is_err());
    /// assert_eq!(StoreMarker::recover(&bytes, 1..=3), Some(StoreMarker { version: 3 }));
    /// ```
    pub fn recover(bytes: &[u8], versions: std::ops::RangeInclusive<u32>) -> Option<Self> {
        let bytes = bytes.get(..STORE_MARKER_LEN)?;
        let magic_bits: u32 = bytes[..MAGIC_LEN]
            .iter()
            .zip(STORE_MAGIC)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        let version = LE::read_u32(&bytes[MAGIC_LEN..]);
        let crc = LE::read_u32(&bytes[MAGIC_LEN + VERSION_LEN..]);
        versions.into_iter().find_map(|v| {
            let valid = StoreMarker { version: v }.encode();
            let crc_bits = (LE::read_u32(&valid[MAGIC_LEN + VERSION_LEN..]) ^ crc).count_ones();
            let flipped = magic_bits + (v ^ version).count_ones() + crc_bits;
            (flipped == 1).then_some(StoreMarker { version: v })
        })
    }

    /// Decodes and checks a marker.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let bytes = bytes.get(..STORE_MARKER_LEN).ok_or(SHORT)?;
        if bytes[..MAGIC_LEN] != STORE_MAGIC {
            return Err(BAD_MAGIC);
        }
        let body = &bytes[..MAGIC_LEN + VERSION_LEN];
        if crc32fast::hash(body) != LE::read_u32(&bytes[MAGIC_LEN + VERSION_LEN..]) {
            return Err(BAD_CRC);
        }
        Ok(StoreMarker {
            version: LE::read_u32(&bytes[MAGIC_LEN..]),
        })
    }
}

/// The fixed header at the start of every segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The format version the segment was written with.
    pub version: u32,
    /// The lane that owns the segment.
    pub lane: u64,
    /// The segment's sequence number within its lane (1, 2, ...).
    pub sequence: u64,
}

impl SegmentHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut out = [0u8; SEGMENT_HEADER_LEN];
        out[..MAGIC_LEN].copy_from_slice(&SEGMENT_MAGIC);
        LE::write_u32(&mut out[SEG_VERSION_AT..], self.version);
        LE::write_u64(&mut out[SEG_LANE_AT..], self.lane);
        LE::write_u64(&mut out[SEG_SEQUENCE_AT..], self.sequence);
        let crc = crc32fast::hash(&out[..SEG_CRC_AT]);
        LE::write_u32(&mut out[SEG_CRC_AT..], crc);
        out
    }

    /// Decodes and checks a header (magic and CRC; the caller checks the version).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let bytes = bytes.get(..SEGMENT_HEADER_LEN).ok_or(SHORT)?;
        if bytes[..MAGIC_LEN] != SEGMENT_MAGIC {
            return Err(BAD_MAGIC);
        }
        if crc32fast::hash(&bytes[..SEG_CRC_AT]) != LE::read_u32(&bytes[SEG_CRC_AT..]) {
            return Err(BAD_CRC);
        }
        Ok(SegmentHeader {
            version: LE::read_u32(&bytes[SEG_VERSION_AT..]),
            lane: LE::read_u64(&bytes[SEG_LANE_AT..]),
            sequence: LE::read_u64(&bytes[SEG_SEQUENCE_AT..]),
        })
    }
}

/// Size of a generation file's header (FORMAT.md, "Generation files").
pub const GENERATION_HEADER_LEN: usize = 32;
const GENERATION_MAGIC: [u8; MAGIC_LEN] = *b"RUNLOGGN";

/// The fixed header at the start of every generation file of a compacted
/// store: the same layout as a segment header, with lane 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerationHeader {
    /// The format version the generation was written with.
    pub version: u32,
    /// The generation number (1, 2, ...).
    pub generation: u64,
}

impl GenerationHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; GENERATION_HEADER_LEN] {
        let mut out = [0u8; GENERATION_HEADER_LEN];
        out[..MAGIC_LEN].copy_from_slice(&GENERATION_MAGIC);
        LE::write_u32(&mut out[SEG_VERSION_AT..], self.version);
        LE::write_u64(&mut out[SEG_LANE_AT..], 0);
        LE::write_u64(&mut out[SEG_SEQUENCE_AT..], self.generation);
        let crc = crc32fast::hash(&out[..SEG_CRC_AT]);
        LE::write_u32(&mut out[SEG_CRC_AT..], crc);
        out
    }

    /// Decodes and checks a header (magic, CRC, lane 0).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let bytes = bytes
            .get(..GENERATION_HEADER_LEN)
            .ok_or(SHORT)?;
        if bytes[..MAGIC_LEN] != GENERATION_MAGIC || LE::read_u64(&bytes[SEG_LANE_AT..]) != 0 {
            return Err(BAD_MAGIC);
        }
        if crc32fast::hash(&bytes[..SEG_CRC_AT]) != LE::read_u32(&bytes[SEG_CRC_AT..]) {
            return Err(BAD_CRC);
        }
        Ok(GenerationHeader {
            version: LE::read_u32(&bytes[SEG_VERSION_AT..]),
            generation: LE::read_u64(&bytes[SEG_SEQUENCE_AT..]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips_and_rejects_damage() {
        let m = StoreMarker { version: 1 };
        let bytes = m.encode();
        assert_eq!(StoreMarker::decode(&bytes), Ok(m));
        assert_eq!(StoreMarker::decode(&bytes[..5]), Err(SHORT));
        let mut bad = bytes;
        bad[9] ^= 1;
        assert_eq!(StoreMarker::decode(&bad), Err(BAD_CRC));
        bad = bytes;
        bad[0] = b'X';
        assert_eq!(StoreMarker::decode(&bad), Err(BAD_MAGIC));
    }

    #[test]
    fn one_flipped_bit_of_a_marker_is_recovered_and_more_is_not() {
        for version in 1..=3 {
            let bytes = StoreMarker { version }.encode();
            assert_eq!(StoreMarker::recover(&bytes, 1..=3), None, "intact");
            for bit in 0..bytes.len() * 8 {
                let mut bad = bytes;
                bad[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(
                    StoreMarker::recover(&bad, 1..=3),
                    Some(StoreMarker { version }),
                    "version {version}, bit {bit}"
                );
                let mut worse = bad;
                worse[(bit / 8 + 5) % 16] ^= 0x21;
                assert_eq!(
                    StoreMarker::recover(&worse, 1..=3),
                    None,
                    "bit {bit} and more"
                );
            }
        }
        // A newer version with a flipped bit is not taken for an older one.
        let mut newer = StoreMarker { version: 9 }.encode();
        newer[14] ^= 1;
        assert_eq!(StoreMarker::recover(&newer, 1..=3), None);
    }

    #[test]
    fn segment_header_round_trips_and_rejects_damage() {
        let h = SegmentHeader {
            version: 1,
            lane: 7,
            sequence: 42,
        };
        let bytes = h.encode();
        assert_eq!(bytes.len(), 32);
        assert_eq!(SegmentHeader::decode(&bytes), Ok(h));
        for i in 0..bytes.len() {
            let mut bad = bytes;
            bad[i] ^= 0x10;
            assert!(SegmentHeader::decode(&bad).is_err(), "flip at {i} accepted");
        }
    }
}

//! Recovery of a lane whose writer is gone: cut the torn tail, report
//! corruption, never cut valid entries (FORMAT.md, "Recovery rules").

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;

pub use crate::error::Damage;
use crate::error::{StorageError, StorageResult};
use crate::format::{
    decode_frame, EntryKind, FrameCheck, SegmentHeader, SEAL_FRAME_LEN, SEGMENT_HEADER_LEN,
    SEGMENT_VERSION,
};
use crate::fs_util::sync_dir;
use crate::log::lane::{list_segments, LaneDir, SegmentFile};
use crate::log::rules::{Checked, SegmentRules};
use crate::log::mapped::SegmentBytes;
use crate::log::reader::SegmentReader;
use crate::log::segment::{check_header, ActiveSegment, HeaderCheck};

/// Bytes cut from the end of a segment because a crash left them incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TornTail {
    /// Lane id.
    pub lane: u64,
    /// Segment sequence number.
    pub segment: u64,
    /// Offset where the cut starts (the end of the last valid entry).
    pub offset: u64,
    /// Bytes cut.
    pub bytes: u64,
    /// Entries those bytes began (incomplete ones; at least 1).
    pub entries: u64,
}

/// What opening a store repaired and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryReport {
    /// Lanes of dead writers that were checked.
    pub lanes_recovered: Vec<u64>,
    /// Torn tails that were cut.
    pub torn: Vec<TornTail>,
    /// Corruption found (and left in place) in the tails that were checked.
    pub corrupt: Vec<Damage>,
}

impl RecoveryReport {
    /// True when nothing was cut and no corruption was found.
    pub fn is_clean(&self) -> bool {
        self.torn.is_empty() && self.corrupt.is_empty()
    }
}

/// What the last segment of a lane looks like from its first and last bytes.
enum Tail {
    /// Shorter than a header: a crash while the segment was being created.
    Short,
    /// Ends with a valid seal entry: nothing to recover.
    Sealed,
    /// Unsealed: its writer crashed (or is a pre-seal-on-close writer).
    Open,
}

/// Reads a segment's header and last bytes. Refuses a header of another
/// format version; a damaged header counts as `Open`, for recovery to report.
fn tail_of(path: &Path) -> StorageResult<Tail> {
    let mut file = fs::File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| StorageError::io("stat", path, e))?
        .len();
    if len < SEGMENT_HEADER_LEN as u64 {
        return Ok(Tail::Short);
    }
    let mut header = [0u8; SEGMENT_HEADER_LEN];
    file.read_exact(&mut header)
        .map_err(|e| StorageError::io("read", path, e))?;
    if let Ok(h) = SegmentHeader::decode(&header) {
        if h.version != SEGMENT_VERSION {
            return Err(StorageError::UnsupportedVersion {
                path: path.to_owned(),
                found: h.version,
                supported: SEGMENT_VERSION,
            });
        }
    }
    let seal_len = SEAL_FRAME_LEN as u64;
    if len < SEGMENT_HEADER_LEN as u64 + seal_len {
        return Ok(Tail::Open);
    }
    let mut tail = [0u8; SEAL_FRAME_LEN];
    file.seek(SeekFrom::Start(len - seal_len))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| StorageError::io("read", path, e))?;
    let sealed = matches!(
        decode_frame(&tail, 0),
        FrameCheck::Valid {
            kind: EntryKind::Seal,
            ..
        }
    );
    Ok(if sealed { Tail::Sealed } else { Tail::Open })
}

/// Recovers a lane whose lock the caller holds, and returns the sequence
/// number its next segment takes. Only the last segment is looked at: every
/// earlier one was sealed and fsynced before the next was made. A sealed
/// last segment (a writer that closed) costs two small reads; an unsealed
/// one (a writer that died) is scanned, its torn tail cut, its corruption
/// reported, and it is sealed.
pub(crate) fn recover_lane(lane: &LaneDir, report: &mut RecoveryReport) -> StorageResult<u64> {
    let mut segments = list_segments(&lane.path)?;
    loop {
        let Some(last) = segments.pop() else {
            return Ok(1);
        };
        match tail_of(&last.path)? {
            Tail::Sealed => return Ok(last.sequence + 1),
            Tail::Open => return recover_segment(lane, &last, report),
            Tail::Short => {
                // A crash between creating the file and fsyncing its header:
                // the segment never held an entry. The one before it is the
                // tail now.
                let len = fs::metadata(&last.path)
                    .map_err(|e| StorageError::io("stat", &last.path, e))?
                    .len();
                fs::remove_file(&last.path).map_err(|e| StorageError::io("remove", &last.path, e))?;
                sync_dir(&lane.path)?;
                report.lanes_recovered.push(lane.id);
                report.torn.push(TornTail {
                    lane: lane.id,
                    segment: last.sequence,
                    offset: 0,
                    bytes: len,
                    entries: 0,
                });
                if segments.is_empty() {
                    return Ok(last.sequence);
                }
            }
        }
    }
}

/// Recovers the unsealed last segment of a lane: cut, report, seal.
fn recover_segment(lane: &LaneDir, last: &SegmentFile, report: &mut RecoveryReport) -> StorageResult<u64> {
    if report.lanes_recovered.last() != Some(&lane.id) {
        report.lanes_recovered.push(lane.id);
    }
    // Read a window at a time, as replay reads a live segment: a dead
    // writer's last segment may be 64 MiB.
    let bytes = SegmentBytes::open(&last.path, false)?;
    let header_damage = |reason| Damage {
        lane: lane.id,
        segment: last.sequence,
        offset: 0,
        len: SEGMENT_HEADER_LEN as u64,
        reason,
    };
    match check_header(bytes.window().0, &last.path, lane.id, last.sequence)? {
        HeaderCheck::Good => {}
        // The entries after a damaged header are recovered as usual.
        HeaderCheck::Damaged(reason) => report.corrupt.push(header_damage(reason)),
        // Another segment's file: not this lane's to cut or seal.
        HeaderCheck::Misfiled(reason) => {
            report.corrupt.push(header_damage(reason));
            return Ok(last.sequence + 1);
        }
    }
    let mut rules = SegmentRules::new(lane.id, last.sequence);
    let mut reader = SegmentReader::new(&last.path, bytes, false);
    let mut bytes_read = 0;
    let mut torn = None;
    reader.for_each_checked(&mut rules, &mut bytes_read, |checked, _, _| match checked {
        Checked::Entry { .. } => {}
        Checked::Damage(d) => report.corrupt.push(d),
        Checked::Torn(t) => torn = Some(t),
    })?;
    let mut valid_len = reader.end() as u64;
    if let Some(t) = torn {
        valid_len = t.offset;
        let file = OpenOptions::new()
            .write(true)
            .open(&last.path)
            .map_err(|e| StorageError::io("open", &last.path, e))?;
        file.set_len(valid_len)
            .and_then(|()| file.sync_all())
            .map_err(|e| StorageError::io("truncate torn tail", &last.path, e))?;
        report.torn.push(t);
    }
    if !rules.sealed() {
        ActiveSegment::reopen(&last.path, last.sequence, valid_len, rules.entries())?
            .seal()
            .map_err(|(op, e)| StorageError::io(op, &last.path, e))?;
    }
    Ok(last.sequence + 1)
}

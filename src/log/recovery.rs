//! Recovery of a lane whose writer is gone: cut the torn tail, report
//! corruption, never cut valid entries (FORMAT.md, "Recovery rules").

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::format::{decode_frame, EntryKind, FrameCheck, SEAL_FRAME_LEN, SEGMENT_HEADER_LEN};
use crate::fs_util::sync_dir;
use crate::log::lane::{list_segments, LaneDir};
use crate::log::rules::{Checked, SegmentRules};
use crate::log::scan::SegmentScan;
use crate::log::segment::{check_header, read_segment, ActiveSegment};

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

/// Invalid bytes with valid entries after them: left in place and reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// Lane id.
    pub lane: u64,
    /// Segment sequence number.
    pub segment: u64,
    /// Offset of the first bad byte.
    pub offset: u64,
    /// Number of bad bytes.
    pub len: u64,
    /// The rule they break.
    pub reason: String,
}

impl Damage {
    /// The damage as an [`Error::Corrupt`].
    pub fn to_error(&self) -> Error {
        Error::Corrupt {
            lane: self.lane,
            segment: self.segment,
            offset: self.offset,
            len: self.len,
            reason: self.reason.clone(),
        }
    }
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

/// True when the lane has no segment or its last segment ends with a valid
/// seal entry; reads only the last bytes of the file.
pub(crate) fn last_segment_sealed(lane: &LaneDir) -> Result<bool> {
    let segments = list_segments(&lane.path)?;
    let Some(last) = segments.last() else {
        return Ok(true);
    };
    let mut file = fs::File::open(&last.path).map_err(|e| Error::io("open", &last.path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", &last.path, e))?
        .len();
    let seal_len = SEAL_FRAME_LEN as u64;
    if len < SEGMENT_HEADER_LEN as u64 + seal_len {
        return Ok(false);
    }
    let mut tail = [0u8; SEAL_FRAME_LEN];
    file.seek(SeekFrom::Start(len - seal_len))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| Error::io("read", &last.path, e))?;
    Ok(matches!(
        decode_frame(&tail, 0),
        FrameCheck::Valid {
            kind: EntryKind::Seal,
            ..
        }
    ))
}

/// The state of a lane's last segment after recovery.
pub(crate) enum LaneTail {
    /// No segment can be appended to: start this sequence number.
    StartNew(u64),
    /// The last segment is valid and unsealed: continue it.
    Continue(ActiveSegment),
}

/// Recovers a lane whose lock the caller holds. Only its last segment is
/// read: every earlier one was sealed and fsynced before the next was made.
///
/// When `seal` is false and the tail is clean, the last segment is left open
/// for the caller to continue; otherwise it is sealed.
pub(crate) fn recover_lane(
    lane: &LaneDir,
    seal: bool,
    report: &mut RecoveryReport,
) -> Result<LaneTail> {
    let mut segments = list_segments(&lane.path)?;
    let (last, bytes) = loop {
        let Some(last) = segments.pop() else {
            return Ok(LaneTail::StartNew(1));
        };
        let bytes = read_segment(&last.path)?;
        if bytes.len() >= SEGMENT_HEADER_LEN {
            break (last, bytes);
        }
        // A crash between creating the file and fsyncing its header: the
        // segment never held an entry. The one before it is the tail now.
        fs::remove_file(&last.path).map_err(|e| Error::io("remove", &last.path, e))?;
        sync_dir(&lane.path)?;
        report.torn.push(TornTail {
            lane: lane.id,
            segment: last.sequence,
            offset: 0,
            bytes: bytes.len() as u64,
            entries: 0,
        });
        if segments.is_empty() {
            report.lanes_recovered.push(lane.id);
            return Ok(LaneTail::StartNew(last.sequence));
        }
    };
    if let Err(reason) = check_header(&bytes, &last.path, lane.id, last.sequence)? {
        report.corrupt.push(Damage {
            lane: lane.id,
            segment: last.sequence,
            offset: 0,
            len: SEGMENT_HEADER_LEN as u64,
            reason,
        });
        return Ok(LaneTail::StartNew(last.sequence + 1));
    }

    let mut rules = SegmentRules::new(lane.id, last.sequence);
    let mut damaged = false;
    let mut torn = None;
    let mut scan = SegmentScan::new(&bytes);
    while let Some(item) = scan.next() {
        match rules.check(item, scan.position() as u64) {
            Checked::Entry { .. } => {}
            Checked::Damage(d) => {
                damaged = true;
                report.corrupt.push(d);
            }
            Checked::Torn(t) => torn = Some(t),
        }
    }
    report.lanes_recovered.push(lane.id);
    let mut valid_len = bytes.len() as u64;
    if let Some(t) = torn {
        valid_len = t.offset;
        let file = OpenOptions::new()
            .write(true)
            .open(&last.path)
            .map_err(|e| Error::io("open", &last.path, e))?;
        file.set_len(valid_len)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("truncate torn tail", &last.path, e))?;
        report.torn.push(t);
    }
    if rules.sealed() {
        return Ok(LaneTail::StartNew(last.sequence + 1));
    }
    let mut active = ActiveSegment::reopen(&last.path, last.sequence, valid_len, rules.entries())?;
    if seal || damaged {
        active
            .seal()
            .map_err(|(op, e)| Error::io(op, &last.path, e))?;
        return Ok(LaneTail::StartNew(last.sequence + 1));
    }
    Ok(LaneTail::Continue(active))
}

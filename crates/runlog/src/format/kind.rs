//! Entry kinds and the payload bounds of each (FORMAT.md, "Entry kinds"):
//! what the frame's kind byte may say, checked before any CRC.

/// The largest payload any entry may carry (4 MiB, a dataset input); each
/// kind has its own bound ([`EntryKind::payload_len_bounds`]). A reader
/// never allocates on a length larger than this.
pub const MAX_PAYLOAD_LEN: usize = 1 << 22;

/// Payload size of a metric entry: series `u32`, value `f64`, timestamp
/// `i64`, step `i64`.
pub(crate) const METRIC_PAYLOAD_LEN: usize =
    size_of::<u32>() + size_of::<f64>() + size_of::<i64>() + size_of::<i64>();
/// Most points one Points entry holds: what one flipped bit in it can cost.
pub const MAX_POINTS_PER_ENTRY: usize = 256;
/// Payload size of a seal entry: the entry count `u64`.
pub(crate) const SEAL_PAYLOAD_LEN: usize = size_of::<u64>();

macro_rules! entry_kinds {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        /// The one-byte kind of an entry. Code 0 is never valid, so zeroed
        /// bytes never decode as an entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum EntryKind {
            $($(#[$doc])* $name = $code,)*
        }

        impl TryFrom<u8> for EntryKind {
            type Error = u8;
            fn try_from(code: u8) -> Result<Self, u8> {
                match code {
                    $($code => Ok(EntryKind::$name),)*
                    other => Err(other),
                }
            }
        }

        impl EntryKind {
            /// Every kind, in code order.
            pub const ALL: &'static [EntryKind] = &[$(EntryKind::$name,)*];
        }
    };
}

entry_kinds! {
    /// Dictionary: binds a series number to a (run id, metric key) pair for
    /// the rest of the segment.
    Series = 1,
    /// A metric point of a series a Series entry bound earlier in the segment.
    Metric = 2,
    /// The last entry of a sealed segment, with the number of entries before it.
    Seal = 3,
    /// Up to [`MAX_POINTS_PER_ENTRY`] metric points, each of a series a
    /// Series entry bound earlier in the segment, under one CRC (version 6).
    Points = 7,
    /// A compressed chunk of one metric series (generation files only).
    Chunk = 4,
    /// Segments a generation replaces (generation files only): with them
    /// the manifest can be rebuilt.
    Replaces = 5,
    /// The least and greatest point of each run of points of the Chunk
    /// entry before it (generation files only): plots read them instead of
    /// decoding the chunk.
    Blocks = 6,
    /// [`Record::Param`](super::Record::Param).
    Param = 16,
    /// [`Record::SetTag`](super::Record::SetTag).
    SetTag = 17,
    /// [`Record::DeleteTag`](super::Record::DeleteTag).
    DeleteTag = 18,
    /// [`Record::CreateRun`](super::Record::CreateRun).
    CreateRun = 19,
    /// [`Record::UpdateRunStatus`](super::Record::UpdateRunStatus).
    UpdateRunStatus = 20,
    /// [`Record::EndRun`](super::Record::EndRun).
    EndRun = 21,
    /// [`Record::RenameRun`](super::Record::RenameRun).
    RenameRun = 22,
    /// [`Record::DeleteRun`](super::Record::DeleteRun).
    DeleteRun = 23,
    /// [`Record::RestoreRun`](super::Record::RestoreRun).
    RestoreRun = 24,
    /// [`Record::CreateExperiment`](super::Record::CreateExperiment).
    CreateExperiment = 25,
    /// [`Record::RenameExperiment`](super::Record::RenameExperiment).
    RenameExperiment = 26,
    /// [`Record::DeleteExperiment`](super::Record::DeleteExperiment).
    DeleteExperiment = 27,
    /// [`Record::RestoreExperiment`](super::Record::RestoreExperiment).
    RestoreExperiment = 28,
    /// [`Record::SetExperimentTag`](super::Record::SetExperimentTag).
    SetExperimentTag = 29,
    /// [`Record::DeleteExperimentTag`](super::Record::DeleteExperimentTag).
    DeleteExperimentTag = 30,
    /// [`Record::LogInput`](super::Record::LogInput).
    LogInput = 31,
    /// [`Record::CreateLoggedModel`](super::Record::CreateLoggedModel).
    CreateLoggedModel = 32,
    /// [`Record::FinalizeLoggedModel`](super::Record::FinalizeLoggedModel).
    FinalizeLoggedModel = 33,
    /// [`Record::DeleteLoggedModel`](super::Record::DeleteLoggedModel).
    DeleteLoggedModel = 34,
    /// [`Record::SetLoggedModelTag`](super::Record::SetLoggedModelTag).
    SetLoggedModelTag = 35,
    /// [`Record::DeleteLoggedModelTag`](super::Record::DeleteLoggedModelTag).
    DeleteLoggedModelTag = 36,
    /// [`Record::LoggedModelParam`](super::Record::LoggedModelParam).
    LoggedModelParam = 37,
    /// [`Record::LogModelOutput`](super::Record::LogModelOutput).
    LogModelOutput = 38,
    /// [`Record::LogModelInput`](super::Record::LogModelInput).
    LogModelInput = 39,
    /// [`Record::LoggedModelMetric`](super::Record::LoggedModelMetric).
    LoggedModelMetric = 40,
    /// [`Record::CreateRegisteredModel`](super::Record::CreateRegisteredModel).
    CreateRegisteredModel = 41,
    /// [`Record::RenameRegisteredModel`](super::Record::RenameRegisteredModel).
    RenameRegisteredModel = 42,
    /// [`Record::UpdateRegisteredModel`](super::Record::UpdateRegisteredModel).
    UpdateRegisteredModel = 43,
    /// [`Record::DeleteRegisteredModel`](super::Record::DeleteRegisteredModel).
    DeleteRegisteredModel = 44,
    /// [`Record::SetRegisteredModelTag`](super::Record::SetRegisteredModelTag).
    SetRegisteredModelTag = 45,
    /// [`Record::DeleteRegisteredModelTag`](super::Record::DeleteRegisteredModelTag).
    DeleteRegisteredModelTag = 46,
    /// [`Record::SetRegisteredModelAlias`](super::Record::SetRegisteredModelAlias).
    SetRegisteredModelAlias = 47,
    /// [`Record::DeleteRegisteredModelAlias`](super::Record::DeleteRegisteredModelAlias).
    DeleteRegisteredModelAlias = 48,
    /// [`Record::CreateModelVersion`](super::Record::CreateModelVersion).
    CreateModelVersion = 49,
    /// [`Record::UpdateModelVersion`](super::Record::UpdateModelVersion).
    UpdateModelVersion = 50,
    /// [`Record::TransitionModelVersionStage`](super::Record::TransitionModelVersionStage).
    TransitionModelVersionStage = 51,
    /// [`Record::DeleteModelVersion`](super::Record::DeleteModelVersion).
    DeleteModelVersion = 52,
    /// [`Record::SetModelVersionTag`](super::Record::SetModelVersionTag).
    SetModelVersionTag = 53,
    /// [`Record::DeleteModelVersionTag`](super::Record::DeleteModelVersionTag).
    DeleteModelVersionTag = 54,
}

/// Largest payload of a Series entry (a run id and a metric key).
pub const MAX_SERIES_PAYLOAD_LEN: usize = 4 << 10;
/// Largest payload of a record other than a dataset input: MLflow's largest
/// value (a tag, 8,000 characters) is at most 32 KB of UTF-8.
pub const MAX_RECORD_PAYLOAD_LEN: usize = 64 << 10;

/// Most segments one Replaces entry lists (a generation with more has
/// several).
pub const MAX_REPLACES_PER_ENTRY: usize = 4096;

/// Most blocks one Blocks entry holds (a chunk of at most 4,096 points
/// has at most that many blocks of one point).
pub const MAX_BLOCKS_PER_ENTRY: usize = 4096;

/// Size of one block's extremes in a Blocks entry: two points of `value
/// f64, timestamp i64, step i64`.
pub(crate) const BLOCK_EXTREMES_LEN: usize = 48;

/// Size of a Blocks entry's fixed field: `size u32`.
pub(crate) const BLOCKS_FIXED_LEN: usize = size_of::<u32>();

/// Largest payload of a Chunk entry (FORMAT.md, "Entry kinds"): 4,096
/// points at the codec's worst (about 27 bytes each) plus the header, with
/// room to spare; small enough that resynchronising past damage in a
/// generation stays cheap.
pub const MAX_CHUNK_PAYLOAD_LEN: usize = 256 << 10;

impl EntryKind {
    /// The smallest and largest payload length a frame of this kind may
    /// declare (FORMAT.md, "Entry kinds"); anything outside is invalid
    /// before the CRC is even checked. Tight bounds also keep the reader's
    /// resynchronisation past damage cheap: a candidate entry costs at most
    /// its kind's bound to check.
    pub fn payload_len_bounds(self) -> (usize, usize) {
        match self {
            EntryKind::Metric => (METRIC_PAYLOAD_LEN, METRIC_PAYLOAD_LEN),
            EntryKind::Seal => (SEAL_PAYLOAD_LEN, SEAL_PAYLOAD_LEN),
            // whole points only: a length that is no multiple of a point's
            // size does not decode (FORMAT.md, "Validity")
            EntryKind::Points => (
                METRIC_PAYLOAD_LEN,
                METRIC_PAYLOAD_LEN * MAX_POINTS_PER_ENTRY,
            ),
            // series u32 + two strings of at least their u32 length each
            EntryKind::Series => (12, MAX_SERIES_PAYLOAD_LEN),
            // A dataset's schema; a creation's params and tags (one record,
            // so that a crash never leaves part of them).
            EntryKind::LogInput
            | EntryKind::CreateLoggedModel
            | EntryKind::CreateRegisteredModel
            | EntryKind::CreateModelVersion => (0, MAX_PAYLOAD_LEN),
            // two strings, eleven 8-byte fields, a codec chunk of 5+ bytes;
            // 4,096 points take at most about 110 KB
            EntryKind::Chunk => (101, MAX_CHUNK_PAYLOAD_LEN),
            // a count u32, then (lane u64, sequence u64) pairs
            EntryKind::Replaces => (4, 4 + 16 * MAX_REPLACES_PER_ENTRY),
            // the block size u32, then at least one block's two points
            EntryKind::Blocks => (
                BLOCKS_FIXED_LEN + BLOCK_EXTREMES_LEN,
                BLOCKS_FIXED_LEN + BLOCK_EXTREMES_LEN * MAX_BLOCKS_PER_ENTRY,
            ),
            _ => (0, MAX_RECORD_PAYLOAD_LEN),
        }
    }
}

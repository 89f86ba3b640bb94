//! Tracking records other than metric points: params, tags, runs,
//! experiments, dataset inputs, and MLflow 3's logged models with their
//! params, tags, metrics and links to runs (FORMAT.md, "Entry kinds").

use serde::{Deserialize, Serialize};

use super::kind::EntryKind;
use super::wire::{put_i64, put_opt_str, put_str, put_u32, put_u64, put_u8, Cursor, DecodeError};

/// Status of a run, numbered as in MLflow's `RunStatus` protobuf enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// The run is in progress.
    Running = 1,
    /// The run is scheduled but not started.
    Scheduled = 2,
    /// The run completed.
    Finished = 3,
    /// The run failed.
    Failed = 4,
    /// The run was killed.
    Killed = 5,
}

impl RunStatus {
    /// Decodes the one-byte status code.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => RunStatus::Running,
            2 => RunStatus::Scheduled,
            3 => RunStatus::Finished,
            4 => RunStatus::Failed,
            5 => RunStatus::Killed,
            _ => return None,
        })
    }

    /// MLflow's name of the status (`"RUNNING"`, `"FINISHED"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
}

/// Status of a logged model, numbered as in MLflow's `LoggedModelStatus`
/// protobuf enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelStatus {
    /// Created, its artifacts not yet uploaded.
    #[serde(rename = "LOGGED_MODEL_PENDING")]
    Pending = 1,
    /// Its artifacts are complete.
    #[serde(rename = "LOGGED_MODEL_READY")]
    Ready = 2,
    /// Its upload failed.
    #[serde(rename = "LOGGED_MODEL_UPLOAD_FAILED")]
    UploadFailed = 3,
}

impl ModelStatus {
    /// Decodes the one-byte status code.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => ModelStatus::Pending,
            2 => ModelStatus::Ready,
            3 => ModelStatus::UploadFailed,
            _ => return None,
        })
    }

    /// MLflow's protobuf name (`"LOGGED_MODEL_READY"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Pending => "LOGGED_MODEL_PENDING",
            ModelStatus::Ready => "LOGGED_MODEL_READY",
            ModelStatus::UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }

    /// A status by its protobuf name or number (as MLflow's JSON allows).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "LOGGED_MODEL_PENDING" | "1" => Some(ModelStatus::Pending),
            "LOGGED_MODEL_READY" | "2" => Some(ModelStatus::Ready),
            "LOGGED_MODEL_UPLOAD_FAILED" | "3" => Some(ModelStatus::UploadFailed),
            _ => None,
        }
    }
}

/// A dataset used by a run (MLflow's `DatasetInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput<S = String> {
    /// Dataset name.
    pub name: S,
    /// Content digest.
    pub digest: S,
    /// Kind of source (`"local"`, `"s3"`, `"http"`, ...).
    pub source_type: S,
    /// Where the data came from (a JSON document in MLflow).
    pub source: S,
    /// Optional schema (a JSON document in MLflow).
    pub schema: Option<S>,
    /// Optional profile (a JSON document in MLflow).
    pub profile: Option<S>,
    /// Input tags, e.g. `mlflow.data.context` = `"training"`.
    pub tags: Vec<(S, S)>,
}

/// The wire type of each record field, for the `records!` macro: how it is
/// encoded, decoded, and mapped to another string type.
macro_rules! field {
    (encode str, $buf:expr, $v:expr) => {
        put_str($buf, $v.as_ref())
    };
    (encode i64, $buf:expr, $v:expr) => {
        put_i64($buf, *$v)
    };
    (encode status, $buf:expr, $v:expr) => {
        put_u8($buf, *$v as u8)
    };
    (encode dataset, $buf:expr, $v:expr) => {
        encode_dataset($buf, $v)
    };
    (encode opt, $buf:expr, $v:expr) => {
        put_opt_str($buf, $v.as_ref().map(AsRef::as_ref))
    };
    (encode f64, $buf:expr, $v:expr) => {
        put_u64($buf, $v.to_bits())
    };
    (encode model_status, $buf:expr, $v:expr) => {
        put_u8($buf, *$v as u8)
    };
    (encode pairs, $buf:expr, $v:expr) => {
        encode_pairs($buf, $v)
    };

    (decode str, $c:expr) => {
        $c.str()?
    };
    (decode i64, $c:expr) => {
        $c.i64()?
    };
    (decode status, $c:expr) => {
        $c.status()?
    };
    (decode dataset, $c:expr) => {
        Box::new(decode_dataset($c)?)
    };
    (decode opt, $c:expr) => {
        $c.opt_str()?
    };
    (decode f64, $c:expr) => {
        f64::from_bits($c.u64()?)
    };
    (decode model_status, $c:expr) => {
        $c.model_status()?
    };
    (decode pairs, $c:expr) => {
        decode_pairs($c)?
    };

    (map str, $v:expr, $f:expr) => {
        $f($v)
    };
    (map i64, $v:expr, $f:expr) => {
        *$v
    };
    (map status, $v:expr, $f:expr) => {
        *$v
    };
    (map dataset, $v:expr, $f:expr) => {
        Box::new(map_dataset($v, $f))
    };
    (map opt, $v:expr, $f:expr) => {
        $v.as_ref().map($f)
    };
    (map f64, $v:expr, $f:expr) => {
        *$v
    };
    (map model_status, $v:expr, $f:expr) => {
        *$v
    };
    (map pairs, $v:expr, $f:expr) => {
        $v.iter().map(|(k, v)| ($f(k), $f(v))).collect()
    };
}

/// Defines [`Record`] and its codec from one table of variants and fields,
/// in payload order (FORMAT.md, "Entry kinds"), so that the encoder, the
/// decoder and the enum cannot drift apart.
macro_rules! records {
    ($( $(#[$doc:meta])* $name:ident { $($field:ident : $fty:ty as $ty:ident),* $(,)? } )*) => {
        /// One tracking record other than a metric point.
        ///
        /// Generic over the string type: `Record<String>` (the default) owns its
        /// strings, `Record<&str>` borrows them from a segment while it is decoded.
        /// Times are milliseconds since the Unix epoch. In JSON, a record is an
        /// object tagged by `"type"` (`"param"`, `"set_tag"`, ...).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        #[allow(missing_docs, reason = "field names are MLflow's and explain themselves")]
        pub enum Record<S = String> {
            $( $(#[$doc])* $name { $($field: $fty),* }, )*
        }

        impl<S: AsRef<str>> Record<S> {
            /// The entry kind this record is stored as.
            pub fn kind(&self) -> EntryKind {
                match self {
                    $( Record::$name { .. } => EntryKind::$name, )*
                }
            }

            /// Appends the payload (without framing) to `buf`.
            pub(crate) fn encode_payload(&self, buf: &mut Vec<u8>) {
                match self {
                    $( Record::$name { $($field),* } => { $( field!(encode $ty, buf, $field); )* } )*
                }
            }

            fn map_strings<'s, T>(&'s self, f: impl Fn(&'s S) -> T) -> Record<T> {
                match self {
                    $( Record::$name { $($field),* } => Record::$name {
                        $( $field: field!(map $ty, $field, &f) ),*
                    }, )*
                }
            }
        }

        impl<'a> Record<&'a str> {
            /// Decodes the payload of a record entry of `kind`; the whole
            /// payload must be consumed.
            pub(crate) fn decode_payload(kind: EntryKind, payload: &'a [u8]) -> Result<Self, DecodeError> {
                let c = &mut Cursor::new(payload);
                let record = match kind {
                    $( EntryKind::$name => Record::$name { $( $field: field!(decode $ty, c) ),* }, )*
                    _ => return Err(DecodeError("not a record kind")),
                };
                c.finish()?;
                Ok(record)
            }
        }
    };
}

records! {
    /// A run parameter (write-once per key).
    Param { run_id: S as str, key: S as str, value: S as str }
    /// A run tag set (last write wins).
    SetTag { run_id: S as str, key: S as str, value: S as str }
    /// A run tag removed.
    DeleteTag { run_id: S as str, key: S as str }
    /// A run created.
    CreateRun { run_id: S as str, experiment_id: S as str, run_name: S as str, user_id: S as str, start_time: i64 as i64 }
    /// A run's status changed without ending it (e.g. resumed to `RUNNING`).
    UpdateRunStatus { run_id: S as str, status: RunStatus as status, time: i64 as i64 }
    /// A run ended with a terminal status.
    EndRun { run_id: S as str, status: RunStatus as status, end_time: i64 as i64 }
    /// A run renamed.
    RenameRun { run_id: S as str, run_name: S as str }
    /// A run moved to the `deleted` lifecycle stage.
    DeleteRun { run_id: S as str, time: i64 as i64 }
    /// A run moved back to `active`.
    RestoreRun { run_id: S as str, time: i64 as i64 }
    /// An experiment created.
    CreateExperiment { experiment_id: S as str, name: S as str, artifact_location: S as str, creation_time: i64 as i64 }
    /// An experiment renamed.
    RenameExperiment { experiment_id: S as str, name: S as str, time: i64 as i64 }
    /// An experiment moved to the `deleted` lifecycle stage.
    DeleteExperiment { experiment_id: S as str, time: i64 as i64 }
    /// An experiment moved back to `active`.
    RestoreExperiment { experiment_id: S as str, time: i64 as i64 }
    /// An experiment tag set.
    SetExperimentTag { experiment_id: S as str, key: S as str, value: S as str }
    /// An experiment tag removed.
    DeleteExperimentTag { experiment_id: S as str, key: S as str }
    /// A dataset input logged to a run.
    LogInput { run_id: S as str, input: Box<DatasetInput<S>> as dataset }
    /// A logged model created (MLflow 3's `LoggedModel`), PENDING until
    /// finalized; its artifacts live at `artifact_location`.
    /// Its params and tags are part of the record, so that a crash never
    /// leaves a model with only some of them.
    CreateLoggedModel { model_id: S as str, experiment_id: S as str, name: S as str, artifact_location: S as str, model_type: Option<S> as opt, source_run_id: Option<S> as opt, creation_time: i64 as i64, params: Vec<(S, S)> as pairs, tags: Vec<(S, S)> as pairs }
    /// A logged model's status set (READY or UPLOAD_FAILED once its
    /// artifacts are uploaded).
    FinalizeLoggedModel { model_id: S as str, status: ModelStatus as model_status, time: i64 as i64 }
    /// A logged model moved to the `deleted` lifecycle stage.
    DeleteLoggedModel { model_id: S as str, time: i64 as i64 }
    /// A logged model's tag set (last write wins).
    SetLoggedModelTag { model_id: S as str, key: S as str, value: S as str }
    /// A logged model's tag removed.
    DeleteLoggedModelTag { model_id: S as str, key: S as str }
    /// A logged model's parameter.
    LoggedModelParam { model_id: S as str, key: S as str, value: S as str }
    /// A model a run produced (MLflow's run output), at a step.
    LogModelOutput { run_id: S as str, model_id: S as str, step: i64 as i64 }
    /// A model a run used (MLflow's model input).
    LogModelInput { run_id: S as str, model_id: S as str }
    /// A metric point about a logged model (MLflow 3's `model_id`,
    /// `dataset_name`, `dataset_digest`): the run's own point is a Metric
    /// entry beside it.
    LoggedModelMetric { model_id: S as str, run_id: S as str, key: S as str, value: f64 as f64, timestamp: i64 as i64, step: i64 as i64, dataset_name: Option<S> as opt, dataset_digest: Option<S> as opt }
    /// A registered model created (MLflow's model registry); its name is
    /// its identity.
    CreateRegisteredModel { name: S as str, description: Option<S> as opt, time: i64 as i64, tags: Vec<(S, S)> as pairs }
    /// A registered model renamed, with its versions.
    RenameRegisteredModel { name: S as str, new_name: S as str, time: i64 as i64 }
    /// A registered model's description set.
    UpdateRegisteredModel { name: S as str, description: S as str, time: i64 as i64 }
    /// A registered model deleted, with its versions and aliases.
    DeleteRegisteredModel { name: S as str, time: i64 as i64 }
    /// A registered model's tag set.
    SetRegisteredModelTag { name: S as str, key: S as str, value: S as str }
    /// A registered model's tag removed.
    DeleteRegisteredModelTag { name: S as str, key: S as str }
    /// An alias pointed at a version (moved from any other).
    SetRegisteredModelAlias { name: S as str, alias: S as str, version: i64 as i64 }
    /// An alias removed.
    DeleteRegisteredModelAlias { name: S as str, alias: S as str }
    /// A model version created (stage None, status READY), from `source`,
    /// its files at `storage_location`.
    CreateModelVersion { name: S as str, version: i64 as i64, source: S as str, storage_location: S as str, run_id: Option<S> as opt, run_link: Option<S> as opt, description: Option<S> as opt, model_id: Option<S> as opt, time: i64 as i64, tags: Vec<(S, S)> as pairs }
    /// A model version's description set.
    UpdateModelVersion { name: S as str, version: i64 as i64, description: S as str, time: i64 as i64 }
    /// A model version moved to a stage (`None`, `Staging`, `Production`,
    /// `Archived`).
    TransitionModelVersionStage { name: S as str, version: i64 as i64, stage: S as str, time: i64 as i64 }
    /// A model version deleted.
    DeleteModelVersion { name: S as str, version: i64 as i64, time: i64 as i64 }
    /// A model version's tag set.
    SetModelVersionTag { name: S as str, version: i64 as i64, key: S as str, value: S as str }
    /// A model version's tag removed.
    DeleteModelVersionTag { name: S as str, version: i64 as i64, key: S as str }
}

fn encode_dataset<S: AsRef<str>>(buf: &mut Vec<u8>, d: &DatasetInput<S>) {
    for s in [&d.name, &d.digest, &d.source_type, &d.source] {
        put_str(buf, s.as_ref());
    }
    put_opt_str(buf, d.schema.as_ref().map(AsRef::as_ref));
    put_opt_str(buf, d.profile.as_ref().map(AsRef::as_ref));
    // A count above u32::MAX cannot fit a 16 MiB payload anyway; the frame
    // encoder refuses the oversized payload.
    put_u32(buf, u32::try_from(d.tags.len()).unwrap_or(u32::MAX));
    for (k, v) in &d.tags {
        put_str(buf, k.as_ref());
        put_str(buf, v.as_ref());
    }
}

/// `count u32`, then `count` x `(key str, value str)`.
fn encode_pairs<S: AsRef<str>>(buf: &mut Vec<u8>, pairs: &[(S, S)]) {
    // More than u32::MAX pairs cannot fit a payload; the frame encoder
    // refuses the oversized payload.
    put_u32(buf, u32::try_from(pairs.len()).unwrap_or(u32::MAX));
    for (k, v) in pairs {
        put_str(buf, k.as_ref());
        put_str(buf, v.as_ref());
    }
}

fn decode_pairs<'a>(c: &mut Cursor<'a>) -> Result<Vec<(&'a str, &'a str)>, DecodeError> {
    let count = c.u32()? as usize;
    // Each pair takes at least 8 bytes: bound the allocation by what the
    // payload can hold, not by the count field.
    if count > c.remaining() / 8 {
        return Err(DecodeError("pair count exceeds the payload"));
    }
    let mut pairs = Vec::with_capacity(count);
    for _ in 0..count {
        pairs.push((c.str()?, c.str()?));
    }
    Ok(pairs)
}

fn decode_dataset<'a>(c: &mut Cursor<'a>) -> Result<DatasetInput<&'a str>, DecodeError> {
    let name = c.str()?;
    let digest = c.str()?;
    let source_type = c.str()?;
    let source = c.str()?;
    let schema = c.opt_str()?;
    let profile = c.opt_str()?;
    let count = c.u32()? as usize;
    // Each tag takes at least 8 bytes: bound the allocation by what the
    // payload can hold, not by the count field.
    if count > c.remaining() / 8 {
        return Err(DecodeError("dataset tag count exceeds the payload"));
    }
    let mut tags = Vec::with_capacity(count);
    for _ in 0..count {
        tags.push((c.str()?, c.str()?));
    }
    Ok(DatasetInput {
        name,
        digest,
        source_type,
        source,
        schema,
        profile,
        tags,
    })
}

fn map_dataset<'s, S, T>(d: &'s DatasetInput<S>, f: &impl Fn(&'s S) -> T) -> DatasetInput<T> {
    DatasetInput {
        name: f(&d.name),
        digest: f(&d.digest),
        source_type: f(&d.source_type),
        source: f(&d.source),
        schema: d.schema.as_ref().map(f),
        profile: d.profile.as_ref().map(f),
        tags: d.tags.iter().map(|(k, v)| (f(k), f(v))).collect(),
    }
}

impl<S: AsRef<str>> Record<S> {
    /// A view of the record that borrows its strings.
    pub fn as_borrowed(&self) -> Record<&str> {
        self.map_strings(AsRef::as_ref)
    }

    /// Converts to an owned record.
    pub fn to_owned_record(&self) -> Record<String> {
        self.map_strings(|s| s.as_ref().to_owned())
    }

    /// The time the record carries, if any (used to interleave lanes in replay).
    pub fn time(&self) -> Option<i64> {
        match self {
            Record::CreateRun { start_time: t, .. }
            | Record::UpdateRunStatus { time: t, .. }
            | Record::EndRun { end_time: t, .. }
            | Record::DeleteRun { time: t, .. }
            | Record::RestoreRun { time: t, .. }
            | Record::CreateExperiment {
                creation_time: t, ..
            }
            | Record::RenameExperiment { time: t, .. }
            | Record::DeleteExperiment { time: t, .. }
            | Record::RestoreExperiment { time: t, .. }
            | Record::CreateLoggedModel {
                creation_time: t, ..
            }
            | Record::FinalizeLoggedModel { time: t, .. }
            | Record::DeleteLoggedModel { time: t, .. }
            | Record::CreateRegisteredModel { time: t, .. }
            | Record::RenameRegisteredModel { time: t, .. }
            | Record::UpdateRegisteredModel { time: t, .. }
            | Record::DeleteRegisteredModel { time: t, .. }
            | Record::CreateModelVersion { time: t, .. }
            | Record::UpdateModelVersion { time: t, .. }
            | Record::TransitionModelVersionStage { time: t, .. }
            | Record::DeleteModelVersion { time: t, .. } => Some(*t),
            _ => None,
        }
    }
}

impl Cursor<'_> {
    /// A [`RunStatus`] by its code.
    pub(crate) fn status(&mut self) -> Result<RunStatus, DecodeError> {
        RunStatus::from_code(self.u8()?).ok_or(DecodeError("unknown run status"))
    }

    /// A [`ModelStatus`] by its code.
    pub(crate) fn model_status(&mut self) -> Result<ModelStatus, DecodeError> {
        ModelStatus::from_code(self.u8()?).ok_or(DecodeError("unknown logged model status"))
    }
}

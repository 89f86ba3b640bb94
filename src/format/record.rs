//! Tracking records other than metric points: params, tags, runs,
//! experiments and dataset inputs (FORMAT.md, "Record payloads").

use serde::{Deserialize, Serialize};

use super::entry::EntryKind;
use super::wire::{put_i64, put_opt_str, put_str, put_u32, put_u8, Cursor, DecodeError};

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

/// One tracking record other than a metric point.
///
/// Generic over the string type: `Record<String>` (the default) owns its
/// strings, `Record<&str>` borrows them from a segment while it is decoded.
/// Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)] // field names are MLflow's and explain themselves
pub enum Record<S = String> {
    /// A run parameter (write-once per key).
    Param { run_id: S, key: S, value: S },
    /// A run tag set (last write wins).
    SetTag { run_id: S, key: S, value: S },
    /// A run tag removed.
    DeleteTag { run_id: S, key: S },
    /// A run created.
    CreateRun {
        run_id: S,
        experiment_id: S,
        run_name: S,
        user_id: S,
        start_time: i64,
    },
    /// A run's status changed without ending it (e.g. resumed to `RUNNING`).
    UpdateRunStatus {
        run_id: S,
        status: RunStatus,
        time: i64,
    },
    /// A run ended with a terminal status.
    EndRun {
        run_id: S,
        status: RunStatus,
        end_time: i64,
    },
    /// A run renamed.
    RenameRun { run_id: S, run_name: S },
    /// A run moved to the `deleted` lifecycle stage.
    DeleteRun { run_id: S, time: i64 },
    /// A run moved back to `active`.
    RestoreRun { run_id: S, time: i64 },
    /// An experiment created.
    CreateExperiment {
        experiment_id: S,
        name: S,
        artifact_location: S,
        creation_time: i64,
    },
    /// An experiment renamed.
    RenameExperiment {
        experiment_id: S,
        name: S,
        time: i64,
    },
    /// An experiment moved to the `deleted` lifecycle stage.
    DeleteExperiment { experiment_id: S, time: i64 },
    /// An experiment moved back to `active`.
    RestoreExperiment { experiment_id: S, time: i64 },
    /// An experiment tag set.
    SetExperimentTag { experiment_id: S, key: S, value: S },
    /// An experiment tag removed.
    DeleteExperimentTag { experiment_id: S, key: S },
    /// A dataset input logged to a run.
    LogInput {
        run_id: S,
        input: Box<DatasetInput<S>>,
    },
}

impl<S: AsRef<str>> Record<S> {
    /// The entry kind this record is stored as.
    pub fn kind(&self) -> EntryKind {
        match self {
            Record::Param { .. } => EntryKind::Param,
            Record::SetTag { .. } => EntryKind::SetTag,
            Record::DeleteTag { .. } => EntryKind::DeleteTag,
            Record::CreateRun { .. } => EntryKind::CreateRun,
            Record::UpdateRunStatus { .. } => EntryKind::UpdateRunStatus,
            Record::EndRun { .. } => EntryKind::EndRun,
            Record::RenameRun { .. } => EntryKind::RenameRun,
            Record::DeleteRun { .. } => EntryKind::DeleteRun,
            Record::RestoreRun { .. } => EntryKind::RestoreRun,
            Record::CreateExperiment { .. } => EntryKind::CreateExperiment,
            Record::RenameExperiment { .. } => EntryKind::RenameExperiment,
            Record::DeleteExperiment { .. } => EntryKind::DeleteExperiment,
            Record::RestoreExperiment { .. } => EntryKind::RestoreExperiment,
            Record::SetExperimentTag { .. } => EntryKind::SetExperimentTag,
            Record::DeleteExperimentTag { .. } => EntryKind::DeleteExperimentTag,
            Record::LogInput { .. } => EntryKind::LogInput,
        }
    }

    /// Appends the payload (without framing) to `buf`.
    pub(crate) fn encode_payload(&self, buf: &mut Vec<u8>) {
        let s = |buf: &mut Vec<u8>, v: &S| put_str(buf, v.as_ref());
        match self {
            Record::Param { run_id, key, value } | Record::SetTag { run_id, key, value } => {
                s(buf, run_id);
                s(buf, key);
                s(buf, value);
            }
            Record::DeleteTag { run_id, key } => {
                s(buf, run_id);
                s(buf, key);
            }
            Record::CreateRun {
                run_id,
                experiment_id,
                run_name,
                user_id,
                start_time,
            } => {
                s(buf, run_id);
                s(buf, experiment_id);
                s(buf, run_name);
                s(buf, user_id);
                put_i64(buf, *start_time);
            }
            Record::UpdateRunStatus {
                run_id,
                status,
                time,
            }
            | Record::EndRun {
                run_id,
                status,
                end_time: time,
            } => {
                s(buf, run_id);
                put_u8(buf, *status as u8);
                put_i64(buf, *time);
            }
            Record::RenameRun { run_id, run_name } => {
                s(buf, run_id);
                s(buf, run_name);
            }
            Record::DeleteRun { run_id: id, time }
            | Record::RestoreRun { run_id: id, time }
            | Record::DeleteExperiment {
                experiment_id: id,
                time,
            }
            | Record::RestoreExperiment {
                experiment_id: id,
                time,
            } => {
                s(buf, id);
                put_i64(buf, *time);
            }
            Record::CreateExperiment {
                experiment_id,
                name,
                artifact_location,
                creation_time,
            } => {
                s(buf, experiment_id);
                s(buf, name);
                s(buf, artifact_location);
                put_i64(buf, *creation_time);
            }
            Record::RenameExperiment {
                experiment_id,
                name,
                time,
            } => {
                s(buf, experiment_id);
                s(buf, name);
                put_i64(buf, *time);
            }
            Record::SetExperimentTag {
                experiment_id,
                key,
                value,
            } => {
                s(buf, experiment_id);
                s(buf, key);
                s(buf, value);
            }
            Record::DeleteExperimentTag { experiment_id, key } => {
                s(buf, experiment_id);
                s(buf, key);
            }
            Record::LogInput { run_id, input } => {
                s(buf, run_id);
                s(buf, &input.name);
                s(buf, &input.digest);
                s(buf, &input.source_type);
                s(buf, &input.source);
                put_opt_str(buf, input.schema.as_ref().map(AsRef::as_ref));
                put_opt_str(buf, input.profile.as_ref().map(AsRef::as_ref));
                // A count above u32::MAX cannot fit a 16 MiB payload anyway;
                // the frame encoder refuses the oversized payload.
                put_u32(buf, u32::try_from(input.tags.len()).unwrap_or(u32::MAX));
                for (k, v) in &input.tags {
                    s(buf, k);
                    s(buf, v);
                }
            }
        }
    }

    /// A view of the record that borrows its strings.
    pub fn as_borrowed(&self) -> Record<&str> {
        self.map_strings(AsRef::as_ref)
    }

    /// Converts to an owned record.
    pub fn to_owned_record(&self) -> Record<String> {
        self.map_strings(|s| s.as_ref().to_owned())
    }

    fn map_strings<'s, T>(&'s self, f: impl Fn(&'s S) -> T) -> Record<T> {
        match self {
            Record::Param { run_id, key, value } => Record::Param {
                run_id: f(run_id),
                key: f(key),
                value: f(value),
            },
            Record::SetTag { run_id, key, value } => Record::SetTag {
                run_id: f(run_id),
                key: f(key),
                value: f(value),
            },
            Record::DeleteTag { run_id, key } => Record::DeleteTag {
                run_id: f(run_id),
                key: f(key),
            },
            Record::CreateRun {
                run_id,
                experiment_id,
                run_name,
                user_id,
                start_time,
            } => Record::CreateRun {
                run_id: f(run_id),
                experiment_id: f(experiment_id),
                run_name: f(run_name),
                user_id: f(user_id),
                start_time: *start_time,
            },
            Record::UpdateRunStatus {
                run_id,
                status,
                time,
            } => Record::UpdateRunStatus {
                run_id: f(run_id),
                status: *status,
                time: *time,
            },
            Record::EndRun {
                run_id,
                status,
                end_time,
            } => Record::EndRun {
                run_id: f(run_id),
                status: *status,
                end_time: *end_time,
            },
            Record::RenameRun { run_id, run_name } => Record::RenameRun {
                run_id: f(run_id),
                run_name: f(run_name),
            },
            Record::DeleteRun { run_id, time } => Record::DeleteRun {
                run_id: f(run_id),
                time: *time,
            },
            Record::RestoreRun { run_id, time } => Record::RestoreRun {
                run_id: f(run_id),
                time: *time,
            },
            Record::CreateExperiment {
                experiment_id,
                name,
                artifact_location,
                creation_time,
            } => Record::CreateExperiment {
                experiment_id: f(experiment_id),
                name: f(name),
                artifact_location: f(artifact_location),
                creation_time: *creation_time,
            },
            Record::RenameExperiment {
                experiment_id,
                name,
                time,
            } => Record::RenameExperiment {
                experiment_id: f(experiment_id),
                name: f(name),
                time: *time,
            },
            Record::DeleteExperiment {
                experiment_id,
                time,
            } => Record::DeleteExperiment {
                experiment_id: f(experiment_id),
                time: *time,
            },
            Record::RestoreExperiment {
                experiment_id,
                time,
            } => Record::RestoreExperiment {
                experiment_id: f(experiment_id),
                time: *time,
            },
            Record::SetExperimentTag {
                experiment_id,
                key,
                value,
            } => Record::SetExperimentTag {
                experiment_id: f(experiment_id),
                key: f(key),
                value: f(value),
            },
            Record::DeleteExperimentTag { experiment_id, key } => Record::DeleteExperimentTag {
                experiment_id: f(experiment_id),
                key: f(key),
            },
            Record::LogInput { run_id, input } => Record::LogInput {
                run_id: f(run_id),
                input: Box::new(DatasetInput {
                    name: f(&input.name),
                    digest: f(&input.digest),
                    source_type: f(&input.source_type),
                    source: f(&input.source),
                    schema: input.schema.as_ref().map(&f),
                    profile: input.profile.as_ref().map(&f),
                    tags: input.tags.iter().map(|(k, v)| (f(k), f(v))).collect(),
                }),
            },
        }
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
            | Record::RestoreExperiment { time: t, .. } => Some(*t),
            _ => None,
        }
    }
}

impl<'a> Record<&'a str> {
    /// Decodes the payload of a record entry of `kind`; the whole payload
    /// must be consumed.
    pub(crate) fn decode_payload(kind: EntryKind, payload: &'a [u8]) -> Result<Self, DecodeError> {
        let mut c = Cursor::new(payload);
        let rec = match kind {
            EntryKind::Param => Record::Param {
                run_id: c.str()?,
                key: c.str()?,
                value: c.str()?,
            },
            EntryKind::SetTag => Record::SetTag {
                run_id: c.str()?,
                key: c.str()?,
                value: c.str()?,
            },
            EntryKind::DeleteTag => Record::DeleteTag {
                run_id: c.str()?,
                key: c.str()?,
            },
            EntryKind::CreateRun => Record::CreateRun {
                run_id: c.str()?,
                experiment_id: c.str()?,
                run_name: c.str()?,
                user_id: c.str()?,
                start_time: c.i64()?,
            },
            EntryKind::UpdateRunStatus => Record::UpdateRunStatus {
                run_id: c.str()?,
                status: c.status()?,
                time: c.i64()?,
            },
            EntryKind::EndRun => Record::EndRun {
                run_id: c.str()?,
                status: c.status()?,
                end_time: c.i64()?,
            },
            EntryKind::RenameRun => Record::RenameRun {
                run_id: c.str()?,
                run_name: c.str()?,
            },
            EntryKind::DeleteRun => Record::DeleteRun {
                run_id: c.str()?,
                time: c.i64()?,
            },
            EntryKind::RestoreRun => Record::RestoreRun {
                run_id: c.str()?,
                time: c.i64()?,
            },
            EntryKind::CreateExperiment => Record::CreateExperiment {
                experiment_id: c.str()?,
                name: c.str()?,
                artifact_location: c.str()?,
                creation_time: c.i64()?,
            },
            EntryKind::RenameExperiment => Record::RenameExperiment {
                experiment_id: c.str()?,
                name: c.str()?,
                time: c.i64()?,
            },
            EntryKind::DeleteExperiment => Record::DeleteExperiment {
                experiment_id: c.str()?,
                time: c.i64()?,
            },
            EntryKind::RestoreExperiment => Record::RestoreExperiment {
                experiment_id: c.str()?,
                time: c.i64()?,
            },
            EntryKind::SetExperimentTag => Record::SetExperimentTag {
                experiment_id: c.str()?,
                key: c.str()?,
                value: c.str()?,
            },
            EntryKind::DeleteExperimentTag => Record::DeleteExperimentTag {
                experiment_id: c.str()?,
                key: c.str()?,
            },
            EntryKind::LogInput => {
                let run_id = c.str()?;
                let name = c.str()?;
                let digest = c.str()?;
                let source_type = c.str()?;
                let source = c.str()?;
                let schema = c.opt_str()?;
                let profile = c.opt_str()?;
                let count = c.u32()? as usize;
                // Each tag takes at least 8 bytes: bound the allocation by
                // what the payload can hold, not by the count field.
                if count > c.remaining() / 8 {
                    return Err(DecodeError("dataset tag count exceeds the payload"));
                }
                let mut tags = Vec::with_capacity(count);
                for _ in 0..count {
                    tags.push((c.str()?, c.str()?));
                }
                Record::LogInput {
                    run_id,
                    input: Box::new(DatasetInput {
                        name,
                        digest,
                        source_type,
                        source,
                        schema,
                        profile,
                        tags,
                    }),
                }
            }
            EntryKind::Series | EntryKind::Metric | EntryKind::Seal => {
                return Err(DecodeError("not a record kind"))
            }
        };
        c.finish()?;
        Ok(rec)
    }
}

//! Reading an MLflow SQLite database (MLflow's SQL store schema:
//! `experiments`, `experiment_tags`, `runs`, `params`, `tags`, `metrics`,
//! `datasets`, `inputs`, `input_tags`), opened read-only.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::format::{DatasetInput, RunStatus};
use crate::import::{status, Sink, SourceExperiment, SourceRun};
use crate::tracking::Metric;

pub(super) fn db_error(path: &Path, what: &str, e: rusqlite::Error) -> Error {
    Error::InvalidArgument(format!(
        "{}: {what}: {e} (is it an MLflow SQLite database?)",
        path.display()
    ))
}

/// Reads the database at `path` into `sink`: its experiments, then its
/// runs one at a time (their metrics streamed in run order); rows that
/// cannot be read are added to `problems` and skipped.
pub(crate) fn read(path: &Path, problems: &mut Vec<String>, sink: &mut dyn Sink) -> Result<()> {
    if !path.is_file() {
        return Err(Error::NotFound(format!(
            "no database file {}",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| db_error(path, "open", e))?;
    let mut db = Db {
        conn: &conn,
        path,
        problems,
    };
    let experiments = db.experiments()?;
    sink.experiments(&experiments)?;
    let mut runs = db.runs()?;
    db.inputs(&mut runs)?;
    db.stream_runs(runs, sink)?;
    // MLflow 3's models, once their runs are in.
    let (models, links) = super::sqlite_models::read_models(&conn, path, db.problems)?;
    sink.models(&models, &links)?;
    let registered = super::sqlite_models::read_registry(&conn, path, db.problems)?;
    sink.registry(&registered)
}

/// An open database, with where its unreadable rows are told.
struct Db<'a> {
    conn: &'a Connection,
    path: &'a Path,
    problems: &'a mut Vec<String>,
}

impl Db<'_> {
    /// The error of a query of `what` (a table).
    fn error(&self, what: &str, e: rusqlite::Error) -> Error {
        db_error(self.path, what, e)
    }

    /// Tells of a row of `table` that cannot be read.
    fn skip(&mut self, table: &str, e: rusqlite::Error) {
        let path = self.path.display();
        self.problems
            .push(format!("{path}: a row of {table}: {e}; skipped"));
    }

    /// The experiments, with their tags.
    fn experiments(&mut self) -> Result<Vec<SourceExperiment>> {
        let mut experiments: Vec<SourceExperiment> = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time FROM experiments ORDER BY experiment_id")
                .map_err(|e| self.error("experiments", e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(SourceExperiment {
                        id: r.get::<_, i64>(0)?.to_string(),
                        name: r.get(1)?,
                        artifact_location: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        deleted: r.get::<_, Option<String>>(3)?.as_deref() == Some("deleted"),
                        creation_time: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                        tags: BTreeMap::new(),
                    })
                })
                .map_err(|e| self.error("experiments", e))?;
            for row in rows {
                match row {
                    Ok(e) => experiments.push(e),
                    Err(e) => self.skip("experiments", e),
                }
            }
        }
        let tags = pairs(
            self.conn,
            "SELECT experiment_id, key, value FROM experiment_tags",
        )
        .map_err(|e| self.error("experiment_tags", e))?;
        for (id, key, value) in tags {
            if let Some(e) = experiments.iter_mut().find(|e| e.id == id) {
                e.tags.insert(key, value);
            }
        }
        Ok(experiments)
    }

    /// The runs by id, with their params and tags (no metrics yet).
    fn runs(&mut self) -> Result<BTreeMap<String, SourceRun>> {
        let mut runs: BTreeMap<String, SourceRun> = BTreeMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT run_uuid, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, deleted_time FROM runs")
                .map_err(|e| self.error("runs", e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?.to_string(),
                        r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                        r.get::<_, Option<i64>>(6)?,
                        r.get::<_, Option<String>>(7)?.as_deref() == Some("deleted"),
                        r.get::<_, Option<i64>>(8)?,
                    ))
                })
                .map_err(|e| self.error("runs", e))?;
            for row in rows {
                let (id, experiment_id, name, user_id, st, start, end, deleted, deleted_time) =
                    match row {
                        Ok(r) => r,
                        Err(e) => {
                            self.skip("runs", e);
                            continue;
                        }
                    };
                let Some(run_status) = status(&st) else {
                    let path = self.path.display();
                    self.problems
                        .push(format!("{path}: run {id} has status {st:?}; skipped"));
                    continue;
                };
                runs.insert(
                    id.clone(),
                    SourceRun {
                        id,
                        experiment_id,
                        name,
                        user_id,
                        status: run_status,
                        start_time: start,
                        end_time: end.filter(|_| run_status != RunStatus::Running),
                        deleted: deleted.then(|| deleted_time.or(end).unwrap_or(start)),
                        params: BTreeMap::new(),
                        tags: BTreeMap::new(),
                        metrics: BTreeMap::new(),
                        inputs: Vec::new(),
                    },
                );
            }
        }
        for (run, key, value) in pairs(self.conn, "SELECT run_uuid, key, value FROM params")
            .map_err(|e| self.error("params", e))?
        {
            if let Some(r) = runs.get_mut(&run) {
                r.params.insert(key, value);
            }
        }
        for (run, key, value) in pairs(self.conn, "SELECT run_uuid, key, value FROM tags")
            .map_err(|e| self.error("tags", e))?
        {
            if let Some(r) = runs.get_mut(&run) {
                r.tags.insert(key, value);
            }
        }
        Ok(runs)
    }

    /// The runs' dataset inputs: `inputs` (DATASET -> RUN) joined with
    /// `datasets`, tags from `input_tags`. Nothing when the database
    /// predates them.
    fn inputs(&mut self, runs: &mut BTreeMap<String, SourceRun>) -> Result<()> {
        if self.conn.prepare("SELECT 1 FROM inputs LIMIT 1").is_err() {
            return Ok(());
        }
        let mut tags: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (input, k, v) in pairs(self.conn, "SELECT input_uuid, name, value FROM input_tags")
            .map_err(|e| self.error("input_tags", e))?
        {
            tags.entry(input).or_default().push((k, v));
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.input_uuid, i.destination_id, d.name, d.digest, d.dataset_source_type, \
                 d.dataset_source, d.dataset_schema, d.dataset_profile FROM inputs i JOIN datasets d \
                 ON i.source_id = d.dataset_uuid WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN'",
            )
            .map_err(|e| self.error("inputs", e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    DatasetInput {
                        name: r.get(2)?,
                        digest: r.get(3)?,
                        source_type: r.get(4)?,
                        source: r.get(5)?,
                        schema: r.get(6)?,
                        profile: r.get(7)?,
                        tags: Vec::new(),
                    },
                ))
            })
            .map_err(|e| self.error("inputs", e))?;
        for row in rows {
            match row {
                Ok((input, run, mut d)) => {
                    d.tags = tags.remove(&input).unwrap_or_default();
                    if let Some(r) = runs.get_mut(&run) {
                        r.inputs.push(d);
                    }
                }
                Err(e) => self.skip("inputs", e),
            }
        }
        Ok(())
    }

    /// Every run into `sink`, with its metrics, streamed in run order: a
    /// run goes with its points as soon as the next run's rows begin; runs
    /// without metrics last.
    fn stream_runs(
        &mut self,
        mut runs: BTreeMap<String, SourceRun>,
        sink: &mut dyn Sink,
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics ORDER BY run_uuid, key, step, timestamp")
            .map_err(|e| self.error("metrics", e))?;
        let mut rows = stmt.query([]).map_err(|e| self.error("metrics", e))?;
        let mut skipped = 0u64;
        let mut current: Option<SourceRun> = None;
        while let Some(r) = rows.next().map_err(|e| self.error("metrics", e))? {
            let Ok((run, key, m)) = metric_row(r) else {
                skipped += 1;
                continue;
            };
            if current.as_ref().is_none_or(|c| c.id != run) {
                if let Some(done) = current.take() {
                    sink.run(done)?;
                }
                current = runs.remove(&run);
            }
            if let Some(c) = current.as_mut() {
                c.metrics.entry(key).or_default().push(m);
            }
        }
        if let Some(done) = current.take() {
            sink.run(done)?;
        }
        if skipped > 0 {
            let path = self.path.display();
            self.problems.push(format!(
                "{path}: {skipped} row(s) of metrics that are not (run, key, number, timestamp, step); skipped"
            ));
        }
        for run in runs.into_values() {
            sink.run(run)?;
        }
        Ok(())
    }
}

/// A row of `metrics`: its run, its key and its point (`is_nan` read as
/// NaN).
fn metric_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, Metric)> {
    let is_nan = r.get::<_, Option<bool>>(5)?.unwrap_or(false);
    let value: f64 = if is_nan { f64::NAN } else { r.get(2)? };
    Ok((
        r.get(0)?,
        r.get(1)?,
        Metric {
            value,
            timestamp: r.get(3)?,
            step: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
        },
    ))
}

/// Rows of three text columns (the first as text even when it is a number).
fn pairs(db: &Connection, sql: &str) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt = db.prepare(sql)?;
    let rows = stmt.query_map([], |r| {
        let first = match r.get_ref(0)? {
            rusqlite::types::ValueRef::Integer(i) => i.to_string(),
            other => other.as_str().map(str::to_owned).unwrap_or_default(),
        };
        Ok((
            first,
            r.get(1)?,
            r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        ))
    })?;
    rows.collect()
}

//! Metric history through the client: every point of a metric, a step or
//! time range of it, several runs at once, series downsampled for plots,
//! and a history streamed. The client gathers the inputs (the chunk index
//! of each generation its view holds, the live points of its tail); the
//! plan and the decoding are [`index`](crate::index)'s.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::format::Metric;
use crate::index::plan::{plan, series_points, Sources, Unit};
use crate::index::query::HistoryQuery;
use crate::index::stream::MetricHistoryIter;
use crate::tracking::backend::Local;
use crate::tracking::client::Client;

impl Client {
    /// Every point of metric `key` of a run, ordered by step, then
    /// timestamp, then the order they were logged in. An unknown key gives
    /// an empty history; an unknown run is an error. Ranges of steps and
    /// downsampling: [`metric_history`](Client::metric_history).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::builder().store(dir.path()).open()?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// client.log_metric(&run_id, "loss", 0.5, 1)?;
    /// client.log_metric(&run_id, "loss", 0.25, 2)?;
    /// let history = client.get_metric_history(&run_id, "loss")?;
    /// assert_eq!(history.iter().map(|m| m.step).collect::<Vec<_>>(), [1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        self.metric_history(run_id, key, &HistoryQuery::new())
    }

    /// The points of metric `key` of a run that the query selects, in the
    /// order of [`get_metric_history`](Client::get_metric_history).
    pub fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<Metric>> {
        let mut points = Vec::new();
        self.metric_history_into(run_id, key, query, &mut points)?;
        Ok(points)
    }

    /// [`metric_history`](Client::metric_history) into `out`, whose points
    /// are replaced: a caller that reads long histories again and again
    /// (a plot that refreshes, a server) reuses one buffer, where a fresh
    /// vector of 10 M points costs the kernel 240 MB of cleared pages.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::builder().store(dir.path()).open()?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// client.log_metric(&run_id, "loss", 0.5, 1)?;
    /// let mut points = Vec::new();
    /// for _refresh in 0..3 {
    ///     client.metric_history_into(&run_id, "loss", &runlog::HistoryQuery::new(), &mut points)?;
    ///     assert_eq!(points.len(), 1);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metric_history_into(
        &self,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
        out: &mut Vec<Metric>,
    ) -> Result<()> {
        self.backend
            .metric_history_into(self, run_id, key, query, out)
    }

    /// The history of metric `key` for several runs at once (to compare
    /// them), in one read of the log: one `(run id, points)` pair per run,
    /// in the order given.
    pub fn get_metric_history_bulk(
        &self,
        run_ids: &[&str],
        key: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<(String, Vec<Metric>)>> {
        self.backend
            .get_metric_history_bulk(self, run_ids, key, query)
    }

    /// The points of metric `key` of a run that the query selects, in the
    /// order of [`get_metric_history`](Client::get_metric_history), as an
    /// iterator whose memory does not grow with the history: for exports
    /// of histories too long to hold (100 M points are 2.4 GB as
    /// [`Metric`]s).
    ///
    /// Compacted chunks are decoded when the stream reaches their steps,
    /// so memory stays at a few chunks when steps were logged in order (a
    /// training loop); chunks whose step ranges overlap are open at once.
    /// Points not compacted yet come from the client's live tail, which
    /// holds every point of the store's live segments in memory (24 bytes
    /// each), and the series' selected ones are copied for the stream: the
    /// background compaction keeps them to the last few segments, but a
    /// store written with compaction off holds them all (compact it before
    /// streaming long histories out of it). The stream holds the points
    /// logged before the call; points logged while it runs are left out.
    /// The query's `max_points` is refused: downsampling needs the whole
    /// series, use [`metric_history`](Client::metric_history).
    ///
    /// ```
    /// # fn main() -> runlog::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let client = runlog::Client::new(dir.path().to_str().unwrap())?;
    /// let run = client.create_run("0")?;
    /// let id = &run.info.run_id;
    /// for step in 0..1000 {
    ///     client.log_metric(id, "loss", 1.0 / (step + 1) as f64, step)?;
    /// }
    /// let q = runlog::HistoryQuery::new().steps(10..=19);
    /// let mut n = 0;
    /// for point in client.metric_history_iter(id, "loss", &q)? {
    ///     assert!((10..=19).contains(&point?.step));
    ///     n += 1;
    /// }
    /// assert_eq!(n, 10);
    /// # Ok(()) }
    /// ```
    pub fn metric_history_iter(
        &self,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
    ) -> Result<MetricHistoryIter> {
        if query.max_points.is_some() {
            return Err(Error::InvalidArgument(
                "a streamed history cannot be downsampled: use metric_history with max_points"
                    .into(),
            ));
        }
        self.backend.metric_history_iter(self, run_id, key, query)
    }

    /// The sources of a history query for `runs` (slots in their order):
    /// the chunk indexes of the view's generations, and each run's live
    /// points the query selects, taken from the view's tail in one hold of
    /// the view.
    fn history_inputs(
        &self,
        runs: &[&str],
        key: &Arc<str>,
        query: &HistoryQuery,
    ) -> Result<Sources> {
        let taken = self.view_with_tail()?.log.sources(runs, key, query);
        self.inner.indexes.sources(self.store_dir(), taken)
    }

    /// The pieces of `key`'s series for the runs in `slots` (run id ->
    /// slot), one list per slot.
    fn collect_units(
        &self,
        slots: &HashMap<&str, usize>,
        n: usize,
        key: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<Vec<Unit>>> {
        let key: Arc<str> = Arc::from(key);
        let mut runs = vec![""; n];
        for (run, &slot) in slots {
            runs[slot] = run;
        }
        plan(self.history_inputs(&runs, &key, query)?, slots, &key, query)
    }
}

/// The history part of a [`Backend`](crate::tracking::backend::Backend):
/// what [`Client`]'s history reads of the same names do, once the query
/// is checked.
pub(crate) trait HistoryBackend {
    fn metric_history_into(
        &self,
        client: &Client,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
        out: &mut Vec<Metric>,
    ) -> Result<()>;
    fn get_metric_history_bulk(
        &self,
        client: &Client,
        run_ids: &[&str],
        key: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<(String, Vec<Metric>)>>;
    fn metric_history_iter(
        &self,
        client: &Client,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
    ) -> Result<MetricHistoryIter>;
}

/// Histories read from the store's compacted chunks and its live tail.
impl HistoryBackend for Local {
    fn metric_history_into(
        &self,
        client: &Client,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
        out: &mut Vec<Metric>,
    ) -> Result<()> {
        query.check()?;
        client.get_run(run_id)?; // exists; also writes what this process queued
        let slots: HashMap<&str, usize> = HashMap::from([(run_id, 0)]);
        let units = client
            .collect_units(&slots, 1, key, query)?
            .pop()
            .unwrap_or_default();
        *out = series_points(units, query.max_points, std::mem::take(out))?;
        Ok(())
    }

    fn get_metric_history_bulk(
        &self,
        client: &Client,
        run_ids: &[&str],
        key: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<(String, Vec<Metric>)>> {
        query.check()?;
        for id in run_ids {
            client.get_run(id)?; // exists; also writes what this process queued
        }
        let mut slots: HashMap<&str, usize> = HashMap::new();
        for (i, id) in run_ids.iter().enumerate() {
            slots.entry(id).or_insert(i);
        }
        let mut units = client.collect_units(&slots, run_ids.len(), key, query)?;
        let mut out: Vec<(String, Vec<Metric>)> = Vec::with_capacity(run_ids.len());
        for (i, id) in run_ids.iter().enumerate() {
            let slot = slots.get(id).copied().unwrap_or(i);
            let points = if slot == i {
                series_points(
                    std::mem::take(&mut units[slot]),
                    query.max_points,
                    Vec::new(),
                )?
            } else {
                out[slot].1.clone() // the same run asked for twice
            };
            out.push(((*id).to_owned(), points));
        }
        Ok(out)
    }

    fn metric_history_iter(
        &self,
        client: &Client,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
    ) -> Result<MetricHistoryIter> {
        client.get_run(run_id)?; // exists; also writes what this process queued
        let series = (Arc::<str>::from(run_id), Arc::<str>::from(key));
        let Sources { indexes, live } = client.history_inputs(&[run_id], &series.1, query)?;
        let live = live.into_iter().next().unwrap_or_default();
        Ok(MetricHistoryIter::new(&indexes, live, series, query))
    }
}

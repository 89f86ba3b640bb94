//! The client's `search_runs` and `search_experiments`: MLflow's filter
//! language ([`filter`](crate::tracking::filter)), `order_by`,
//! `max_results` and page tokens.
//!
//! ```
//! # fn main() -> runlog::Result<()> {
//! use runlog::{Client, SearchRuns};
//! # let dir = tempfile::tempdir().unwrap();
//! let client = Client::builder().store(dir.path()).open()?;
//! for lr in [0.1, 0.01, 0.001] {
//!     let run = client.create_run("0")?;
//!     client.log_param(&run.info.run_id, "lr", lr)?;
//!     client.log_metric(&run.info.run_id, "loss", lr * 10.0, 0)?;
//! }
//! let page = client.search_runs(
//!     &SearchRuns::new(&["0"])
//!         .filter("metrics.loss < 0.5 and params.lr != '0.001'")
//!         .order_by("metrics.loss ASC"),
//! )?;
//! assert_eq!(page.len(), 1);
//! assert_eq!(page[0].data.params["lr"], "0.01");
//! # Ok(()) }
//! ```

use std::ops::Deref;

use crate::error::{Error, Result};
use crate::tracking::backend::Local;
use crate::tracking::client::Client;
use crate::tracking::filter::{eval, order, parse_filter, RunFilter};
use crate::tracking::model::{Experiment, Run, ViewType};

/// Default `max_results` (MLflow's).
pub const DEFAULT_MAX_RESULTS: usize = 1000;
/// Largest `max_results` (MLflow's).
pub const MAX_RESULTS_LIMIT: usize = 50_000;

/// One page of search results, and the token of the next page when there
/// are more. Derefs to a slice of the results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The results of this page.
    pub items: Vec<T>,
    /// Pass to the query's `page_token` for the next page; `None` on the
    /// last page.
    pub next_page_token: Option<String>,
}

impl<T> Deref for Page<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// The setters both queries share (the fields have the same names).
macro_rules! query_setters {
    () => {
        /// The filter, in MLflow's language (see
        /// [`filter`](crate::tracking::filter)).
        pub fn filter(mut self, filter: impl Into<String>) -> Self {
            self.filter = filter.into();
            self
        }

        /// Active ones (default), deleted ones, or all.
        pub fn view(mut self, view: ViewType) -> Self {
            self.view = view;
            self
        }

        /// Results per page, 1 to 50,000 (default 1000).
        pub fn max_results(mut self, n: usize) -> Self {
            self.max_results = n;
            self
        }

        /// Adds an ordering key with `ASC` or `DESC` (e.g. `metrics.loss
        /// DESC`, `name`); earlier keys weigh more; missing values sort last.
        pub fn order_by(mut self, item: impl Into<String>) -> Self {
            self.order_by.push(item.into());
            self
        }

        /// Continues from a page's `next_page_token`.
        pub fn page_token(mut self, token: impl Into<String>) -> Self {
            self.page_token = Some(token.into());
            self
        }
    };
}

/// A `search_runs` query (MLflow's arguments, as a builder).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRuns {
    pub(crate) experiment_ids: Vec<String>,
    pub(crate) filter: String,
    pub(crate) view: ViewType,
    pub(crate) max_results: usize,
    pub(crate) order_by: Vec<String>,
    pub(crate) page_token: Option<String>,
}

impl SearchRuns {
    /// Runs of these experiments: no filter, active runs, 1000 a page,
    /// newest first.
    pub fn new<S: AsRef<str>>(experiment_ids: &[S]) -> SearchRuns {
        SearchRuns {
            experiment_ids: experiment_ids
                .iter()
                .map(|s| s.as_ref().to_owned())
                .collect(),
            filter: String::new(),
            view: ViewType::ActiveOnly,
            max_results: DEFAULT_MAX_RESULTS,
            order_by: Vec::new(),
            page_token: None,
        }
    }

    query_setters!();
}

/// A `search_experiments` query. A [`ViewType`] converts into one with
/// MLflow's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchExperiments {
    pub(crate) filter: String,
    pub(crate) view: ViewType,
    pub(crate) max_results: usize,
    pub(crate) order_by: Vec<String>,
    pub(crate) page_token: Option<String>,
}

impl Default for SearchExperiments {
    fn default() -> Self {
        SearchExperiments {
            filter: String::new(),
            view: ViewType::ActiveOnly,
            max_results: DEFAULT_MAX_RESULTS,
            order_by: Vec::new(),
            page_token: None,
        }
    }
}

impl From<ViewType> for SearchExperiments {
    fn from(view: ViewType) -> Self {
        SearchExperiments::new().view(view)
    }
}

impl SearchExperiments {
    /// Active experiments, 1000 a page, newest first (MLflow's default).
    pub fn new() -> SearchExperiments {
        SearchExperiments::default()
    }

    query_setters!();
}

impl Client {
    /// Runs of the given experiments that match the query's filter, in its
    /// order, one page at a time (MLflow's filter language and `order_by`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::builder().store(dir.path()).open()?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// client.log_metric(&run_id, "loss", 0.2, 1)?;
    /// use runlog::SearchRuns;
    /// let page = client.search_runs(&SearchRuns::new(&["0"]).filter("metrics.loss < 0.5").order_by("metrics.loss ASC"))?;
    /// assert_eq!(page.items[0].info.run_id, run_id);
    /// assert!(page.next_page_token.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn search_runs(&self, query: &SearchRuns) -> Result<Page<Run>> {
        self.backend.search_runs(self, query)
    }

    /// Experiments that match the query (a [`ViewType`] alone lists them
    /// with MLflow's defaults), one page at a time.
    pub fn search_experiments(
        &self,
        query: impl Into<SearchExperiments>,
    ) -> Result<Page<Experiment>> {
        let query = query.into();
        self.backend.search_experiments(self, &query)
    }
}

pub(crate) fn check_max_results(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidArgument(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive \
             integer"
        )));
    }
    if n > MAX_RESULTS_LIMIT {
        return Err(Error::InvalidArgument(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be at most \
             {MAX_RESULTS_LIMIT}"
        )));
    }
    Ok(())
}

/// Page tokens are `o<offset>`: opaque to users, checked on the way in.
pub fn parse_token(token: Option<&str>) -> Result<usize> {
    let Some(token) = token else {
        return Ok(0);
    };
    token
        .strip_prefix('o')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Error::InvalidArgument(format!("invalid page token '{token}'")))
}

/// One page of `all`: `max` items from `offset`, and the next page's token.
pub fn page<T>(mut all: Vec<T>, offset: usize, max: usize) -> Page<T> {
    let total = all.len();
    let start = offset.min(total);
    let end = start.saturating_add(max).min(total);
    let items: Vec<T> = all.drain(start..end).collect();
    Page {
        items,
        next_page_token: (end < total).then(|| format!("o{end}")),
    }
}

/// The search part of a [`Backend`](crate::tracking::backend::Backend):
/// what [`Client`]'s searches of the same names do.
pub(crate) trait SearchBackend {
    fn search_runs(&self, client: &Client, query: &SearchRuns) -> Result<Page<Run>>;
    fn search_experiments(
        &self,
        client: &Client,
        query: &SearchExperiments,
    ) -> Result<Page<Experiment>>;
}

/// Searches evaluated here, over the store's state (MLflow's filter
/// language and orderings).
impl SearchBackend for Local {
    fn search_runs(&self, client: &Client, query: &SearchRuns) -> Result<Page<Run>> {
        check_max_results(query.max_results)?;
        let filter = RunFilter::parse(&query.filter)?;
        let keys = order::run_order(&query.order_by)?;
        let offset = parse_token(query.page_token.as_deref())?;
        if query.experiment_ids.is_empty() {
            return Err(Error::InvalidArgument(
                "search_runs needs at least one experiment id".into(),
            ));
        }
        let mut found = Vec::new();
        for id in &query.experiment_ids {
            // An unknown experiment has no runs, as in MLflow.
            let runs = match client.list_runs(id, ViewType::All) {
                Err(err) if err.is_not_found() => continue,
                other => other?,
            };
            for run in runs {
                if query.view.includes(run.info.lifecycle_stage) && filter.matches(&run) {
                    found.push(run);
                }
            }
        }
        order::sort_runs(&mut found, &keys);
        Ok(page(found, offset, query.max_results))
    }

    fn search_experiments(
        &self,
        client: &Client,
        query: &SearchExperiments,
    ) -> Result<Page<Experiment>> {
        check_max_results(query.max_results)?;
        let clauses = parse_filter(&query.filter)?;
        eval::check_experiment_clauses(&clauses)?;
        let keys = order::experiment_order(&query.order_by)?;
        let offset = parse_token(query.page_token.as_deref())?;
        let mut found: Vec<Experiment> = client
            .all_experiments()?
            .into_iter()
            .filter(|e| query.view.includes(e.lifecycle_stage))
            .filter(|e| eval::experiment_matches(e, &clauses))
            .collect();
        order::sort_experiments(&mut found, &keys);
        Ok(page(found, offset, query.max_results))
    }
}

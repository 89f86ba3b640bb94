//! MLflow's filter language and `order_by` for runs and experiments: the
//! parser ([`parse`]), the evaluation of clauses against the entities, and
//! the orderings. It reads the entities of [`model`](crate::tracking::model)
//! and nothing else of the tracking layer.

pub(crate) mod eval;
pub(crate) mod order;
pub mod parse;

use crate::error::Result;
use crate::tracking::model::Run;

pub use parse::{parse_filter, parse_order_by, Clause, Comparator, Entity, Value};

/// A parsed and checked run filter, to test runs one by one.
///
/// ```
/// let filter = runlog::tracking::filter::RunFilter::parse("metrics.loss < 0.5")?;
/// assert_eq!(filter.clauses().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RunFilter {
    clauses: Vec<Clause>,
}

impl RunFilter {
    /// Parses a filter and checks that each clause compares what MLflow
    /// allows for runs.
    pub fn parse(filter: &str) -> Result<RunFilter> {
        let mut clauses = parse_filter(filter)?;
        for clause in &mut clauses {
            if let Entity::Attribute(name) = &mut clause.entity {
                *name = eval::run_attribute(name).to_owned();
            }
        }
        eval::check_run_clauses(&clauses)?;
        Ok(RunFilter { clauses })
    }

    /// The clauses, in order.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// Whether the run matches every clause.
    pub fn matches(&self, run: &Run) -> bool {
        eval::run_matches(run, &self.clauses)
    }
}

/// A parsed and checked logged-model filter (MLflow's
/// `search_logged_models`): attributes (`name`, `model_id`, `model_type`,
/// `status`, `source_run_id`, `creation_timestamp`,
/// `last_updated_timestamp`), `metrics.<key>`, `params.<key>`,
/// `tags.<key>`.
///
/// ```
/// let filter = runlog::tracking::filter::ModelFilter::parse("metrics.acc > 0.9 AND name LIKE 'rf%'")?;
/// assert_eq!(filter.clauses().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFilter {
    clauses: Vec<Clause>,
}

impl ModelFilter {
    /// Parses a filter and checks that each clause compares what MLflow
    /// allows for logged models.
    pub fn parse(filter: &str) -> Result<ModelFilter> {
        let clauses = parse_filter(filter)?;
        eval::check_model_clauses(&clauses)?;
        Ok(ModelFilter { clauses })
    }

    /// The clauses, in order.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }
}

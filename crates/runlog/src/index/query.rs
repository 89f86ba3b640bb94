//! What a history query selects: a step range, a time range, a point
//! budget.

use std::ops::RangeInclusive;

use crate::error::{Error, Result};

/// Which points of a metric history to return.
///
/// ```
/// use runlog::HistoryQuery;
/// let q = HistoryQuery::new().steps(100..=199).max_points(50);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    pub(crate) steps: Option<RangeInclusive<i64>>,
    pub(crate) timestamps: Option<RangeInclusive<i64>>,
    pub(crate) max_points: Option<usize>,
}

impl HistoryQuery {
    /// Every point.
    pub fn new() -> HistoryQuery {
        HistoryQuery::default()
    }

    /// Only points whose step is in the range.
    pub fn steps(mut self, range: RangeInclusive<i64>) -> Self {
        self.steps = Some(range);
        self
    }

    /// Only points whose timestamp (ms since the epoch) is in the range.
    pub fn timestamps(mut self, range: RangeInclusive<i64>) -> Self {
        self.timestamps = Some(range);
        self
    }

    /// At most `n` points per series, for plots: see
    /// [`downsample`](crate::tracking::downsample). A
    /// series of `n` points or fewer comes back whole.
    pub fn max_points(mut self, n: usize) -> Self {
        self.max_points = Some(n);
        self
    }

    /// Refuses a query no history can answer.
    pub(crate) fn check(&self) -> Result<()> {
        if self.max_points == Some(0) {
            return Err(Error::InvalidArgument(
                "max_points must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Whether a point at `step` and `timestamp` is selected (the ranges;
    /// `max_points` aside).
    pub(crate) fn admits(&self, step: i64, timestamp: i64) -> bool {
        self.steps.as_ref().is_none_or(|r| r.contains(&step))
            && self
                .timestamps
                .as_ref()
                .is_none_or(|r| r.contains(&timestamp))
    }
}

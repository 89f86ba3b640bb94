//! The metric point, the one value type the log, the generation files and
//! the tracking API share.

/// One metric point: a value at a step and a wall-clock time.
///
/// Fields are named so that step and timestamp, both `i64`, cannot be
/// swapped silently. In JSON its value is a number, or one of MLflow's
/// strings `"NaN"`, `"Infinity"`, `"-Infinity"` (see
/// [`json_number`](crate::tracking::json_number)).
///
/// ```
/// let m = runlog::Metric { value: 0.5, timestamp: 1_700_000_000_000, step: 3 };
/// assert_eq!(m.step, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    /// The value; NaN and infinities are kept bit for bit.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The training step.
    pub step: i64,
}

impl Metric {
    /// Whether `self` replaces `current` as a metric's latest value: the
    /// greater step, then the greater timestamp (MLflow's rule), then, at
    /// the same step and timestamp, a number over NaN and the greater
    /// number (IEEE total order) over a smaller one.
    ///
    /// The last tie is runlog's own rule: MLflow's stores disagree there.
    /// Its SQL store compares NaN as 0 (NaN beats -1 but loses to 1), an
    /// artifact of how it stores NaN; runlog lets any number beat NaN.
    pub fn is_later_than(&self, current: &Metric) -> bool {
        let value = |m: &Metric| (!m.value.is_nan(), m.value);
        (self.step, self.timestamp)
            .cmp(&(current.step, current.timestamp))
            .then_with(|| {
                let (a, b) = (value(self), value(current));
                a.0.cmp(&b.0).then_with(|| a.1.total_cmp(&b.1))
            })
            .is_gt()
    }
}

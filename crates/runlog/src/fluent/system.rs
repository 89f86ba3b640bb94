//! System metrics of fluent runs: `StartRun::log_system_metrics`, and
//! MLflow's switches for every run (`enable_system_metrics_logging`,
//! `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`). A run's monitor lives on its
//! thread's run stack and is stopped, its last samples logged, before the
//! run ends.

use std::sync::atomic::{AtomicU8, Ordering};

#[cfg(not(feature = "system-metrics"))]
use crate::error::Error;
use crate::error::Result;
use crate::tracking::Client;

/// The process's switch: 0 unset (the variable decides), 1 on, 2 off.
static SWITCH: AtomicU8 = AtomicU8::new(0);

/// System metrics for every run started from now on in this process, as
/// MLflow's `enable_system_metrics_logging()` (a run's own
/// `log_system_metrics(false)` still wins).
pub fn enable_system_metrics_logging() {
    SWITCH.store(1, Ordering::Relaxed);
}

/// No system metrics for runs started from now on, unless a run asks.
pub fn disable_system_metrics_logging() {
    SWITCH.store(2, Ordering::Relaxed);
}

/// Whether a run that does not say gets system metrics.
fn on_by_default() -> bool {
    match SWITCH.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => enabled_by_env(),
    }
}

#[cfg(feature = "system-metrics")]
fn enabled_by_env() -> bool {
    crate::system_metrics::enabled_by_env()
}

#[cfg(not(feature = "system-metrics"))]
fn enabled_by_env() -> bool {
    std::env::var("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"))
}

/// A run's monitor, if it has one.
#[cfg(feature = "system-metrics")]
pub(super) type Monitor = Option<crate::system_metrics::SystemMetrics>;
/// A run's monitor: never one in a build without the feature.
#[cfg(not(feature = "system-metrics"))]
pub(super) type Monitor = Option<std::convert::Infallible>;

/// What a run about to start will sample with, checked before the run is
/// made (a bad MLflow variable is refused then, leaving no run behind):
/// `Some` when the run asks (`asked`), else when the process's switch or
/// MLflow's variable says so.
#[cfg(feature = "system-metrics")]
pub(super) struct Plan(Option<crate::system_metrics::SystemMetricsOptions>);
/// What a run about to start will sample with: nothing without the
/// feature.
#[cfg(not(feature = "system-metrics"))]
pub(super) struct Plan(());

#[cfg(feature = "system-metrics")]
pub(super) fn plan(asked: Option<bool>) -> Result<Plan> {
    if !asked.unwrap_or_else(on_by_default) {
        return Ok(Plan(None));
    }
    crate::system_metrics::SystemMetricsOptions::from_env().map(|o| Plan(Some(o)))
}

#[cfg(not(feature = "system-metrics"))]
pub(super) fn plan(asked: Option<bool>) -> Result<Plan> {
    if asked.unwrap_or_else(on_by_default) {
        return Err(Error::InvalidArgument(
            "system metrics need runlog's `system-metrics` feature, which this build lacks".into(),
        ));
    }
    Ok(Plan(()))
}

/// The monitor of a run just made. A machine that cannot be read leaves
/// the run without one, with a warning, as MLflow does: the run itself
/// goes on.
pub(super) fn start_monitor(c: &Client, run_id: &str, plan: Plan) -> Monitor {
    #[cfg(feature = "system-metrics")]
    if let Some(options) = plan.0 {
        match crate::system_metrics::SystemMetrics::start(c, run_id, options) {
            Ok(m) => return Some(m),
            Err(e) => eprintln!("runlog: run {run_id} logs no system metrics: {e}"),
        }
    }
    #[cfg(not(feature = "system-metrics"))]
    let _ = (c, run_id, plan);
    None
}

/// Stops a run's monitor, its samples not yet logged logged.
pub(super) fn stop_monitor(m: &mut Monitor) {
    #[cfg(feature = "system-metrics")]
    if let Some(m) = m.take() {
        m.stop();
    }
    #[cfg(not(feature = "system-metrics"))]
    let _ = m;
}

/// Leaves a monitor whose thread this process does not have (a forked
/// child).
pub(super) fn abandon_monitor(m: &mut Monitor) {
    #[cfg(feature = "system-metrics")]
    if let Some(m) = m.take() {
        m.abandon();
    }
    #[cfg(not(feature = "system-metrics"))]
    let _ = m;
}

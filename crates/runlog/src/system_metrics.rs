//! System metrics of a run, as MLflow samples them: a background thread
//! reads the machine's CPU, memory, root disk, network and GPUs every
//! `interval` (10 s by default), averages `samples_before_logging` samples
//! (1 by default) and logs them into the run under MLflow's names
//! (`system/cpu_utilization_percentage`, ...), at steps 0, 1, 2, ...
//! ([sysinfo](https://docs.rs/sysinfo) reads the machine; NVIDIA GPUs
//! through NVIDIA's management library when it is installed).
//!
//! ```no_run
//! # fn main() -> runlog::Result<()> {
//! let client = runlog::Client::new("mlruns")?;
//! let run = client.create_run("0")?;
//! let monitor = runlog::SystemMetrics::start(&client, &run.info.run_id, Default::default())?;
//! // ... train ...
//! monitor.stop(); // the samples taken so far are logged
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sysinfo::{Disks, Gpus, Networks, System};

use crate::error::{Error, Result};
use crate::tracking::{Batch, Client};

/// MLflow's variable for the sampling interval, in seconds.
pub const SAMPLING_INTERVAL_VAR: &str = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL";
/// MLflow's variable for how many samples are averaged into one logged
/// point.
pub const SAMPLES_BEFORE_LOGGING_VAR: &str = "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING";
/// MLflow's variable naming the machine (`system/<node>/...`).
pub const NODE_ID_VAR: &str = "MLFLOW_SYSTEM_METRICS_NODE_ID";
/// MLflow's variable that turns system metrics on for every run.
pub const ENABLE_VAR: &str = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING";

/// How system metrics are sampled and logged.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemMetricsOptions {
    /// Time between two samples (default 10 s).
    pub interval: Duration,
    /// Samples averaged into one logged point (default 1).
    pub samples_before_logging: u32,
    /// The machine's name, when several log into one run:
    /// `system/<node_id>/cpu_utilization_percentage`.
    pub node_id: Option<String>,
}

impl Default for SystemMetricsOptions {
    fn default() -> SystemMetricsOptions {
        SystemMetricsOptions {
            interval: Duration::from_secs(10),
            samples_before_logging: 1,
            node_id: None,
        }
    }
}

impl SystemMetricsOptions {
    /// The defaults, with MLflow's variables applied
    /// (`MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`,
    /// `MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING`,
    /// `MLFLOW_SYSTEM_METRICS_NODE_ID`); a value that does not read is an
    /// error naming it.
    pub fn from_env() -> Result<SystemMetricsOptions> {
        let mut o = SystemMetricsOptions::default();
        if let Some(v) = var(SAMPLING_INTERVAL_VAR) {
            let secs: f64 = v
                .parse()
                .ok()
                .filter(|s: &f64| *s > 0.0 && s.is_finite())
                .ok_or_else(|| {
                    invalid_var(SAMPLING_INTERVAL_VAR, &v, "a positive number of seconds")
                })?;
            o.interval = Duration::from_secs_f64(secs);
        }
        if let Some(v) = var(SAMPLES_BEFORE_LOGGING_VAR) {
            o.samples_before_logging =
                v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    invalid_var(SAMPLES_BEFORE_LOGGING_VAR, &v, "an integer >= 1")
                })?;
        }
        o.node_id = var(NODE_ID_VAR);
        Ok(o)
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn invalid_var(name: &str, value: &str, expected: &str) -> Error {
    Error::InvalidArgument(format!("{name}={value:?}: expected {expected}"))
}

/// Whether `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING` asks for system metrics
/// (`true` or `1`, as MLflow reads it).
pub fn enabled_by_env() -> bool {
    var(ENABLE_VAR).is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"))
}

/// Reads the machine under MLflow's metric names (what a
/// [`SystemMetrics`] thread does each interval).
///
/// ```
/// let mut sampler = runlog::system_metrics::Sampler::new()?;
/// let sample = sampler.sample();
/// assert!(sample.iter().any(|(k, _)| k == "system_memory_usage_megabytes"));
/// # Ok::<(), runlog::Error>(())
/// ```
pub struct Sampler {
    system: System,
    disks: Disks,
    networks: Networks,
    gpus: Option<Gpus>,
    /// Bytes received and sent when sampling started.
    network_start: (u64, u64),
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler").finish_non_exhaustive()
    }
}

impl Sampler {
    /// A sampler of this machine; CPU usage is measured from now (a
    /// sample reads the change since the previous one).
    pub fn new() -> Result<Sampler> {
        let unavailable =
            |what: &str, e: &dyn std::fmt::Debug| Error::InvalidState(format!("{what}: {e:?}"));
        let mut system = System::new()
            .map_err(|e| unavailable("system metrics cannot read this machine", &e))?;
        // CPU usage is the change between two readings: the first now.
        system.refresh_cpu_usage();
        let disks = Disks::new_with_refreshed_list()
            .map_err(|e| unavailable("system metrics cannot read the disks", &e))?;
        let networks = Networks::new_with_refreshed_list()
            .map_err(|e| unavailable("system metrics cannot read the network", &e))?;
        let network_start = network_totals(&networks);
        let gpus = Gpus::new_with_refreshed_list()
            .ok()
            .filter(|g| g.iter().next().is_some());
        Ok(Sampler {
            system,
            disks,
            networks,
            gpus,
            network_start,
        })
    }

    /// The machine now, by MLflow's metric names (without `system/`):
    /// CPU, memory, the root file system, the network since the sampler
    /// was made, and each GPU that reports them.
    pub fn sample(&mut self) -> Vec<(String, f64)> {
        let mut out = Vec::with_capacity(12);
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        out.push((
            "cpu_utilization_percentage".into(),
            f64::from(self.system.global_cpu_usage()),
        ));
        let (used, total) = (self.system.used_memory(), self.system.total_memory());
        out.push(("system_memory_usage_megabytes".into(), used as f64 / 1e6));
        if total > 0 {
            out.push((
                "system_memory_usage_percentage".into(),
                used as f64 / total as f64 * 100.0,
            ));
        }
        self.disks.refresh(true);
        let root = self
            .disks
            .iter()
            .find(|d| d.mount_point() == std::path::Path::new("/"));
        if let Some(d) = root.filter(|d| d.total_space() > 0) {
            let (total, free) = (d.total_space(), d.available_space());
            let used = total.saturating_sub(free);
            out.push((
                "disk_usage_percentage".into(),
                used as f64 / total as f64 * 100.0,
            ));
            out.push(("disk_usage_megabytes".into(), used as f64 / 1e6));
            out.push(("disk_available_megabytes".into(), free as f64 / 1e6));
        }
        self.networks.refresh(true);
        let (received, sent) = network_totals(&self.networks);
        out.push((
            "network_receive_megabytes".into(),
            received.saturating_sub(self.network_start.0) as f64 / 1e6,
        ));
        out.push((
            "network_transmit_megabytes".into(),
            sent.saturating_sub(self.network_start.1) as f64 / 1e6,
        ));
        if let Some(gpus) = &mut self.gpus {
            gpus.refresh(false);
            for (i, gpu) in gpus.iter().enumerate() {
                if let Some(u) = gpu.usage() {
                    out.push((format!("gpu_{i}_utilization_percentage"), f64::from(u)));
                }
                if let Some(used) = gpu.used_memory() {
                    out.push((format!("gpu_{i}_memory_usage_megabytes"), used as f64 / 1e6));
                    if let Some(total) = gpu.total_memory().filter(|t| *t > 0) {
                        out.push((
                            format!("gpu_{i}_memory_usage_percentage"),
                            used as f64 / total as f64 * 100.0,
                        ));
                    }
                }
            }
        }
        out
    }
}

fn network_totals(networks: &Networks) -> (u64, u64) {
    networks.iter().fold((0, 0), |(r, s), (_, n)| {
        (
            r.saturating_add(n.total_received()),
            s.saturating_add(n.total_transmitted()),
        )
    })
}

/// Samples averaged into the points of one step, rounded to one decimal
/// as MLflow logs them; the network's totals are the last sample's.
fn aggregate(samples: &[Vec<(String, f64)>]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for sample in samples {
        for (key, value) in sample {
            let entry = sums.entry(key.clone()).or_insert((0.0, 0));
            if key.starts_with("network_") {
                *entry = (*value, 1);
            } else {
                *entry = (entry.0 + value, entry.1 + 1);
            }
        }
    }
    sums.into_iter()
        .map(|(k, (sum, n))| {
            let mean = sum / f64::from(n.max(1));
            let value = if k.starts_with("network_") {
                mean
            } else {
                (mean * 10.0).round() / 10.0
            };
            (k, value)
        })
        .collect()
}

/// The stop signal a monitor's thread waits on.
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// Waits up to `timeout`; whether the monitor was stopped.
    fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        while !*stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            stopped = self
                .wake
                .wait_timeout(stopped, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }
}

/// A run's system metrics being sampled: stopped by [`stop`](Self::stop)
/// or when dropped, logging the samples taken since the last step.
pub struct SystemMetrics {
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SystemMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemMetrics").finish_non_exhaustive()
    }
}

impl SystemMetrics {
    /// Starts sampling into `run_id` through `client`.
    pub fn start(client: &Client, run_id: &str, options: SystemMetricsOptions) -> Result<Self> {
        let stop = Arc::new(Stop::default());
        let (client, run_id) = (client.clone(), run_id.to_owned());
        let prefix = match &options.node_id {
            Some(node) => format!("system/{node}/"),
            None => "system/".to_owned(),
        };
        let signal = Arc::clone(&stop);
        // The sampler lives on its thread (NVML's handle does not move
        // between threads); whether it could read the machine comes back.
        let (ready_tx, ready) = std::sync::mpsc::sync_channel::<Result<()>>(1);
        let thread = std::thread::Builder::new()
            .name("runlog-system-metrics".into())
            .spawn(move || {
                let mut sampler = match Sampler::new() {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut step = 0i64;
                let mut samples = Vec::new();
                loop {
                    let stopped = signal.wait(options.interval);
                    if !stopped {
                        samples.push(sampler.sample());
                    }
                    let full = samples.len() >= options.samples_before_logging as usize;
                    if (full || stopped) && !samples.is_empty() {
                        let now = crate::clock::wall_clock_ms();
                        let mut batch = Batch::new();
                        for (key, value) in aggregate(&samples) {
                            batch = batch.metric_at(format!("{prefix}{key}"), value, step, now);
                        }
                        samples.clear();
                        step += 1;
                        if let Err(e) = client.log_batch(&run_id, &batch) {
                            // The run ended or went away: nothing more to log.
                            eprintln!("runlog: system metrics of run {run_id} stopped: {e}");
                            return;
                        }
                    }
                    if stopped {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io("start", "the system metrics thread", e))?;
        let started = ready.recv().unwrap_or_else(|_| {
            Err(Error::InvalidState(
                "the system metrics thread ended before it started".into(),
            ))
        });
        if let Err(e) = started {
            let _ = thread.join();
            return Err(e);
        }
        Ok(SystemMetrics {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops sampling; the samples not yet logged are logged first.
    pub fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Leaves the thread to itself without waiting for it (a forked
    /// child, which does not have it).
    pub(crate) fn abandon(mut self) {
        self.thread.take();
    }
}

impl Drop for SystemMetrics {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_averaged_and_rounded_as_mlflow_logs_them() {
        let s = |cpu: f64, net: f64| {
            vec![
                ("cpu_utilization_percentage".to_owned(), cpu),
                ("network_receive_megabytes".to_owned(), net),
            ]
        };
        let got = aggregate(&[s(10.0, 1.25), s(20.06, 2.5)]);
        assert_eq!(got["cpu_utilization_percentage"], 15.0);
        assert_eq!(got["network_receive_megabytes"], 2.5, "the last total");
    }

    #[test]
    fn a_sample_has_mlflows_names() {
        let mut sampler = Sampler::new().unwrap();
        let keys: Vec<String> = sampler.sample().into_iter().map(|(k, _)| k).collect();
        for key in [
            "cpu_utilization_percentage",
            "system_memory_usage_megabytes",
            "system_memory_usage_percentage",
            "network_receive_megabytes",
            "network_transmit_megabytes",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
        }
    }
}

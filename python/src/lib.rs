//! `runlog._runlog`: the native half of runlog's Python package. The
//! fluent log calls are native functions (a Python wrapper would double
//! their cost); entities cross as MLflow's REST JSON, which the Python
//! layer (`python/python/runlog/`) turns into MLflow's entity classes.
//!
//! The GIL is released around everything that waits: flushes, reads, run
//! creation and ends (which may wait for a tracking server).

use pyo3::prelude::*;

mod client;
mod errors;
mod fluent;
mod values;

/// The module.
#[pymodule]
fn _runlog(m: &Bound<'_, PyModule>) -> PyResult<()> {
    fluent::register(m)?;
    m.add_class::<client::Client>()?;
    m.add_class::<fluent::MetricHandle>()?;
    m.add("FORMAT_VERSION", runlog::engine::FORMAT_VERSION)?;
    Ok(())
}

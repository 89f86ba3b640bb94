//! Python values as runlog takes them: metric values (a float, an int, a
//! bool, a numpy scalar or 0-d array, anything with `__float__`; nothing
//! else), steps and timestamps (any integer type), params and tags
//! (`str()` of the value, as MLflow does).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyString};

/// A metric value: a `TypeError` for anything without a float value, as
/// MLflow raises before logging.
#[inline]
pub fn metric_value(key: &str, v: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if v.is_instance_of::<PyString>() {
        return Err(not_a_number(key, v));
    }
    v.extract::<f64>().map_err(|_| not_a_number(key, v))
}

fn not_a_number(key: &str, v: &Bound<'_, PyAny>) -> PyErr {
    let kind = v
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    PyTypeError::new_err(format!(
        "metric {key:?}: the value must be a number (float, int, or an object with __float__), \
         not {kind}"
    ))
}

/// A step or timestamp: any integer type (`int`, numpy integers, anything
/// with `__index__`); `None` is `default`.
#[inline]
pub fn integer(what: &str, v: Option<&Bound<'_, PyAny>>, default: i64) -> PyResult<i64> {
    match v {
        None => Ok(default),
        Some(v) if v.is_none() => Ok(default),
        Some(v) => v
            .extract::<i64>()
            .map_err(|_| PyTypeError::new_err(format!("{what} must be an integer, not {v}"))),
    }
}

/// A param or tag value as MLflow stores it: `str(value)`.
pub fn text(v: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(v.str()?.to_cow()?.into_owned())
}

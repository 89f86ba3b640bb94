//! runlog's errors as `runlog.exceptions.MlflowException` subclasses (one
//! per MLflow error code), with the Rust error's message.

use pyo3::prelude::*;

/// The Python exception for `e`: `runlog.exceptions.<class>(message,
/// error_code)`, chosen by MLflow's code (`INTERNAL_ERROR` for a storage
/// error, a tracking server out of reach, a full spool).
pub fn to_py(e: runlog::Error) -> PyErr {
    let code = e.mlflow_code().unwrap_or("INTERNAL_ERROR");
    let message = e.to_string();
    Python::attach(|py| {
        let made = py
            .import("runlog.exceptions")
            .and_then(|m| m.getattr("exception_for"))
            .and_then(|f| f.call1((message.clone(), code)));
        match made {
            Ok(exception) => PyErr::from_value(exception),
            // The Python layer missing (the native module imported alone).
            Err(_) => pyo3::exceptions::PyRuntimeError::new_err(format!("{code}: {message}")),
        }
    })
}

/// `Result<T>` (or a log call's result) into `PyResult<T>`.
pub trait IntoPy<T> {
    /// The error mapped by [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for runlog::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

impl<T> IntoPy<T> for Result<T, runlog::engine::LogError> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| to_py(e.into()))
    }
}

//! A client's artifact path, checked before it names a file.

use std::path::PathBuf;

use crate::api::error::ApiError;
use crate::error::Error;

pub use crate::layout::UPLOADS_DIR;

/// A client's artifact path, checked by the one rule of
/// [`validation::artifact_path`](crate::validation::artifact_path), refused
/// with MLflow's `INVALID_PARAMETER_VALUE`.
pub fn relative_path(path: &str) -> Result<PathBuf, ApiError> {
    crate::validation::artifact_path(path).map_err(|e| {
        let message = match e {
            Error::InvalidArgument(m) => m,
            other => other.to_string(),
        };
        // MLflow's words start with a capital: "Invalid path".
        let mut chars = message.chars();
        let capitalized = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => message,
        };
        ApiError::invalid(capitalized)
    })
}

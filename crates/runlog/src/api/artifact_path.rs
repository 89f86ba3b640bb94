//! A client's artifact path, checked before it names a file.

use std::path::PathBuf;

use crate::api::error::ApiError;

pub use crate::layout::UPLOADS_DIR;

/// A client's artifact path, checked by the one rule of
/// [`validation::artifact_path`](crate::validation::artifact_path), refused
/// with MLflow's `INVALID_PARAMETER_VALUE`.
pub fn relative_path(path: &str) -> Result<PathBuf, ApiError> {
    crate::validation::artifact_path(path).map_err(|e| ApiError::invalid(e.to_string()))
}

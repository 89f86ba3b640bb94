//! A client's artifact path, checked before it names a file.

use std::path::PathBuf;

use crate::api::error::ApiError;

/// Where uploads in progress are written, under the artifact root:
/// hidden from listings and downloads, with short names of their own (so
/// that a legal 255-byte file name still fits), renamed into place once
/// complete. A crash leaves its files there, never beside artifacts.
pub const UPLOADS_DIR: &str = ".runlog-uploads";

/// A client's artifact path, checked: relative, made of plain names (the
/// empty path is the root itself).
pub fn relative_path(path: &str) -> Result<PathBuf, ApiError> {
    let mut out = PathBuf::new();
    if path.is_empty() {
        return Ok(out);
    }
    for part in path.split('/') {
        if part.is_empty()
            || part == "."
            || part == ".."
            || part == UPLOADS_DIR
            || part.contains('\\')
            || part.contains('\0')
        {
            return Err(ApiError::invalid(format!(
                "Invalid artifact path {path:?}: it must be relative, made of names separated \
                 by single slashes, without '.', '..', backslashes or NUL"
            )));
        }
        out.push(part);
    }
    Ok(out)
}

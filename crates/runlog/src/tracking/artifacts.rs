//! Artifacts: files copied under a run's artifact directory
//! (`<experiment artifact location>/<run id>/artifacts`), listed and
//! downloaded back. Artifact paths are relative paths that stay inside
//! that directory; anything else is refused.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::fs_util::{sync_dir, write_atomic};
use crate::tracking::backend::Local;
use crate::tracking::client::Client;
use crate::validation;

/// A file or directory among a run's artifacts (MLflow's `FileInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// Path relative to the run's artifact root, `/`-separated.
    pub path: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Size in bytes, for files.
    pub file_size: Option<u64>,
}

impl Client {
    /// The URI of a run's artifact root, or of `artifact_path` under it.
    pub fn get_artifact_uri(&self, run_id: &str, artifact_path: Option<&str>) -> Result<String> {
        let run = self.get_run(run_id)?;
        match artifact_path {
            None => Ok(run.info.artifact_uri),
            Some(p) => {
                let rel = validation::artifact_path(p)?;
                Ok(format!("{}/{}", run.info.artifact_uri, slash_path(&rel)))
            }
        }
    }

    /// Copies a local file into a run's artifacts, under `artifact_path`
    /// (a directory inside the artifact root) or at the root.
    pub fn log_artifact(
        &self,
        run_id: &str,
        local_path: impl AsRef<Path>,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        let local = local_path.as_ref();
        let name = local.file_name().ok_or_else(|| {
            Error::InvalidArgument(format!("{} does not name a file", local.display()))
        })?;
        let dir = self.artifact_target(run_id, artifact_path)?;
        let meta = fs::metadata(local).map_err(|e| Error::io("stat", local, e))?;
        if !meta.is_file() {
            return Err(Error::InvalidArgument(format!(
                "{} is not a file; use log_artifacts for directories",
                local.display()
            )));
        }
        copy_file(local, &dir.join(name))
    }

    /// Copies the contents of a local directory (recursively) into a run's
    /// artifacts, under `artifact_path` or at the root.
    pub fn log_artifacts(
        &self,
        run_id: &str,
        local_dir: impl AsRef<Path>,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        let local = local_dir.as_ref();
        let meta = fs::metadata(local).map_err(|e| Error::io("stat", local, e))?;
        if !meta.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "{} is not a directory; use log_artifact for files",
                local.display()
            )));
        }
        let dir = self.artifact_target(run_id, artifact_path)?;
        copy_tree_into(local, &dir)
    }

    /// Writes `text` as the artifact file `artifact_file` (a relative path
    /// inside the run's artifacts).
    pub fn log_text(&self, run_id: &str, text: &str, artifact_file: &str) -> Result<()> {
        let (dir, name) = self.artifact_file_target(run_id, artifact_file)?;
        Ok(write_atomic(&dir.join(name), text.as_bytes())?)
    }

    /// Writes a serialisable value as a JSON artifact file (`.json`; YAML
    /// output is not supported).
    pub fn log_dict(
        &self,
        run_id: &str,
        value: &impl Serialize,
        artifact_file: &str,
    ) -> Result<()> {
        let lower = artifact_file.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            return Err(Error::InvalidArgument(format!(
                "cannot write {artifact_file} as YAML: runlog writes dictionaries as JSON; \
                 name the file .json"
            )));
        }
        let json = serde_json::to_vec_pretty(value)
            .map_err(|e| Error::InvalidArgument(format!("cannot serialise to JSON: {e}")))?;
        let (dir, name) = self.artifact_file_target(run_id, artifact_file)?;
        Ok(write_atomic(&dir.join(name), &json)?)
    }

    /// The files and directories directly under `path` (the artifact root
    /// when `None`), sorted by path. A missing path lists nothing.
    pub fn list_artifacts(&self, run_id: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
        self.backend.list_artifacts(self, run_id, path)
    }

    /// The files and directories directly under `path` of a logged model's
    /// artifacts (its root when `None`), sorted by path.
    pub fn list_logged_model_artifacts(
        &self,
        model_id: &str,
        path: Option<&str>,
    ) -> Result<Vec<FileInfo>> {
        list_dir(&self.logged_model_artifact_root(model_id)?, path)
    }

    /// Copies an artifact (a file, or a directory recursively; the whole
    /// root when `path` is `None`) into the local directory `dst_dir` and
    /// returns the local path of the copy.
    pub fn download_artifacts(
        &self,
        run_id: &str,
        path: Option<&str>,
        dst_dir: impl AsRef<Path>,
    ) -> Result<PathBuf> {
        self.backend
            .download_artifacts(self, run_id, path, dst_dir.as_ref())
    }

    /// The local directory of a run's artifacts (which may not exist yet).
    pub fn artifact_root(&self, run_id: &str) -> Result<PathBuf> {
        let run = self.get_run(run_id)?;
        local_dir(&run.info.artifact_uri)
    }

    /// The local directory of a logged model's artifacts (which may not
    /// exist yet).
    pub fn logged_model_artifact_root(&self, model_id: &str) -> Result<PathBuf> {
        local_dir(&self.get_logged_model(model_id)?.artifact_location)
    }

    /// The directory an artifact goes to, created: the run must be active.
    fn artifact_target(&self, run_id: &str, artifact_path: Option<&str>) -> Result<PathBuf> {
        let rel = match artifact_path {
            Some(p) => validation::artifact_path(p)?,
            None => PathBuf::new(),
        };
        let run = self.writable_run(run_id)?;
        let dir = local_dir(&run.info.artifact_uri)?.join(rel);
        fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        Ok(dir)
    }

    fn artifact_file_target(&self, run_id: &str, artifact_file: &str) -> Result<(PathBuf, String)> {
        let rel = validation::artifact_path(artifact_file)?;
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                Error::InvalidArgument(format!("artifact file '{artifact_file}' names no file"))
            })?;
        let parent = rel.parent().map(slash_path).filter(|p| !p.is_empty());
        let dir = self.artifact_target(run_id, parent.as_deref())?;
        Ok((dir, name))
    }
}

/// The files and directories directly under `path` of an artifact root,
/// sorted by path; a missing path lists nothing. Links are followed only
/// while they stay inside the root: a listing never shows the names or
/// sizes of files elsewhere.
fn list_dir(root: &Path, path: Option<&str>) -> Result<Vec<FileInfo>> {
    let rel = match path {
        Some(p) => validation::artifact_path(p)?,
        None => PathBuf::new(),
    };
    let dir = root.join(&rel);
    let real_root = fs::canonicalize(root).ok();
    let inside = |p: &Path| match (&real_root, fs::canonicalize(p)) {
        (Some(r), Ok(real)) => real.starts_with(r),
        _ => false,
    };
    if dir.exists() && !inside(&dir) {
        return Err(Error::InvalidArgument(format!(
            "artifact path {:?} leads out of the run's artifact root",
            slash_path(&rel)
        )));
    }
    let read = match fs::read_dir(&dir) {
        Ok(read) => read,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new())
        }
        Err(e) => return Err(Error::io("read directory", &dir, e)),
    };
    let mut list = Vec::new();
    for item in read {
        let item = item.map_err(|e| Error::io("read directory", &dir, e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        // A copy or write in progress (or left by a crash).
        if name.starts_with(TMP_PREFIX) || (name.starts_with('.') && name.contains(".tmp.")) {
            continue; // a copy in progress (or left by a crash)
        }
        let is_link = item.file_type().is_ok_and(|t| t.is_symlink());
        if is_link && !inside(&item.path()) {
            continue;
        }
        let meta = match fs::metadata(item.path()) {
            Ok(meta) => meta,
            Err(_) if is_link => continue, // a dangling link
            Err(e) => return Err(Error::io("stat", item.path(), e)),
        };
        list.push(FileInfo {
            path: slash_path(&rel.join(&name)),
            is_dir: meta.is_dir(),
            file_size: meta.is_file().then_some(meta.len()),
        });
    }
    list.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(list)
}

/// Prefix of the temporary files a copy writes before renaming them.
const TMP_PREFIX: &str = ".runlog-tmp-";

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The local directory of an artifact URI (`file://` or a plain path).
fn local_dir(uri: &str) -> Result<PathBuf> {
    if uri.starts_with('/') {
        return Ok(PathBuf::from(uri));
    }
    if uri.starts_with("file:") {
        return crate::uri::store_path(uri);
    }
    Err(Error::InvalidArgument(format!(
        "artifact location '{uri}' is not on the local file system; runlog stores artifacts \
         locally only (use a path or a file: URI as the experiment's artifact location)"
    )))
}

/// Copies a file: to a temporary name in the destination directory, fsync,
/// rename over the destination, fsync the directory. A crash leaves the old
/// file or the new one, never half of it.
fn copy_file(src: &Path, dst: &Path) -> Result<()> {
    let dir = dst.parent().unwrap_or(Path::new("."));
    let tmp = temp_name(dst);
    let mut input = File::open(src).map_err(|e| Error::io("open", src, e))?;
    let mut out = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    let copied = io::copy(&mut input, &mut out)
        .map_err(|e| Error::io("copy to", &tmp, e))
        .and_then(|_| out.sync_all().map_err(|e| Error::io("fsync", &tmp, e)));
    drop(out);
    if let Err(e) =
        copied.and_then(|()| fs::rename(&tmp, dst).map_err(|e| Error::io("rename", &tmp, e)))
    {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(sync_dir(dir)?)
}

fn temp_name(dst: &Path) -> PathBuf {
    let name = dst
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dst.with_file_name(format!("{TMP_PREFIX}{}-{name}", std::process::id()))
}

/// Copies a directory's contents into `dst` (created), recursively,
/// following symbolic links. When `dst` lies inside `src` (logging the
/// directory that holds the store), `dst` itself is not copied into itself.
fn copy_tree_into(src: &Path, dst: &Path) -> Result<()> {
    fs::create_dir_all(dst).map_err(|e| Error::io("create directory", dst, e))?;
    let skip = fs::canonicalize(dst).map_err(|e| Error::io("resolve path", dst, e))?;
    copy_tree(src, dst, &skip, 0)
}

/// Deepest directory nesting copied (a symbolic link loop ends here).
const MAX_DEPTH: usize = 256;

fn copy_tree(src: &Path, dst: &Path, skip: &Path, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::InvalidArgument(format!(
            "{} nests directories more than {MAX_DEPTH} deep (a symbolic link loop?)",
            src.display()
        )));
    }
    fs::create_dir_all(dst).map_err(|e| Error::io("create directory", dst, e))?;
    let read = fs::read_dir(src).map_err(|e| Error::io("read directory", src, e))?;
    for item in read {
        let item = item.map_err(|e| Error::io("read directory", src, e))?;
        let from = item.path();
        let to = dst.join(item.file_name());
        let meta = fs::metadata(&from).map_err(|e| Error::io("stat", &from, e))?;
        if meta.is_dir() {
            if fs::canonicalize(&from).is_ok_and(|c| c == skip) {
                continue;
            }
            copy_tree(&from, &to, skip, depth + 1)?;
        } else if meta.is_file() {
            copy_file(&from, &to)?;
        }
    }
    Ok(())
}

/// The artifacts part of a [`Backend`](crate::tracking::backend::Backend):
/// what [`Client`]'s artifact reads of the same names do.
pub(crate) trait ArtifactBackend {
    fn list_artifacts(
        &self,
        client: &Client,
        run_id: &str,
        path: Option<&str>,
    ) -> Result<Vec<FileInfo>>;
    fn download_artifacts(
        &self,
        client: &Client,
        run_id: &str,
        path: Option<&str>,
        dst_dir: &Path,
    ) -> Result<PathBuf>;
}

/// A run's artifacts are files under its local artifact root.
impl ArtifactBackend for Local {
    fn list_artifacts(
        &self,
        client: &Client,
        run_id: &str,
        path: Option<&str>,
    ) -> Result<Vec<FileInfo>> {
        list_dir(&client.artifact_root(run_id)?, path)
    }

    fn download_artifacts(
        &self,
        client: &Client,
        run_id: &str,
        path: Option<&str>,
        dst_dir: &Path,
    ) -> Result<PathBuf> {
        let root = client.artifact_root(run_id)?;
        let rel = match path {
            Some(p) => validation::artifact_path(p)?,
            None => PathBuf::new(),
        };
        let src = root.join(&rel);
        let meta = fs::metadata(&src).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::NotFound(format!(
                "run {run_id} has no artifact '{}'",
                slash_path(&rel)
            )),
            _ => Error::io("stat", &src, e),
        })?;
        let dst = match src.file_name() {
            Some(name) if !rel.as_os_str().is_empty() => dst_dir.join(name),
            _ => dst_dir.to_owned(),
        };
        if meta.is_dir() {
            copy_tree_into(&src, &dst)?;
        } else {
            fs::create_dir_all(dst_dir).map_err(|e| Error::io("create directory", dst_dir, e))?;
            copy_file(&src, &dst)?;
        }
        Ok(dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_locations_hold_artifacts() {
        assert_eq!(local_dir("/x/y").unwrap(), PathBuf::from("/x/y"));
        assert_eq!(local_dir("file:///x/y").unwrap(), PathBuf::from("/x/y"));
        let err = local_dir("s3://bucket/x").unwrap_err().to_string();
        assert!(err.contains("local"), "{err}");
    }
}

//! MLflow's rules for names and values (as MLflow's
//! `mlflow/utils/validation.py`), as typed errors. The storage core does not
//! apply them (it stores any record its format can hold); the tracking API
//! checks every user input with them before it reaches the log.

use std::borrow::Cow;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::layout::UPLOADS_DIR;

/// Longest metric, param or tag key (characters).
pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
/// Longest param value (characters).
pub const MAX_PARAM_VAL_LENGTH: usize = 6000;
/// Longest run tag value (characters).
pub const MAX_TAG_VAL_LENGTH: usize = 8000;
/// Longest experiment name (characters).
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
/// Longest experiment tag key (characters).
pub const MAX_EXPERIMENT_TAG_KEY_LENGTH: usize = 250;
/// Longest experiment tag value (characters), as in MLflow 3.17.
pub const MAX_EXPERIMENT_TAG_VAL_LENGTH: usize = 20_000;
/// Longest experiment tag value in UTF-8 bytes: runlog's own bound, so that
/// the tag fits one log record (64 KiB, FORMAT.md). 20,000 characters of up
/// to 3 bytes each (every script but emoji and rare CJK) fit.
pub const MAX_EXPERIMENT_TAG_VAL_BYTES: usize = 60 << 10;
/// Most metrics in one `log_batch`.
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Most params, and most tags, in one `log_batch`.
pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
/// Most items of all kinds in one `log_batch`.
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;

const BAD_CHARACTERS: &str = "Names may only contain alphanumerics, underscores (_), dashes (-), \
                              periods (.), spaces ( ), colons (:) and slashes (/).";

/// What a key names, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A metric key.
    Metric,
    /// A param key.
    Param,
    /// A run or experiment tag key.
    Tag,
}

impl KeyKind {
    fn noun(self) -> &'static str {
        match self {
            KeyKind::Metric => "metric",
            KeyKind::Param => "param",
            KeyKind::Tag => "tag",
        }
    }
}

/// Checks a metric, param or tag key: not empty, at most
/// [`MAX_ENTITY_KEY_LENGTH`] characters, only letters, digits, `_ - . : /`
/// and spaces, and a normalised relative path (no empty, `.` or `..`
/// component, no leading or trailing `/`), since MLflow may store keys as
/// file names.
///
/// ```
/// use runlog::validation::{validate_key, KeyKind};
/// assert!(validate_key(KeyKind::Metric, "train/loss").is_ok());
/// assert!(validate_key(KeyKind::Metric, "a/../b").is_err());
/// ```
pub fn validate_key(kind: KeyKind, key: &str) -> Result<()> {
    let noun = kind.noun();
    if key.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "invalid {noun} name: ''. A key must not be empty."
        )));
    }
    let good_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ':' | '/');
    if !key.chars().all(good_char) {
        return Err(Error::InvalidArgument(format!(
            "invalid {noun} name: '{key}'. {BAD_CHARACTERS}"
        )));
    }
    if let Some(resolved) = path_resolves_elsewhere(key) {
        return Err(Error::InvalidArgument(format!(
            "invalid {noun} name: '{key}'. Names may be treated as files, and must not resolve \
             to other names when treated as such; this one would resolve to '{resolved}'."
        )));
    }
    if key.len() > MAX_ENTITY_KEY_LENGTH {
        // Bytes bound characters from above: only a long key is counted.
        check_length(&format!("{noun} key"), key, MAX_ENTITY_KEY_LENGTH)?;
    }
    Ok(())
}

/// Checks a param value's length ([`MAX_PARAM_VAL_LENGTH`]).
pub fn validate_param_value(key: &str, value: &str) -> Result<()> {
    check_length(
        &format!("value of param '{key}'"),
        value,
        MAX_PARAM_VAL_LENGTH,
    )
}

/// Checks a run tag value's length ([`MAX_TAG_VAL_LENGTH`]).
pub fn validate_tag_value(key: &str, value: &str) -> Result<()> {
    check_length(&format!("value of tag '{key}'"), value, MAX_TAG_VAL_LENGTH)
}

/// MLflow's switch for long param and tag values: cut to their limit
/// (with a warning) when true, the default; refused when false.
pub const TRUNCATE_LONG_VALUES_VAR: &str = "MLFLOW_TRUNCATE_LONG_VALUES";

/// Whether long param and run tag values are cut to their limit rather
/// than refused: `MLFLOW_TRUNCATE_LONG_VALUES` (`true`, `false`, `1` or `0`,
/// any case; unset is true), as in MLflow. Another value is an error.
pub fn truncate_long_values() -> Result<bool> {
    match std::env::var(TRUNCATE_LONG_VALUES_VAR) {
        Err(std::env::VarError::NotPresent) => Ok(true),
        Ok(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        Ok(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        Ok(v) => Err(Error::InvalidArgument(format!(
            "{TRUNCATE_LONG_VALUES_VAR} is '{v}'; it must be true, false, 1 or 0"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::InvalidArgument(format!(
            "{TRUNCATE_LONG_VALUES_VAR} is not UTF-8; it must be true, false, 1 or 0"
        ))),
    }
}

/// A param value as it is stored: itself, or, past
/// [`MAX_PARAM_VAL_LENGTH`] characters, its first 6,000 characters with a
/// warning on standard error (refused instead when
/// [`truncate_long_values`] is false), as MLflow does.
pub fn fit_param_value<'a>(key: &str, value: &'a str) -> Result<Cow<'a, str>> {
    fit(
        &format!("value of param '{key}'"),
        value,
        MAX_PARAM_VAL_LENGTH,
    )
}

/// A run tag value as it is stored: itself, or, past
/// [`MAX_TAG_VAL_LENGTH`] characters, its first 8,000 characters with a
/// warning (refused when [`truncate_long_values`] is false), as in MLflow.
pub fn fit_tag_value<'a>(key: &str, value: &'a str) -> Result<Cow<'a, str>> {
    fit(&format!("value of tag '{key}'"), value, MAX_TAG_VAL_LENGTH)
}

fn fit<'a>(what: &str, value: &'a str, max: usize) -> Result<Cow<'a, str>> {
    let Some((cut, _)) = value.char_indices().nth(max) else {
        return Ok(Cow::Borrowed(value));
    };
    if !truncate_long_values()? {
        return check_length(what, value, max).map(|()| Cow::Borrowed(value));
    }
    eprintln!(
        "runlog: warning: the {what} ({} characters) is truncated to {max} characters to meet \
         the length limit (set {TRUNCATE_LONG_VALUES_VAR}=false to refuse it instead)",
        value.chars().count()
    );
    Ok(Cow::Borrowed(&value[..cut]))
}

/// Checks an experiment tag: a valid key of at most
/// [`MAX_EXPERIMENT_TAG_KEY_LENGTH`] characters, a value of at most
/// [`MAX_EXPERIMENT_TAG_VAL_LENGTH`].
pub fn validate_experiment_tag(key: &str, value: &str) -> Result<()> {
    validate_key(KeyKind::Tag, key)?;
    check_length("experiment tag key", key, MAX_EXPERIMENT_TAG_KEY_LENGTH)?;
    check_length(
        &format!("value of experiment tag '{key}'"),
        value,
        MAX_EXPERIMENT_TAG_VAL_LENGTH,
    )?;
    if value.len() > MAX_EXPERIMENT_TAG_VAL_BYTES {
        return Err(Error::InvalidArgument(format!(
            "value of experiment tag '{key}' has {} bytes of UTF-8; runlog's limit is {} \
             bytes (one log record), whatever the number of characters",
            value.len(),
            MAX_EXPERIMENT_TAG_VAL_BYTES
        )));
    }
    Ok(())
}

/// Checks an experiment name: not empty, at most
/// [`MAX_EXPERIMENT_NAME_LENGTH`] characters.
pub fn validate_experiment_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidArgument(
            "invalid experiment name: ''. An experiment name must not be empty.".into(),
        ));
    }
    check_length("experiment name", name, MAX_EXPERIMENT_NAME_LENGTH)
}

/// Checks a run id: 1 to 256 characters, a letter or digit first, then
/// letters, digits, `_` or `-` (ids runlog makes are 32 lowercase hex digits).
pub fn validate_run_id(run_id: &str) -> Result<()> {
    let mut chars = run_id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if first_ok && rest_ok && run_id.len() <= 256 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "invalid run id: '{run_id}'. A run id is 1 to 256 letters, digits, '_' or '-', \
             starting with a letter or digit."
        )))
    }
}

/// Checks a metric point's timestamp (milliseconds since the epoch, not
/// negative). Any step and any value, NaN and infinities included, is valid.
pub fn validate_metric_timestamp(key: &str, timestamp: i64) -> Result<()> {
    if timestamp < 0 {
        return Err(Error::InvalidArgument(format!(
            "invalid timestamp {timestamp} for metric '{key}': timestamps are milliseconds \
             since the Unix epoch and cannot be negative"
        )));
    }
    Ok(())
}

/// Checks the sizes of one `log_batch`.
pub fn validate_batch_limits(metrics: usize, params: usize, tags: usize) -> Result<()> {
    let over = |what: &str, n: usize, max: usize| {
        Err(Error::InvalidArgument(format!(
            "a batch may hold at most {max} {what}; this one holds {n}"
        )))
    };
    if metrics > MAX_METRICS_PER_BATCH {
        return over("metrics", metrics, MAX_METRICS_PER_BATCH);
    }
    if params > MAX_PARAMS_TAGS_PER_BATCH {
        return over("params", params, MAX_PARAMS_TAGS_PER_BATCH);
    }
    if tags > MAX_PARAMS_TAGS_PER_BATCH {
        return over("tags", tags, MAX_PARAMS_TAGS_PER_BATCH);
    }
    let total = metrics + params + tags;
    if total > MAX_ENTITIES_PER_BATCH {
        return over("items in all", total, MAX_ENTITIES_PER_BATCH);
    }
    Ok(())
}

fn check_length(what: &str, value: &str, max: usize) -> Result<()> {
    let len = value.chars().count();
    if len > max {
        return Err(Error::InvalidArgument(format!(
            "{what} has {len} characters; the limit is {max}"
        )));
    }
    Ok(())
}

/// `Some(normalised)` when `key`, read as a POSIX path, is not already a
/// normalised relative path: it has an empty, `.` or `..` component, or a
/// leading or trailing `/` (what `posixpath.normpath` would change, or
/// resolve to `.`, to a parent, or to an absolute path).
fn path_resolves_elsewhere(key: &str) -> Option<String> {
    // Most keys are already normal ("loss", "train/loss"): every component
    // non-empty and neither `.` nor `..`, no leading `/`. Such a key is its
    // own normal form, which escapes only by starting with `..` ("..a").
    let normal_components =
        !key.starts_with('/') && key.split('/').all(|part| !matches!(part, "" | "." | ".."));
    if normal_components {
        return key.starts_with("..").then(|| key.to_owned());
    }
    normalised_elsewhere(key)
}

/// [`path_resolves_elsewhere`] by normalising the path as `posixpath.normpath`
/// does and comparing.
fn normalised_elsewhere(key: &str) -> Option<String> {
    let absolute = key.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in key.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    let normal = match (absolute, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    };
    let escapes = normal == "." || normal.starts_with("..") || normal.starts_with('/');
    (normal != key || escapes).then_some(normal)
}

/// An artifact path (`log_artifact`'s `artifact_path`, a download's or an
/// upload's path) as a path under an artifact root, the one rule for every
/// way in (the client, MLflow's REST API, the dashboard): made of names
/// separated by slashes; `.` and empty names (repeated or trailing
/// slashes) are dropped, as MLflow's server takes them; `..`, a leading
/// slash, backslashes, NUL and the server's uploads directory are refused,
/// so that the path cannot leave the root or reach a file it hides. The
/// empty path is the root itself.
///
/// ```
/// use runlog::validation::artifact_path;
/// assert_eq!(artifact_path("./plots//loss.png")?, std::path::Path::new("plots/loss.png"));
/// assert!(artifact_path("a/../../etc").is_err());
/// # Ok::<(), runlog::Error>(())
/// ```
pub fn artifact_path(path: &str) -> Result<PathBuf> {
    let refuse = |why: &str| {
        Err(Error::InvalidArgument(format!(
            "invalid artifact path {path:?}: {why}"
        )))
    };
    if path.starts_with('/') {
        return refuse("artifact paths are relative to the artifact directory");
    }
    if path.contains('\\') || path.contains('\0') {
        return refuse("it contains a backslash or a NUL character");
    }
    let mut out = PathBuf::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return refuse("'..' would leave the artifact directory"),
            UPLOADS_DIR => return refuse("it names the server's uploads directory"),
            name => out.push(name),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_stay_inside_the_root() {
        assert_eq!(artifact_path("a/b").unwrap(), PathBuf::from("a/b"));
        assert_eq!(artifact_path("./a//b/").unwrap(), PathBuf::from("a/b"));
        assert_eq!(artifact_path("").unwrap(), PathBuf::new());
        assert_eq!(artifact_path(".").unwrap(), PathBuf::new());
        for bad in [
            "..",
            "a/../../b",
            "a/..",
            "/etc",
            "/",
            "a\0b",
            "a\\b",
            ".runlog-uploads/x",
            "a/.runlog-uploads",
        ] {
            assert!(artifact_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    // One example per rule: characters, path components, colons.
    const GOOD: &[&str] = &[
        "loss",
        "val-acc_2",
        "train/epoch/loss",
        "lr.decay",
        ".hidden",
        "trailing.",
        "x..y/.z./w_W",
        "top 5/acc",
        "train:loss",
        "précision",
    ];
    const BAD: &[&str] = &[
        "",
        ".",
        "/",
        "..",
        "///",
        "p//q",
        "p/./q",
        "/abs",
        "dir/",
        "back\\slash",
        "./",
        "/./",
        "p/../q",
        "../up",
        "tab\there",
        "new\nline",
        "semi;colon",
        "..hidden",
        "..a/b",
    ];

    #[test]
    fn keys_follow_mlflow_rules() {
        for key in GOOD {
            assert!(
                validate_key(KeyKind::Metric, key).is_ok(),
                "{key:?} should be valid"
            );
        }
        for key in BAD {
            assert!(
                validate_key(KeyKind::Param, key).is_err(),
                "{key:?} should be refused"
            );
        }
        assert!(validate_key(KeyKind::Tag, &"k".repeat(250)).is_ok());
        let err = validate_key(KeyKind::Tag, &"k".repeat(251)).unwrap_err();
        assert!(err.to_string().contains("251 characters"), "{err}");
        let err = validate_key(KeyKind::Metric, "a//b").unwrap_err();
        assert!(err.to_string().contains("resolve to 'a/b'"), "{err}");
        // Characters, not bytes: 250 two-byte letters are within the limit.
        assert!(validate_key(KeyKind::Tag, &"é".repeat(250)).is_ok());
        assert!(validate_key(KeyKind::Tag, &"é".repeat(251)).is_err());
    }

    /// The shortcut for keys that are already normal agrees with the full
    /// normalisation on every key of up to six of `a`, `.` and `/`.
    #[test]
    fn path_shortcut_agrees_with_normalisation() {
        let mut keys = vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = keys
                .iter()
                .flat_map(|k| ['a', '.', '/'].map(|c| format!("{k}{c}")))
                .collect();
            keys.extend(longer);
        }
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), (0..=6).map(|n| 3usize.pow(n)).sum::<usize>());
        for key in &keys {
            assert_eq!(
                path_resolves_elsewhere(key),
                normalised_elsewhere(key),
                "{key:?}"
            );
        }
    }

    #[test]
    fn values_and_names_have_mlflow_limits() {
        assert!(validate_param_value("lr", &"x".repeat(6000)).is_ok());
        assert!(validate_param_value("lr", &"x".repeat(6001)).is_err());
        // Characters, not bytes.
        assert!(validate_tag_value("t", &"é".repeat(8000)).is_ok());
        assert!(validate_tag_value("t", &"é".repeat(8001)).is_err());
        // MLflow 3.17's 20,000 characters, within one record's bytes.
        assert!(validate_experiment_tag("team", &"v".repeat(20_000)).is_ok());
        assert!(validate_experiment_tag("team", &"v".repeat(20_001)).is_err());
        assert!(validate_experiment_tag("team", &"\u{20ac}".repeat(20_000)).is_ok());
        let err = validate_experiment_tag("team", &"\u{1f600}".repeat(20_000)).unwrap_err();
        assert!(err.to_string().contains("80000 bytes"), "{err}");
        assert!(validate_experiment_tag("bad//key", "v").is_err());
        assert!(validate_experiment_name("fraud-detection").is_ok());
        assert!(validate_experiment_name("").is_err());
        assert!(validate_experiment_name(&"n".repeat(501)).is_err());
    }

    #[test]
    fn run_ids_timestamps_and_batches() {
        assert!(validate_run_id("0123456789abcdef0123456789abcdef").is_ok());
        assert!(validate_run_id("run_1-a").is_ok());
        for bad in ["", "-a", "a b", "a/b", &"a".repeat(257)] {
            assert!(validate_run_id(bad).is_err(), "{bad:?}");
        }
        assert!(validate_metric_timestamp("loss", 0).is_ok());
        assert!(validate_metric_timestamp("loss", -1).is_err());
        assert!(validate_batch_limits(1000, 0, 0).is_ok());
        assert!(validate_batch_limits(1001, 0, 0).is_err());
        assert!(validate_batch_limits(0, 101, 0).is_err());
        assert!(validate_batch_limits(0, 0, 101).is_err());
        assert!(validate_batch_limits(900, 100, 0).is_ok());
        let err = validate_batch_limits(900, 100, 1).unwrap_err();
        assert!(err.to_string().contains("1001"), "{err}");
    }
}

//! Which tags users may set: any valid key, `mlflow.` system tags
//! included (MLflow's own clients send `mlflow.user`, `mlflow.source.name`,
//! `mlflow.parentRunId`, ... as plain tags, and MLflow stores them), and
//! any may be deleted, the run name's too (the run keeps its name).

use crate::error::Result;
use std::borrow::Cow;

use crate::validation::{fit_tag_value, validate_key, KeyKind};

/// Checks a tag a user sets on a run (a valid key) and returns the value
/// to store: a value past MLflow's limit is cut to it, or refused
/// ([`fit_tag_value`]).
pub(crate) fn check_user_tag<'a>(key: &str, value: &'a str) -> Result<Cow<'a, str>> {
    check_user_tag_key(key, "set")?;
    fit_tag_value(key, value)
}

/// Checks a tag key a user sets or deletes (`verb`).
pub(crate) fn check_user_tag_key(key: &str, verb: &str) -> Result<()> {
    // Any key, `mlflow.runName` included: deleting that one leaves the
    // run's name as it is, as in MLflow.
    let _ = verb;
    validate_key(KeyKind::Tag, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{TAG_NOTE_CONTENT, TAG_RUN_NAME};

    #[test]
    fn system_tags_are_accepted_as_mlflow_accepts_them() {
        assert!(check_user_tag("team", "risk").is_ok());
        assert!(check_user_tag(TAG_NOTE_CONTENT, "a description").is_ok());
        assert!(check_user_tag(TAG_RUN_NAME, "new-name").is_ok());
        for key in ["mlflow.user", "mlflow.source.name", "mlflow.parentRunId"] {
            assert!(check_user_tag(key, "x").is_ok(), "{key}");
            assert!(check_user_tag_key(key, "delete").is_ok(), "{key}");
        }
        assert!(check_user_tag_key(TAG_RUN_NAME, "delete").is_ok());
        assert!(check_user_tag("bad key!", "x").is_err());
    }
}

//! Which tags users may set: keys under `mlflow.` are reserved for the
//! system tags, except the description and the run name.

use crate::context::{RESERVED_TAG_PREFIX, TAG_NOTE_CONTENT, TAG_RUN_NAME};
use crate::error::{Error, Result};
use crate::validation::{validate_key, validate_tag_value, KeyKind};

/// Reserved tags that users may set anyway.
const USER_SETTABLE: &[&str] = &[TAG_NOTE_CONTENT, TAG_RUN_NAME];

/// Checks a tag a user sets on a run: a valid key and value, and not a
/// reserved `mlflow.` key other than `mlflow.note.content` and
/// `mlflow.runName`.
pub(crate) fn check_user_tag(key: &str, value: &str) -> Result<()> {
    check_user_tag_key(key, "set")?;
    validate_tag_value(key, value)
}

/// Checks a tag key a user sets or deletes (`verb`).
pub(crate) fn check_user_tag_key(key: &str, verb: &str) -> Result<()> {
    validate_key(KeyKind::Tag, key)?;
    if key.starts_with(RESERVED_TAG_PREFIX) && !USER_SETTABLE.contains(&key) {
        return Err(reserved(key, verb));
    }
    if verb == "delete" && key == TAG_RUN_NAME {
        return Err(Error::InvalidArgument(
            "tag 'mlflow.runName' holds the run's name and cannot be deleted; rename the run \
             instead"
                .into(),
        ));
    }
    Ok(())
}

fn reserved(key: &str, verb: &str) -> Error {
    Error::InvalidArgument(format!(
        "cannot {verb} tag '{key}': keys starting with '{RESERVED_TAG_PREFIX}' are reserved for \
         system tags (only '{TAG_NOTE_CONTENT}' and '{TAG_RUN_NAME}' may be set by users)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_keys_are_refused_but_the_description_and_name() {
        assert!(check_user_tag("team", "risk").is_ok());
        assert!(check_user_tag(TAG_NOTE_CONTENT, "a description").is_ok());
        assert!(check_user_tag(TAG_RUN_NAME, "new-name").is_ok());
        for key in ["mlflow.user", "mlflow.source.name", "mlflow.parentRunId"] {
            let err = check_user_tag(key, "x").unwrap_err().to_string();
            assert!(err.contains("reserved"), "{err}");
        }
        assert!(check_user_tag_key(TAG_NOTE_CONTENT, "delete").is_ok());
        assert!(check_user_tag_key(TAG_RUN_NAME, "delete").is_err());
        assert!(check_user_tag_key("mlflow.user", "delete").is_err());
        assert!(check_user_tag("bad key!", "x").is_err());
    }
}

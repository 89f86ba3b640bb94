//! The registry changes an API's observer hears of.

/// A change to the registry that an [`Observer`](super::Observer) hears of
/// (the server's webhooks deliver them).
#[derive(Debug)]
pub enum Change<'a> {
    /// `registered-models/create`.
    ModelCreated {
        /// The registered model's name.
        name: &'a str,
        /// Its tags.
        tags: &'a [(String, String)],
        /// Its description.
        description: Option<&'a str>,
    },
    /// `model-versions/create`.
    VersionCreated {
        /// The registered model's name.
        name: &'a str,
        /// The version.
        version: i64,
        /// Where the version's files are.
        source: &'a str,
        /// The run it came from.
        run_id: Option<&'a str>,
        /// Its tags.
        tags: &'a [(String, String)],
        /// Its description.
        description: Option<&'a str>,
    },
    /// `registered-models/set-tag` (heard of for prompts only).
    ModelTagSet {
        /// The registered model's name.
        name: &'a str,
        /// The tag's key.
        key: &'a str,
        /// The tag's value.
        value: &'a str,
    },
    /// `registered-models/delete-tag` (prompts only).
    ModelTagDeleted {
        /// The registered model's name.
        name: &'a str,
        /// The tag's key.
        key: &'a str,
    },
    /// `model-versions/set-tag`.
    VersionTagSet {
        /// The registered model's name.
        name: &'a str,
        /// The version.
        version: i64,
        /// The tag's key.
        key: &'a str,
        /// The tag's value.
        value: &'a str,
    },
    /// `model-versions/delete-tag`.
    VersionTagDeleted {
        /// The registered model's name.
        name: &'a str,
        /// The version.
        version: i64,
        /// The tag's key.
        key: &'a str,
    },
    /// `registered-models/alias` (POST).
    AliasSet {
        /// The registered model's name.
        name: &'a str,
        /// The alias.
        alias: &'a str,
        /// The version.
        version: i64,
    },
    /// `registered-models/alias` (DELETE).
    AliasDeleted {
        /// The registered model's name.
        name: &'a str,
        /// The alias.
        alias: &'a str,
    },
}

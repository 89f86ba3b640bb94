//! Users, their permissions and their API tokens, in a SQLite database
//! beside the store (`basic_auth.db`, as MLflow names it). Passwords are
//! kept only as Argon2id hashes (salted, slow to guess); tokens only as
//! SHA-256 digests (they are long random strings: a fast digest is enough).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::Permission;
use runlog::api::error::ApiError;
use runlog::{Error, Result};

/// A user as stored.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: i64,
    pub username: String,
    pub is_admin: bool,
    password_hash: String,
}

/// What a permission row is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resource {
    /// An experiment, by id.
    Experiment,
    /// A registered model, by name.
    RegisteredModel,
}

impl Resource {
    fn table(self) -> &'static str {
        match self {
            Resource::Experiment => "experiment_permissions",
            Resource::RegisteredModel => "registered_model_permissions",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Resource::Experiment => "experiment_id",
            Resource::RegisteredModel => "name",
        }
    }
}

/// The database, with the permissions read so far kept in memory (every
/// change of a permission or a user empties that copy).
pub(crate) struct AuthStore {
    db: Mutex<Connection>,
    permissions: Mutex<HashMap<(u8, String, i64), Option<Permission>>>,
}

fn db_error(e: rusqlite::Error) -> ApiError {
    ApiError::internal(format!("the users database failed: {e}"))
}

impl AuthStore {
    /// Opens (or creates) the database at `path`.
    pub(crate) fn open(path: &Path) -> Result<AuthStore> {
        let fail = |e: rusqlite::Error| {
            Error::InvalidArgument(format!(
                "cannot open the users database {}: {e}",
                path.display()
            ))
        };
        let db = Connection::open(path).map_err(fail)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA foreign_keys = ON;
             CREATE TABLE IF NOT EXISTS users (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 username TEXT NOT NULL UNIQUE,
                 password_hash TEXT NOT NULL,
                 is_admin INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE IF NOT EXISTS experiment_permissions (
                 experiment_id TEXT NOT NULL,
                 user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                 permission TEXT NOT NULL,
                 PRIMARY KEY (experiment_id, user_id));
             CREATE TABLE IF NOT EXISTS registered_model_permissions (
                 name TEXT NOT NULL,
                 user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                 permission TEXT NOT NULL,
                 PRIMARY KEY (name, user_id));
             CREATE TABLE IF NOT EXISTS tokens (
                 digest TEXT PRIMARY KEY,
                 user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                 description TEXT NOT NULL,
                 created_ms INTEGER NOT NULL);",
        )
        .map_err(fail)?;
        Ok(AuthStore {
            db: Mutex::new(db),
            permissions: Mutex::new(HashMap::new()),
        })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, HashMap<(u8, String, i64), Option<Permission>>> {
        self.permissions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A permission as read before (outer `None`: not read yet).
    pub(crate) fn cached_permission(
        &self,
        resource: Resource,
        key: &str,
        user_id: i64,
    ) -> Option<Option<Permission>> {
        self.cached()
            .get(&(resource as u8, key.to_owned(), user_id))
            .copied()
    }

    /// Forgets the permissions read so far (one changed).
    fn changed(&self) {
        self.cached().clear();
    }

    /// A user by name.
    pub(crate) fn user(&self, username: &str) -> std::result::Result<Option<User>, ApiError> {
        self.db()
            .query_row(
                "SELECT id, username, password_hash, is_admin FROM users WHERE username = ?1",
                params![username],
                |r| {
                    Ok(User {
                        id: r.get(0)?,
                        username: r.get(1)?,
                        password_hash: r.get(2)?,
                        is_admin: r.get::<_, i64>(3)? != 0,
                    })
                },
            )
            .optional()
            .map_err(db_error)
    }

    /// Every user, by name.
    pub(crate) fn users(&self) -> std::result::Result<Vec<User>, ApiError> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT id, username, password_hash, is_admin FROM users ORDER BY username")
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(User {
                    id: r.get(0)?,
                    username: r.get(1)?,
                    password_hash: r.get(2)?,
                    is_admin: r.get::<_, i64>(3)? != 0,
                })
            })
            .map_err(db_error)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
    }

    /// A user by name, or MLflow's 404.
    pub(crate) fn existing_user(&self, username: &str) -> std::result::Result<User, ApiError> {
        self.user(username)?
            .ok_or_else(|| ApiError::not_found(format!("User with username={username} not found")))
    }

    /// Creates a user (its password hashed).
    pub(crate) fn create_user(
        &self,
        username: &str,
        password: &str,
        is_admin: bool,
    ) -> std::result::Result<User, ApiError> {
        if username.is_empty() {
            return Err(ApiError::invalid("Username cannot be empty."));
        }
        check_password(password)?;
        if self.user(username)?.is_some() {
            return Err(ApiError {
                status: 400,
                code: "RESOURCE_ALREADY_EXISTS",
                message: format!("User '{username}' already exists."),
            });
        }
        let hash = hash_password(password)?;
        self.db()
            .execute(
                "INSERT INTO users (username, password_hash, is_admin) VALUES (?1, ?2, ?3)",
                params![username, hash, is_admin as i64],
            )
            .map_err(db_error)?;
        self.existing_user(username)
    }

    /// Whether `password` is the user's.
    pub(crate) fn password_matches(user: &User, password: &str) -> bool {
        PasswordHash::new(&user.password_hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    }

    /// Sets a user's password.
    pub(crate) fn set_password(
        &self,
        username: &str,
        password: &str,
    ) -> std::result::Result<(), ApiError> {
        check_password(password)?;
        let user = self.existing_user(username)?;
        let hash = hash_password(password)?;
        self.db()
            .execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![hash, user.id],
            )
            .map_err(db_error)?;
        Ok(())
    }

    /// Makes a user an admin or not.
    pub(crate) fn set_admin(
        &self,
        username: &str,
        is_admin: bool,
    ) -> std::result::Result<(), ApiError> {
        let user = self.existing_user(username)?;
        self.db()
            .execute(
                "UPDATE users SET is_admin = ?1 WHERE id = ?2",
                params![is_admin as i64, user.id],
            )
            .map_err(db_error)?;
        Ok(())
    }

    /// Deletes a user with its permissions and tokens.
    pub(crate) fn delete_user(&self, username: &str) -> std::result::Result<(), ApiError> {
        let user = self.existing_user(username)?;
        self.db()
            .execute("DELETE FROM users WHERE id = ?1", params![user.id])
            .map_err(db_error)?;
        self.changed();
        Ok(())
    }

    /// Every permission on a registered model follows it to its new name
    /// (`to: Some`), or goes with it (`to: None`, deleted), as MLflow's do.
    pub(crate) fn move_registered_model(
        &self,
        name: &str,
        to: Option<&str>,
    ) -> std::result::Result<(), ApiError> {
        let db = self.db();
        match to {
            Some(new) => db.execute(
                "UPDATE registered_model_permissions SET name = ?1 WHERE name = ?2",
                params![new, name],
            ),
            None => db.execute(
                "DELETE FROM registered_model_permissions WHERE name = ?1",
                params![name],
            ),
        }
        .map_err(db_error)?;
        drop(db);
        self.changed();
        Ok(())
    }

    /// A user's permission on a resource, if one was granted.
    pub(crate) fn permission(
        &self,
        resource: Resource,
        key: &str,
        user_id: i64,
    ) -> std::result::Result<Option<Permission>, ApiError> {
        let slot = (resource as u8, key.to_owned(), user_id);
        if let Some(p) = self.cached().get(&slot) {
            return Ok(*p);
        }
        let sql = format!(
            "SELECT permission FROM {} WHERE {} = ?1 AND user_id = ?2",
            resource.table(),
            resource.column()
        );
        let found: Option<String> = self
            .db()
            .query_row(&sql, params![key, user_id], |r| r.get(0))
            .optional()
            .map_err(db_error)?;
        let found = found.and_then(|p| Permission::parse(&p));
        let mut cache = self.cached();
        if cache.len() >= 65_536 {
            cache.clear();
        }
        cache.insert(slot, found);
        Ok(found)
    }

    /// Grants (`create`: a new row, else an existing one changed).
    pub(crate) fn grant(
        &self,
        resource: Resource,
        key: &str,
        user_id: i64,
        permission: Permission,
        create: bool,
    ) -> std::result::Result<(), ApiError> {
        let exists = self.permission(resource, key, user_id)?.is_some();
        let what = match resource {
            Resource::Experiment => format!("Experiment permission (experiment_id={key}"),
            Resource::RegisteredModel => format!("Registered model permission (name={key}"),
        };
        if create && exists {
            return Err(ApiError {
                status: 400,
                code: "RESOURCE_ALREADY_EXISTS",
                message: format!("{what}, user_id={user_id}) already exists."),
            });
        }
        if !create && !exists {
            return Err(ApiError::not_found(format!(
                "{what}, user_id={user_id}) not found."
            )));
        }
        let sql = format!(
            "INSERT INTO {} ({}, user_id, permission) VALUES (?1, ?2, ?3)
             ON CONFLICT DO UPDATE SET permission = excluded.permission",
            resource.table(),
            resource.column()
        );
        self.db()
            .execute(&sql, params![key, user_id, permission.name()])
            .map_err(db_error)?;
        self.changed();
        Ok(())
    }

    /// Removes a granted permission.
    pub(crate) fn revoke(
        &self,
        resource: Resource,
        key: &str,
        user_id: i64,
    ) -> std::result::Result<(), ApiError> {
        if self.permission(resource, key, user_id)?.is_none() {
            return Err(ApiError::not_found(format!(
                "No permission of user_id={user_id} on {key} to delete."
            )));
        }
        let sql = format!(
            "DELETE FROM {} WHERE {} = ?1 AND user_id = ?2",
            resource.table(),
            resource.column()
        );
        self.db()
            .execute(&sql, params![key, user_id])
            .map_err(db_error)?;
        self.changed();
        Ok(())
    }

    /// A permission row as MLflow's JSON.
    pub(crate) fn permission_json(
        resource: Resource,
        key: &str,
        user_id: i64,
        p: Permission,
    ) -> Value {
        json!({resource.column(): key, "user_id": user_id, "permission": p.name()})
    }

    /// A user as MLflow's JSON (`User.to_json`), with its permissions.
    pub(crate) fn user_json(&self, user: &User) -> std::result::Result<Value, ApiError> {
        let mut lists = Vec::new();
        for resource in [Resource::Experiment, Resource::RegisteredModel] {
            let db = self.db();
            let sql = format!(
                "SELECT {}, permission FROM {} WHERE user_id = ?1 ORDER BY 1",
                resource.column(),
                resource.table()
            );
            let mut stmt = db.prepare(&sql).map_err(db_error)?;
            let rows = stmt
                .query_map(params![user.id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(db_error)?;
            let mut list = Vec::new();
            for row in rows {
                let (key, p) = row.map_err(db_error)?;
                if let Some(p) = Permission::parse(&p) {
                    list.push(Self::permission_json(resource, &key, user.id, p));
                }
            }
            lists.push(list);
        }
        let registered = lists.pop().unwrap_or_default();
        let experiments = lists.pop().unwrap_or_default();
        Ok(json!({
            "id": user.id,
            "username": user.username,
            "is_admin": user.is_admin,
            "experiment_permissions": experiments,
            "registered_model_permissions": registered,
            "scorer_permissions": [],
        }))
    }

    /// A new API token for a user: returned once, kept as its digest.
    pub(crate) fn create_token(
        &self,
        user_id: i64,
        description: &str,
    ) -> std::result::Result<String, ApiError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::internal(format!("no randomness for a token: {e}")))?;
        let token: String = std::iter::once("rl_".to_owned())
            .chain(bytes.iter().map(|b| format!("{b:02x}")))
            .collect();
        self.db()
            .execute(
                "INSERT INTO tokens (digest, user_id, description, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![digest(&token), user_id, description, runlog::clock::wall_clock_ms()],
            )
            .map_err(db_error)?;
        Ok(token)
    }

    /// Revokes a user's token; false when there was no such token.
    pub(crate) fn delete_token(
        &self,
        user_id: i64,
        token: &str,
    ) -> std::result::Result<bool, ApiError> {
        let n = self
            .db()
            .execute(
                "DELETE FROM tokens WHERE digest = ?1 AND user_id = ?2",
                params![digest(token), user_id],
            )
            .map_err(db_error)?;
        Ok(n > 0)
    }

    /// The user a token belongs to.
    pub(crate) fn token_user(&self, token: &str) -> std::result::Result<Option<User>, ApiError> {
        let name: Option<String> = self
            .db()
            .query_row(
                "SELECT u.username FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.digest = ?1",
                params![digest(token)],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_error)?;
        match name {
            Some(name) => self.user(&name),
            None => Ok(None),
        }
    }
}

/// MLflow 3.17's password rule: at least 12 characters.
pub(crate) fn check_password(password: &str) -> std::result::Result<(), ApiError> {
    if password.chars().count() < 12 {
        return Err(ApiError::invalid(
            "Password must be at least 12 characters.",
        ));
    }
    Ok(())
}

/// A password's Argon2id hash, with a fresh salt.
fn hash_password(password: &str) -> std::result::Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| ApiError::internal(format!("no randomness for a salt: {e}")))?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| ApiError::internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("hashing a password failed: {e}")))
}

/// A token's SHA-256, in hex.
fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_permissions_and_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let store = AuthStore::open(&dir.path().join("basic_auth.db")).unwrap();
        let alice = store.create_user("alice", "s3cret-s3cret", false).unwrap();
        assert!(AuthStore::password_matches(&alice, "s3cret-s3cret"));
        assert!(!AuthStore::password_matches(&alice, "S3cret-s3cret"));
        assert!(!alice.password_hash.contains("s3cret-s3cret"));
        assert!(alice.password_hash.starts_with("$argon2id$"));
        assert_eq!(
            store
                .create_user("alice", "x-long-enough", false)
                .unwrap_err()
                .code,
            "RESOURCE_ALREADY_EXISTS"
        );
        assert!(store
            .create_user("bob", "short", false)
            .unwrap_err()
            .message
            .contains("12"));
        store
            .grant(Resource::Experiment, "7", alice.id, Permission::Read, true)
            .unwrap();
        assert!(store
            .grant(Resource::Experiment, "7", alice.id, Permission::Edit, true)
            .is_err());
        store
            .grant(Resource::Experiment, "7", alice.id, Permission::Edit, false)
            .unwrap();
        assert_eq!(
            store
                .permission(Resource::Experiment, "7", alice.id)
                .unwrap(),
            Some(Permission::Edit)
        );
        let token = store.create_token(alice.id, "ci").unwrap();
        assert_eq!(store.token_user(&token).unwrap().unwrap().username, "alice");
        assert!(store.token_user("rl_00").unwrap().is_none());
        let json = store.user_json(&alice).unwrap();
        assert_eq!(json["experiment_permissions"][0]["permission"], "EDIT");
        store.delete_user("alice").unwrap();
        assert!(store.token_user(&token).unwrap().is_none());
        assert!(store
            .permission(Resource::Experiment, "7", alice.id)
            .unwrap()
            .is_none());
    }
}

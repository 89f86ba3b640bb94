//! The webhooks, in a SQLite database beside the store (`webhooks.db`,
//! mode 0600: it holds the signing secrets). Not part of the log: a
//! webhook is the server's configuration, changed in place, and its
//! secret must be removable, which an append-only log cannot do.
//!
//! The database is made when the first webhook is; a store that never has
//! one (or sits on a read-only disk) gets no file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::webhooks::event::Event;
use runlog::api::error::ApiError;

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Its id (a UUID).
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Where deliveries go.
    pub url: String,
    /// The HMAC key deliveries are signed with (none: unsigned).
    pub secret: Option<String>,
    /// Delivered to (`ACTIVE`) or not (`DISABLED`).
    pub active: bool,
    /// What it listens to, sorted.
    pub events: Vec<Event>,
    /// When it was made (ms since the epoch).
    pub creation_timestamp: i64,
    /// When it last changed.
    pub last_updated_timestamp: i64,
}

/// What an update changes (`None`: unchanged).
#[derive(Debug, Default)]
pub struct Changes {
    /// A new name.
    pub name: Option<String>,
    /// A new description (empty: none).
    pub description: Option<String>,
    /// A new URL (checked before).
    pub url: Option<String>,
    /// The events, replacing the old ones.
    pub events: Option<Vec<Event>>,
    /// A new secret (empty: deliveries unsigned).
    pub secret: Option<String>,
    /// Enabled or disabled.
    pub active: Option<bool>,
}

/// The database, opened when first needed.
pub struct WebhookStore {
    path: PathBuf,
    db: Mutex<Option<Connection>>,
}

/// The tables; `synchronous = FULL`: a change is on disk when its answer
/// goes out (webhook changes are rare, the fsync is cheap beside them).
const SCHEMA: &str = "PRAGMA journal_mode = WAL;
     PRAGMA synchronous = FULL;
     PRAGMA foreign_keys = ON;
     CREATE TABLE IF NOT EXISTS webhooks (
         webhook_id TEXT PRIMARY KEY,
         name TEXT NOT NULL,
         description TEXT,
         url TEXT NOT NULL,
         secret TEXT,
         status TEXT NOT NULL,
         creation_timestamp INTEGER NOT NULL,
         last_updated_timestamp INTEGER NOT NULL,
         deleted_timestamp INTEGER);
     CREATE TABLE IF NOT EXISTS webhook_events (
         webhook_id TEXT NOT NULL REFERENCES webhooks(webhook_id) ON DELETE CASCADE,
         entity TEXT NOT NULL,
         action TEXT NOT NULL,
         PRIMARY KEY (webhook_id, entity, action));";

fn failed(e: rusqlite::Error) -> ApiError {
    ApiError::internal(format!("the webhooks database failed: {e}"))
}

impl WebhookStore {
    /// The database at `path` (not opened, nor made, yet).
    pub fn new(path: &Path) -> WebhookStore {
        WebhookStore {
            path: path.to_owned(),
            db: Mutex::new(None),
        }
    }

    /// Runs `f` on the database; `create`: make it if it is not there
    /// (else a missing database is `None`: no webhooks).
    fn with<T>(
        &self,
        create: bool,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, ApiError> {
        let mut db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        if db.is_none() {
            if !create && !self.path.exists() {
                return Ok(None);
            }
            *db = Some(self.open()?);
        }
        match db.as_mut() {
            Some(conn) => f(conn).map(Some).map_err(failed),
            None => Ok(None),
        }
    }

    fn open(&self) -> Result<Connection, ApiError> {
        let cannot = |e: &dyn std::fmt::Display| {
            ApiError::internal(format!(
                "cannot open the webhooks database {}: {e}",
                self.path.display()
            ))
        };
        // Made 0600 before SQLite opens it (its journal files take the
        // database's mode), and kept so if it was made otherwise.
        let mut file = std::fs::OpenOptions::new();
        file.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        file.open(&self.path).map_err(|e| cannot(&e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| cannot(&e))?;
        }
        let db = Connection::open(&self.path).map_err(|e| cannot(&e))?;
        db.execute_batch(SCHEMA).map_err(|e| cannot(&e))?;
        Ok(db)
    }

    /// Stores a new webhook.
    pub fn insert(&self, w: &Webhook) -> Result<(), ApiError> {
        self.with(true, |db| {
            let tx = db.transaction()?;
            tx.execute(
                "INSERT INTO webhooks (webhook_id, name, description, url, secret, status,
                     creation_timestamp, last_updated_timestamp)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    w.id,
                    w.name,
                    w.description,
                    w.url,
                    w.secret,
                    status(w.active),
                    w.creation_timestamp,
                    w.last_updated_timestamp
                ],
            )?;
            insert_events(&tx, &w.id, &w.events)?;
            tx.commit()
        })?;
        Ok(())
    }

    /// A webhook not deleted, by id.
    pub fn get(&self, id: &str) -> Result<Option<Webhook>, ApiError> {
        let found = self.with(false, |db| {
            let row = db
                .query_row(
                    "SELECT webhook_id, name, description, url, secret, status,
                         creation_timestamp, last_updated_timestamp
                     FROM webhooks WHERE webhook_id = ?1 AND deleted_timestamp IS NULL",
                    params![id],
                    read_row,
                )
                .optional()?;
            match row {
                Some(mut w) => {
                    w.events = read_events(db, &w.id)?;
                    Ok(Some(w))
                }
                None => Ok(None),
            }
        })?;
        Ok(found.flatten())
    }

    /// Every webhook not deleted, newest first (as MLflow lists them).
    pub fn list(&self) -> Result<Vec<Webhook>, ApiError> {
        let all = self.with(false, |db| {
            let mut rows = db
                .prepare(
                    "SELECT webhook_id, name, description, url, secret, status,
                         creation_timestamp, last_updated_timestamp
                     FROM webhooks WHERE deleted_timestamp IS NULL
                     ORDER BY creation_timestamp DESC, webhook_id",
                )?
                .query_map([], read_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for w in &mut rows {
                w.events = read_events(db, &w.id)?;
            }
            Ok(rows)
        })?;
        Ok(all.unwrap_or_default())
    }

    /// Applies `changes` to a webhook not deleted; `false` if there is
    /// none.
    pub fn update(&self, id: &str, changes: &Changes, now: i64) -> Result<bool, ApiError> {
        let done = self.with(false, |db| {
            let tx = db.transaction()?;
            let n = tx.execute(
                "UPDATE webhooks SET
                     name = COALESCE(?2, name),
                     description = CASE WHEN ?3 IS NULL THEN description ELSE ?3 END,
                     url = COALESCE(?4, url),
                     secret = CASE WHEN ?5 IS NULL THEN secret ELSE ?5 END,
                     status = COALESCE(?6, status),
                     last_updated_timestamp = ?7
                 WHERE webhook_id = ?1 AND deleted_timestamp IS NULL",
                params![
                    id,
                    changes.name,
                    changes.description,
                    changes.url,
                    changes.secret,
                    changes.active.map(status),
                    now
                ],
            )?;
            if n == 0 {
                return Ok(false);
            }
            if let Some(events) = &changes.events {
                tx.execute(
                    "DELETE FROM webhook_events WHERE webhook_id = ?1",
                    params![id],
                )?;
                insert_events(&tx, id, events)?;
            }
            tx.commit()?;
            Ok(true)
        })?;
        Ok(done.unwrap_or(false))
    }

    /// Deletes a webhook: its row stays, marked deleted, with its secret
    /// erased; `false` if there is none.
    pub fn delete(&self, id: &str, now: i64) -> Result<bool, ApiError> {
        let done = self.with(false, |db| {
            db.execute(
                "UPDATE webhooks SET deleted_timestamp = ?2, last_updated_timestamp = ?2,
                     secret = NULL
                 WHERE webhook_id = ?1 AND deleted_timestamp IS NULL",
                params![id, now],
            )
        })?;
        Ok(done.unwrap_or(0) > 0)
    }
}

fn status(active: bool) -> &'static str {
    if active {
        "ACTIVE"
    } else {
        "DISABLED"
    }
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        url: row.get(3)?,
        secret: row.get(4)?,
        active: row.get::<_, String>(5)? == "ACTIVE",
        events: Vec::new(),
        creation_timestamp: row.get(6)?,
        last_updated_timestamp: row.get(7)?,
    })
}

fn insert_events(db: &Connection, id: &str, events: &[Event]) -> rusqlite::Result<()> {
    for e in events {
        db.execute(
            "INSERT OR IGNORE INTO webhook_events (webhook_id, entity, action) VALUES (?1, ?2, ?3)",
            params![id, e.entity.name(), e.action.name()],
        )?;
    }
    Ok(())
}

/// A webhook's events, sorted; a row naming an event this version does
/// not know is skipped (a newer server's).
fn read_events(db: &Connection, id: &str) -> rusqlite::Result<Vec<Event>> {
    let mut events: Vec<Event> = db
        .prepare("SELECT entity, action FROM webhook_events WHERE webhook_id = ?1")?
        .query_map(params![id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter_map(|(entity, action)| Event::from_names(&entity, &action))
        .collect();
    events.sort_by_key(|e| (e.entity.name(), e.action.name()));
    Ok(events)
}

//! The master's durable store: embedded SQLite behind a narrow, typed interface.
//!
//! Everything the master accepts is written in one [`Tx`] and committed before the master
//! replies. The interface is deliberately small (typed records, a key/value meta table, an
//! acknowledged-update log) so a replicated backend can replace SQLite without touching the
//! registry, the task lifecycle or the schedulers.
//!
//! Durability: WAL journal with `synchronous=FULL`, so a commit is on disk (WAL fsynced) when
//! [`Store::transaction`] returns; a `kill -9` or a power cut after a reply loses nothing.

mod migrations;
#[cfg(test)]
mod tests;

use crate::model::{AgentRecord, FrameworkRecord, TaskRecord, TaskStatus};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store: sqlite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("store: record '{id}' cannot be (de)serialized: {source}")]
    Json {
        id: String,
        source: serde_json::Error,
    },
    #[error("store: schema version {found} is newer than this master understands ({known}); upgrade dcosd")]
    TooNew { found: i64, known: i64 },
    #[error("store: cannot create {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
}

/// Everything the store holds, as loaded on start.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub agents: Vec<AgentRecord>,
    pub frameworks: Vec<FrameworkRecord>,
    /// Tasks with their full status history.
    pub tasks: Vec<TaskRecord>,
}

pub struct Store {
    conn: Connection,
}

/// One transaction; dropped without [`Store::transaction`] returning Ok, it is rolled back.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
}

fn to_json<T: serde::Serialize>(id: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|source| StoreError::Json {
        id: id.to_string(),
        source,
    })
}

fn from_json<T: serde::de::DeserializeOwned>(id: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|source| StoreError::Json {
        id: id.to_string(),
        source,
    })
}

impl Store {
    /// Opens (creating if needed) `<dir>/master.sqlite` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("master.sqlite");
        // The store holds the join token: owner-only, and SQLite gives its -wal/-shm files the
        // database file's mode.
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            let io = |source| StoreError::Dir {
                path: path.display().to_string(),
                source,
            };
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
                .map_err(io)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        let conn = Connection::open(&path)?;
        Self::init(conn)
    }

    /// An in-memory store (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    /// The schema version in use.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::current_version(&self.conn)
    }

    /// Runs `f` in one transaction and commits it before returning its value.
    pub fn transaction<T, E>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self.conn.transaction().map_err(StoreError::from)?;
        let mut t = Tx { tx };
        let v = f(&mut t)?;
        t.tx.commit().map_err(StoreError::from)?;
        Ok(v)
    }

    pub fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Whether a status update uuid was already recorded.
    pub fn is_acked(&self, uuid: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM acked_updates WHERE uuid = ?1",
                [uuid],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Loads every record (used once on start to rebuild the master's state).
    pub fn load(&self) -> Result<Snapshot, StoreError> {
        let mut snap = Snapshot::default();
        let mut st = self
            .conn
            .prepare("SELECT id, record FROM agents ORDER BY id")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, rec) = row?;
            snap.agents.push(from_json(&id, &rec)?);
        }
        let mut st = self
            .conn
            .prepare("SELECT id, record FROM frameworks ORDER BY id")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, rec) = row?;
            snap.frameworks.push(from_json(&id, &rec)?);
        }
        let mut statuses: HashMap<String, Vec<TaskStatus>> = HashMap::new();
        let mut st = self
            .conn
            .prepare("SELECT task_id, record FROM task_statuses ORDER BY seq")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, rec) = row?;
            statuses
                .entry(id.clone())
                .or_default()
                .push(from_json(&id, &rec)?);
        }
        let mut st = self
            .conn
            .prepare("SELECT id, record FROM tasks ORDER BY created, id")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, rec) = row?;
            let mut t: TaskRecord = from_json(&id, &rec)?;
            t.statuses = statuses.remove(&id).unwrap_or_default();
            snap.tasks.push(t);
        }
        Ok(snap)
    }
}

impl Tx<'_> {
    pub fn put_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Inserts or replaces the JSON `record` of `id` in one of the `(id, record)` tables.
    fn put_record(
        &mut self,
        table: &'static str,
        id: &str,
        record: &str,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            &format!(
                "INSERT INTO {table}(id, record) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET record = excluded.record"
            ),
            params![id, record],
        )?;
        Ok(())
    }

    pub fn put_agent(&mut self, a: &AgentRecord) -> Result<(), StoreError> {
        let rec = to_json(&a.id, a)?;
        self.put_record("agents", &a.id, &rec)
    }

    pub fn put_framework(&mut self, f: &FrameworkRecord) -> Result<(), StoreError> {
        let rec = to_json(&f.id, f)?;
        self.put_record("frameworks", &f.id, &rec)
    }

    /// Writes a task's record (its status history is appended separately, see
    /// [`Tx::append_status`]).
    pub fn put_task(&mut self, t: &TaskRecord) -> Result<(), StoreError> {
        // Serialize without the history: statuses live in their own table.
        let mut v = serde_json::to_value(t).map_err(|source| StoreError::Json {
            id: t.id.clone(),
            source,
        })?;
        if let Some(o) = v.as_object_mut() {
            o.remove("statuses");
        }
        let rec = to_json(&t.id, &v)?;
        self.tx.execute(
            "INSERT INTO tasks(id, framework_id, agent_id, state, created, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(id) DO UPDATE SET framework_id = excluded.framework_id,
               agent_id = excluded.agent_id, state = excluded.state, record = excluded.record",
            params![
                t.id,
                t.framework_id,
                t.agent_id,
                t.state.as_str(),
                t.created,
                rec
            ],
        )?;
        Ok(())
    }

    /// Appends one entry to a task's status history.
    pub fn append_status(&mut self, task_id: &str, s: &TaskStatus) -> Result<(), StoreError> {
        let rec = to_json(task_id, s)?;
        self.tx.execute(
            "INSERT INTO task_statuses(task_id, record) VALUES (?1, ?2)",
            params![task_id, rec],
        )?;
        Ok(())
    }

    /// Records an acknowledged status update uuid; returns false when it was already recorded.
    pub fn record_ack(&mut self, uuid: &str, task_id: &str, at: f64) -> Result<bool, StoreError> {
        let n = self.tx.execute(
            "INSERT OR IGNORE INTO acked_updates(uuid, task_id, at) VALUES (?1, ?2, ?3)",
            params![uuid, task_id, at],
        )?;
        Ok(n == 1)
    }

    pub fn is_acked(&self, uuid: &str) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT 1 FROM acked_updates WHERE uuid = ?1",
                [uuid],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

//! The app scheduler's durable state in its own SQLite file (`<data-dir>/marathon.sqlite`):
//! current app definitions, every stored app version, and running deployment plans with their
//! current step. Every change is committed before the API replies.

use super::Deployment;
use dcos_marathon::app::AppDefinition;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum MarathonStoreError {
    #[error("marathon store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("marathon store: bad record {id}: {source}")]
    Json {
        id: String,
        source: serde_json::Error,
    },
    #[error("marathon store: schema version {0} is newer than this dcosd knows; upgrade dcosd")]
    TooNew(i64),
}

const MIGRATIONS: &[&str] = &[
    // 1: apps, versions, deployments
    "CREATE TABLE marathon_apps (id TEXT PRIMARY KEY, record TEXT NOT NULL);
     CREATE TABLE marathon_app_versions (
        id TEXT NOT NULL, version TEXT NOT NULL, record TEXT NOT NULL,
        PRIMARY KEY (id, version));
     CREATE TABLE marathon_deployments (id TEXT PRIMARY KEY, record TEXT NOT NULL);",
    // 2: the group tree without its apps (ids, dependencies, versions)
    "CREATE TABLE marathon_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
];

pub struct MarathonStore {
    conn: Connection,
}

/// One atomic change.
#[derive(Default)]
pub struct Change<'a> {
    pub put_apps: Vec<&'a AppDefinition>,
    pub delete_apps: Vec<String>,
    pub put_deployments: Vec<&'a Deployment>,
    pub delete_deployments: Vec<String>,
    /// The group tree without apps (see [`MarathonStore::load_groups`]).
    pub groups: Option<String>,
}

fn json<T: serde::Serialize>(id: &str, v: &T) -> Result<String, MarathonStoreError> {
    serde_json::to_string(v).map_err(|source| MarathonStoreError::Json {
        id: id.into(),
        source,
    })
}

impl MarathonStore {
    pub fn open(dir: &Path) -> Result<Self, MarathonStoreError> {
        let conn = Connection::open(dir.join("marathon.sqlite"))?;
        Self::init(conn)
    }

    fn init(mut conn: Connection) -> Result<Self, MarathonStoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > MIGRATIONS.len() as i64 {
            return Err(MarathonStoreError::TooNew(found));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(MarathonStore { conn })
    }

    pub fn load_apps(&self) -> Result<Vec<AppDefinition>, MarathonStoreError> {
        let mut st = self
            .conn
            .prepare("SELECT id, record FROM marathon_apps ORDER BY id")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, rec) = row?;
            out.push(
                serde_json::from_str(&rec)
                    .map_err(|source| MarathonStoreError::Json { id, source })?,
            );
        }
        Ok(out)
    }

    pub fn load_deployments(&self) -> Result<Vec<Deployment>, MarathonStoreError> {
        let mut st = self
            .conn
            .prepare("SELECT id, record FROM marathon_deployments ORDER BY rowid")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, rec) = row?;
            out.push(
                serde_json::from_str(&rec)
                    .map_err(|source| MarathonStoreError::Json { id, source })?,
            );
        }
        Ok(out)
    }

    /// The stored group tree without apps, if any.
    pub fn load_groups(&self) -> Result<Option<serde_json::Value>, MarathonStoreError> {
        let rec: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM marathon_meta WHERE key = 'groups'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        rec.map(|r| {
            serde_json::from_str(&r).map_err(|source| MarathonStoreError::Json {
                id: "groups".into(),
                source,
            })
        })
        .transpose()
    }

    pub fn versions(&self, id: &str) -> Result<Vec<String>, MarathonStoreError> {
        let mut st = self.conn.prepare(
            "SELECT version FROM marathon_app_versions WHERE id = ?1 ORDER BY version DESC",
        )?;
        let rows = st.query_map([id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn version(
        &self,
        id: &str,
        version: &str,
    ) -> Result<Option<AppDefinition>, MarathonStoreError> {
        let rec: Option<String> = self
            .conn
            .query_row(
                "SELECT record FROM marathon_app_versions WHERE id = ?1 AND version = ?2",
                params![id, version],
                |r| r.get(0),
            )
            .optional()?;
        rec.map(|r| {
            serde_json::from_str(&r).map_err(|source| MarathonStoreError::Json {
                id: id.into(),
                source,
            })
        })
        .transpose()
    }

    /// Commits one change atomically.
    pub fn commit(&mut self, c: &Change<'_>) -> Result<(), MarathonStoreError> {
        let tx = self.conn.transaction()?;
        for app in &c.put_apps {
            let id = app.id.to_string();
            let rec = json(&id, app)?;
            tx.execute(
                "INSERT INTO marathon_apps(id, record) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET record = excluded.record",
                params![id, rec],
            )?;
            if let Some(v) = &app.version {
                tx.execute(
                    "INSERT OR REPLACE INTO marathon_app_versions(id, version, record) VALUES (?1, ?2, ?3)",
                    params![id, v, rec],
                )?;
            }
        }
        for id in &c.delete_apps {
            tx.execute("DELETE FROM marathon_apps WHERE id = ?1", [id])?;
            tx.execute("DELETE FROM marathon_app_versions WHERE id = ?1", [id])?;
        }
        for d in &c.put_deployments {
            let rec = json(&d.plan.id, d)?;
            tx.execute(
                "INSERT INTO marathon_deployments(id, record) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET record = excluded.record",
                params![d.plan.id, rec],
            )?;
        }
        for id in &c.delete_deployments {
            tx.execute("DELETE FROM marathon_deployments WHERE id = ?1", [id])?;
        }
        if let Some(g) = &c.groups {
            tx.execute(
                "INSERT INTO marathon_meta(key, value) VALUES ('groups', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [g],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

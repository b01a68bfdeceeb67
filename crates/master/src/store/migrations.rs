//! Versioned schema: each migration runs once, in order, recorded in `schema_migrations`.

use super::StoreError;
use rusqlite::Connection;

/// The migrations, index + 1 = version. Never edit a released one; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE agents (id TEXT PRIMARY KEY, record TEXT NOT NULL);
     CREATE TABLE frameworks (id TEXT PRIMARY KEY, record TEXT NOT NULL);
     CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        framework_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        state TEXT NOT NULL,
        created REAL NOT NULL,
        record TEXT NOT NULL);
     CREATE INDEX tasks_agent ON tasks(agent_id);
     CREATE INDEX tasks_framework ON tasks(framework_id);
     CREATE TABLE task_statuses (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL REFERENCES tasks(id),
        record TEXT NOT NULL);
     CREATE INDEX task_statuses_task ON task_statuses(task_id);
     CREATE TABLE acked_updates (uuid TEXT PRIMARY KEY, task_id TEXT NOT NULL, at REAL NOT NULL);",
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )?;
    let found = current_version(conn)?;
    if found > latest() {
        return Err(StoreError::TooNew {
            found,
            known: latest(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations(version) VALUES (?1)",
            [(i + 1) as i64],
        )?;
        tx.commit()?;
    }
    Ok(())
}

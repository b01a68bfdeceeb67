//! The agent's core state: its identity and configuration, the tasks it knows (each with a
//! record under `<work-dir>/meta/tasks/` so a restarted agent remembers them), and the one
//! place where a task changes state: [`Agent::update`] journals a status update, records the
//! new state and wakes the sender that delivers updates to the master.

use crate::cgroups::Layout;
use crate::sandbox::{self, SandboxError};
use crate::status_journal::{JournalError, StatusJournal};
use dcos_schemas::agent::{AgentTask, LaunchTask, Resources};
use dcos_schemas::task::{StatusUpdate, TaskState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::Notify;

#[cfg(test)]
mod tests;

/// Terminal tasks kept for `/state.json` (`completed_executors`); older ones are forgotten
/// and their sandboxes removed.
#[cfg(not(test))]
pub const MAX_COMPLETED: usize = 500;
#[cfg(test)]
pub const MAX_COMPLETED: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Everything fixed at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    pub master: String,
    pub work_dir: PathBuf,
    pub hostname: String,
    /// `http://IP:PORT`, how the master reaches this agent.
    pub endpoint: String,
    pub advertise_ip: String,
    pub port: u16,
    pub resources: Resources,
    pub attributes: BTreeMap<String, String>,
    pub join_token: Option<String>,
    /// PEM CA certificates trusted (alone) for an https master (`--master-ca`).
    pub master_ca_pem: Option<Vec<u8>>,
    pub heartbeat_interval_ms: Option<u64>,
    pub cgroups: Option<Layout>,
    /// The agent's own log file (`--log-file`), served as path=/slave/log.
    pub log_file: Option<PathBuf>,
    /// The binary started as `<exe> supervise --spec FILE`.
    pub supervisor_exe: PathBuf,
}

/// One status as `/state.json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusRecord {
    pub state: TaskState,
    pub timestamp: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
}

/// What the agent remembers about a task, persisted as `<work>/meta/tasks/<task-id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub launch: LaunchTask,
    pub agent_id: String,
    pub run_id: String,
    pub sandbox: PathBuf,
    pub state: TaskState,
    #[serde(default)]
    pub statuses: Vec<StatusRecord>,
    /// A kill was asked for: the end state is TASK_KILLED.
    #[serde(default)]
    pub kill_requested: bool,
    pub launched_at: f64,
    /// Result of the task's health checks, when it has any and one has concluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
}

impl TaskRecord {
    pub fn agent_task(&self) -> AgentTask {
        AgentTask {
            task_id: self.launch.task_id.clone(),
            framework_id: self.launch.framework_id.clone(),
            state: self.state,
        }
    }
}

pub struct Agent {
    pub cfg: Config,
    agent_id: RwLock<Option<String>>,
    pub tasks: Mutex<BTreeMap<String, TaskRecord>>,
    journal: Mutex<StatusJournal>,
    /// Woken when a new status update is journaled.
    pub status_added: Notify,
    /// Whether the master link is up (registered and heartbeating).
    pub connected: std::sync::atomic::AtomicBool,
    pub start_time: f64,
    pub http: reqwest::Client,
}

impl Agent {
    /// Opens the agent's state in its work dir (agent id, journal, task records).
    pub fn open(cfg: Config) -> Result<Arc<Agent>, AgentError> {
        let meta = cfg.work_dir.join("meta").join("tasks");
        std::fs::create_dir_all(&meta).map_err(|source| AgentError::Io {
            op: "create",
            path: meta.clone(),
            source,
        })?;
        let journal = StatusJournal::open(&cfg.work_dir.join("meta").join("status.jsonl"))?;
        let agent_id = std::fs::read_to_string(cfg.work_dir.join("agent-id"))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let mut tasks = BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir(&meta) {
            for de in rd.flatten() {
                let p = de.path();
                if p.extension().and_then(|e| e.to_str()) != Some("json") {
                    continue;
                }
                match sandbox::read_json::<TaskRecord>(&p) {
                    Ok(Some(r)) => {
                        tasks.insert(r.launch.task_id.clone(), r);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!("ignoring unreadable task record: {e}"),
                }
            }
        }
        let mut http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .timeout(std::time::Duration::from_secs(15));
        if let Some(pem) = &cfg.master_ca_pem {
            // The cluster CA only: no system roots for the master's certificate.
            http = http.tls_built_in_root_certs(false);
            for c in reqwest::Certificate::from_pem_bundle(pem).unwrap_or_default() {
                http = http.add_root_certificate(c);
            }
        }
        let http = http.build().unwrap_or_default();
        Ok(Arc::new(Agent {
            cfg,
            agent_id: RwLock::new(agent_id),
            tasks: Mutex::new(tasks),
            journal: Mutex::new(journal),
            status_added: Notify::new(),
            connected: std::sync::atomic::AtomicBool::new(false),
            start_time: sandbox::now_secs(),
            http,
        }))
    }

    pub fn agent_id(&self) -> Option<String> {
        self.agent_id.read().ok().and_then(|g| g.clone())
    }

    /// Remembers the id the master gave this agent (in memory and in `<work>/agent-id`).
    pub fn set_agent_id(&self, id: &str) -> Result<(), AgentError> {
        if self.agent_id().as_deref() != Some(id) {
            let p = self.cfg.work_dir.join("agent-id");
            let tmp = self.cfg.work_dir.join("agent-id.tmp");
            std::fs::write(&tmp, id)
                .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
                .and_then(|_| std::fs::rename(&tmp, &p))
                .map_err(|source| AgentError::Io {
                    op: "write",
                    path: p.clone(),
                    source,
                })?;
            if let Ok(mut g) = self.agent_id.write() {
                *g = Some(id.to_string());
            }
        }
        Ok(())
    }

    fn record_path(&self, task_id: &str) -> PathBuf {
        self.cfg
            .work_dir
            .join("meta")
            .join("tasks")
            .join(format!("{task_id}.json"))
    }

    /// Persists a task's record.
    pub fn save(&self, rec: &TaskRecord) -> Result<(), AgentError> {
        sandbox::write_json_atomic(&self.record_path(&rec.launch.task_id), rec)?;
        Ok(())
    }

    /// Adds a new task (state STAGING); `false` when the id is already known.
    pub fn insert_new(&self, rec: TaskRecord) -> Result<bool, AgentError> {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if tasks.contains_key(&rec.launch.task_id) {
            return Ok(false);
        }
        self.save(&rec)?;
        tasks.insert(rec.launch.task_id.clone(), rec);
        Ok(true)
    }

    pub fn task(&self, task_id: &str) -> Option<TaskRecord> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(task_id)
            .cloned()
    }

    /// Changes a record without a status update (e.g. a kill request).
    pub fn modify(&self, task_id: &str, f: impl FnOnce(&mut TaskRecord)) -> Option<TaskRecord> {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let rec = tasks.get_mut(task_id)?;
        f(rec);
        if let Err(e) = self.save(rec) {
            tracing::warn!("task {task_id}: {e}");
        }
        Some(rec.clone())
    }

    /// Moves a task to `state`: journals the status update (durably, before anything else),
    /// records the state and wakes the sender. Updates after a terminal state are dropped.
    pub fn update(
        &self,
        task_id: &str,
        state: TaskState,
        message: Option<String>,
        reason: Option<&str>,
    ) -> Result<(), AgentError> {
        self.update_with_health(task_id, state, message, reason, None)
    }

    /// [`Agent::update`] with a health check result: an update in the same state is sent
    /// when it carries a health result.
    pub fn update_with_health(
        &self,
        task_id: &str,
        state: TaskState,
        message: Option<String>,
        reason: Option<&str>,
        healthy: Option<bool>,
    ) -> Result<(), AgentError> {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let Some(rec) = tasks.get_mut(task_id) else {
            return Ok(());
        };
        if rec.state.is_terminal() || (rec.state == state && healthy.is_none()) {
            return Ok(());
        }
        // The last known health travels with later updates of a live task.
        let healthy = healthy.or(if state.is_terminal() {
            None
        } else {
            rec.healthy
        });
        let now = sandbox::now_secs();
        let upd = StatusUpdate {
            uuid: uuid::Uuid::new_v4().to_string(),
            task_id: task_id.to_string(),
            framework_id: rec.launch.framework_id.clone(),
            agent_id: self.agent_id().unwrap_or_else(|| rec.agent_id.clone()),
            state,
            message: message.clone(),
            reason: reason.map(str::to_string),
            timestamp: now,
            healthy,
        };
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(upd)?;
        rec.state = state;
        rec.healthy = healthy;
        rec.statuses.push(StatusRecord {
            state,
            timestamp: now,
            message: message.clone(),
            reason: reason.map(str::to_string),
            healthy,
        });
        let saved = self.save(rec);
        match (&message, state.is_terminal()) {
            (Some(m), true) => tracing::info!("task {task_id} is {state}: {m}"),
            _ => tracing::info!("task {task_id} is {state}"),
        }
        if state.is_terminal() {
            self.forget_old_completed(&mut tasks);
        }
        drop(tasks);
        self.status_added.notify_one();
        saved
    }

    /// Forgets the oldest terminal tasks beyond [`MAX_COMPLETED`]: their records and their
    /// sandboxes (removed on a separate thread, outside the lock).
    fn forget_old_completed(&self, tasks: &mut BTreeMap<String, TaskRecord>) {
        let mut done: Vec<(f64, String)> = tasks
            .values()
            .filter(|r| r.state.is_terminal())
            .map(|r| {
                let t = r.statuses.last().map_or(r.launched_at, |s| s.timestamp);
                (t, r.launch.task_id.clone())
            })
            .collect();
        if done.len() <= MAX_COMPLETED {
            return;
        }
        done.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut sandboxes = Vec::new();
        for (_, id) in done.iter().take(done.len() - MAX_COMPLETED) {
            if let Some(r) = tasks.remove(id) {
                sandboxes.push(r.sandbox);
            }
            let _ = std::fs::remove_file(self.record_path(id));
        }
        let root = self.sandboxes_root();
        std::thread::spawn(move || {
            for sb in sandboxes {
                // Only ever below the sandboxes root.
                if sb.starts_with(&root) && sb != root {
                    let _ = std::fs::remove_dir_all(&sb);
                    // The task's `runs/latest` link and empty parents up to `executors/`.
                    if let Some(runs) = sb.parent() {
                        let _ = std::fs::remove_file(runs.join("latest"));
                        let _ = std::fs::remove_dir(runs);
                        if let Some(exec) = runs.parent() {
                            let _ = std::fs::remove_dir(exec);
                        }
                    }
                }
            }
        });
    }

    /// Pending status updates, oldest first (at most `max`).
    pub fn pending_updates(&self, max: usize) -> Vec<StatusUpdate> {
        let j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        j.pending().iter().take(max).cloned().collect()
    }

    pub fn ack(&self, uuids: &[String]) -> Result<(), AgentError> {
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ack(uuids)?;
        Ok(())
    }

    /// Tasks to report when registering: every live task, and finished ones whose final
    /// update the master has not acknowledged yet.
    pub fn tasks_for_registration(&self) -> Vec<AgentTask> {
        let pending: HashSet<String> = self
            .pending_updates(usize::MAX)
            .into_iter()
            .map(|u| u.task_id)
            .collect();
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|r| !r.state.is_terminal() || pending.contains(&r.launch.task_id))
            .map(TaskRecord::agent_task)
            .collect()
    }

    pub fn all_tasks(&self) -> Vec<TaskRecord> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Sandboxes live below this directory; the files API serves nothing else.
    pub fn sandboxes_root(&self) -> PathBuf {
        self.cfg.work_dir.join("slaves")
    }

    pub fn work_dir(&self) -> &Path {
        &self.cfg.work_dir
    }
}

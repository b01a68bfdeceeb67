//! A task's sandbox: the run directory `<work-dir>/slaves/<agent>/frameworks/<fw>/executors/
//! <task>/runs/<run>/` holding the task's `stdout` and `stderr`, and the small files the agent
//! and the task's supervisor share: the launch spec, the supervisor's pid, a kill request and
//! the exit status. These files are what lets a restarted agent recover its tasks.

use crate::cgroups::TaskCgroup;
use dcos_schemas::agent::CommandInfo;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const SPEC_FILE: &str = ".spec.json";
pub const PID_FILE: &str = ".supervisor.pid.json";
pub const KILL_FILE: &str = ".kill.json";
pub const EXIT_FILE: &str = ".exit_status.json";
pub const SUPERVISOR_LOG: &str = ".supervisor.log";

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not valid JSON for this file: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SandboxError + 'a {
    move |source| SandboxError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// What the supervisor needs to run one task; written by the agent into the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisorSpec {
    pub task_id: String,
    pub framework_id: String,
    pub agent_id: String,
    pub sandbox: PathBuf,
    pub command: CommandInfo,
    /// The task's complete environment (nothing is inherited).
    pub env: BTreeMap<String, String>,
    pub mem_mb: f64,
    pub cpus: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<TaskCgroup>,
    pub kill_grace_secs: f64,
}

/// Written by the supervisor once the task runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PidInfo {
    pub supervisor_pid: i32,
    /// Start time of the supervisor (clock ticks since boot), to tell it from a reused pid.
    pub supervisor_start: u64,
    /// Host pid of the task's init (pid 1 in its namespace).
    pub init_pid: i32,
}

/// Written by the agent before it sends SIGTERM to the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KillRequest {
    pub grace_secs: f64,
}

/// How the task ended, written by the supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ExitStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// The cgroup's OOM killer fired.
    #[serde(default)]
    pub oom_killed: bool,
    /// The task ended after a kill request.
    #[serde(default)]
    pub killed: bool,
    /// The task could not be started; the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub finished_at: f64,
}

/// Paths of one run of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    /// `<work>/slaves/<agent>/frameworks/<fw>/executors/<task>/runs/<run>`
    pub fn path_for(work_dir: &Path, agent: &str, fw: &str, task: &str, run: &str) -> PathBuf {
        work_dir
            .join("slaves")
            .join(agent)
            .join("frameworks")
            .join(fw)
            .join("executors")
            .join(task)
            .join("runs")
            .join(run)
    }
    pub fn new(dir: PathBuf) -> Sandbox {
        Sandbox { dir }
    }
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    pub fn create(&self) -> Result<(), SandboxError> {
        std::fs::create_dir_all(&self.dir).map_err(io_err("create", &self.dir))?;
        for f in ["stdout", "stderr"] {
            let p = self.file(f);
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .map_err(io_err("create", &p))?;
        }
        Ok(())
    }
    pub fn read<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, SandboxError> {
        read_json(&self.file(name))
    }
    pub fn write<T: Serialize>(&self, name: &str, value: &T) -> Result<(), SandboxError> {
        write_json_atomic(&self.file(name), value)
    }
}

/// Reads a JSON file; `None` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, SandboxError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| SandboxError::Json {
                    path: path.to_path_buf(),
                    source,
                })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

/// Writes a JSON file so that readers see the old or the new content, never a torn one, and
/// the new content survives a crash once this returns.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), SandboxError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| SandboxError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
    f.write_all(&bytes).map_err(io_err("write", &tmp))?;
    f.sync_all().map_err(io_err("sync", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err("rename", path))?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Start time of a process in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

pub(crate) fn parse_start_time(stat: &str) -> Option<u64> {
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the supervisor recorded in `info` still runs (same pid, same start time, not a
/// zombie).
pub fn supervisor_alive(info: &PidInfo) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", info.supervisor_pid)) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    parse_start_time(&stat) == Some(info.supervisor_start) && state != Some("Z")
}

pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

//! The internal protocol between the master and its agents, over plain HTTP(S) with JSON.
//!
//! Agent -> master (on the master's entry point, authenticated by the cluster join token in the
//! `X-Dcos-Join-Token` header):
//! - `POST /internal/v1/agents/register` [`RegisterRequest`] -> [`RegisterResponse`]
//! - `POST /internal/v1/agents/{agent_id}/heartbeat` -> 200, or 404 when the master does not know
//!   the agent any more (the agent then registers again with its old id and running tasks)
//! - `POST /internal/v1/agents/{agent_id}/status` [`StatusBatch`] -> [`StatusAck`]
//!
//! Master -> agent (on the agent's own listen address, same header):
//! - `POST /v1/launch` [`LaunchTask`] -> 202 (a task id already known to the agent is a no-op)
//! - `POST /v1/kill` [`KillTask`] -> 202
//! - `GET /v1/tasks` -> [`AgentTasks`] (for reconciliation)
//! - `GET /state.json`, `GET /files/read.json`, `GET /files/browse.json`: Mesos-compatible, and
//!   proxied by the master under `/agent/<id>/...` and `/slave/<id>/...`.

use crate::task::{StatusUpdate, TaskState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The header carrying the cluster join token on every internal call, both directions.
pub const JOIN_TOKEN_HEADER: &str = "X-Dcos-Join-Token";

/// An inclusive range of port numbers, e.g. `31000-32000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub begin: u16,
    pub end: u16,
}

/// What an agent offers to the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Resources {
    pub cpus: f64,
    /// MB
    pub mem: f64,
    /// MB
    pub disk: f64,
    #[serde(default)]
    pub gpus: f64,
    #[serde(default)]
    pub ports: Vec<PortRange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// Set when the agent registered before (it keeps its id in its work dir).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    pub hostname: String,
    /// Base URL the master uses to reach this agent, e.g. `http://10.0.0.2:5051`.
    pub endpoint: String,
    pub resources: Resources,
    /// Mesos-style attributes, e.g. `{"rack": "a", "zone": "z1"}`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Tasks the agent is running (or knows about) right now, for reconciliation.
    #[serde(default)]
    pub tasks: Vec<AgentTask>,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterResponse {
    pub agent_id: String,
    pub heartbeat_interval_ms: u64,
    /// Tasks the agent reported that the master no longer wants (already replaced, or unknown):
    /// the agent kills them.
    #[serde(default)]
    pub kill_tasks: Vec<String>,
}

/// A task as the agent knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentTask {
    pub task_id: String,
    pub framework_id: String,
    pub state: TaskState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentTasks {
    pub tasks: Vec<AgentTask>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBatch {
    pub updates: Vec<StatusUpdate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusAck {
    /// The uuids the master has durably recorded; the agent forgets them.
    pub acked: Vec<String>,
}

/// How a task is run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandInfo {
    /// Run through `/bin/sh -c` when `shell` is true (Marathon's `cmd`), else exec'd directly
    /// with `arguments` (Marathon's `args`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default = "default_true")]
    pub shell: bool,
    #[serde(default)]
    pub arguments: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Run as this user when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

fn default_true() -> bool {
    true
}

/// Resources given to one task; `ports` are the concrete host ports assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskResources {
    pub cpus: f64,
    pub mem: f64,
    #[serde(default)]
    pub disk: f64,
    #[serde(default)]
    pub gpus: f64,
    #[serde(default)]
    pub ports: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchTask {
    pub task_id: String,
    pub framework_id: String,
    pub name: String,
    pub command: CommandInfo,
    pub resources: TaskResources,
    /// Container description (image, networking, volumes) as Marathon's `container` JSON;
    /// absent for the process containerizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<serde_json::Value>,
    /// Health checks as Marathon's `healthChecks` JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<serde_json::Value>,
    /// Marathon's `fetch` JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fetch: Vec<serde_json::Value>,
    /// Grace period between SIGTERM and SIGKILL when the task is killed.
    #[serde(default = "default_grace")]
    pub kill_grace_period_secs: f64,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_grace() -> f64 {
    3.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillTask {
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_secs: Option<f64>,
}

//! The task-side JSON shapes the API returns (`/v2/tasks`, `/v2/apps/{id}/tasks`, embedded
//! `tasks` and `lastTaskFailure`), restricted to the keys marathon-python 0.13.0 accepts, and
//! Marathon's timestamp format (`2026-01-31T12:00:00.000Z`, UTC, milliseconds).

use serde::{Deserialize, Serialize};

/// Formats milliseconds since the epoch as a Marathon timestamp; `None` when out of range.
pub fn timestamp(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// Parses a Marathon timestamp (with or without milliseconds, any RFC 3339 offset) to
/// milliseconds since the epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// One health check's state for a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckResult {
    pub alive: bool,
    pub consecutive_failures: u32,
    pub first_success: Option<String>,
    pub last_failure: Option<String>,
    pub last_success: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_cause: Option<String>,
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    pub ip_address: String,
    /// `IPv4` or `IPv6`.
    pub protocol: String,
}

/// A task as `/v2/tasks` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskJson {
    pub app_id: String,
    pub health_check_results: Vec<HealthCheckResult>,
    pub host: String,
    pub id: String,
    pub ip_addresses: Vec<IpAddress>,
    pub ports: Vec<u32>,
    pub service_ports: Vec<u32>,
    pub slave_id: String,
    pub staged_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Mesos state name (`TASK_RUNNING`, ...).
    pub state: String,
    pub version: String,
}

/// An app's `lastTaskFailure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFailure {
    pub app_id: String,
    pub host: String,
    pub message: String,
    pub state: String,
    pub task_id: String,
    pub timestamp: String,
    pub version: String,
    pub slave_id: String,
}

#[cfg(test)]
mod tests;

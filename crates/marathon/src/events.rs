//! Event bodies of `/v2/events` (Marathon's event bus), each `{"eventType", "timestamp", ...}`
//! with Marathon's field names, and the server-sent-events framing. Only event types
//! marathon-python 0.13.0's `EventFactory` knows are produced (it raises on others).

use serde_json::{json, Map, Value};

use crate::app::{AppDefinition, HealthCheck};
use crate::plan::{DeploymentPlan, Step};
use crate::task::IpAddress;

fn event(kind: &str, timestamp: &str, fields: Value) -> Value {
    let mut m = Map::new();
    m.insert("eventType".into(), Value::String(kind.into()));
    m.insert("timestamp".into(), Value::String(timestamp.into()));
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    Value::Object(m)
}

fn step_json(step: Option<&Step>) -> Value {
    let actions: Vec<Value> = step
        .map(|s| {
            s.actions
                .iter()
                .map(|a| json!({"action": a.action.as_str(), "app": a.app}))
                .collect()
        })
        .unwrap_or_default();
    json!({ "actions": actions })
}

/// `api_post_event`: an app was created or changed through the API.
pub fn api_post_event(timestamp: &str, client_ip: &str, uri: &str, app: &AppDefinition) -> Value {
    event(
        "api_post_event",
        timestamp,
        json!({"clientIp": client_ip, "uri": uri, "appDefinition": app.to_json()}),
    )
}

/// Fields of a `status_update_event`.
#[derive(Debug, Clone)]
pub struct StatusUpdate<'a> {
    pub slave_id: &'a str,
    pub task_id: &'a str,
    /// Mesos state, `TASK_RUNNING` etc.
    pub task_status: &'a str,
    pub message: &'a str,
    pub app_id: &'a str,
    pub host: &'a str,
    pub ip_addresses: &'a [IpAddress],
    pub ports: &'a [u32],
    pub version: &'a str,
}

/// `status_update_event`: a task changed state.
pub fn status_update_event(timestamp: &str, u: &StatusUpdate<'_>) -> Value {
    event(
        "status_update_event",
        timestamp,
        json!({
            "slaveId": u.slave_id, "taskId": u.task_id, "taskStatus": u.task_status, "message": u.message,
            "appId": u.app_id, "host": u.host, "ipAddresses": u.ip_addresses, "ports": u.ports, "version": u.version,
        }),
    )
}

/// `deployment_info`: a deployment started or moved to step `current_step` (1-based).
pub fn deployment_info(
    timestamp: &str,
    plan_json: &Value,
    plan: &DeploymentPlan,
    current_step: usize,
) -> Value {
    let step = current_step.checked_sub(1).and_then(|i| plan.steps.get(i));
    event(
        "deployment_info",
        timestamp,
        json!({"plan": plan_json, "currentStep": step_json(step)}),
    )
}

/// `deployment_step_success` / `deployment_step_failure` for step `step` (1-based).
pub fn deployment_step_event(
    timestamp: &str,
    plan_json: &Value,
    plan: &DeploymentPlan,
    step: usize,
    success: bool,
) -> Value {
    let kind = if success {
        "deployment_step_success"
    } else {
        "deployment_step_failure"
    };
    let s = step.checked_sub(1).and_then(|i| plan.steps.get(i));
    event(
        kind,
        timestamp,
        json!({"plan": plan_json, "currentStep": step_json(s)}),
    )
}

/// `deployment_success`.
pub fn deployment_success(timestamp: &str, plan_json: &Value, id: &str) -> Value {
    event(
        "deployment_success",
        timestamp,
        json!({"id": id, "plan": plan_json}),
    )
}

/// `deployment_failed` (also sent for a cancelled deployment).
pub fn deployment_failed(timestamp: &str, plan_json: &Value, id: &str, reason: &str) -> Value {
    event(
        "deployment_failed",
        timestamp,
        json!({"id": id, "plan": plan_json, "reason": reason}),
    )
}

/// `group_change_success`.
pub fn group_change_success(timestamp: &str, group_id: &str, version: &str) -> Value {
    event(
        "group_change_success",
        timestamp,
        json!({"groupId": group_id, "version": version}),
    )
}

/// `group_change_failed`.
pub fn group_change_failed(timestamp: &str, group_id: &str, version: &str, reason: &str) -> Value {
    event(
        "group_change_failed",
        timestamp,
        json!({"groupId": group_id, "version": version, "reason": reason}),
    )
}

/// `health_status_changed_event`.
pub fn health_status_changed(
    timestamp: &str,
    app_id: &str,
    task_id: &str,
    version: &str,
    alive: bool,
) -> Value {
    event(
        "health_status_changed_event",
        timestamp,
        json!({"appId": app_id, "taskId": task_id, "instanceId": task_id, "version": version, "alive": alive}),
    )
}

/// `failed_health_check_event`.
pub fn failed_health_check(
    timestamp: &str,
    app_id: &str,
    task_id: &str,
    check: &HealthCheck,
) -> Value {
    event(
        "failed_health_check_event",
        timestamp,
        json!({"appId": app_id, "taskId": task_id, "instanceId": task_id, "healthCheck": check}),
    )
}

/// `unhealthy_instance_kill_event`: a task is killed for failing its health checks.
pub fn unhealthy_instance_kill(
    timestamp: &str,
    app_id: &str,
    task_id: &str,
    version: &str,
    reason: &str,
    host: &str,
    slave_id: &str,
) -> Value {
    event(
        "unhealthy_instance_kill_event",
        timestamp,
        json!({"appId": app_id, "taskId": task_id, "instanceId": task_id, "version": version,
               "reason": reason, "host": host, "slaveId": slave_id}),
    )
}

/// `app_terminated_event`: an app was removed and all its tasks are gone.
pub fn app_terminated(timestamp: &str, app_id: &str) -> Value {
    event("app_terminated_event", timestamp, json!({"appId": app_id}))
}

/// `event_stream_attached` / `event_stream_detached`.
pub fn event_stream(timestamp: &str, remote_address: &str, attached: bool) -> Value {
    let kind = if attached {
        "event_stream_attached"
    } else {
        "event_stream_detached"
    };
    event(kind, timestamp, json!({"remoteAddress": remote_address}))
}

/// `instance_changed_event`: `condition` is Marathon's (`Created`, `Staging`, `Running`,
/// `Failed`, `Killed`, `Finished`, `Unreachable`, ...).
pub fn instance_changed(
    timestamp: &str,
    instance_id: &str,
    slave_id: &str,
    condition: &str,
    host: &str,
    run_spec_id: &str,
    run_spec_version: &str,
) -> Value {
    event(
        "instance_changed_event",
        timestamp,
        json!({"instanceId": instance_id, "slaveId": slave_id, "condition": condition, "host": host,
               "runSpecId": run_spec_id, "runSpecVersion": run_spec_version}),
    )
}

/// `instance_health_changed_event`.
pub fn instance_health_changed(
    timestamp: &str,
    instance_id: &str,
    run_spec_id: &str,
    run_spec_version: &str,
    healthy: Option<bool>,
) -> Value {
    event(
        "instance_health_changed_event",
        timestamp,
        json!({"instanceId": instance_id, "runSpecId": run_spec_id, "runSpecVersion": run_spec_version, "healthy": healthy}),
    )
}

/// The event's type, for `event_type=` filtering.
pub fn event_type(event: &Value) -> &str {
    event.get("eventType").and_then(Value::as_str).unwrap_or("")
}

/// True when a subscriber asking for `wanted` types (empty = all) gets `event`.
pub fn wanted(event: &Value, wanted: &[String]) -> bool {
    wanted.is_empty() || wanted.iter().any(|w| w == event_type(event))
}

/// One server-sent-events frame: `event: <type>\ndata: <json>\n\n`.
pub fn sse_frame(event: &Value) -> String {
    format!("event: {}\ndata: {}\n\n", event_type(event), event)
}

#[cfg(test)]
mod tests;

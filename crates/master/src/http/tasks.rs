//! The operator task API (`/internal/v1/tasks`): run, list, show and kill single tasks of the
//! fixed `dcos-tasks` framework. It serves tests and operators until the app scheduler
//! (Marathon, `/marathon/v2`) exists; Marathon then is the user-facing way to run tasks.

use super::{ApiError, AppState, JsonBody};
use crate::frameworks::TaskRequest;
use crate::model::{TaskRecord, OPERATOR_FRAMEWORK_ID};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dcos_schemas::agent::CommandInfo;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn default_cpus() -> f64 {
    1.0
}
fn default_mem() -> f64 {
    128.0
}

/// Body of `POST /internal/v1/tasks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub cmd: Option<String>,
    /// Exec'd directly (no shell) when given instead of `cmd`.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default = "default_cpus")]
    pub cpus: f64,
    #[serde(default = "default_mem")]
    pub mem: f64,
    #[serde(default)]
    pub disk: f64,
    #[serde(default)]
    pub gpus: f64,
    /// How many host ports to assign.
    #[serde(default)]
    pub ports: u32,
    #[serde(default)]
    pub constraints: Vec<Vec<String>>,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub kill_grace_period_secs: Option<f64>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The operator API's view of a task.
pub fn task_json(t: &TaskRecord, hostname: Option<&str>) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "framework_id": t.framework_id,
        "agent_id": t.agent_id,
        "host": hostname,
        "state": t.state,
        "role": t.role,
        "cmd": t.launch.command.value,
        "args": t.launch.command.arguments,
        "resources": t.resources,
        "constraints": t.constraints,
        "kill_requested": t.kill_requested,
        "created": t.created,
        "updated": t.updated,
        "statuses": t.statuses,
    })
}

fn show_one(m: &AppState, id: &str) -> Result<Value, ApiError> {
    let core = m.core();
    let t = core
        .task(id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("unknown task '{id}'")))?;
    let host = core.agent(&t.agent_id).map(|a| a.rec.hostname.clone());
    Ok(task_json(t, host.as_deref()))
}

pub async fn create(
    State(m): State<AppState>,
    JsonBody(body): JsonBody<CreateTask>,
) -> Result<Response, ApiError> {
    let shell = body.args.is_empty();
    if body.cmd.is_some() && !body.args.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "give either cmd (run by /bin/sh -c) or args (exec'd), not both",
        ));
    }
    let req = TaskRequest {
        id: body.id,
        name: body.name,
        command: CommandInfo {
            value: body.cmd,
            shell,
            arguments: body.args,
            env: body.env,
            user: None,
        },
        cpus: body.cpus,
        mem: body.mem,
        disk: body.disk,
        gpus: body.gpus,
        ports: body.ports,
        constraints: body.constraints,
        role: body.role,
        group: String::new(),
        container: None,
        health_checks: Vec::new(),
        fetch: Vec::new(),
        kill_grace_period_secs: body.kill_grace_period_secs,
        labels: body.labels,
    };
    let t = m.launch(OPERATOR_FRAMEWORK_ID, req)?;
    let v = show_one(&m, &t.id)?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only tasks in this state, e.g. TASK_RUNNING.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub framework_id: Option<String>,
}

pub async fn list(
    State(m): State<AppState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let core = m.core();
    let mut tasks: Vec<&TaskRecord> = core
        .tasks()
        .filter(|t| q.state.as_deref().is_none_or(|s| t.state.as_str() == s))
        .filter(|t| {
            q.framework_id
                .as_deref()
                .is_none_or(|f| t.framework_id == f)
        })
        .collect();
    tasks.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id)));
    let out: Vec<Value> = tasks
        .into_iter()
        .map(|t| {
            let host = core.agent(&t.agent_id).map(|a| a.rec.hostname.as_str());
            task_json(t, host)
        })
        .collect();
    Ok(Json(json!({ "tasks": out })).into_response())
}

pub async fn show(State(m): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(show_one(&m, &id)?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KillQuery {
    #[serde(default)]
    pub grace_period_secs: Option<f64>,
}

pub async fn kill(
    State(m): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<KillQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let t = m.kill(&id, q.grace_period_secs)?;
    let v = show_one(&m, &t.id)?;
    Ok((StatusCode::ACCEPTED, Json(v)).into_response())
}

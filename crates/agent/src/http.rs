//! The agent's HTTP API. Master -> agent (join token required): `POST /v1/launch`,
//! `POST /v1/kill`, `GET /v1/tasks`. Mesos-compatible reads, proxied by the master under
//! `/agent/<id>/...` (join token required too): `GET /state.json` (= `/state`,
//! `/slave(1)/state.json`, `/slave(1)/state`), `GET /files/read.json`, `GET /files/browse.json`
//! (= without `.json`), `GET /files/download`. `GET /health` is open. Errors are JSON
//! `{"message": ...}` with a 4xx status.

use crate::agent::Agent;
use crate::containerizer::{self, KillOutcome, LaunchError};
use crate::files_api::{self, FilesError};
use crate::mesos_state;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dcos_schemas::agent::{AgentTasks, KillTask, LaunchTask, JOIN_TOKEN_HEADER};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// A 4xx/5xx answer with a JSON `message`.
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "message": self.1 }))).into_response()
    }
}

fn bad_request(m: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, m.into())
}

fn too_large() -> ApiError {
    ApiError(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body is larger than {MAX_BODY} bytes"),
    )
}

/// Refuses a body announced as too large before reading any of it.
async fn limit_body(req: Request, next: Next) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large().into_response();
    }
    next.run(req).await
}

/// Reads a body of at most [`MAX_BODY`] bytes (also when it is chunked).
async fn read_body(body: axum::body::Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| too_large())
}

/// Parses a JSON body with a one-line error naming the problem.
fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        if !ct.is_empty() && !ct.starts_with("application/json") {
            return Err(ApiError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content type `{ct}` is not supported; send application/json"),
            ));
        }
    }
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

pub fn router(agent: Arc<Agent>) -> Router {
    let protected = Router::new()
        .route("/v1/launch", post(launch))
        .route("/v1/kill", post(kill))
        .route("/v1/tasks", get(tasks))
        .route("/state.json", get(state))
        .route("/state", get(state))
        .route("/slave(1)/state.json", get(state))
        .route("/slave(1)/state", get(state))
        .route("/files/read.json", get(files_read))
        .route("/files/read", get(files_read))
        .route("/files/browse.json", get(files_browse))
        .route("/files/browse", get(files_browse))
        .route("/files/download", get(files_download))
        .route("/files/download.json", get(files_download))
        .route_layer(middleware::from_fn_with_state(agent.clone(), require_token));
    Router::new()
        .merge(protected)
        .route("/health", get(|| async { Json(json!({"healthy": true})) }))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such route on the agent".into()) })
        .layer(middleware::from_fn(limit_body))
        .with_state(agent)
}

/// Every protected route needs the cluster join token (when the agent has one).
async fn require_token(State(agent): State<Arc<Agent>>, req: Request, next: Next) -> Response {
    if let Some(expected) = &agent.cfg.join_token {
        let given = req
            .headers()
            .get(JOIN_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok());
        let ok = given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes()));
        if !ok {
            return ApiError(
                StatusCode::UNAUTHORIZED,
                format!("missing or wrong {JOIN_TOKEN_HEADER} header"),
            )
            .into_response();
        }
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn launch(
    State(agent): State<Arc<Agent>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let t: LaunchTask = parse_json(&headers, &read_body(body).await?)?;
    let task_id = t.task_id.clone();
    match containerizer::launch(&agent, t) {
        Ok(created) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "task_id": task_id, "launched": created })),
        )
            .into_response()),
        Err(e @ LaunchError::Invalid(_)) => Err(bad_request(e.to_string())),
        Err(e @ LaunchError::NotRegistered) => {
            Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
        }
        Err(LaunchError::Agent(e)) => Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot record the task: {e}"),
        )),
    }
}

async fn kill(
    State(agent): State<Arc<Agent>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let k: KillTask = parse_json(&headers, &read_body(body).await?)?;
    if let Some(g) = k.grace_period_secs {
        if !g.is_finite() || g < 0.0 {
            return Err(bad_request("grace_period_secs must be a number >= 0"));
        }
    }
    match containerizer::kill(&agent, &k.task_id, k.grace_period_secs) {
        KillOutcome::Unknown => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("task `{}` is unknown to this agent", k.task_id),
        )),
        KillOutcome::AlreadyTerminal | KillOutcome::Requested => {
            Ok((StatusCode::ACCEPTED, Json(json!({ "task_id": k.task_id }))).into_response())
        }
    }
}

async fn tasks(State(agent): State<Arc<Agent>>) -> Json<AgentTasks> {
    Json(AgentTasks {
        tasks: agent.all_tasks().iter().map(|r| r.agent_task()).collect(),
    })
}

async fn state(State(agent): State<Arc<Agent>>) -> Json<serde_json::Value> {
    Json(mesos_state::render(&agent))
}

fn files_error(e: FilesError) -> ApiError {
    let code = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    ApiError(code, e.to_string())
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str)
}

/// The files API path of the agent's own log, as Mesos named it.
pub const AGENT_LOG_PATH: &str = "/slave/log";

async fn files_read(
    State(agent): State<Arc<Agent>>,
    Query(q): Params,
) -> Result<Json<files_api::ReadResult>, ApiError> {
    let shown = param(&q, "path").unwrap_or("").to_string();
    let offset = files_api::parse_num("offset", param(&q, "offset")).map_err(files_error)?;
    let length = files_api::parse_num("length", param(&q, "length")).map_err(files_error)?;
    let root = agent.sandboxes_root();
    // The agent's own log has Mesos's virtual path; it is served only when configured.
    let log = (shown == AGENT_LOG_PATH).then(|| agent.cfg.log_file.clone());
    if log == Some(None) {
        let msg = format!("this agent does not serve {AGENT_LOG_PATH}: start it with --log-file");
        return Err(ApiError(StatusCode::NOT_FOUND, msg));
    }
    let log = log.flatten();
    tokio::task::spawn_blocking(move || {
        let p = match log {
            Some(f) => f,
            None => files_api::confine(&root, &shown)?,
        };
        files_api::read(&p, &shown, offset, length)
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map(Json)
    .map_err(files_error)
}

async fn files_browse(
    State(agent): State<Arc<Agent>>,
    Query(q): Params,
) -> Result<Json<Vec<files_api::Entry>>, ApiError> {
    let shown = param(&q, "path").unwrap_or("").to_string();
    let root = agent.sandboxes_root();
    tokio::task::spawn_blocking(move || {
        let p = files_api::confine(&root, &shown)?;
        files_api::browse(&p, &shown)
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map(Json)
    .map_err(files_error)
}

async fn files_download(
    State(agent): State<Arc<Agent>>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let shown = param(&q, "path").unwrap_or("").to_string();
    let p = files_api::confine(&agent.sandboxes_root(), &shown).map_err(files_error)?;
    if p.is_dir() {
        return Err(files_error(FilesError::IsDirectory(shown)));
    }
    let f = tokio::fs::File::open(&p).await.map_err(|e| {
        files_error(FilesError::Io {
            path: shown.clone(),
            source: e,
        })
    })?;
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().replace('"', ""))
        .unwrap_or_default();
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(f));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

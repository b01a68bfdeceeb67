//! `/agent/<id>/...` and `/slave/<id>/...`: GETs proxied to the agent's own HTTP server
//! (`state.json`, `files/read.json`, `files/browse.json`), with the join token.

use super::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use dcos_schemas::agent::JOIN_TOKEN_HEADER;

/// Agent paths the master forwards.
const ALLOWED: &[&str] = &[
    "state.json",
    "state",
    "files/read.json",
    "files/browse.json",
    "files/download",
    "v1/tasks",
];

pub async fn agent(
    State(m): State<AppState>,
    Path((agent_id, rest)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    // DC/OS clients sometimes address the agent's libprocess id: /slave/<id>/slave(1)/state.json
    let rest = rest.strip_prefix("slave(1)/").unwrap_or(&rest).to_string();
    if !ALLOWED.contains(&rest.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "the agent proxy serves {}, not '{rest}'",
                ALLOWED.join(", ")
            ),
        ));
    }
    let (endpoint, token) = {
        let core = m.core();
        let a = core.agent(&agent_id).ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, format!("unknown agent '{agent_id}'"))
        })?;
        (a.rec.endpoint.clone(), core.join_token.clone())
    };
    let mut url = format!("{endpoint}/{rest}");
    if let Some(q) = uri.query() {
        url.push('?');
        url.push_str(q);
    }
    let resp = m
        .http
        .get(&url)
        .header(JOIN_TOKEN_HEADER, token)
        .send()
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("agent '{agent_id}' at {endpoint} did not answer: {e}"),
            )
        })?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let ctype = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let body = resp.bytes().await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("agent '{agent_id}' broke off its answer: {e}"),
        )
    })?;
    Ok((status, [(header::CONTENT_TYPE, ctype)], body).into_response())
}

//! The agent -> master protocol routes (schemas/src/agent.rs), behind the join token.

use super::{ApiError, AppState, JsonBody};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dcos_schemas::agent::{RegisterRequest, StatusBatch, JOIN_TOKEN_HEADER};
use std::time::Instant;

/// Constant-time string comparison.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses (401, logged) any agent call without the cluster join token.
pub async fn require_join_token(State(m): State<AppState>, req: Request, next: Next) -> Response {
    let expected = m.core().join_token.clone();
    let given = req
        .headers()
        .get(JOIN_TOKEN_HEADER)
        .map(|v| v.as_bytes().to_vec());
    match given {
        Some(g) if same(&g, expected.as_bytes()) => next.run(req).await,
        other => {
            tracing::warn!(
                path = %req.uri().path(),
                present = other.is_some(),
                "refused an agent call with a missing or wrong join token"
            );
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!(
                    "missing or wrong join token: send the cluster's token (the master's \
                     <data-dir>/join-token) in the {JOIN_TOKEN_HEADER} header"
                ),
            )
            .into_response()
        }
    }
}

pub async fn register(
    State(m): State<AppState>,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let (resp, effects) = m.core().register(req, Instant::now())?;
    m.run_effects(effects);
    Ok(Json(resp).into_response())
}

pub async fn heartbeat(
    State(m): State<AppState>,
    Path(agent_id): Path<String>,
) -> Result<Response, ApiError> {
    m.core().heartbeat(&agent_id, Instant::now())?;
    Ok(Json(serde_json::json!({})).into_response())
}

pub async fn status(
    State(m): State<AppState>,
    Path(agent_id): Path<String>,
    JsonBody(batch): JsonBody<StatusBatch>,
) -> Result<Response, ApiError> {
    let (ack, effects) = m.core().status_updates(&agent_id, batch)?;
    m.run_effects(effects);
    Ok(Json(ack).into_response())
}

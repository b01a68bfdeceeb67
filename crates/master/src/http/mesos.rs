//! Mesos-compatible read routes: cluster state, agents, summary, and the master's own log.

use super::{ApiError, AppState};
use crate::state_json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::io::{Read, Seek, SeekFrom};

pub async fn state(State(m): State<AppState>) -> Response {
    let url = m.url();
    let v = state_json::state(&m.core(), &m.master_id, &url);
    Json(v).into_response()
}

pub async fn slaves(State(m): State<AppState>) -> Response {
    Json(state_json::slaves(&m.core())).into_response()
}

pub async fn state_summary(State(m): State<AppState>) -> Response {
    let url = m.url();
    Json(state_json::summary(&m.core(), &url)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct ReadQuery {
    pub path: String,
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub length: Option<i64>,
}

/// Most bytes returned by one read.
const MAX_READ: u64 = 1024 * 1024;

/// `/mesos/files/read.json?path=/master/log&offset=N&length=M`: the master's log file, in the
/// Mesos files API format (`offset=-1` returns the size as `offset`).
pub async fn master_log_read(
    State(m): State<AppState>,
    q: Result<Query<ReadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{}; expected ?path=/master/log&offset=N&length=N",
                e.body_text()
            ),
        )
    })?;
    if q.path != "/master/log" {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no file '{}' on the master; the master serves path=/master/log",
                q.path
            ),
        ));
    }
    let path = m.log_file.clone();
    let res = tokio::task::spawn_blocking(move || -> std::io::Result<(String, u64)> {
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((String::new(), 0)),
            Err(e) => return Err(e),
        };
        let size = f.metadata()?.len();
        match q.offset {
            None | Some(-1) => Ok((String::new(), size)),
            Some(o) if o < 0 => Ok((String::new(), size)),
            Some(o) => {
                let off = (o as u64).min(size);
                let len = q
                    .length
                    .filter(|l| *l >= 0)
                    .map(|l| l as u64)
                    .unwrap_or(MAX_READ)
                    .min(MAX_READ);
                f.seek(SeekFrom::Start(off))?;
                let mut buf = Vec::new();
                f.take(len).read_to_end(&mut buf)?;
                Ok((String::from_utf8_lossy(&buf).into_owned(), off))
            }
        }
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the log: {e}"),
        )
    })?
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the log: {e}"),
        )
    })?;
    Ok(Json(serde_json::json!({ "data": res.0, "offset": res.1 })).into_response())
}

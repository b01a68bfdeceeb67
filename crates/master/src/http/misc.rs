//! Liveness, cluster identity (DC/OS metadata field names) and Prometheus metrics.

use super::AppState;
use crate::core::AgentStatus;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::fmt::Write;

pub async fn ping() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "pong",
    )
        .into_response()
}

pub async fn version(State(m): State<AppState>) -> Response {
    let cluster = m.core().cluster_id.clone();
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "dcos-variant": "open",
        "dcos-image-commit": "dcos-rs",
        "bootstrap-id": cluster,
    }))
    .into_response()
}

pub async fn metadata(State(m): State<AppState>) -> Response {
    let cluster = m.core().cluster_id.clone();
    let host = reqwest::Url::parse(&m.url())
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    Json(json!({ "PUBLIC_IPV4": host, "CLUSTER_ID": cluster })).into_response()
}

pub async fn metrics(State(m): State<AppState>) -> Response {
    let core = m.core();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP dcos_master_agents Agents known to the master, by status."
    );
    let _ = writeln!(out, "# TYPE dcos_master_agents gauge");
    for (name, s) in [
        ("active", AgentStatus::Active),
        ("recovered", AgentStatus::Recovered),
        ("unreachable", AgentStatus::Unreachable),
    ] {
        let n = core.agents().filter(|e| e.status == s).count();
        let _ = writeln!(out, "dcos_master_agents{{status=\"{name}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP dcos_master_tasks Tasks known to the master, by state."
    );
    let _ = writeln!(out, "# TYPE dcos_master_tasks gauge");
    let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
    for t in core.tasks() {
        *by.entry(t.state.as_str()).or_default() += 1;
    }
    for (s, n) in by {
        let _ = writeln!(out, "dcos_master_tasks{{state=\"{s}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP dcos_master_frameworks Frameworks registered.");
    let _ = writeln!(out, "# TYPE dcos_master_frameworks gauge");
    let _ = writeln!(out, "dcos_master_frameworks {}", core.frameworks().count());
    let _ = writeln!(
        out,
        "# HELP dcos_master_uptime_seconds Seconds since the master started."
    );
    let _ = writeln!(out, "# TYPE dcos_master_uptime_seconds gauge");
    let _ = writeln!(
        out,
        "dcos_master_uptime_seconds {:.3}",
        crate::model::wall_now() - core.start_time
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

//! The master's single HTTP entry point: the whole route table is in [`router`], so one
//! middleware (authentication, issue 6) can wrap every route in one place.

mod error;
mod internal;
mod mesos;
mod misc;
mod proxy;
mod tasks;

pub use error::{ApiError, JsonBody};

use crate::master::Master;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub type AppState = Arc<Master>;

/// Every route the master serves.
pub fn router(master: Arc<Master>) -> Router {
    // Agent -> master protocol: needs the cluster join token.
    let agent_api = Router::new()
        .route("/internal/v1/agents/register", post(internal::register))
        .route(
            "/internal/v1/agents/{agent_id}/heartbeat",
            post(internal::heartbeat),
        )
        .route(
            "/internal/v1/agents/{agent_id}/status",
            post(internal::status),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            master.clone(),
            internal::require_join_token,
        ));
    let mut r = Router::new()
        .merge(agent_api)
        // Operator task API (Marathon replaces it as the user-facing way to run tasks).
        .route("/internal/v1/tasks", get(tasks::list).post(tasks::create))
        .route(
            "/internal/v1/tasks/{task_id}",
            get(tasks::show).delete(tasks::kill),
        )
        // Cluster identity and health.
        .route("/ping", get(misc::ping))
        .route("/dcos-metadata/dcos-version.json", get(misc::version))
        .route("/metadata", get(misc::metadata))
        .route("/metrics", get(misc::metrics))
        .route("/mesos/files/read.json", get(mesos::master_log_read))
        .route("/files/read.json", get(mesos::master_log_read));
    // Mesos-compatible state, with and without the /mesos prefix.
    for prefix in ["/mesos/master", "/master"] {
        r = r
            .route(&format!("{prefix}/state"), get(mesos::state))
            .route(&format!("{prefix}/state.json"), get(mesos::state))
            .route(&format!("{prefix}/slaves"), get(mesos::slaves))
            .route(
                &format!("{prefix}/state-summary"),
                get(mesos::state_summary),
            );
    }
    // Agent state and sandbox files, proxied.
    for prefix in ["/agent", "/slave"] {
        r = r.route(
            &format!("{prefix}/{{agent_id}}/{{*rest}}"),
            get(proxy::agent),
        );
    }
    r.merge(crate::marathon::routes(&master))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(master)
}

//! The agent's link to the master: register (with the join token, its resources, attributes
//! and the tasks it runs), heartbeat, register again when the master answers 404 or after the
//! link was down (a restarted master then learns the agent's tasks), kill the tasks the master
//! no longer wants, and deliver journaled status updates in order until they are acknowledged.
//! While the master is unreachable the agent retries with capped exponential backoff and logs
//! only when the link changes state.

use crate::agent::Agent;
use crate::containerizer;
use dcos_schemas::agent::{
    RegisterRequest, RegisterResponse, StatusAck, StatusBatch, JOIN_TOKEN_HEADER,
};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot reach the master at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the master refused the join token (HTTP {0}); give the cluster's token with --join-token or --join-token-file")]
    Unauthorized(u16),
    #[error("the master does not know this agent (HTTP 404)")]
    UnknownAgent,
    #[error("the master answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the master's answer is not valid: {0}")]
    Decode(reqwest::Error),
}

/// Backoff between attempts: 0.5 s doubling up to 10 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((500u64 << attempt.min(5)).min(10_000))
}

fn url(agent: &Agent, path: &str) -> String {
    format!("{}{}", agent.cfg.master.trim_end_matches('/'), path)
}

async fn post<B: serde::Serialize>(
    agent: &Agent,
    path: &str,
    body: Option<&B>,
) -> Result<reqwest::Response, LinkError> {
    let u = url(agent, path);
    let mut req = agent.http.post(&u);
    if let Some(t) = &agent.cfg.join_token {
        req = req.header(JOIN_TOKEN_HEADER, t);
    }
    req = match body {
        Some(b) => req.json(b),
        None => req.header(reqwest::header::CONTENT_LENGTH, "0"),
    };
    let resp = req
        .send()
        .await
        .map_err(|source| LinkError::Unreachable { url: u, source })?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => Ok(resp),
        401 | 403 => Err(LinkError::Unauthorized(status)),
        404 => Err(LinkError::UnknownAgent),
        _ => {
            let body = resp.text().await.unwrap_or_default();
            let body: String = body.chars().take(300).collect();
            Err(LinkError::Status { status, body })
        }
    }
}

/// Registers (again) and applies the answer; returns the heartbeat interval.
pub async fn register(agent: &Arc<Agent>) -> Result<Duration, LinkError> {
    let cfg = &agent.cfg;
    let req = RegisterRequest {
        agent_id: agent.agent_id(),
        hostname: cfg.hostname.clone(),
        endpoint: cfg.endpoint.clone(),
        resources: cfg.resources.clone(),
        attributes: cfg.attributes.clone(),
        tasks: agent.tasks_for_registration(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let resp: RegisterResponse = post(agent, "/internal/v1/agents/register", Some(&req))
        .await?
        .json()
        .await
        .map_err(LinkError::Decode)?;
    if let Err(e) = agent.set_agent_id(&resp.agent_id) {
        tracing::error!("cannot store the agent id: {e}");
    }
    for task_id in &resp.kill_tasks {
        tracing::info!("the master no longer wants task {task_id}; killing it");
        containerizer::kill(agent, task_id, None);
    }
    let ms = cfg
        .heartbeat_interval_ms
        .unwrap_or(resp.heartbeat_interval_ms)
        .clamp(100, 600_000);
    Ok(Duration::from_millis(ms))
}

async fn heartbeat(agent: &Agent, id: &str) -> Result<(), LinkError> {
    post::<()>(agent, &format!("/internal/v1/agents/{id}/heartbeat"), None)
        .await
        .map(|_| ())
}

/// Runs forever: registration, heartbeats, re-registration.
pub async fn master_link(agent: Arc<Agent>) {
    let mut attempt = 0u32;
    let mut last_error: Option<String> = None;
    loop {
        let interval = match register(&agent).await {
            Ok(i) => {
                attempt = 0;
                last_error = None;
                agent.connected.store(true, Ordering::SeqCst);
                agent.status_added.notify_one();
                tracing::info!(
                    "registered with the master {} as agent {}",
                    agent.cfg.master,
                    agent.agent_id().unwrap_or_default()
                );
                i
            }
            Err(e) => {
                let msg = e.to_string();
                if last_error.as_deref() != Some(&msg) {
                    tracing::warn!("{msg}; retrying");
                }
                last_error = Some(msg);
                tokio::time::sleep(backoff(attempt)).await;
                attempt = attempt.saturating_add(1);
                continue;
            }
        };
        loop {
            tokio::time::sleep(interval).await;
            let Some(id) = agent.agent_id() else { break };
            match heartbeat(&agent, &id).await {
                Ok(()) => {}
                Err(LinkError::UnknownAgent) => {
                    tracing::info!(
                        "the master does not know this agent any more; registering again"
                    );
                    break;
                }
                Err(e) => {
                    tracing::warn!("lost contact with the master: {e}");
                    last_error = Some(e.to_string());
                    break;
                }
            }
        }
        agent.connected.store(false, Ordering::SeqCst);
    }
}

/// Runs forever: delivers pending status updates, oldest first, until acknowledged.
pub async fn status_sender(agent: Arc<Agent>) {
    let mut attempt = 0u32;
    loop {
        let pending = agent.pending_updates(100);
        let id = agent.agent_id();
        if pending.is_empty() || !agent.connected.load(Ordering::SeqCst) || id.is_none() {
            tokio::select! {
                _ = agent.status_added.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            continue;
        }
        let id = id.unwrap_or_default();
        // Updates journaled under an earlier id (the master gave this agent a new one) are
        // sent as this agent's: the master checks that the sender and the update agree.
        let updates = pending
            .into_iter()
            .map(|mut u| {
                u.agent_id = id.clone();
                u
            })
            .collect();
        let batch = StatusBatch { updates };
        let res = match post(
            &agent,
            &format!("/internal/v1/agents/{id}/status"),
            Some(&batch),
        )
        .await
        {
            Ok(r) => r.json::<StatusAck>().await.map_err(LinkError::Decode),
            Err(e) => Err(e),
        };
        match res {
            Ok(ack) if !ack.acked.is_empty() => {
                attempt = 0;
                if let Err(e) = agent.ack(&ack.acked) {
                    tracing::error!("cannot record acknowledgements: {e}");
                }
                continue;
            }
            Ok(_) => {}
            Err(LinkError::UnknownAgent) => {
                agent.connected.store(false, Ordering::SeqCst);
            }
            Err(e) => {
                if attempt == 0 {
                    tracing::warn!("cannot deliver status updates: {e}; retrying");
                }
            }
        }
        tokio::time::sleep(backoff(attempt)).await;
        attempt = attempt.saturating_add(1);
    }
}

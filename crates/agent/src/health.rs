//! Health checks run by the agent next to each task, from Marathon's `healthChecks` JSON:
//! HTTP/HTTPS (and MESOS_HTTP/MESOS_HTTPS: a GET of `path` on the task's port, healthy on
//! 200-399), TCP (and MESOS_TCP: a connection), COMMAND (`sh -c` in the sandbox with the task's
//! environment, healthy on exit 0). Each check waits `delaySeconds`, then runs every
//! `intervalSeconds` with `timeoutSeconds`; failures during `gracePeriodSeconds` before the
//! first success are ignored. The task is reported healthy on its first success, and unhealthy
//! once `maxConsecutiveFailures` checks failed in a row (on the first failure when that is 0,
//! which tells the scheduler not to kill): a TASK_RUNNING status update with `healthy` and the
//! reason REASON_TASK_HEALTH_CHECK_STATUS_UPDATED. With several checks the task is healthy when
//! all are.

use crate::agent::Agent;
use crate::sandbox::{self, Sandbox, SupervisorSpec};
use dcos_schemas::task::TaskState;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[cfg(test)]
mod tests;

pub const REASON_HEALTH: &str = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HealthError {
    #[error("health check {index} is not valid: {detail}")]
    Invalid { index: usize, detail: String },
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CommandCheck {
    pub value: String,
}

/// One health check in Marathon's JSON vocabulary (with Marathon's defaults).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default = "default_protocol")]
    pub protocol: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub port_index: Option<usize>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub command: Option<CommandCheck>,
    #[serde(default = "d300")]
    pub grace_period_seconds: f64,
    #[serde(default = "d60")]
    pub interval_seconds: f64,
    #[serde(default = "d20")]
    pub timeout_seconds: f64,
    #[serde(default = "d3")]
    pub max_consecutive_failures: u32,
    #[serde(default = "d15")]
    pub delay_seconds: f64,
    #[serde(default)]
    pub ignore_http1xx: bool,
}

fn default_protocol() -> String {
    "HTTP".into()
}
fn d300() -> f64 {
    300.0
}
fn d60() -> f64 {
    60.0
}
fn d20() -> f64 {
    20.0
}
fn d3() -> u32 {
    3
}
fn d15() -> f64 {
    15.0
}

/// What a check probes, resolved against the task's ports.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Http { url: String },
    Tcp { port: u16 },
    Command { value: String },
}

impl HealthCheck {
    /// Parses and checks one entry of `healthChecks` against the task's host ports.
    pub fn parse(
        index: usize,
        v: &serde_json::Value,
        ports: &[u16],
    ) -> Result<(HealthCheck, Probe), HealthError> {
        let bad = |detail: String| HealthError::Invalid { index, detail };
        let hc: HealthCheck = serde_json::from_value(v.clone()).map_err(|e| bad(e.to_string()))?;
        for (name, x) in [
            ("gracePeriodSeconds", hc.grace_period_seconds),
            ("intervalSeconds", hc.interval_seconds),
            ("timeoutSeconds", hc.timeout_seconds),
            ("delaySeconds", hc.delay_seconds),
        ] {
            if !(0.0..=86_400.0).contains(&x) {
                return Err(bad(format!("{name} must be between 0 and 86400")));
            }
        }
        let port = || -> Result<u16, HealthError> {
            match (hc.port, hc.port_index) {
                (Some(p), _) => Ok(p),
                (None, i) => {
                    let i = i.unwrap_or(0);
                    ports.get(i).copied().ok_or_else(|| {
                        bad(format!(
                            "portIndex {i} but the task has {} port(s)",
                            ports.len()
                        ))
                    })
                }
            }
        };
        let probe = match hc.protocol.as_str() {
            "HTTP" | "MESOS_HTTP" | "HTTPS" | "MESOS_HTTPS" => {
                let scheme = if hc.protocol.ends_with("HTTPS") {
                    "https"
                } else {
                    "http"
                };
                let path = hc.path.clone().unwrap_or_else(|| "/".into());
                let path = if path.starts_with('/') {
                    path
                } else {
                    format!("/{path}")
                };
                Probe::Http {
                    url: format!("{scheme}://127.0.0.1:{}{path}", port()?),
                }
            }
            "TCP" | "MESOS_TCP" => Probe::Tcp { port: port()? },
            "COMMAND" => Probe::Command {
                value: hc
                    .command
                    .as_ref()
                    .map(|c| c.value.clone())
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| bad("a COMMAND check needs command.value".into()))?,
            },
            other => {
                return Err(bad(format!(
                    "protocol `{other}` is not one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, \
                     MESOS_HTTPS, MESOS_TCP"
                )))
            }
        };
        Ok((hc, probe))
    }
}

/// Runs one probe; `Err` says why it failed.
pub async fn probe(
    p: &Probe,
    timeout: Duration,
    spec: Option<&SupervisorSpec>,
) -> Result<(), String> {
    match p {
        Probe::Http { url } => {
            let client = reqwest::Client::builder()
                .timeout(timeout)
                .danger_accept_invalid_certs(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| e.to_string())?;
            let r = client
                .get(url)
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            let s = r.status().as_u16();
            if (200..400).contains(&s) {
                Ok(())
            } else {
                Err(format!("GET {url} answered HTTP {s}"))
            }
        }
        Probe::Tcp { port } => {
            match tokio::time::timeout(
                timeout,
                tokio::net::TcpStream::connect(("127.0.0.1", *port)),
            )
            .await
            {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!("cannot connect to port {port}: {e}")),
                Err(_) => Err(format!("connecting to port {port} timed out")),
            }
        }
        Probe::Command { value } => {
            let mut cmd = tokio::process::Command::new("/bin/sh");
            cmd.arg("-c").arg(value).kill_on_drop(true);
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            if let Some(s) = spec {
                cmd.env_clear().envs(&s.env).current_dir(&s.sandbox);
            }
            match tokio::time::timeout(timeout, cmd.status()).await {
                Ok(Ok(st)) if st.success() => Ok(()),
                Ok(Ok(st)) => Err(format!("command exited with {st}")),
                Ok(Err(e)) => Err(format!("cannot run the command: {e}")),
                Err(_) => Err("command timed out".into()),
            }
        }
    }
}

/// The rolling state of one check.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CheckState {
    pub ever_healthy: bool,
    pub consecutive_failures: u32,
    /// The last verdict reported for this check.
    pub verdict: Option<bool>,
}

impl CheckState {
    /// Records one result; returns the new verdict when it changes.
    pub fn record(&mut self, ok: bool, hc: &HealthCheck, since_start: Duration) -> Option<bool> {
        let new = if ok {
            self.ever_healthy = true;
            self.consecutive_failures = 0;
            Some(true)
        } else if !self.ever_healthy && since_start.as_secs_f64() < hc.grace_period_seconds {
            None
        } else {
            self.consecutive_failures += 1;
            (self.consecutive_failures >= hc.max_consecutive_failures.max(1)).then_some(false)
        };
        match new {
            Some(v) if self.verdict != Some(v) => {
                self.verdict = Some(v);
                Some(v)
            }
            _ => None,
        }
    }
}

/// Starts the task's health checks (if any); they stop when the task ends.
pub fn start(agent: &Arc<Agent>, task_id: &str) {
    let Some(rec) = agent.task(task_id) else {
        return;
    };
    if rec.launch.health_checks.is_empty() || rec.state.is_terminal() {
        return;
    }
    let mut checks = Vec::new();
    for (i, v) in rec.launch.health_checks.iter().enumerate() {
        match HealthCheck::parse(i, v, &rec.launch.resources.ports) {
            Ok(c) => checks.push(c),
            Err(e) => tracing::warn!("task {task_id}: {e}; the check is skipped"),
        }
    }
    let verdicts = Arc::new(Mutex::new(vec![None::<bool>; checks.len()]));
    let started = rec
        .statuses
        .iter()
        .find(|s| s.state == TaskState::Running)
        .map_or(rec.launched_at, |s| s.timestamp);
    let spec = Sandbox::new(rec.sandbox.clone())
        .read::<SupervisorSpec>(sandbox::SPEC_FILE)
        .ok()
        .flatten();
    for (i, (hc, p)) in checks.into_iter().enumerate() {
        let agent = agent.clone();
        let task_id = task_id.to_string();
        let verdicts = verdicts.clone();
        let spec = spec.clone();
        tokio::spawn(async move {
            let since = |now: f64| Duration::from_secs_f64((now - started).max(0.0));
            let elapsed = since(sandbox::now_secs()).as_secs_f64();
            let delay = (hc.delay_seconds - elapsed).max(0.0);
            tokio::time::sleep(Duration::from_secs_f64(delay)).await;
            let mut st = CheckState::default();
            let timeout = Duration::from_secs_f64(hc.timeout_seconds.max(0.1));
            loop {
                if agent.task(&task_id).is_none_or(|r| r.state.is_terminal()) {
                    return;
                }
                let res = probe(&p, timeout, spec.as_ref()).await;
                if let Some(v) = st.record(res.is_ok(), &hc, since(sandbox::now_secs())) {
                    let overall = {
                        let mut vs = verdicts.lock().unwrap_or_else(|e| e.into_inner());
                        vs[i] = Some(v);
                        if vs.contains(&Some(false)) {
                            Some(false)
                        } else if vs.iter().all(|x| *x == Some(true)) {
                            Some(true)
                        } else {
                            None
                        }
                    };
                    if let Some(h) = overall {
                        let msg = match &res {
                            Ok(()) => "Health check passed".to_string(),
                            Err(e) => format!(
                                "Health check failed {} time(s) in a row: {e}",
                                st.consecutive_failures
                            ),
                        };
                        let _ = agent.update_with_health(
                            &task_id,
                            TaskState::Running,
                            Some(msg),
                            Some(REASON_HEALTH),
                            Some(h),
                        );
                    }
                }
                tokio::time::sleep(Duration::from_secs_f64(hc.interval_seconds.max(0.1))).await;
            }
        });
    }
}

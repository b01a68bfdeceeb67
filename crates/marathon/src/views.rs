//! Response documents assembled from the model plus live data: an app with its embedded
//! parts (`tasksRunning`, `tasks`, `deployments`, `lastTaskFailure`, ...) and `/v2/info`.
//! Only keys marathon-python 0.13.0 accepts are produced.

use serde_json::{json, Map, Value};

use crate::app::AppDefinition;
use crate::query::Embed;
use crate::task::{TaskFailure, TaskJson};

/// Task counts of an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppCounts {
    pub staged: u32,
    pub running: u32,
    pub healthy: u32,
    pub unhealthy: u32,
}

/// Live data to embed in an app document; parts not asked for by `embed` are left out.
#[derive(Debug, Clone, Default)]
pub struct AppLive<'a> {
    pub counts: AppCounts,
    pub tasks: &'a [TaskJson],
    /// Ids of running deployments that touch the app.
    pub deployment_ids: &'a [String],
    pub last_task_failure: Option<&'a TaskFailure>,
    /// Readiness check results of the app's running deployment.
    pub readiness_check_results: &'a [Value],
}

impl Embed {
    /// What `GET /v2/apps` embeds without an `embed` parameter (Marathon's compatibility
    /// default: counts and deployments).
    pub fn list_default() -> Self {
        Embed {
            counts: true,
            deployments: true,
            ..Embed::default()
        }
    }
    /// What `GET /v2/apps/{id}` embeds: tasks, counts, deployments, last failure, readiness.
    pub fn single_app() -> Self {
        Embed {
            tasks: true,
            counts: true,
            deployments: true,
            readiness: true,
            last_task_failure: true,
            task_stats: false,
        }
    }
}

/// The app document with the parts `embed` asks for.
pub fn app_json(app: &AppDefinition, embed: &Embed, live: &AppLive<'_>) -> Value {
    let mut m: Map<String, Value> = match app.to_json() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if embed.counts {
        m.insert("tasksStaged".into(), live.counts.staged.into());
        m.insert("tasksRunning".into(), live.counts.running.into());
        m.insert("tasksHealthy".into(), live.counts.healthy.into());
        m.insert("tasksUnhealthy".into(), live.counts.unhealthy.into());
    }
    if embed.deployments {
        let d: Vec<Value> = live
            .deployment_ids
            .iter()
            .map(|id| json!({"id": id}))
            .collect();
        m.insert("deployments".into(), Value::Array(d));
    }
    if embed.tasks {
        m.insert(
            "tasks".into(),
            serde_json::to_value(live.tasks).unwrap_or(Value::Array(vec![])),
        );
    }
    if embed.last_task_failure {
        if let Some(f) = live.last_task_failure {
            m.insert(
                "lastTaskFailure".into(),
                serde_json::to_value(f).unwrap_or(Value::Null),
            );
        }
    }
    if embed.readiness {
        m.insert(
            "readinessCheckResults".into(),
            Value::Array(live.readiness_check_results.to_vec()),
        );
    }
    Value::Object(m)
}

/// Inputs of `/v2/info`.
#[derive(Debug, Clone)]
pub struct InfoInput<'a> {
    pub version: &'a str,
    /// `host:port` of the leading master's API.
    pub leader: &'a str,
    pub framework_id: Option<&'a str>,
    pub mesos_master: &'a str,
    pub hostname: &'a str,
    pub http_port: u16,
    pub mesos_role: &'a str,
    pub mesos_user: &'a str,
    pub local_port_min: u16,
    pub local_port_max: u16,
}

/// `GET /v2/info` (marathon-python's MarathonInfo; `marathon_config`, `http_config` and
/// `zookeeper_config` must be objects for it).
pub fn info_json(i: &InfoInput<'_>) -> Value {
    json!({
        "name": "marathon",
        "version": i.version,
        "buildref": "dcos-rs",
        "elected": true,
        "leader": i.leader,
        "frameworkId": i.framework_id,
        "marathon_config": {
            "master": i.mesos_master,
            "hostname": i.hostname,
            "framework_name": "marathon",
            "mesos_role": i.mesos_role,
            "mesos_user": i.mesos_user,
            "local_port_min": i.local_port_min,
            "local_port_max": i.local_port_max,
            "ha": true,
            "checkpoint": true,
            "executor": "//cmd",
            "features": [],
            "env_vars_prefix": null,
        },
        "http_config": {"http_port": i.http_port, "https_port": null, "assets_path": null},
        // marathon-python requires the object; there is no ZooKeeper here (state lives in the
        // master's store), so the connection string is null
        "zookeeper_config": {"zk": null, "zk_timeout": 10000, "zk_session_timeout": 10000, "zk_max_versions": 50},
        "event_subscriber": {"type": "sse", "http_endpoints": null},
    })
}

#[cfg(test)]
mod tests;

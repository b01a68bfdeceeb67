//! Internal frameworks: how schedulers inside the master (the operator task API now, the app
//! and job schedulers later) submit tasks and hear about them.
//!
//! A scheduler registers once with [`crate::Master::register_framework`] and gets a
//! [`FrameworkEvents`] receiver. It launches with [`crate::Master::launch`] (a
//! [`TaskRequest`]: resources, constraints, ports, role) and kills with
//! [`crate::Master::kill`]; every committed status change of its tasks and every agent
//! loss arrives on the receiver, after the change is durable.

use dcos_schemas::agent::CommandInfo;
use dcos_schemas::task::TaskState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use tokio::sync::mpsc;

/// A task a framework wants run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRequest {
    /// Generated when absent.
    pub id: Option<String>,
    pub name: String,
    pub command: CommandInfo,
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: f64,
    /// Number of host ports to assign (exposed to the task as PORT0.., PORTS).
    pub ports: u32,
    /// Marathon-style `[field, OPERATOR, value]` constraints.
    pub constraints: Vec<Vec<String>>,
    /// Role the resources are allocated to ("*" when empty).
    pub role: String,
    /// Constraint group (app id); the task id's group when empty.
    pub group: String,
    pub container: Option<serde_json::Value>,
    pub health_checks: Vec<serde_json::Value>,
    pub fetch: Vec<serde_json::Value>,
    pub kill_grace_period_secs: Option<f64>,
    pub labels: BTreeMap<String, String>,
}

/// What a framework hears.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FrameworkEvent {
    /// A task's state changed (committed).
    Update {
        framework_id: String,
        task_id: String,
        agent_id: String,
        state: TaskState,
        message: Option<String>,
        reason: Option<String>,
        healthy: Option<bool>,
        timestamp: f64,
    },
    /// An agent missed its heartbeats; its tasks are now UNREACHABLE.
    AgentUnreachable { agent_id: String },
    /// An agent (re-)registered.
    AgentRegistered { agent_id: String },
}

impl FrameworkEvent {
    pub fn framework_id(&self) -> Option<&str> {
        match self {
            FrameworkEvent::Update { framework_id, .. } => Some(framework_id),
            _ => None,
        }
    }
}

pub type FrameworkEvents = mpsc::UnboundedReceiver<FrameworkEvent>;

/// Routes events to the subscribed frameworks.
#[derive(Default)]
pub struct EventBus {
    subs: Mutex<HashMap<String, mpsc::UnboundedSender<FrameworkEvent>>>,
}

impl EventBus {
    pub fn subscribe(&self, framework_id: &str) -> FrameworkEvents {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut s) = self.subs.lock() {
            s.insert(framework_id.to_string(), tx);
        }
        rx
    }

    /// Sends a task event to its framework, an agent event to every framework.
    pub fn publish(&self, ev: FrameworkEvent) {
        let Ok(mut subs) = self.subs.lock() else {
            return;
        };
        match ev.framework_id().map(str::to_string) {
            Some(fid) => {
                if let Some(tx) = subs.get(&fid) {
                    if tx.send(ev).is_err() {
                        subs.remove(&fid);
                    }
                }
            }
            None => subs.retain(|_, tx| tx.send(ev.clone()).is_ok()),
        }
    }
}

//! The agent's `/state.json` in the shape of a Mesos agent's, which the DC/OS CLI reads to
//! find a task's sandbox: `frameworks[].executors[]` with `directory` and `tasks`,
//! `completed_executors` for finished tasks, resources with ports as a range string.

use crate::agent::{Agent, TaskRecord};
use crate::resources::format_ranges;
use dcos_schemas::agent::TaskResources;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Mesos version this document imitates.
pub const MESOS_VERSION: &str = "1.11.0";

fn ports_string(ports: &[u16]) -> String {
    let mut sorted = ports.to_vec();
    sorted.sort_unstable();
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for p in sorted {
        match ranges.last_mut() {
            Some((_, e)) if p == e.saturating_add(1) => *e = p,
            _ => ranges.push((p, p)),
        }
    }
    let inner: Vec<String> = ranges.iter().map(|(b, e)| format!("{b}-{e}")).collect();
    format!("[{}]", inner.join(", "))
}

fn task_resources(r: &TaskResources) -> Value {
    let mut v = json!({ "cpus": r.cpus, "mem": r.mem, "disk": r.disk, "gpus": r.gpus });
    if !r.ports.is_empty() {
        v["ports"] = json!(ports_string(&r.ports));
    }
    v
}

fn task_json(rec: &TaskRecord) -> Value {
    let t = &rec.launch;
    let labels: Vec<Value> = t
        .labels
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    let statuses: Vec<Value> = rec
        .statuses
        .iter()
        .map(|s| {
            let mut v = json!({ "state": s.state, "timestamp": s.timestamp });
            if let Some(m) = &s.message {
                v["message"] = json!(m);
            }
            if let Some(r) = &s.reason {
                v["reason"] = json!(r);
            }
            if let Some(h) = s.healthy {
                v["healthy"] = json!(h);
            }
            v
        })
        .collect();
    json!({
        "id": t.task_id,
        "name": t.name,
        "framework_id": t.framework_id,
        "executor_id": "",
        "slave_id": rec.agent_id,
        "state": rec.state,
        "resources": task_resources(&t.resources),
        "statuses": statuses,
        "labels": labels,
    })
}

fn executor_json(rec: &TaskRecord) -> Value {
    let t = &rec.launch;
    let (tasks, completed) = if rec.state.is_terminal() {
        (vec![], vec![task_json(rec)])
    } else {
        (vec![task_json(rec)], vec![])
    };
    json!({
        "id": t.task_id,
        "name": format!("Command Executor (Task: {}) (Command: {})", t.task_id,
            t.command.value.clone().unwrap_or_else(|| t.command.arguments.join(" "))),
        "source": t.task_id,
        "container": rec.run_id,
        "directory": rec.sandbox.display().to_string(),
        "resources": task_resources(&t.resources),
        "tasks": tasks,
        "queued_tasks": [],
        "completed_tasks": completed,
    })
}

/// Renders the whole document.
pub fn render(agent: &Agent) -> Value {
    let cfg = &agent.cfg;
    let id = agent.agent_id().unwrap_or_default();
    let mut frameworks: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for rec in agent.all_tasks() {
        let entry = frameworks
            .entry(rec.launch.framework_id.clone())
            .or_default();
        if rec.state.is_terminal() {
            entry.1.push(executor_json(&rec));
        } else {
            entry.0.push(executor_json(&rec));
        }
    }
    let frameworks: Vec<Value> = frameworks
        .into_iter()
        .map(|(fid, (executors, completed))| {
            json!({
                "id": fid,
                "name": fid,
                "user": "root",
                "hostname": cfg.hostname,
                "role": "*",
                "checkpoint": true,
                "executors": executors,
                "completed_executors": completed,
            })
        })
        .collect();
    let r = &cfg.resources;
    let resources = json!({
        "cpus": r.cpus, "mem": r.mem, "disk": r.disk, "gpus": r.gpus,
        "ports": format_ranges(&r.ports),
    });
    let master_host = reqwest::Url::parse(&cfg.master)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    json!({
        "version": MESOS_VERSION,
        "dcos_rs_version": env!("CARGO_PKG_VERSION"),
        "git_sha": "",
        "start_time": agent.start_time,
        "id": id,
        "pid": format!("slave(1)@{}:{}", cfg.advertise_ip, cfg.port),
        "hostname": cfg.hostname,
        "resources": resources,
        "unreserved_resources": resources,
        "reserved_resources": {},
        "attributes": cfg.attributes,
        "master_hostname": master_host,
        "flags": {
            "master": cfg.master,
            "work_dir": cfg.work_dir.display().to_string(),
            "hostname": cfg.hostname,
            "port": cfg.port.to_string(),
            "isolation": if cfg.cgroups.is_some() { "cgroups/cpu,cgroups/mem,namespaces/pid,filesystem/linux" } else { "namespaces/pid,filesystem/linux" },
        },
        "frameworks": frameworks,
        "completed_frameworks": [],
    })
}

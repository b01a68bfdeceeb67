//! Mesos-compatible documents (`/master/state`, `/master/slaves`, `/master/state-summary`)
//! built from the master's state, with Mesos's field names.

use crate::core::{AgentEntry, AgentStatus, Core};
use crate::model::{FrameworkRecord, TaskRecord};
use dcos_schemas::agent::Resources;
use dcos_schemas::task::TaskState;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Completed tasks listed per framework, newest first kept (Mesos's
/// `--max_completed_tasks_per_framework` default).
pub const MAX_COMPLETED_TASKS: usize = 1000;

/// Mesos version reported for compatibility with Mesos clients.
pub const MESOS_VERSION: &str = "1.11.0";

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Mesos's ranges text: `[31000-31002, 31005-31005]`.
pub fn ranges_text(ranges: &[(u16, u16)]) -> String {
    let parts: Vec<String> = ranges.iter().map(|(b, e)| format!("{b}-{e}")).collect();
    format!("[{}]", parts.join(", "))
}

/// Collapses ports into sorted inclusive ranges.
pub fn port_ranges(ports: &[u16]) -> Vec<(u16, u16)> {
    let mut p = ports.to_vec();
    p.sort_unstable();
    p.dedup();
    let mut out: Vec<(u16, u16)> = Vec::new();
    for x in p {
        match out.last_mut() {
            Some((_, e)) if e.checked_add(1) == Some(x) => *e = x,
            _ => out.push((x, x)),
        }
    }
    out
}

pub fn resources_json(cpus: f64, mem: f64, disk: f64, gpus: f64, ports: &[(u16, u16)]) -> Value {
    let mut o = json!({
        "cpus": round3(cpus), "gpus": round3(gpus), "mem": round3(mem), "disk": round3(disk),
    });
    if !ports.is_empty() {
        o["ports"] = json!(ranges_text(ports));
    }
    o
}

fn agent_resources(r: &Resources) -> Value {
    let ranges: Vec<(u16, u16)> = r.ports.iter().map(|p| (p.begin, p.end)).collect();
    resources_json(r.cpus, r.mem, r.disk, r.gpus, &ranges)
}

fn task_resources(t: &TaskRecord) -> Value {
    let r = &t.resources;
    resources_json(r.cpus, r.mem, r.disk, r.gpus, &port_ranges(&r.ports))
}

fn host_port(endpoint: &str) -> (String, u16) {
    match reqwest::Url::parse(endpoint) {
        Ok(u) => (
            u.host_str().unwrap_or_default().to_string(),
            u.port_or_known_default().unwrap_or(5051),
        ),
        Err(_) => (String::new(), 5051),
    }
}

fn attributes_json(a: &BTreeMap<String, String>) -> Value {
    let mut o = Map::new();
    for (k, v) in a {
        // Mesos reports scalar attributes as numbers, text as strings.
        let val = match v.parse::<f64>() {
            Ok(n) if n.is_finite() && !v.is_empty() => json!(n),
            _ => json!(v),
        };
        o.insert(k.clone(), val);
    }
    Value::Object(o)
}

fn agent_json(core: &Core, e: &AgentEntry) -> Value {
    let a = &e.rec;
    let (host, port) = host_port(&a.endpoint);
    let used = core.placer().used_on(&a.id);
    let used_ports: Vec<u16> = core
        .tasks()
        .filter(|t| t.agent_id == a.id && !t.state.is_terminal())
        .flat_map(|t| t.resources.ports.iter().copied())
        .collect();
    let used_res = resources_json(
        used[0],
        used[1],
        used[2],
        used[3],
        &port_ranges(&used_ports),
    );
    json!({
        "id": a.id,
        "hostname": a.hostname,
        "port": port,
        "pid": format!("slave(1)@{host}:{port}"),
        "attributes": attributes_json(&a.attributes),
        "registered_time": a.registered_time,
        "reregistered_time": a.reregistered_time,
        "resources": agent_resources(&a.resources),
        "used_resources": used_res,
        "offered_resources": resources_json(0.0, 0.0, 0.0, 0.0, &[]),
        "reserved_resources": {},
        "unreserved_resources": agent_resources(&a.resources),
        "active": e.status == AgentStatus::Active,
        "deactivated": e.status != AgentStatus::Active,
        "version": a.version,
        "capabilities": [],
        "endpoint": a.endpoint,
    })
}

pub fn task_json(t: &TaskRecord) -> Value {
    let statuses: Vec<Value> = t
        .statuses
        .iter()
        .map(|s| {
            let mut o = json!({ "state": s.state, "timestamp": s.timestamp, "source": s.source });
            if let Some(h) = s.healthy {
                o["healthy"] = json!(h);
            }
            if let Some(m) = &s.message {
                o["message"] = json!(m);
            }
            if let Some(r) = &s.reason {
                o["reason"] = json!(r);
            }
            o
        })
        .collect();
    let labels: Vec<Value> = t
        .launch
        .labels
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    let mut o = json!({
        "id": t.id,
        "name": t.name,
        "framework_id": t.framework_id,
        "executor_id": "",
        "slave_id": t.agent_id,
        "state": t.state,
        "role": t.role,
        "resources": task_resources(t),
        "statuses": statuses,
        "labels": labels,
    });
    if let Some(c) = &t.launch.container {
        o["container"] = c.clone();
    }
    if let Some(h) = t.statuses.iter().rev().find_map(|s| s.healthy) {
        o["healthy"] = json!(h);
    }
    o
}

fn framework_json(f: &FrameworkRecord, tasks: &[&TaskRecord]) -> Value {
    let mut live = Vec::new();
    let mut unreachable = Vec::new();
    let mut done = Vec::new();
    let mut used = [0.0f64; 4];
    let mut ports = Vec::new();
    for t in tasks.iter().filter(|t| t.framework_id == f.id) {
        if t.state.is_terminal() {
            done.push(*t);
            continue;
        }
        let r = &t.resources;
        for (u, v) in used.iter_mut().zip([r.cpus, r.mem, r.disk, r.gpus]) {
            *u += v;
        }
        ports.extend(r.ports.iter().copied());
        if t.state == TaskState::Unreachable {
            unreachable.push(task_json(t));
        } else {
            live.push(task_json(t));
        }
    }
    let used = resources_json(used[0], used[1], used[2], used[3], &port_ranges(&ports));
    done.sort_by(|a, b| a.updated.total_cmp(&b.updated).then(a.id.cmp(&b.id)));
    let skip = done.len().saturating_sub(MAX_COMPLETED_TASKS);
    let done: Vec<Value> = done.into_iter().skip(skip).map(task_json).collect();
    json!({
        "id": f.id,
        "name": f.name,
        "pid": "",
        "hostname": "",
        "webui_url": f.webui_url.clone().unwrap_or_default(),
        "active": f.active,
        "connected": f.active,
        "recovered": false,
        "role": f.role,
        "user": f.user,
        "principal": f.id,
        "registered_time": f.registered_time,
        "unregistered_time": 0,
        "capabilities": ["PARTITION_AWARE", "TASK_KILLING_STATE"],
        "resources": used.clone(),
        "used_resources": used,
        "offered_resources": resources_json(0.0, 0.0, 0.0, 0.0, &[]),
        "tasks": live,
        "unreachable_tasks": unreachable,
        "completed_tasks": done,
        "offers": [],
        "executors": [],
    })
}

fn sorted_tasks(core: &Core) -> Vec<&TaskRecord> {
    let mut v: Vec<&TaskRecord> = core.tasks().collect();
    v.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id)));
    v
}

/// `/master/state`.
pub fn state(core: &Core, master_id: &str, url: &str) -> Value {
    let (host, port) = host_port(url);
    let pid = format!("master@{host}:{port}");
    let tasks = sorted_tasks(core);
    let count = |s: AgentStatus| core.agents().filter(|e| e.status == s).count();
    let slaves: Vec<Value> = core.agents().map(|e| agent_json(core, e)).collect();
    let frameworks: Vec<Value> = core
        .frameworks()
        .map(|f| framework_json(f, &tasks))
        .collect();
    let cfg = core.config();
    json!({
        "version": MESOS_VERSION,
        "id": master_id,
        "pid": pid,
        "hostname": host,
        "start_time": core.start_time,
        "elected_time": core.start_time,
        "activated_slaves": count(AgentStatus::Active),
        "deactivated_slaves": count(AgentStatus::Recovered),
        "unreachable_slaves": count(AgentStatus::Unreachable),
        "leader": pid,
        "leader_info": { "hostname": host, "port": port, "id": master_id, "pid": pid },
        "cluster": core.cluster_id,
        "flags": {
            "agent_ping_timeout": format!("{}secs", cfg.agent_timeout.as_secs_f64()),
            "unreachable_to_lost": format!("{}secs", cfg.unreachable_to_lost.as_secs_f64()),
            "port": port.to_string(),
        },
        "slaves": slaves,
        "frameworks": frameworks,
        "completed_frameworks": [],
        "orphan_tasks": [],
        "unregistered_frameworks": [],
    })
}

/// `/master/slaves`: registered agents, and agents recovered from the store that have not
/// registered again since the master restarted.
pub fn slaves(core: &Core) -> Value {
    let (recovered, registered): (Vec<&AgentEntry>, Vec<&AgentEntry>) = core
        .agents()
        .partition(|e| e.status == AgentStatus::Recovered);
    json!({
        "slaves": registered.iter().map(|e| agent_json(core, e)).collect::<Vec<_>>(),
        "recovered_slaves": recovered.iter().map(|e| agent_json(core, e)).collect::<Vec<_>>(),
    })
}

const COUNTED: [TaskState; 10] = [
    TaskState::Staging,
    TaskState::Starting,
    TaskState::Running,
    TaskState::Killing,
    TaskState::Finished,
    TaskState::Killed,
    TaskState::Failed,
    TaskState::Lost,
    TaskState::Error,
    TaskState::Unreachable,
];

fn counts(o: &mut Value, tasks: &[&TaskRecord]) {
    for s in COUNTED {
        o[s.as_str()] = json!(tasks.iter().filter(|t| t.state == s).count());
    }
}

/// `/master/state-summary`.
pub fn summary(core: &Core, url: &str) -> Value {
    let (host, _) = host_port(url);
    let tasks = sorted_tasks(core);
    let slaves: Vec<Value> = core
        .agents()
        .map(|e| {
            let mut o = agent_json(core, e);
            let mine: Vec<&TaskRecord> = tasks
                .iter()
                .copied()
                .filter(|t| t.agent_id == e.rec.id)
                .collect();
            counts(&mut o, &mine);
            let mut fids: Vec<&str> = mine.iter().map(|t| t.framework_id.as_str()).collect();
            fids.sort_unstable();
            fids.dedup();
            o["framework_ids"] = json!(fids);
            o
        })
        .collect();
    let frameworks: Vec<Value> = core
        .frameworks()
        .map(|f| {
            let full = framework_json(f, &tasks);
            let mine: Vec<&TaskRecord> = tasks
                .iter()
                .copied()
                .filter(|t| t.framework_id == f.id)
                .collect();
            let mut o = json!({
                "id": f.id, "name": f.name, "pid": "", "hostname": "",
                "webui_url": full["webui_url"], "active": f.active, "role": f.role,
                "used_resources": full["used_resources"],
                "offered_resources": full["offered_resources"],
                "capabilities": full["capabilities"],
            });
            counts(&mut o, &mine);
            let mut sids: Vec<&str> = mine
                .iter()
                .filter(|t| !t.state.is_terminal())
                .map(|t| t.agent_id.as_str())
                .collect();
            sids.sort_unstable();
            sids.dedup();
            o["slave_ids"] = json!(sids);
            o
        })
        .collect();
    json!({
        "hostname": host,
        "cluster": core.cluster_id,
        "slaves": slaves,
        "frameworks": frameworks,
    })
}

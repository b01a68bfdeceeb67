//! Tables of apps, deployments and tasks as the DC/OS CLI prints them.

use serde_json::Value;

use crate::output::{fmt_num, Table};

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

/// The action a running deployment takes on `app_id`, e.g. "scale" or "restart".
fn deployment_action(deps: &Value, app_id: &str) -> Option<String> {
    for d in deps.as_array().into_iter().flatten() {
        for a in d["currentActions"].as_array().into_iter().flatten() {
            if s(a, "app") == app_id {
                return Some(action_name(s(a, "action")));
            }
        }
        let affected = d["affectedApps"].as_array().into_iter().flatten();
        if affected.clone().any(|x| x.as_str() == Some(app_id)) {
            return Some("deploy".into());
        }
    }
    None
}

fn action_name(a: &str) -> String {
    match a {
        "ScaleApplication" => "scale",
        "StartApplication" => "start",
        "StopApplication" => "stop",
        "RestartApplication" => "restart",
        "ResolveArtifacts" => "artifacts",
        "" => "deploy",
        other => other,
    }
    .to_string()
}

fn waiting(queue: &Value, app_id: &str) -> bool {
    queue["queue"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|q| s(&q["app"], "id") == app_id && q["delay"]["overdue"].as_bool().unwrap_or(false))
}

pub fn app_table(apps: &[Value], deps: &Value, queue: &Value) -> String {
    let mut t = Table::new(&[
        "ID",
        "MEM",
        "CPUS",
        "TASKS",
        "HEALTH",
        "DEPLOYMENT",
        "WAITING",
        "CONTAINER",
        "CMD",
    ]);
    for a in apps {
        let id = s(a, "id");
        let running = n(a, "tasksRunning");
        let health = if a["healthChecks"].as_array().is_none_or(|h| h.is_empty()) {
            "---".to_string()
        } else {
            format!("{}/{running}", n(a, "tasksHealthy"))
        };
        let container = match a["container"]["type"].as_str() {
            Some(c) => c.to_uppercase(),
            None => "MESOS".into(),
        };
        let cmd = match a["cmd"].as_str() {
            Some(c) => c.to_string(),
            None => a["args"]
                .as_array()
                .map(|x| {
                    x.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
        };
        t.row([
            id.to_string(),
            fmt_num(a["mem"].as_f64().unwrap_or(0.0)),
            fmt_num(a["cpus"].as_f64().unwrap_or(0.0)),
            format!("{running}/{}", n(a, "instances")),
            health,
            deployment_action(deps, id).unwrap_or_else(|| "---".into()),
            if waiting(queue, id) { "True" } else { "False" }.to_string(),
            container,
            cmd,
        ]);
    }
    t.render()
}

/// One line of a deployment's progress: its id, step and actions.
pub fn deployment_line(d: &Value) -> String {
    let actions: Vec<String> = d["currentActions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| format!("{} {}", action_name(s(a, "action")), s(a, "app")))
        .collect();
    format!(
        "deployment {}: step {}/{}{}",
        s(d, "id"),
        n(d, "currentStep"),
        n(d, "totalSteps"),
        if actions.is_empty() {
            String::new()
        } else {
            format!(": {}", actions.join(", "))
        }
    )
}

pub fn deployment_table(deps: &[Value]) -> String {
    let mut t = Table::new(&["APP", "ACTION", "PROGRESS", "ID"]);
    for d in deps {
        let actions: Vec<&Value> = d["currentActions"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let progress = format!("{}/{}", n(d, "currentStep"), n(d, "totalSteps"));
        if actions.is_empty() {
            let apps: Vec<&str> = d["affectedApps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            t.row([
                apps.join(","),
                "deploy".into(),
                progress.clone(),
                s(d, "id").to_string(),
            ]);
        }
        for a in actions {
            t.row([
                s(a, "app").to_string(),
                action_name(s(a, "action")),
                progress.clone(),
                s(d, "id").to_string(),
            ]);
        }
    }
    t.render()
}

pub fn task_table(tasks: &[Value]) -> String {
    let mut t = Table::new(&["APP", "HEALTHY", "STARTED", "HOST", "STATE", "ID"]);
    for k in tasks {
        let results = k["healthCheckResults"].as_array();
        let healthy = match results {
            Some(r) if !r.is_empty() => {
                if r.iter().all(|x| x["alive"].as_bool().unwrap_or(false)) {
                    "True"
                } else {
                    "False"
                }
            }
            _ => "---",
        };
        let started = k["startedAt"].as_str().unwrap_or("N/A");
        t.row([
            s(k, "appId").to_string(),
            healthy.to_string(),
            started.to_string(),
            s(k, "host").to_string(),
            s(k, "state").to_string(),
            s(k, "id").to_string(),
        ]);
    }
    t.render()
}

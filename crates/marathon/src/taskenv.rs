//! Task ids and the environment of a task, as Marathon builds them.
//!
//! Task id: `<app id segments joined by "_">.<uuid>` (`/foo/bar` -> `foo_bar.<uuid>`), the uuid
//! is passed in. Environment: `PORT0..n`, `PORT_<requested port>`, `PORT_<NAME>`, `PORT`,
//! `PORTS`, `HOST`, `MESOS_TASK_ID`, `MARATHON_APP_ID`, `MARATHON_APP_VERSION`,
//! `MARATHON_APP_DOCKER_IMAGE`, `MARATHON_APP_RESOURCE_CPUS|MEM|DISK|GPUS`,
//! `MARATHON_APP_LABELS` + `MARATHON_APP_LABEL_<KEY>` (keys sanitized to `[A-Z0-9_]`, entries
//! of 512 chars or more skipped), then the app's own `env` (which wins on clashes).

use std::collections::{BTreeMap, BTreeSet};

use crate::app::{AppDefinition, EnvValue};
use crate::path::PathId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskIdError {
    #[error("'{0}' is not a Marathon task id (expected <app_id_with_underscores>.<uuid>)")]
    Malformed(String),
}

/// Marathon's task id for a task of `app` with the given uuid.
pub fn task_id(app: &PathId, uuid: &str) -> String {
    format!("{}.{}", app.safe_path(), uuid)
}

/// The app id a task id belongs to (`foo_bar.<uuid>` -> `/foo/bar`).
pub fn app_id_of_task(task_id: &str) -> Result<PathId, TaskIdError> {
    let bad = || TaskIdError::Malformed(task_id.to_string());
    let (app, uuid) = task_id.rsplit_once('.').ok_or_else(bad)?;
    if app.is_empty() || uuid.is_empty() || app.split('_').any(str::is_empty) {
        return Err(bad());
    }
    Ok(PathId::from_segments(app.split('_')))
}

/// What the allocator has to find for port index `index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    pub index: usize,
    /// `Some(p)`: exactly host port `p`; `None` with `host_port` true: any port from the range.
    pub fixed: Option<u32>,
    /// False for a container port mapping without `hostPort` (no host port at all).
    pub host_port: bool,
    pub name: Option<String>,
    pub protocol: String,
}

/// The host ports an app's task needs, by port index. Host networking: one per port
/// definition, fixed when `requirePorts` and the port is not 0. Container networking: one per
/// mapping with a `hostPort` (fixed unless 0).
pub fn port_requests(app: &AppDefinition) -> Vec<PortRequest> {
    match app
        .container
        .as_ref()
        .and_then(|c| c.port_mappings.as_ref())
    {
        Some(pms) if !pms.is_empty() && !app.is_host_networking() => pms
            .iter()
            .enumerate()
            .map(|(index, pm)| PortRequest {
                index,
                fixed: pm.host_port.filter(|p| *p != 0),
                host_port: pm.host_port.is_some(),
                name: pm.name.clone(),
                protocol: pm.protocol.clone(),
            })
            .collect(),
        _ => app
            .port_definitions
            .iter()
            .flatten()
            .enumerate()
            .map(|(index, pd)| PortRequest {
                index,
                fixed: (app.require_ports && pd.port != 0).then_some(pd.port),
                host_port: true,
                name: pd.name.clone(),
                protocol: pd.protocol.clone(),
            })
            .collect(),
    }
}

/// The ports the app asks for by index: container ports of mappings, else definition ports.
fn requested_ports(app: &AppDefinition) -> Vec<u32> {
    match app
        .container
        .as_ref()
        .and_then(|c| c.port_mappings.as_ref())
    {
        Some(pms) if !pms.is_empty() && !app.is_host_networking() => {
            pms.iter().map(|p| p.container_port).collect()
        }
        _ => app
            .port_definitions
            .iter()
            .flatten()
            .map(|p| p.port)
            .collect(),
    }
}

/// A Scala `Double.toString` look-alike for resource values (`1.0`, `0.5`, `128.0`).
fn scala_double(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e7 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

const MAX_ENV_LEN: usize = 512;
const LABEL_PREFIX: &str = "MARATHON_APP_LABEL_";

/// `MARATHON_APP_LABELS` and `MARATHON_APP_LABEL_<KEY>` for the app's labels.
pub fn labels_env(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut names = Vec::new();
    for (k, v) in labels {
        if k.len() >= MAX_ENV_LEN - LABEL_PREFIX.len() || v.len() >= MAX_ENV_LEN {
            continue;
        }
        let mut key = String::new();
        let mut in_bad = false;
        for c in k.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                key.push(c.to_ascii_uppercase());
                in_bad = false;
            } else if !in_bad {
                key.push('_');
                in_bad = true;
            }
        }
        names.push(key.clone());
        out.insert(format!("{LABEL_PREFIX}{key}"), v.clone());
    }
    out.insert("MARATHON_APP_LABELS".into(), names.join(" "));
    out
}

/// Inputs for [`task_env`].
#[derive(Debug, Clone)]
pub struct TaskEnvInput<'a> {
    pub app: &'a AppDefinition,
    pub task_id: &'a str,
    /// The agent's hostname.
    pub host: &'a str,
    /// Host port per port index (`None` for container-only mappings), from the allocator.
    pub host_ports: &'a [Option<u32>],
    /// Values of the app's secrets by secret name (the key in `secrets`); env entries that
    /// reference a secret missing here are left out.
    pub secret_values: &'a BTreeMap<String, String>,
}

/// The environment of a task.
pub fn task_env(input: &TaskEnvInput<'_>) -> BTreeMap<String, String> {
    let app = input.app;
    let mut env = BTreeMap::new();

    // ports
    let requested = requested_ports(app);
    let names = app.port_names();
    let effective: Vec<Option<u32>> = (0..requested.len())
        .map(|i| input.host_ports.get(i).copied().flatten())
        .collect();
    if !effective.is_empty() {
        // container ports for mappings without host port and containerPort 0: deterministic
        // picks from 1025 up, avoiding every port already in use by this task
        let mut consumed: BTreeSet<u32> = requested
            .iter()
            .copied()
            .chain(effective.iter().flatten().copied())
            .collect();
        let mut next_free = 1025u32;
        let mut generated: BTreeMap<usize, u32> = BTreeMap::new();
        for (i, eff) in effective.iter().enumerate() {
            let value = match (eff, requested.get(i).copied().unwrap_or(0)) {
                (Some(p), _) => *p,
                (None, 0) => {
                    while consumed.contains(&next_free) {
                        next_free += 1;
                    }
                    consumed.insert(next_free);
                    generated.insert(i, next_free);
                    next_free
                }
                (None, cp) => cp,
            };
            env.insert(format!("PORT{i}"), value.to_string());
        }
        for (i, (req, eff)) in requested.iter().zip(effective.iter()).enumerate() {
            match (req, eff) {
                (0, Some(e)) => env.insert(format!("PORT_{e}"), e.to_string()),
                (r, Some(e)) => env.insert(format!("PORT_{r}"), e.to_string()),
                (0, None) => {
                    let g = generated.get(&i).copied().unwrap_or(0);
                    env.insert(format!("PORT_{g}"), g.to_string())
                }
                (r, None) => env.insert(format!("PORT_{r}"), r.to_string()),
            };
        }
        for (name, eff) in names.iter().zip(effective.iter()) {
            if let (Some(n), Some(e)) = (name, eff) {
                env.insert(format!("PORT_{}", n.to_uppercase()), e.to_string());
            }
        }
        let all: Vec<u32> = effective
            .iter()
            .flatten()
            .copied()
            .chain(generated.values().copied())
            .collect();
        if let Some(first) = all.first() {
            env.insert("PORT".into(), first.to_string());
        }
        env.insert(
            "PORTS".into(),
            all.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
        );
    }

    // task and app metadata
    env.insert("HOST".into(), input.host.to_string());
    env.insert("MESOS_TASK_ID".into(), input.task_id.to_string());
    env.insert("MARATHON_APP_ID".into(), app.id.to_string());
    if let Some(v) = &app.version {
        env.insert("MARATHON_APP_VERSION".into(), v.clone());
    }
    if let Some(image) = app.container.as_ref().and_then(|c| c.image()) {
        env.insert("MARATHON_APP_DOCKER_IMAGE".into(), image.to_string());
    }
    env.insert("MARATHON_APP_RESOURCE_CPUS".into(), scala_double(app.cpus));
    env.insert("MARATHON_APP_RESOURCE_MEM".into(), scala_double(app.mem));
    env.insert("MARATHON_APP_RESOURCE_DISK".into(), scala_double(app.disk));
    env.insert("MARATHON_APP_RESOURCE_GPUS".into(), app.gpus.to_string());
    env.extend(labels_env(&app.labels));

    // the app's own env
    for (k, v) in &app.env {
        match v {
            EnvValue::Str(s) => {
                env.insert(k.clone(), s.clone());
            }
            EnvValue::Secret(name) => {
                if let Some(val) = input.secret_values.get(name) {
                    env.insert(k.clone(), val.clone());
                }
            }
        }
    }
    env
}

#[cfg(test)]
mod tests;

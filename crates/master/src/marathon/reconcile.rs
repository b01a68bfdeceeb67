//! One pass of the scheduler: account for failed tasks (backoff), drive the current step of
//! every running deployment with `drive_action`, keep every app not under deployment at
//! `instances` live tasks (replacing failed, lost and unhealthy ones), then launch and kill
//! through the master. Idempotent: called on every task event and every 500 ms.

use super::store::Change;
use super::{now_ms, now_ts, Scheduler, CONFIG_LABEL, FRAMEWORK_ID, VERSION_LABEL};
use crate::frameworks::TaskRequest;
use crate::model::TaskRecord;
use dcos_marathon::app::{AppDefinition, KillSelection, UnreachableStrategy};
use dcos_marathon::backoff::BackoffPolicy;
use dcos_marathon::path::PathId;
use dcos_marathon::plan::{drive_action, ActionInput};
use dcos_marathon::rolling::{TaskPhase, TaskView};
use dcos_marathon::task::{timestamp, TaskFailure};
use dcos_marathon::{events, taskenv};
use dcos_schemas::agent::CommandInfo;
use dcos_schemas::task::TaskState;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// The app a Marathon task belongs to.
pub(crate) fn task_app(t: &TaskRecord) -> PathId {
    PathId::parse(&t.group)
}

/// The latest health report of a task.
pub(crate) fn task_healthy(t: &TaskRecord) -> Option<bool> {
    t.statuses.iter().rev().find_map(|s| s.healthy)
}

/// When the task first reported TASK_RUNNING (seconds).
pub(crate) fn started_at(t: &TaskRecord) -> Option<f64> {
    t.statuses
        .iter()
        .find(|s| s.state == TaskState::Running)
        .map(|s| s.timestamp)
}

fn view(t: &TaskRecord) -> Option<TaskView> {
    if t.kill_requested || t.state.is_terminal() {
        return None;
    }
    let phase = match t.state {
        TaskState::Running => TaskPhase::Running,
        TaskState::Staging | TaskState::Starting => TaskPhase::Staging,
        TaskState::Unreachable | TaskState::Unknown => TaskPhase::Unreachable,
        _ => return None,
    };
    Some(TaskView {
        id: t.id.clone(),
        phase,
        healthy: task_healthy(t),
        ready: true,
        staged_at: (t.created * 1000.0) as i64,
    })
}

fn config_version(app: &AppDefinition) -> String {
    app.version_info
        .as_ref()
        .and_then(|v| v.last_config_change_at.clone())
        .or_else(|| app.version.clone())
        .unwrap_or_default()
}

/// The master's launch request for one task of `app`.
pub(crate) fn task_request(app: &AppDefinition) -> TaskRequest {
    let id = taskenv::task_id(&app.id, &uuid::Uuid::new_v4().to_string());
    let secrets = BTreeMap::new();
    let mut env = taskenv::task_env(&taskenv::TaskEnvInput {
        app,
        task_id: &id,
        host: "",
        host_ports: &[],
        secret_values: &secrets,
    });
    // The master assigns host ports and sets PORT0.., PORTS, HOST itself.
    env.retain(|k, _| !(k.starts_with("PORT") || k == "HOST"));
    let json = app.to_json();
    let list = |k: &str| {
        json.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let ports = taskenv::port_requests(app)
        .iter()
        .filter(|p| p.host_port)
        .count() as u32;
    let mut labels = app.labels.clone();
    labels.insert(
        VERSION_LABEL.into(),
        app.version.clone().unwrap_or_default(),
    );
    labels.insert(CONFIG_LABEL.into(), config_version(app));
    TaskRequest {
        id: Some(id),
        name: app.id.name().to_string(),
        command: CommandInfo {
            value: app.cmd.clone(),
            shell: app.cmd.is_some(),
            arguments: app.args.clone().unwrap_or_default(),
            env,
            user: app.user.clone(),
        },
        cpus: app.cpus,
        mem: app.mem,
        disk: app.disk,
        gpus: app.gpus as f64,
        ports,
        constraints: app.constraints.clone(),
        role: app.role.clone().unwrap_or_default(),
        group: app.id.to_string(),
        container: json.get("container").filter(|c| !c.is_null()).cloned(),
        health_checks: list("healthChecks"),
        fetch: list("fetch"),
        kill_grace_period_secs: app.task_kill_grace_period_seconds.map(|s| s as f64),
        labels,
    }
}

impl Scheduler {
    /// One reconciliation pass (see the module docs).
    pub fn reconcile(&self) {
        let now = now_ms();
        let tasks = self.master.tasks_of(FRAMEWORK_ID);
        let mut guard = self.state();
        let st = &mut *guard;

        // 1. failures feed the launch backoff
        for t in tasks.iter().filter(|t| t.state.is_terminal()) {
            if !st.seen_terminal.insert(t.id.clone()) || t.kill_requested {
                continue;
            }
            let app_id = task_app(t);
            let Some(app) = st.root.find_app(&app_id) else {
                continue;
            };
            let policy = BackoffPolicy::from(app);
            st.delays
                .entry(app_id.clone())
                .or_default()
                .on_failure(&policy, now);
            let msg = t
                .last_status()
                .and_then(|s| s.message.clone())
                .unwrap_or_default();
            st.last_failure.insert(
                app_id.clone(),
                TaskFailure {
                    app_id: app_id.to_string(),
                    host: self
                        .master
                        .core()
                        .agent(&t.agent_id)
                        .map(|a| a.rec.hostname.clone())
                        .unwrap_or_default(),
                    message: msg,
                    state: t.state.as_str().into(),
                    task_id: t.id.clone(),
                    timestamp: timestamp((t.updated * 1000.0) as i64).unwrap_or_default(),
                    version: t
                        .launch
                        .labels
                        .get(VERSION_LABEL)
                        .cloned()
                        .unwrap_or_default(),
                    slave_id: t.agent_id.clone(),
                },
            );
        }

        // live tasks per app
        let mut live: BTreeMap<PathId, Vec<&TaskRecord>> = BTreeMap::new();
        for t in tasks.iter().filter(|t| !t.state.is_terminal()) {
            live.entry(task_app(t)).or_default().push(t);
        }
        // a task that stays up resets its app's delay
        for (app_id, ts) in &live {
            let Some(app) = st.root.find_app(app_id) else {
                continue;
            };
            let Some(d) = st.delays.get_mut(app_id) else {
                continue;
            };
            let policy = BackoffPolicy::from(app);
            let up = ts
                .iter()
                .filter(|t| t.state == TaskState::Running)
                .filter_map(|t| started_at(t))
                .map(|s| now - (s * 1000.0) as i64)
                .max();
            if let Some(up) = up {
                d.on_task_uptime(&policy, up);
            }
        }

        let mut kills: Vec<(String, Option<f64>)> = Vec::new();
        let mut launches: Vec<(AppDefinition, u32)> = Vec::new();
        let mut in_deployment: HashSet<PathId> = HashSet::new();

        // 2. deployments
        let mut advanced = Vec::new();
        let mut finished = Vec::new();
        for d in st.deployments.iter_mut() {
            in_deployment.extend(d.plan.affected_app_ids());
            let Some(step) = d.plan.steps.get(d.step) else {
                finished.push(d.plan.id.clone());
                continue;
            };
            let mut done = true;
            for a in &step.actions {
                let app = d.plan.target_apps.get(&a.app);
                let cfg = app.map(config_version);
                let (mut current, mut outdated) = (Vec::new(), Vec::new());
                for t in live.get(&a.app).into_iter().flatten() {
                    let Some(v) = view(t) else { continue };
                    if cfg.is_some() && t.launch.labels.get(CONFIG_LABEL) == cfg.as_ref() {
                        current.push(v);
                    } else {
                        outdated.push(v);
                    }
                }
                let dec = drive_action(&ActionInput {
                    action: a,
                    app,
                    current: &current,
                    outdated: &outdated,
                });
                let grace = app
                    .and_then(|a| a.task_kill_grace_period_seconds)
                    .map(|s| s as f64);
                kills.extend(dec.kill.into_iter().map(|k| (k, grace)));
                if let (Some(app), true) = (app, dec.launch > 0) {
                    launches.push((app.clone(), dec.launch));
                }
                done &= dec.done;
            }
            if done {
                d.step += 1;
                if d.step >= d.plan.steps.len() {
                    finished.push(d.plan.id.clone());
                } else {
                    advanced.push(d.plan.id.clone());
                }
            }
        }
        if !advanced.is_empty() || !finished.is_empty() {
            let put: Vec<_> = st
                .deployments
                .iter()
                .filter(|d| advanced.contains(&d.plan.id))
                .collect();
            let change = Change {
                put_deployments: put,
                delete_deployments: finished.clone(),
                ..Change::default()
            };
            if let Err(e) = self.store().commit(&change) {
                tracing::error!("marathon: saving deployment progress: {e}");
            } else {
                for id in &finished {
                    tracing::info!(deployment = %id, "deployment_success");
                }
                let ts = now_ts();
                for d in st.deployments.iter().filter(|_| self.has_listeners()) {
                    let pj = d.plan.to_event_json(&st.root, &st.root);
                    if finished.contains(&d.plan.id) {
                        self.emit(events::deployment_step_event(
                            &ts, &pj, &d.plan, d.step, true,
                        ));
                        self.emit(events::deployment_success(&ts, &pj, &d.plan.id));
                    } else if advanced.contains(&d.plan.id) {
                        self.emit(events::deployment_step_event(
                            &ts, &pj, &d.plan, d.step, true,
                        ));
                        self.emit(events::deployment_info(&ts, &pj, &d.plan, d.step + 1));
                    }
                }
                st.deployments.retain(|d| !finished.contains(&d.plan.id));
                self.wake();
            }
        }

        // 3. keep apps alive
        for (id, app) in st.root.transitive_apps() {
            if in_deployment.contains(&id) {
                continue;
            }
            let views: Vec<TaskView> = live
                .get(&id)
                .into_iter()
                .flatten()
                .filter_map(|t| view(t))
                .collect();
            // maxConsecutiveFailures 0 means: report, never kill
            let kills_unhealthy = app
                .health_checks
                .iter()
                .any(|h| h.max_consecutive_failures > 0);
            let mut alive = 0i64;
            let grace = app.task_kill_grace_period_seconds.map(|s| s as f64);
            let mut healthy_views: Vec<&TaskView> = Vec::new();
            for v in &views {
                if v.phase == TaskPhase::Unreachable {
                    // unreachableStrategy: counts while inactiveAfterSeconds runs, is replaced
                    // after it, and killed (expunged) after expungeAfterSeconds
                    let since = live
                        .get(&id)
                        .into_iter()
                        .flatten()
                        .find(|t| t.id == v.id)
                        .and_then(|t| {
                            t.statuses
                                .iter()
                                .rev()
                                .find(|s| s.state == TaskState::Unreachable)
                                .map(|s| s.timestamp)
                        })
                        .map(|s| (s * 1000.0) as i64)
                        .unwrap_or(now);
                    let gone_for = (now - since) / 1000;
                    match app.unreachable_strategy {
                        UnreachableStrategy::Disabled => alive += 1,
                        UnreachableStrategy::Enabled {
                            inactive_after_seconds,
                            expunge_after_seconds,
                        } => {
                            if gone_for < inactive_after_seconds {
                                alive += 1;
                            }
                            if gone_for >= expunge_after_seconds.max(inactive_after_seconds) {
                                kills.push((v.id.clone(), grace));
                            }
                        }
                    }
                    continue;
                }
                if kills_unhealthy && v.phase == TaskPhase::Running && v.healthy == Some(false) {
                    tracing::info!(task = %v.id, app = %id, "unhealthy_instance_kill_event");
                    if let Some(t) = live.get(&id).into_iter().flatten().find(|t| t.id == v.id) {
                        let version = t
                            .launch
                            .labels
                            .get(VERSION_LABEL)
                            .cloned()
                            .unwrap_or_default();
                        let host = self
                            .master
                            .core()
                            .agent(&t.agent_id)
                            .map(|a| a.rec.hostname.clone())
                            .unwrap_or_default();
                        self.emit(events::unhealthy_instance_kill(
                            &now_ts(),
                            &id.to_string(),
                            &v.id,
                            &version,
                            "health checks failed",
                            &host,
                            &t.agent_id,
                        ));
                    }
                    kills.push((
                        v.id.clone(),
                        app.task_kill_grace_period_seconds.map(|s| s as f64),
                    ));
                } else {
                    alive += 1;
                    healthy_views.push(v);
                }
            }
            // more tasks than instances (an unreachable one came back): the extras go, by
            // killSelection
            if alive > app.instances && (healthy_views.len() as i64) > app.instances {
                healthy_views.sort_by_key(|v| v.staged_at);
                if app.kill_selection == KillSelection::YoungestFirst {
                    healthy_views.reverse();
                }
                let extra = (healthy_views.len() as i64 - app.instances.max(0)) as usize;
                for v in healthy_views.into_iter().take(extra) {
                    kills.push((v.id.clone(), grace));
                }
            }
            if alive < app.instances {
                launches.push((
                    (*app).clone(),
                    (app.instances - alive).clamp(0, u32::MAX as i64) as u32,
                ));
            }
        }

        // tasks of apps that no longer exist (and no deployment stops) are killed
        for (id, ts) in &live {
            if st.root.find_app(id).is_none() && !in_deployment.contains(id) {
                for t in ts.iter().filter(|t| !t.kill_requested) {
                    kills.push((t.id.clone(), None));
                }
            }
        }

        // 4. act, without holding the scheduler's lock (API reads go on meanwhile)
        let since: BTreeMap<PathId, String> = st
            .queue
            .iter()
            .map(|(k, (_, s))| (k.clone(), s.clone()))
            .collect();
        let launches: Vec<(AppDefinition, u32, bool)> = launches
            .into_iter()
            .map(|(app, n)| {
                let delayed = st.delays.get(&app.id).is_some_and(|d| !d.may_launch(now));
                (app, n, delayed)
            })
            .collect();
        drop(guard);
        for (task, grace) in kills {
            if let Err(e) = self.master.kill(&task, grace) {
                tracing::warn!(task = %task, "marathon: kill: {e}");
            }
        }
        let mut queue = BTreeMap::new();
        for (app, n, delayed) in launches {
            let mut unlaunched = n;
            if !delayed {
                let reqs: Vec<TaskRequest> = (0..n).map(|_| task_request(&app)).collect();
                match self.master.launch_batch(FRAMEWORK_ID, reqs) {
                    Ok(results) => {
                        for r in results {
                            match r {
                                Ok(_) => unlaunched -= 1,
                                Err(e) => {
                                    tracing::debug!(app = %app.id, "marathon: launch not placed: {e}")
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(app = %app.id, "marathon: launch: {e}"),
                }
            }
            if unlaunched > 0 {
                let since = since.get(&app.id).cloned().unwrap_or_else(now_ts);
                queue.insert(app.id.clone(), (unlaunched, since));
            }
        }
        self.state().queue = queue;
    }
}

//! Agent registry: registration and re-registration with reconciliation, heartbeats, and the
//! health clock that turns silent agents UNREACHABLE and their tasks LOST.

use crate::core::{master_status, AgentEntry, AgentStatus, Changes, Core, CoreError, Effect};
use crate::frameworks::FrameworkEvent;
use crate::model::{wall_now, AgentRecord};
use dcos_schemas::agent::{RegisterRequest, RegisterResponse};
use dcos_schemas::task::TaskState;
use std::time::Instant;

pub const REASON_AGENT_REMOVED: &str = "REASON_SLAVE_REMOVED";
pub const REASON_RECONCILIATION: &str = "REASON_RECONCILIATION";

/// An id is 1..=200 characters of letters, digits, `.`, `_`, `-`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn validate(req: &RegisterRequest) -> Result<(), CoreError> {
    let bad = |m: String| Err(CoreError::Invalid(m));
    if let Some(id) = &req.agent_id {
        if !valid_id(id) {
            return bad(format!(
                "agent_id '{id}' is invalid: use 1-200 letters, digits, '.', '_' or '-'"
            ));
        }
    }
    if req.hostname.trim().is_empty() || req.hostname.len() > 255 {
        return bad("hostname must be 1-255 characters".into());
    }
    match reqwest::Url::parse(&req.endpoint) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => {
            return bad(format!(
                "endpoint '{}' is not an http(s) URL like http://10.0.0.2:5051",
                req.endpoint
            ))
        }
    }
    let r = &req.resources;
    for (name, v) in [
        ("cpus", r.cpus),
        ("mem", r.mem),
        ("disk", r.disk),
        ("gpus", r.gpus),
    ] {
        if !v.is_finite() || !(0.0..=1.0e9).contains(&v) {
            return bad(format!(
                "resources.{name} must be a number between 0 and 1e9, got {v}"
            ));
        }
    }
    for p in &r.ports {
        if p.begin == 0 || p.begin > p.end {
            return bad(format!(
                "port range {}-{} is invalid: need 1 <= begin <= end",
                p.begin, p.end
            ));
        }
    }
    if req.tasks.len() > 100_000 {
        return bad("too many tasks in the registration".into());
    }
    Ok(())
}

impl Core {
    /// Registers or re-registers an agent and reconciles the tasks it reports.
    pub fn register(
        &mut self,
        req: RegisterRequest,
        now: Instant,
    ) -> Result<(RegisterResponse, Vec<Effect>), CoreError> {
        validate(&req)?;
        let wall = wall_now();
        let id = req
            .agent_id
            .clone()
            .unwrap_or_else(|| format!("{}-S{}", crate::core::new_uuid(), self.agents.len()));
        let previous = self.agents.get(&id).map(|e| e.rec.clone());
        let rec = AgentRecord {
            id: id.clone(),
            hostname: req.hostname.clone(),
            endpoint: req.endpoint.trim_end_matches('/').to_string(),
            resources: req.resources.clone(),
            attributes: req.attributes.clone(),
            version: req.version.clone(),
            registered_time: previous.as_ref().map(|p| p.registered_time).unwrap_or(wall),
            reregistered_time: previous.as_ref().map(|_| wall),
            unreachable_since: None,
        };
        let mut ch = Changes::default();
        ch.agents.push(rec.clone());
        let mut kill_tasks = Vec::new();
        let mut launches = Vec::new();
        let mut reported = std::collections::HashSet::new();
        for at in &req.tasks {
            reported.insert(at.task_id.clone());
            let wanted = self
                .tasks
                .get(&at.task_id)
                .filter(|t| t.agent_id == id && !t.state.is_terminal() && !t.kill_requested);
            match wanted {
                Some(t) if t.state == TaskState::Unreachable && !at.state.is_terminal() => {
                    if let Some(c) = ch.task(&self.tasks, &at.task_id) {
                        c.push_status(master_status(
                            at.state,
                            Some(REASON_RECONCILIATION),
                            Some(format!("agent {id} re-registered with the task")),
                        ));
                    }
                }
                Some(_) => {}
                None if !at.state.is_terminal() => kill_tasks.push(at.task_id.clone()),
                None => {}
            }
        }
        // Tasks the master placed on this agent that the agent does not report.
        let mine: Vec<String> = self
            .tasks
            .values()
            .filter(|t| t.agent_id == id && !t.state.is_terminal() && !reported.contains(&t.id))
            .map(|t| t.id.clone())
            .collect();
        for tid in mine {
            let Some(c) = ch.task(&self.tasks, &tid) else {
                continue;
            };
            if c.rec.kill_requested {
                c.push_status(master_status(
                    TaskState::Killed,
                    Some(REASON_RECONCILIATION),
                    Some("killed before the agent started it".into()),
                ));
            } else if c.rec.state == TaskState::Staging {
                launches.push(c.rec.launch.clone());
            } else {
                c.push_status(master_status(
                    TaskState::Lost,
                    Some(REASON_RECONCILIATION),
                    Some(format!("agent {id} re-registered without this task")),
                ));
            }
        }
        let mut effects = self.commit(ch)?;
        self.placer.upsert_agent(&rec, true);
        self.agents.insert(
            id.clone(),
            AgentEntry {
                rec: rec.clone(),
                last_seen: now,
                status: AgentStatus::Active,
            },
        );
        for spec in launches {
            effects.push(Effect::Launch {
                agent_id: id.clone(),
                endpoint: rec.endpoint.clone(),
                spec: Box::new(spec),
            });
        }
        effects.push(Effect::Event(FrameworkEvent::AgentRegistered {
            agent_id: id.clone(),
        }));
        tracing::info!(
            agent = %id, endpoint = %rec.endpoint,
            reregistered = previous.is_some(), kill = kill_tasks.len(),
            "agent registered"
        );
        Ok((
            RegisterResponse {
                agent_id: id,
                heartbeat_interval_ms: self.cfg.heartbeat_interval.as_millis() as u64,
                kill_tasks,
            },
            effects,
        ))
    }

    /// Records a heartbeat. An agent the master does not consider active must register again.
    pub fn heartbeat(&mut self, agent_id: &str, now: Instant) -> Result<(), CoreError> {
        match self.agents.get_mut(agent_id) {
            None => Err(CoreError::UnknownAgent(agent_id.to_string())),
            Some(e) if e.status != AgentStatus::Active => {
                Err(CoreError::NotRegistered(agent_id.to_string()))
            }
            Some(e) => {
                e.last_seen = now;
                Ok(())
            }
        }
    }

    /// Advances the health clock: agents silent for the timeout become unreachable (their
    /// tasks TASK_UNREACHABLE), and unreachable tasks become TASK_LOST after
    /// `unreachable_to_lost`.
    pub fn tick(&mut self, now: Instant) -> Result<Vec<Effect>, CoreError> {
        let wall = wall_now();
        let mut ch = Changes::default();
        let mut newly = Vec::new();
        for e in self.agents.values() {
            let silent = now.saturating_duration_since(e.last_seen);
            if e.status != AgentStatus::Unreachable && silent > self.cfg.agent_timeout {
                let mut rec = e.rec.clone();
                rec.unreachable_since = Some(wall);
                ch.agents.push(rec);
                newly.push(e.rec.id.clone());
            }
        }
        let lost_after = self.cfg.unreachable_to_lost.as_secs_f64();
        let lost_agents: Vec<String> = self
            .agents
            .values()
            .filter(|e| e.status == AgentStatus::Unreachable)
            .filter(|e| {
                e.rec
                    .unreachable_since
                    .is_some_and(|t| wall - t >= lost_after)
            })
            .map(|e| e.rec.id.clone())
            .collect();
        if newly.is_empty() && lost_agents.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<(String, String)> = self
            .tasks
            .values()
            .filter(|t| !t.state.is_terminal())
            .map(|t| (t.id.clone(), t.agent_id.clone()))
            .collect();
        for (tid, aid) in ids {
            if newly.contains(&aid) {
                if self
                    .tasks
                    .get(&tid)
                    .is_some_and(|t| t.state == TaskState::Unreachable)
                {
                    continue;
                }
                if let Some(c) = ch.task(&self.tasks, &tid) {
                    c.push_status(master_status(
                        TaskState::Unreachable,
                        Some(REASON_AGENT_REMOVED),
                        Some(format!("agent {aid} missed its heartbeats")),
                    ));
                }
            } else if lost_agents.contains(&aid) {
                if let Some(c) = ch.task(&self.tasks, &tid) {
                    c.push_status(master_status(
                        TaskState::Lost,
                        Some(REASON_AGENT_REMOVED),
                        Some(format!(
                            "agent {aid} unreachable for more than {lost_after} s"
                        )),
                    ));
                }
            }
        }
        if ch.agents.is_empty() && ch.tasks.is_empty() {
            return Ok(Vec::new());
        }
        let mut effects = self.commit(ch)?;
        for aid in newly {
            if let Some(e) = self.agents.get_mut(&aid) {
                e.status = AgentStatus::Unreachable;
            }
            self.placer.set_active(&aid, false);
            tracing::warn!(agent = %aid, "agent unreachable: missed heartbeats");
            effects.push(Effect::Event(FrameworkEvent::AgentUnreachable {
                agent_id: aid,
            }));
        }
        Ok(effects)
    }
}

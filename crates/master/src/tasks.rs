//! Task lifecycle: launch (placement, STAGING, the launch message), kill, and the status
//! updates agents send (recorded, deduplicated by uuid, applied in order, then acknowledged).

use crate::core::{master_status, AgentStatus, Changes, Core, CoreError, Effect};
use crate::frameworks::TaskRequest;
use crate::model::{wall_now, TaskRecord, TaskStatus};
use crate::placement::PlacementRequest;
use crate::registry::valid_id;
use dcos_schemas::agent::{LaunchTask, StatusAck, StatusBatch, TaskResources};
use dcos_schemas::task::TaskState;
use std::collections::HashSet;

pub const MAX_PORTS: u32 = 100;

fn validate(req: &TaskRequest) -> Result<(), CoreError> {
    let bad = |m: String| Err(CoreError::Invalid(m));
    if let Some(id) = &req.id {
        if !valid_id(id) {
            return bad(format!(
                "task id '{id}' is invalid: use 1-200 letters, digits, '.', '_' or '-'"
            ));
        }
    }
    if req.name.len() > 200 {
        return bad("name must be at most 200 characters".into());
    }
    if !req.cpus.is_finite() || req.cpus <= 0.0 || req.cpus > 1.0e6 {
        return bad(format!("cpus must be a number > 0, got {}", req.cpus));
    }
    for (n, v) in [("mem", req.mem), ("disk", req.disk), ("gpus", req.gpus)] {
        if !v.is_finite() || !(0.0..=1.0e9).contains(&v) {
            return bad(format!("{n} must be a number >= 0, got {v}"));
        }
    }
    if req.ports > MAX_PORTS {
        return bad(format!(
            "ports must be at most {MAX_PORTS}, got {}",
            req.ports
        ));
    }
    let c = &req.command;
    if c.shell && c.value.as_deref().is_none_or(|v| v.trim().is_empty()) {
        return bad("cmd must not be empty".into());
    }
    if !c.shell && c.arguments.is_empty() {
        return bad("args must not be empty when the command is not run through a shell".into());
    }
    if let Some(g) = req.kill_grace_period_secs {
        if !g.is_finite() || !(0.0..=3600.0).contains(&g) {
            return bad(format!("kill grace period must be 0-3600 s, got {g}"));
        }
    }
    Ok(())
}

impl Core {
    /// Places a task, records it as TASK_STAGING and returns the launch to send.
    pub fn launch(
        &mut self,
        framework_id: &str,
        req: TaskRequest,
    ) -> Result<(TaskRecord, Vec<Effect>), CoreError> {
        let mut results = self.launch_batch(framework_id, vec![req])?;
        match results.pop() {
            Some((Ok(rec), effects)) => Ok((rec, effects)),
            Some((Err(e), _)) => Err(e),
            None => Err(CoreError::Invalid("no task in the request".into())),
        }
    }

    /// Launches several tasks with one store commit (a scheduler scaling an app). Each request
    /// succeeds or fails on its own; a store failure fails the whole call and books nothing.
    #[allow(clippy::type_complexity)]
    pub fn launch_batch(
        &mut self,
        framework_id: &str,
        reqs: Vec<TaskRequest>,
    ) -> Result<Vec<(Result<TaskRecord, CoreError>, Vec<Effect>)>, CoreError> {
        if !self.frameworks.contains_key(framework_id) {
            return Err(CoreError::UnknownFramework(framework_id.to_string()));
        }
        let mut ch = Changes::default();
        let mut prepared: Vec<Result<(String, Effect), CoreError>> = Vec::new();
        let mut batch_ids = HashSet::new();
        for req in reqs {
            if let Some(id) = &req.id {
                if !batch_ids.insert(id.clone()) {
                    prepared.push(Err(CoreError::Conflict(format!(
                        "task id '{id}' appears twice in the request"
                    ))));
                    continue;
                }
            }
            match self.prepare_launch(framework_id, req) {
                Ok((rec, status, effect)) => {
                    let id = rec.id.clone();
                    ch.new_task(rec, status);
                    prepared.push(Ok((id, effect)));
                }
                Err(e) => prepared.push(Err(e)),
            }
        }
        let placed: Vec<String> = prepared
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|(id, _)| id.clone()))
            .collect();
        let events = match self.commit(ch) {
            Ok(e) => e,
            Err(e) => {
                for id in &placed {
                    self.placer.release(id);
                }
                return Err(e);
            }
        };
        let mut events_by_task: std::collections::HashMap<String, Vec<Effect>> = Default::default();
        for ev in events {
            if let Effect::Event(crate::frameworks::FrameworkEvent::Update { task_id, .. }) = &ev {
                events_by_task.entry(task_id.clone()).or_default().push(ev);
            }
        }
        let mut out = Vec::new();
        for p in prepared {
            match p {
                Ok((id, launch)) => {
                    let mut effects = vec![launch];
                    effects.extend(events_by_task.remove(&id).unwrap_or_default());
                    match self.tasks.get(&id).cloned() {
                        Some(rec) => out.push((Ok(rec), effects)),
                        None => out.push((Err(CoreError::UnknownTask(id)), Vec::new())),
                    }
                }
                Err(e) => out.push((Err(e), Vec::new())),
            }
        }
        Ok(out)
    }

    /// Validates and places one task (booking its resources) without committing it.
    fn prepare_launch(
        &mut self,
        framework_id: &str,
        req: TaskRequest,
    ) -> Result<(TaskRecord, TaskStatus, Effect), CoreError> {
        if !self.frameworks.contains_key(framework_id) {
            return Err(CoreError::UnknownFramework(framework_id.to_string()));
        }
        validate(&req)?;
        let id = req
            .id
            .clone()
            .unwrap_or_else(|| format!("task.{}", crate::core::new_uuid()));
        if self.tasks.contains_key(&id) {
            return Err(CoreError::Conflict(format!(
                "a task with id '{id}' already exists; pick another id or leave it out"
            )));
        }
        let role = if req.role.is_empty() {
            "*".to_string()
        } else {
            req.role.clone()
        };
        let group = if req.group.is_empty() {
            id.clone()
        } else {
            req.group.clone()
        };
        let placement = self.placer.place(&PlacementRequest {
            task_id: id.clone(),
            framework_id: framework_id.to_string(),
            role: role.clone(),
            group: group.clone(),
            cpus: req.cpus,
            mem: req.mem,
            disk: req.disk,
            gpus: req.gpus,
            port_count: req.ports,
            constraints: req.constraints.clone(),
        })?;
        let Some(agent) = self.agents.get(&placement.agent_id) else {
            self.placer.release(&id);
            return Err(CoreError::UnknownAgent(placement.agent_id));
        };
        let endpoint = agent.rec.endpoint.clone();
        let hostname = agent.rec.hostname.clone();
        let mut command = req.command.clone();
        for (i, p) in placement.ports.iter().enumerate() {
            command.env.insert(format!("PORT{i}"), p.to_string());
        }
        if let Some(p) = placement.ports.first() {
            command.env.insert("PORT".into(), p.to_string());
        }
        let ports_csv: Vec<String> = placement.ports.iter().map(|p| p.to_string()).collect();
        command.env.insert("PORTS".into(), ports_csv.join(","));
        command.env.insert("HOST".into(), hostname);
        command.env.insert("MESOS_TASK_ID".into(), id.clone());
        let resources = TaskResources {
            cpus: req.cpus,
            mem: req.mem,
            disk: req.disk,
            gpus: req.gpus,
            ports: placement.ports.clone(),
        };
        let name = if req.name.is_empty() {
            id.clone()
        } else {
            req.name.clone()
        };
        let spec = LaunchTask {
            task_id: id.clone(),
            framework_id: framework_id.to_string(),
            name: name.clone(),
            command,
            resources: resources.clone(),
            container: req.container.clone(),
            health_checks: req.health_checks.clone(),
            fetch: req.fetch.clone(),
            kill_grace_period_secs: req.kill_grace_period_secs.unwrap_or(3.0),
            labels: req.labels.clone(),
        };
        let now = wall_now();
        let rec = TaskRecord {
            id: id.clone(),
            name,
            framework_id: framework_id.to_string(),
            agent_id: placement.agent_id.clone(),
            role,
            group,
            state: TaskState::Staging,
            resources,
            launch: spec.clone(),
            constraints: req.constraints.clone(),
            kill_requested: false,
            created: now,
            updated: now,
            statuses: Vec::new(),
            allocations: placement.allocations.clone(),
        };
        let effect = Effect::Launch {
            agent_id: placement.agent_id,
            endpoint,
            spec: Box::new(spec),
        };
        Ok((rec, master_status(TaskState::Staging, None, None), effect))
    }

    /// Asks for a task to be killed: recorded first, then the kill is sent when its agent is
    /// reachable (or when it registers again).
    pub fn kill(
        &mut self,
        task_id: &str,
        grace: Option<f64>,
    ) -> Result<(TaskRecord, Vec<Effect>), CoreError> {
        let t = self
            .tasks
            .get(task_id)
            .ok_or_else(|| CoreError::UnknownTask(task_id.to_string()))?;
        if t.state.is_terminal() {
            return Err(CoreError::Conflict(format!(
                "task '{task_id}' is already {}; nothing to kill",
                t.state
            )));
        }
        if let Some(g) = grace {
            if !g.is_finite() || !(0.0..=3600.0).contains(&g) {
                return Err(CoreError::Invalid(format!(
                    "grace period must be 0-3600 s, got {g}"
                )));
            }
        }
        let agent_id = t.agent_id.clone();
        let mut ch = Changes::default();
        if let Some(c) = ch.task(&self.tasks, task_id) {
            c.rec.kill_requested = true;
            c.rec.updated = wall_now();
        }
        let mut effects = self.commit(ch)?;
        if let Some(a) = self
            .agents
            .get(&agent_id)
            .filter(|a| a.status == AgentStatus::Active)
        {
            effects.push(Effect::Kill {
                agent_id: agent_id.clone(),
                endpoint: a.rec.endpoint.clone(),
                task_id: task_id.to_string(),
                grace,
            });
        }
        let rec = self
            .tasks
            .get(task_id)
            .cloned()
            .ok_or_else(|| CoreError::UnknownTask(task_id.to_string()))?;
        Ok((rec, effects))
    }

    /// Records a batch of status updates from an agent and returns the uuids to acknowledge.
    pub fn status_updates(
        &mut self,
        agent_id: &str,
        batch: StatusBatch,
    ) -> Result<(StatusAck, Vec<Effect>), CoreError> {
        let agent = self
            .agents
            .get(agent_id)
            .ok_or_else(|| CoreError::UnknownAgent(agent_id.to_string()))?;
        if agent.status != AgentStatus::Active {
            return Err(CoreError::NotRegistered(agent_id.to_string()));
        }
        let endpoint = agent.rec.endpoint.clone();
        for u in &batch.updates {
            if u.agent_id != agent_id {
                return Err(CoreError::Invalid(format!(
                    "update {} names agent '{}' but was sent by agent '{agent_id}'",
                    u.uuid, u.agent_id
                )));
            }
            if u.uuid.is_empty() || u.uuid.len() > 200 || !u.timestamp.is_finite() {
                return Err(CoreError::Invalid(format!(
                    "update for task '{}' needs a uuid (1-200 characters) and a finite timestamp",
                    u.task_id
                )));
            }
        }
        let mut ch = Changes::default();
        let mut acked = Vec::new();
        let mut seen = HashSet::new();
        let mut kills = Vec::new();
        for u in batch.updates {
            if !seen.insert(u.uuid.clone()) || self.store.is_acked(&u.uuid)? {
                acked.push(u.uuid);
                continue;
            }
            ch.acks.push((u.uuid.clone(), u.task_id.clone()));
            acked.push(u.uuid.clone());
            let owned = self
                .tasks
                .get(&u.task_id)
                .is_some_and(|t| t.agent_id == agent_id);
            if !owned {
                tracing::warn!(agent = %agent_id, task = %u.task_id, "status update for a task the master does not know on this agent");
                if !u.state.is_terminal() {
                    kills.push(u.task_id.clone());
                }
                continue;
            }
            let Some(c) = ch.task(&self.tasks, &u.task_id) else {
                continue;
            };
            if c.rec.state.is_terminal() {
                if !u.state.is_terminal() {
                    kills.push(u.task_id.clone());
                }
                continue;
            }
            c.push_status(TaskStatus {
                uuid: u.uuid,
                state: u.state,
                timestamp: u.timestamp,
                message: u.message,
                reason: u.reason,
                healthy: u.healthy,
                source: "SOURCE_EXECUTOR".into(),
            });
        }
        let mut effects = self.commit(ch)?;
        kills.sort();
        kills.dedup();
        for task_id in kills {
            effects.push(Effect::Kill {
                agent_id: agent_id.to_string(),
                endpoint: endpoint.clone(),
                task_id,
                grace: None,
            });
        }
        Ok((StatusAck { acked }, effects))
    }

    /// A kill the agent could not act on because it never got the launch: a task still in
    /// STAGING with a kill requested ends as TASK_KILLED (should the launch arrive later, the
    /// agent's RUNNING update for a terminal task makes the master kill it).
    pub fn killed_before_launch(&mut self, task_id: &str) -> Result<Vec<Effect>, CoreError> {
        let mut ch = Changes::default();
        match ch.task(&self.tasks, task_id) {
            Some(c) if c.rec.state == TaskState::Staging && c.rec.kill_requested => {
                c.push_status(master_status(
                    TaskState::Killed,
                    None,
                    Some("killed before it was launched".into()),
                ))
            }
            _ => return Ok(Vec::new()),
        }
        self.commit(ch)
    }

    /// The agent refused a launch: the task fails with the agent's message.
    pub fn launch_refused(
        &mut self,
        task_id: &str,
        message: String,
    ) -> Result<Vec<Effect>, CoreError> {
        let mut ch = Changes::default();
        match ch.task(&self.tasks, task_id) {
            Some(c) if c.rec.state == TaskState::Staging => c.push_status(master_status(
                TaskState::Error,
                Some("REASON_TASK_INVALID"),
                Some(message),
            )),
            _ => return Ok(Vec::new()),
        }
        self.commit(ch)
    }
}

//! Placement adapter: keeps the allocation core's [`ClusterView`] (crate `dcos-alloc`) in step
//! with the master's agents and tasks, and asks it where a new task goes.
//!
//! This is the only module that talks to the allocation core; the registry and the task
//! lifecycle only see [`Placer::place`], [`Placer::record`], [`Placer::release`] and
//! [`Placer::upsert_agent`].

use crate::model::{AgentRecord, TaskRecord};
use dcos_alloc::{
    place, ClusterView, Constraint, Decision, RoleResources, RunningTask, UnplacedReason,
};
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum PlacementError {
    #[error("no agent is registered and reachable; start an agent (`dcosd agent --master URL`)")]
    NoAgents,
    #[error("no agent can take it now: {0}")]
    Insufficient(String),
    #[error("constraint {0:?}: {1}")]
    BadConstraint(Vec<String>, String),
    #[error("{0}")]
    Invalid(String),
}

/// What a new task needs.
#[derive(Debug, Clone)]
pub struct PlacementRequest {
    pub task_id: String,
    pub framework_id: String,
    pub role: String,
    pub group: String,
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: f64,
    /// How many host ports to assign from the agent's ranges.
    pub port_count: u32,
    /// Marathon-style constraints `[field, OPERATOR, value?]`.
    pub constraints: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub agent_id: String,
    pub ports: Vec<u16>,
    /// Which pool paid: `"*"` (unreserved) or a role's reservation.
    pub allocations: Vec<RoleResources>,
}

/// The allocator's picture of the cluster.
pub struct Placer {
    view: ClusterView,
}

impl Default for Placer {
    fn default() -> Self {
        Placer {
            view: ClusterView::new(rand::random()),
        }
    }
}

fn res(cpus: f64, mem: f64, disk: f64, gpus: f64) -> dcos_alloc::Resources {
    dcos_alloc::Resources::new(cpus, mem, disk, gpus)
}

/// The resources a task holds, by pool (recorded tasks without allocations paid unreserved).
pub fn allocations_of(t: &TaskRecord) -> Vec<RoleResources> {
    if !t.allocations.is_empty() {
        return t.allocations.clone();
    }
    let r = &t.resources;
    vec![RoleResources {
        role: dcos_alloc::UNRESERVED.to_string(),
        resources: res(r.cpus, r.mem, r.disk, r.gpus),
    }]
}

impl Placer {
    /// Adds or updates an agent.
    pub fn upsert_agent(&mut self, a: &AgentRecord, active: bool) {
        let agent = dcos_alloc::Agent {
            id: a.id.clone(),
            hostname: a.hostname.clone(),
            resources: res(
                a.resources.cpus,
                a.resources.mem,
                a.resources.disk,
                a.resources.gpus,
            ),
            ports: a.resources.ports.iter().map(|p| (p.begin, p.end)).collect(),
            attributes: a.attributes.clone(),
            reservations: Default::default(),
            active,
        };
        if let Err(e) = self.view.upsert_agent(&agent) {
            tracing::warn!(agent = %a.id, "allocator refused the agent: {e}");
        }
    }

    pub fn set_active(&mut self, agent_id: &str, active: bool) {
        let _ = self.view.set_agent_active(agent_id, active);
    }

    /// Records a task holding resources (a recovered or re-reported task).
    pub fn record(&mut self, t: &TaskRecord) {
        if self.view.task(&t.id).is_some() {
            return;
        }
        let rt = RunningTask {
            task_id: t.id.clone(),
            group: t.group.clone(),
            role: t.role.clone(),
            framework_id: t.framework_id.clone(),
            agent_id: t.agent_id.clone(),
            ports: t.resources.ports.clone(),
            allocations: allocations_of(t),
        };
        if let Err(e) = self.view.record_running(&rt) {
            tracing::warn!(task = %t.id, "allocator could not record the task: {e}");
        }
    }

    /// Gives a finished task's resources back.
    pub fn release(&mut self, task_id: &str) {
        let _ = self.view.release(task_id);
    }

    /// Places one task; on success the allocator has booked its resources and ports.
    pub fn place(&mut self, req: &PlacementRequest) -> Result<Placement, PlacementError> {
        let mut constraints = Vec::new();
        for c in &req.constraints {
            let parsed = Constraint::from_marathon(c)
                .map_err(|e| PlacementError::BadConstraint(c.clone(), e.to_string()))?;
            if let Err(e) = dcos_alloc::validate_constraint(&parsed) {
                return Err(PlacementError::BadConstraint(c.clone(), e.to_string()));
            }
            constraints.push(parsed);
        }
        let request = dcos_alloc::TaskRequest {
            task_id: req.task_id.clone(),
            group: req.group.clone(),
            role: req.role.clone(),
            framework_id: req.framework_id.clone(),
            resources: res(req.cpus, req.mem, req.disk, req.gpus),
            ports: vec![0; req.port_count as usize],
            constraints,
            accepted_resource_roles: Vec::new(),
        };
        let decision = place(&mut self.view, std::slice::from_ref(&request))
            .into_iter()
            .next();
        match decision {
            Some(Decision::Placed(p)) => Ok(Placement {
                agent_id: p.agent_id,
                ports: p.ports,
                allocations: p.allocations,
            }),
            Some(Decision::Unplaced(u)) => Err(match u.reason {
                UnplacedReason::Invalid { message } => PlacementError::Invalid(message),
                UnplacedReason::NoAgents { .. } => PlacementError::NoAgents,
                other => PlacementError::Insufficient(other.message().to_string()),
            }),
            None => Err(PlacementError::Insufficient(
                "the allocator gave no decision".into(),
            )),
        }
    }

    /// Resources in use on an agent (cpus, mem, disk, gpus).
    pub fn used_on(&self, agent_id: &str) -> [f64; 4] {
        match self.view.agent_summary(agent_id) {
            Some(s) => [s.used.cpus, s.used.mem, s.used.disk, s.used.gpus],
            None => [0.0; 4],
        }
    }
}

//! Placement adapter: keeps the allocator's view of agents and tasks in step with the master's
//! state and picks an agent (and host ports) for a new task.
//!
//! The decision itself belongs to the pure allocation core (`dcos-alloc`); this module is the
//! only place the master talks to it, so the registry and the task lifecycle only see
//! [`Placer::place`], [`Placer::record`] and [`Placer::release`].

use crate::model::{AgentRecord, TaskRecord};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum PlacementError {
    #[error("no agent is registered and reachable; start an agent (`dcosd agent --master URL`)")]
    NoAgents,
    #[error("no agent has {0} free; lower the task's resources or add agents")]
    Insufficient(String),
    #[error("constraint {0:?}: {1}")]
    BadConstraint(Vec<String>, String),
    #[error("task id '{0}' is already placed")]
    Duplicate(String),
}

/// What a new task needs.
#[derive(Debug, Clone)]
pub struct PlacementRequest {
    pub task_id: String,
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
}

#[derive(Debug, Clone)]
struct PAgent {
    hostname: String,
    attributes: BTreeMap<String, String>,
    active: bool,
    free: [f64; 4],
    free_ports: BTreeSet<u16>,
    tasks: u32,
}

#[derive(Debug, Clone)]
struct PTask {
    agent_id: String,
    group: String,
    used: [f64; 4],
    ports: Vec<u16>,
}

/// The allocator's picture of the cluster.
#[derive(Debug, Default)]
pub struct Placer {
    agents: BTreeMap<String, PAgent>,
    tasks: HashMap<String, PTask>,
}

const EPS: f64 = 1e-9;

fn used_of(t: &TaskRecord) -> [f64; 4] {
    [t.resources.cpus, t.resources.mem, t.resources.disk, t.resources.gpus]
}

impl Placer {
    /// Adds or updates an agent (its free resources are recomputed from the tasks on it).
    pub fn upsert_agent(&mut self, a: &AgentRecord, active: bool) {
        let mut ports = BTreeSet::new();
        for r in &a.resources.ports {
            if r.begin <= r.end {
                ports.extend(r.begin..=r.end);
            }
        }
        let mut pa = PAgent {
            hostname: a.hostname.clone(),
            attributes: a.attributes.clone(),
            active,
            free: [a.resources.cpus, a.resources.mem, a.resources.disk, a.resources.gpus],
            free_ports: ports,
            tasks: 0,
        };
        for t in self.tasks.values().filter(|t| t.agent_id == a.id) {
            for i in 0..4 {
                pa.free[i] -= t.used[i];
            }
            for p in &t.ports {
                pa.free_ports.remove(p);
            }
            pa.tasks += 1;
        }
        self.agents.insert(a.id.clone(), pa);
    }

    pub fn set_active(&mut self, agent_id: &str, active: bool) {
        if let Some(a) = self.agents.get_mut(agent_id) {
            a.active = active;
        }
    }

    /// Records a task holding resources (a recovered or just placed task).
    pub fn record(&mut self, t: &TaskRecord) {
        if self.tasks.contains_key(&t.id) {
            return;
        }
        let used = used_of(t);
        if let Some(a) = self.agents.get_mut(&t.agent_id) {
            for (f, u) in a.free.iter_mut().zip(used) {
                *f -= u;
            }
            for p in &t.resources.ports {
                a.free_ports.remove(p);
            }
            a.tasks += 1;
        }
        self.tasks.insert(
            t.id.clone(),
            PTask {
                agent_id: t.agent_id.clone(),
                group: t.group.clone(),
                used,
                ports: t.resources.ports.clone(),
            },
        );
    }

    /// Gives a finished task's resources back.
    pub fn release(&mut self, task_id: &str) {
        let Some(t) = self.tasks.remove(task_id) else {
            return;
        };
        if let Some(a) = self.agents.get_mut(&t.agent_id) {
            for (f, u) in a.free.iter_mut().zip(t.used) {
                *f += u;
            }
            a.free_ports.extend(t.ports.iter().copied());
            a.tasks = a.tasks.saturating_sub(1);
        }
    }

    fn field_value<'a>(a: &'a PAgent, field: &str) -> Option<&'a str> {
        if field == "hostname" {
            Some(a.hostname.as_str())
        } else {
            a.attributes.get(field).map(|s| s.as_str())
        }
    }

    fn group_values<'a>(&'a self, group: &str, field: &str) -> Vec<&'a str> {
        self.tasks
            .values()
            .filter(|t| t.group == group)
            .filter_map(|t| self.agents.get(&t.agent_id))
            .filter_map(|a| Self::field_value(a, field))
            .collect()
    }

    fn constraint_ok(&self, a: &PAgent, group: &str, c: &[String]) -> Result<bool, PlacementError> {
        let bad = |m: &str| PlacementError::BadConstraint(c.to_vec(), m.to_string());
        let (field, op) = match c {
            [f, o, ..] => (f.as_str(), o.as_str()),
            _ => return Err(bad("needs [field, OPERATOR, value]")),
        };
        let value = c.get(2).map(|s| s.as_str());
        let v = Self::field_value(a, field);
        let full = |pat: &str| -> Result<regex::Regex, PlacementError> {
            regex::Regex::new(&format!("^(?:{pat})$")).map_err(|e| bad(&format!("bad regex: {e}")))
        };
        Ok(match op {
            "UNIQUE" => match v {
                None => false,
                Some(v) => !self.group_values(group, field).contains(&v),
            },
            "CLUSTER" | "IS" => match (v, value) {
                (Some(v), Some(want)) => v == want,
                (_, None) => return Err(bad("needs a value")),
                (None, _) => false,
            },
            "LIKE" => match (v, value) {
                (Some(v), Some(p)) => full(p)?.is_match(v),
                (_, None) => return Err(bad("needs a regex value")),
                (None, _) => false,
            },
            "UNLIKE" => match (v, value) {
                (Some(v), Some(p)) => !full(p)?.is_match(v),
                (_, None) => return Err(bad("needs a regex value")),
                (None, _) => true,
            },
            "MAX_PER" => {
                let max: usize = value
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad("needs a number"))?;
                match v {
                    None => false,
                    Some(v) => self.group_values(group, field).iter().filter(|x| **x == v).count() < max,
                }
            }
            "GROUP_BY" => v.is_some(),
            _ => return Err(bad("unknown operator; use UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, IS or MAX_PER")),
        })
    }

    /// Picks an agent: enough free resources and ports, all constraints met, fewest tasks of
    /// the same group then most free cpus (spread by default). Records the task on success.
    pub fn place(&mut self, req: &PlacementRequest) -> Result<Placement, PlacementError> {
        if self.tasks.contains_key(&req.task_id) {
            return Err(PlacementError::Duplicate(req.task_id.clone()));
        }
        if !self.agents.values().any(|a| a.active) {
            return Err(PlacementError::NoAgents);
        }
        let need = [req.cpus, req.mem, req.disk, req.gpus];
        let names = ["cpus", "mem", "disk", "gpus"];
        let mut best: Option<(&String, (usize, i64))> = None;
        let mut short = None;
        for (id, a) in self.agents.iter().filter(|(_, a)| a.active) {
            if let Some(i) = (0..4).find(|&i| a.free[i] + EPS < need[i]) {
                short = Some(format!("{} {}", need[i], names[i]));
                continue;
            }
            if (a.free_ports.len() as u64) < req.port_count as u64 {
                short = Some(format!("{} ports", req.port_count));
                continue;
            }
            let mut ok = true;
            for c in &req.constraints {
                if !self.constraint_ok(a, &req.group, c)? {
                    ok = false;
                    break;
                }
            }
            if !ok {
                short = Some("an attribute matching the constraints".to_string());
                continue;
            }
            let same_group = self
                .tasks
                .values()
                .filter(|t| t.agent_id == *id && t.group == req.group)
                .count();
            let key = (same_group, -((a.free[0] * 1000.0) as i64) + a.tasks as i64);
            if best.as_ref().is_none_or(|(_, k)| key < *k) {
                best = Some((id, key));
            }
        }
        let Some((agent_id, _)) = best else {
            return Err(PlacementError::Insufficient(short.unwrap_or_default()));
        };
        let agent_id = agent_id.clone();
        let ports: Vec<u16> = self
            .agents
            .get(&agent_id)
            .map(|a| a.free_ports.iter().take(req.port_count as usize).copied().collect())
            .unwrap_or_default();
        let used = need;
        if let Some(a) = self.agents.get_mut(&agent_id) {
            for (f, u) in a.free.iter_mut().zip(used) {
                *f -= u;
            }
            for p in &ports {
                a.free_ports.remove(p);
            }
            a.tasks += 1;
        }
        self.tasks.insert(
            req.task_id.clone(),
            PTask {
                agent_id: agent_id.clone(),
                group: req.group.clone(),
                used,
                ports: ports.clone(),
            },
        );
        Ok(Placement { agent_id, ports })
    }

    /// Resources used on an agent: (cpus, mem, disk, gpus, ports in use).
    pub fn used_on(&self, agent_id: &str) -> ([f64; 4], Vec<u16>) {
        let mut used = [0.0; 4];
        let mut ports = Vec::new();
        for t in self.tasks.values().filter(|t| t.agent_id == agent_id) {
            for i in 0..4 {
                used[i] += t.used[i];
            }
            ports.extend(t.ports.iter().copied());
        }
        ports.sort_unstable();
        (used, ports)
    }
}

//! The allocator's picture of the cluster: agents (resources, reservations, ports, attributes),
//! the tasks holding resources on them, per-role and per-framework allocations, and the indexes
//! placement needs. Every change is a plain method; nothing here does I/O or reads a clock.

use crate::ports::PortSet;
use crate::resources::{Res, ResourceError, Resources};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use thiserror::Error;

/// The role name of unreserved resources.
pub const UNRESERVED: &str = "*";

/// An agent as the master knows it (registration or re-registration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub hostname: String,
    /// Total resources of the agent (reserved and unreserved).
    pub resources: Resources,
    /// Host port ranges offered by the agent, inclusive, e.g. `[(31000, 32000)]`.
    #[serde(default)]
    pub ports: Vec<(u16, u16)>,
    /// Attributes as text (`rack: "r1"`, `zone: "a"`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Part of `resources` reserved for a role: only that role's tasks may use it.
    #[serde(default)]
    pub reservations: BTreeMap<String, Resources>,
    /// Inactive agents (unreachable, draining) get no new tasks.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Resources taken from one pool: `role == "*"` is unreserved, otherwise reserved for `role`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleResources {
    pub role: String,
    pub resources: Resources,
}

/// A task holding resources on an agent (placed by [`crate::place`] or recovered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningTask {
    pub task_id: String,
    /// Constraint group, normally the app id.
    pub group: String,
    pub role: String,
    pub framework_id: String,
    pub agent_id: String,
    #[serde(default)]
    pub ports: Vec<u16>,
    pub allocations: Vec<RoleResources>,
}

/// What an agent has and has left, for display and for the master's state endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSummary {
    pub id: String,
    pub hostname: String,
    pub active: bool,
    pub resources: Resources,
    /// Resources in use by tasks (reserved and unreserved).
    pub used: Resources,
    /// Unreserved resources still free.
    pub unreserved_available: Resources,
    /// Per reserved role: reserved total and what is still free of it.
    pub reserved: Vec<ReservationSummary>,
    pub free_ports: Vec<(u16, u16)>,
    pub attributes: BTreeMap<String, String>,
    pub tasks: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationSummary {
    pub role: String,
    pub total: Resources,
    pub available: Resources,
}

/// Bad input to a [`ClusterView`] method; the view is left unchanged.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ViewError {
    #[error("agent id must not be empty")]
    EmptyAgentId,
    #[error("agent '{id}': {source}")]
    AgentResources { id: String, source: ResourceError },
    #[error("agent '{id}': port range {begin}-{end} is invalid (need 1 <= begin <= end)")]
    BadPortRange { id: String, begin: u16, end: u16 },
    #[error("agent '{id}': reservations add up to more {resource} than the agent has")]
    ReservationsExceed { id: String, resource: &'static str },
    #[error("agent '{id}': a reservation needs a role name other than \"*\" or empty")]
    BadReservationRole { id: String },
    #[error("unknown agent '{0}'")]
    UnknownAgent(String),
    #[error("unknown task '{0}'")]
    UnknownTask(String),
    #[error("task id must not be empty")]
    EmptyTaskId,
    #[error("task '{0}' is already known; release it first")]
    DuplicateTask(String),
    #[error("task '{id}': {source}")]
    TaskResources { id: String, source: ResourceError },
    #[error("task '{task}': port {port} is not free on agent '{agent}'")]
    PortUnavailable {
        task: String,
        agent: String,
        port: u16,
    },
    #[error("task '{task}': resources reserved for role '{pool}' cannot be used by role '{role}'")]
    WrongReservationRole {
        task: String,
        pool: String,
        role: String,
    },
    #[error("task '{0}': role must not be empty")]
    EmptyRole(String),
    #[error("weight of role '{role}' must be a finite number > 0, got {weight}")]
    BadWeight { role: String, weight: f64 },
}

/// Text interner: string <-> dense id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    pub map: HashMap<String, u32>,
    pub names: Vec<String>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.map.get(s) {
            return *i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.map.insert(s.to_string(), i);
        i
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }
    pub fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map(String::as_str).unwrap_or("")
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// Resources reserved for one role on one agent.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    pub role: u32,
    pub total: Res,
    pub used: Res,
    /// Key under which the agent sits in the role's reservation order (if active).
    pub score: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct AgentState {
    pub id: String,
    pub hostname: String,
    pub active: bool,
    pub total: Res,
    pub unres_total: Res,
    pub unres_used: Res,
    pub pools: Vec<Pool>,
    pub port_ranges: Vec<(u16, u16)>,
    pub free_ports: PortSet,
    /// (field id, value id), sorted by field; the hostname is field 0 and kept in `host_value`.
    pub attrs: Vec<(u32, u32)>,
    pub host_value: u32,
    pub attributes: BTreeMap<String, String>,
    pub rank: u32,
    /// Key under which the agent sits in `order` (if active).
    pub score: u64,
    /// Slab ids of tasks on this agent.
    pub tasks: Vec<u32>,
}

impl AgentState {
    pub fn unres_avail(&self) -> Res {
        self.unres_total.sub_clamped(self.unres_used)
    }
    pub fn pool(&self, role: u32) -> Option<&Pool> {
        self.pools.iter().find(|p| p.role == role)
    }
    pub fn pool_avail(&self, role: u32) -> Res {
        self.pool(role)
            .map(|p| p.total.sub_clamped(p.used))
            .unwrap_or_default()
    }
    pub fn value_of(&self, field: u32) -> Option<u32> {
        if field == 0 {
            return Some(self.host_value);
        }
        self.attrs
            .binary_search_by_key(&field, |(f, _)| *f)
            .ok()
            .map(|i| self.attrs[i].1)
    }
    fn order_key(&self, idx: u32) -> (Reverse<u64>, u32, u32) {
        (Reverse(self.score), self.rank, idx)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TaskRec {
    pub task_id: String,
    pub agent: u32,
    pub pos_in_agent: u32,
    pub group: u32,
    pub role: u32,
    pub framework: u32,
    pub unres: Res,
    pub reserved: Res,
    pub ports: Vec<u16>,
}

/// Per group (app): where its tasks are, counted by agent and by value of each field that a
/// constraint of the group has asked about.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupState {
    pub per_agent: FxHashMap<u32, u32>,
    pub fields: FxHashMap<u32, FieldCounts>,
    pub total: u32,
    /// Bumped on every change, so cached verdicts about the group can be invalidated.
    pub generation: u64,
}

/// A group's task counts by value of one field (`None` = agents without the attribute), with
/// a histogram of the non-zero counts of present values so min/number of groups are O(log n).
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldCounts {
    pub by_value: Vec<u32>,
    pub missing: u32,
    /// Values (present) with a non-zero count.
    pub present: u32,
    /// count -> number of present values with that count (count > 0).
    pub hist: BTreeMap<u32, u32>,
}

impl FieldCounts {
    pub fn get(&self, v: u32) -> u32 {
        self.by_value.get(v as usize).copied().unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.present == 0 && self.missing == 0
    }
    /// Number of groups as Marathon counts them (the missing-attribute group included).
    pub fn groups(&self) -> u32 {
        self.present + u32::from(self.missing > 0)
    }
    /// Smallest non-zero group (missing-attribute group included); 0 if there are none.
    pub fn min_count(&self) -> u32 {
        let present_min = self.hist.keys().next().copied();
        match (present_min, self.missing) {
            (Some(p), 0) => p,
            (Some(p), m) => p.min(m),
            (None, m) => m,
        }
    }
    /// Lowest count any of `known` values can have (0 unless every known value is used).
    pub fn min_over_known(&self, known: usize) -> u32 {
        if (self.present as usize) < known {
            0
        } else {
            self.hist.keys().next().copied().unwrap_or(0)
        }
    }
    pub fn add(&mut self, v: Option<u32>, delta: i32) {
        let Some(v) = v else {
            self.missing = (self.missing as i64 + delta as i64).max(0) as u32;
            return;
        };
        let i = v as usize;
        if self.by_value.len() <= i {
            self.by_value.resize(i + 1, 0);
        }
        let old = self.by_value[i];
        let new = (old as i64 + delta as i64).max(0) as u32;
        if old == new {
            return;
        }
        self.by_value[i] = new;
        if old > 0 {
            if let Some(n) = self.hist.get_mut(&old) {
                *n -= 1;
                if *n == 0 {
                    self.hist.remove(&old);
                }
            }
            self.present -= 1;
        }
        if new > 0 {
            *self.hist.entry(new).or_insert(0) += 1;
            self.present += 1;
        }
    }
}

/// Cached LIKE/UNLIKE verdicts per field value id.
#[derive(Debug, Clone)]
pub(crate) struct LikeEntry {
    pub regex: regex::Regex,
    pub matches: Vec<bool>,
}

/// The allocator's state. Build one with [`ClusterView::new`], feed it agents and recovered
/// tasks, then call [`crate::place`] and [`ClusterView::release`].
#[derive(Debug, Clone)]
pub struct ClusterView {
    pub(crate) seed: u64,
    pub(crate) rng: StdRng,
    pub(crate) agents: Vec<Option<AgentState>>,
    pub(crate) agent_ix: HashMap<String, u32>,
    pub(crate) order: BTreeSet<(Reverse<u64>, u32, u32)>,
    pub(crate) fields: Interner,
    pub(crate) values: Vec<Interner>,
    pub(crate) roles: Interner,
    pub(crate) role_weight: Vec<f64>,
    pub(crate) role_alloc: Vec<Res>,
    pub(crate) role_agents: Vec<BTreeSet<u32>>,
    /// Per role: active agents with a reservation for it, most free reservation first.
    pub(crate) role_order: Vec<BTreeSet<(Reverse<u64>, u32, u32)>>,
    pub(crate) frameworks: Interner,
    pub(crate) fw_alloc: HashMap<(u32, u32), Res>,
    pub(crate) groups: Interner,
    pub(crate) group_state: Vec<GroupState>,
    pub(crate) tasks: Vec<Option<TaskRec>>,
    pub(crate) free_task_slots: Vec<u32>,
    pub(crate) task_ix: HashMap<String, u32>,
    pub(crate) cluster_total: Res,
    pub(crate) like_cache: HashMap<u32, HashMap<String, LikeEntry>>,
}

/// Everything needed to rebuild a view: agents, tasks and role weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewSnapshot {
    pub seed: u64,
    pub agents: Vec<Agent>,
    pub tasks: Vec<RunningTask>,
    pub role_weights: BTreeMap<String, f64>,
}

impl ClusterView {
    /// An empty view. `seed` drives the only randomness: the tie-break rank each agent gets when
    /// it is first added (the same seed and the same calls give the same placements).
    pub fn new(seed: u64) -> ClusterView {
        let mut fields = Interner::default();
        fields.intern("hostname");
        let mut roles = Interner::default();
        roles.intern(UNRESERVED);
        ClusterView {
            seed,
            rng: StdRng::seed_from_u64(seed),
            agents: Vec::new(),
            agent_ix: HashMap::new(),
            order: BTreeSet::new(),
            fields,
            values: vec![Interner::default()],
            roles,
            role_weight: vec![1.0],
            role_alloc: vec![Res::default()],
            role_agents: vec![BTreeSet::new()],
            role_order: vec![BTreeSet::new()],
            frameworks: Interner::default(),
            fw_alloc: HashMap::new(),
            groups: Interner::default(),
            group_state: Vec::new(),
            tasks: Vec::new(),
            free_task_slots: Vec::new(),
            task_ix: HashMap::new(),
            cluster_total: Res::default(),
            like_cache: HashMap::new(),
        }
    }

    pub(crate) fn intern_role(&mut self, role: &str) -> u32 {
        let r = self.roles.intern(role);
        while self.role_weight.len() < self.roles.len() {
            self.role_weight.push(1.0);
            self.role_alloc.push(Res::default());
            self.role_agents.push(BTreeSet::new());
            self.role_order.push(BTreeSet::new());
        }
        r
    }

    pub(crate) fn intern_field(&mut self, name: &str) -> u32 {
        let f = self.fields.intern(name);
        while self.values.len() < self.fields.len() {
            self.values.push(Interner::default());
        }
        f
    }

    pub(crate) fn intern_group(&mut self, name: &str) -> u32 {
        let g = self.groups.intern(name);
        while self.group_state.len() < self.groups.len() {
            self.group_state.push(GroupState::default());
        }
        g
    }

    pub(crate) fn agent(&self, idx: u32) -> Option<&AgentState> {
        self.agents.get(idx as usize).and_then(Option::as_ref)
    }

    /// Adds an agent or updates a known one (re-registration): totals, reservations, ports and
    /// attributes are replaced; tasks already on it keep their resources and ports.
    pub fn upsert_agent(&mut self, agent: &Agent) -> Result<(), ViewError> {
        let id = agent.id.clone();
        if id.is_empty() {
            return Err(ViewError::EmptyAgentId);
        }
        let total =
            Res::from_resources(&agent.resources).map_err(|source| ViewError::AgentResources {
                id: id.clone(),
                source,
            })?;
        for (b, e) in &agent.ports {
            if *b == 0 || b > e {
                return Err(ViewError::BadPortRange {
                    id: id.clone(),
                    begin: *b,
                    end: *e,
                });
            }
        }
        let mut reserved_sum = Res::default();
        let mut reservations = Vec::new();
        for (role, r) in &agent.reservations {
            if role.is_empty() || role == UNRESERVED {
                return Err(ViewError::BadReservationRole { id: id.clone() });
            }
            let r = Res::from_resources(r).map_err(|source| ViewError::AgentResources {
                id: id.clone(),
                source,
            })?;
            reserved_sum = reserved_sum.add(r);
            reservations.push((role.as_str(), r));
        }
        for (name, a, t) in [
            ("cpus", reserved_sum.cpus, total.cpus),
            ("mem", reserved_sum.mem, total.mem),
            ("disk", reserved_sum.disk, total.disk),
            ("gpus", reserved_sum.gpus, total.gpus),
        ] {
            if a > t {
                return Err(ViewError::ReservationsExceed { id, resource: name });
            }
        }

        // Validated: apply.
        let host_field_value = self.values[0].intern(&agent.hostname);
        let mut attrs = Vec::with_capacity(agent.attributes.len());
        for (k, v) in &agent.attributes {
            let f = self.intern_field(k);
            let val = self.values[f as usize].intern(v);
            attrs.push((f, val));
        }
        attrs.sort_unstable();
        let mut pools: Vec<Pool> = Vec::new();
        for (role, r) in &reservations {
            let role = self.intern_role(role);
            pools.push(Pool {
                role,
                total: *r,
                used: Res::default(),
                score: 0,
            });
        }
        let unres_total = total.sub(reserved_sum);

        if let Some(&idx) = self.agent_ix.get(&agent.id) {
            self.unindex_agent(idx);
            let Some(Some(old)) = self.agents.get(idx as usize) else {
                return Err(ViewError::UnknownAgent(agent.id.clone()));
            };
            let attrs_changed = old.attrs != attrs || old.host_value != host_field_value;
            // Keep what tasks use: pools that disappear but are still used stay with total 0.
            for old_pool in &old.pools {
                match pools.iter_mut().find(|p| p.role == old_pool.role) {
                    Some(p) => p.used = old_pool.used,
                    None if !old_pool.used.is_zero() => pools.push(Pool {
                        role: old_pool.role,
                        total: Res::default(),
                        used: old_pool.used,
                        score: 0,
                    }),
                    None => {}
                }
            }
            let mut free_ports = PortSet::from_ranges(&agent.ports);
            for t in &old.tasks {
                if let Some(Some(task)) = self.tasks.get(*t as usize) {
                    for p in &task.ports {
                        free_ports.take(*p);
                    }
                }
            }
            let old_pool_roles: Vec<u32> = old.pools.iter().map(|p| p.role).collect();
            let Some(Some(a)) = self.agents.get_mut(idx as usize) else {
                return Err(ViewError::UnknownAgent(agent.id.clone()));
            };
            a.hostname = agent.hostname.clone();
            a.active = agent.active;
            a.total = total;
            a.unres_total = unres_total;
            a.pools = pools;
            a.port_ranges = agent.ports.clone();
            a.free_ports = free_ports;
            a.attrs = attrs;
            a.host_value = host_field_value;
            a.attributes = agent.attributes.clone();
            let new_pool_roles: Vec<u32> = a.pools.iter().map(|p| p.role).collect();
            for r in old_pool_roles {
                self.role_agents[r as usize].remove(&idx);
            }
            for r in new_pool_roles {
                self.role_agents[r as usize].insert(idx);
            }
            if attrs_changed {
                for g in &mut self.group_state {
                    g.fields.clear();
                    g.generation += 1;
                }
            }
            self.index_agent(idx);
        } else {
            let idx = self.agents.len() as u32;
            let rank = self.rng.gen::<u32>();
            for p in &pools {
                self.role_agents[p.role as usize].insert(idx);
            }
            self.agents.push(Some(AgentState {
                id: agent.id.clone(),
                hostname: agent.hostname.clone(),
                active: agent.active,
                total,
                unres_total,
                unres_used: Res::default(),
                pools,
                port_ranges: agent.ports.clone(),
                free_ports: PortSet::from_ranges(&agent.ports),
                attrs,
                host_value: host_field_value,
                attributes: agent.attributes.clone(),
                rank,
                score: 0,
                tasks: Vec::new(),
            }));
            self.agent_ix.insert(agent.id.clone(), idx);
            self.index_agent(idx);
        }
        Ok(())
    }

    /// Takes an agent out of the placement index and the cluster total.
    fn unindex_agent(&mut self, idx: u32) {
        let Some(Some(a)) = self.agents.get(idx as usize) else {
            return;
        };
        if a.active {
            self.order.remove(&a.order_key(idx));
            for p in &a.pools {
                if let Some(o) = self.role_order.get_mut(p.role as usize) {
                    o.remove(&(Reverse(p.score), a.rank, idx));
                }
            }
            self.cluster_total = self.cluster_total.sub(a.total);
        }
    }

    /// Puts an agent (back) into the placement index with a fresh score, if it is active.
    pub(crate) fn index_agent(&mut self, idx: u32) {
        let Some(Some(a)) = self.agents.get_mut(idx as usize) else {
            return;
        };
        a.score = a.unres_avail().score();
        for p in &mut a.pools {
            p.score = p.total.sub_clamped(p.used).score();
        }
        if a.active {
            let key = a.order_key(idx);
            self.cluster_total = self.cluster_total.add(a.total);
            self.order.insert(key);
            for p in &a.pools {
                if let Some(o) = self.role_order.get_mut(p.role as usize) {
                    o.insert((Reverse(p.score), a.rank, idx));
                }
            }
        }
    }

    /// Re-keys an agent whose free resources changed.
    pub(crate) fn rescore_agent(&mut self, idx: u32) {
        let Some(Some(a)) = self.agents.get_mut(idx as usize) else {
            return;
        };
        let new_score = a.unres_avail().score();
        if new_score != a.score {
            if a.active {
                self.order.remove(&a.order_key(idx));
                a.score = new_score;
                self.order.insert(a.order_key(idx));
            } else {
                a.score = new_score;
            }
        }
        let (rank, active) = (a.rank, a.active);
        for p in &mut a.pools {
            let new_score = p.total.sub_clamped(p.used).score();
            if new_score == p.score {
                continue;
            }
            if active {
                if let Some(o) = self.role_order.get_mut(p.role as usize) {
                    o.remove(&(Reverse(p.score), rank, idx));
                    o.insert((Reverse(new_score), rank, idx));
                }
            }
            p.score = new_score;
        }
    }

    /// Marks an agent active (gets new tasks) or inactive (keeps its tasks, gets no new ones).
    pub fn set_agent_active(&mut self, agent_id: &str, active: bool) -> Result<(), ViewError> {
        let idx = *self
            .agent_ix
            .get(agent_id)
            .ok_or_else(|| ViewError::UnknownAgent(agent_id.to_string()))?;
        self.unindex_agent(idx);
        if let Some(Some(a)) = self.agents.get_mut(idx as usize) {
            a.active = active;
        }
        self.index_agent(idx);
        Ok(())
    }

    /// Forgets an agent and releases every task on it; returns those tasks.
    pub fn remove_agent(&mut self, agent_id: &str) -> Result<Vec<RunningTask>, ViewError> {
        let idx = *self
            .agent_ix
            .get(agent_id)
            .ok_or_else(|| ViewError::UnknownAgent(agent_id.to_string()))?;
        let ids: Vec<String> = self
            .agent(idx)
            .map(|a| {
                a.tasks
                    .iter()
                    .filter_map(|t| self.tasks.get(*t as usize).and_then(Option::as_ref))
                    .map(|t| t.task_id.clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut released = Vec::with_capacity(ids.len());
        for id in ids {
            released.push(self.release(&id)?);
        }
        self.unindex_agent(idx);
        if let Some(a) = self.agents.get_mut(idx as usize).and_then(Option::take) {
            for p in &a.pools {
                self.role_agents[p.role as usize].remove(&idx);
            }
        }
        self.agent_ix.remove(agent_id);
        Ok(released)
    }

    /// Sets a role's DRF weight (default 1).
    pub fn set_role_weight(&mut self, role: &str, weight: f64) -> Result<(), ViewError> {
        if !(weight.is_finite() && weight > 0.0) || role.is_empty() {
            return Err(ViewError::BadWeight {
                role: role.to_string(),
                weight,
            });
        }
        let r = self.intern_role(role);
        self.role_weight[r as usize] = weight;
        Ok(())
    }

    /// Records a task that already holds resources (master recovery, agent re-registration).
    /// Unlike [`crate::place`] this accepts the facts even if the agent ends up over-committed,
    /// but a port must be free.
    pub fn record_running(&mut self, task: &RunningTask) -> Result<(), ViewError> {
        if task.task_id.is_empty() {
            return Err(ViewError::EmptyTaskId);
        }
        if task.role.is_empty() {
            return Err(ViewError::EmptyRole(task.task_id.clone()));
        }
        if self.task_ix.contains_key(&task.task_id) {
            return Err(ViewError::DuplicateTask(task.task_id.clone()));
        }
        let idx = *self
            .agent_ix
            .get(&task.agent_id)
            .ok_or_else(|| ViewError::UnknownAgent(task.agent_id.clone()))?;
        let mut unres = Res::default();
        let mut reserved = Res::default();
        for alloc in &task.allocations {
            let r = Res::from_resources(&alloc.resources).map_err(|source| {
                ViewError::TaskResources {
                    id: task.task_id.clone(),
                    source,
                }
            })?;
            if alloc.role == UNRESERVED {
                unres = unres.add(r);
            } else if alloc.role == task.role {
                reserved = reserved.add(r);
            } else {
                return Err(ViewError::WrongReservationRole {
                    task: task.task_id.clone(),
                    pool: alloc.role.clone(),
                    role: task.role.clone(),
                });
            }
        }
        if let Some(a) = self.agent(idx) {
            let mut seen = BTreeSet::new();
            for p in &task.ports {
                if !a.free_ports.contains(*p) || !seen.insert(*p) {
                    return Err(ViewError::PortUnavailable {
                        task: task.task_id.clone(),
                        agent: task.agent_id.clone(),
                        port: *p,
                    });
                }
            }
        }
        let role = self.intern_role(&task.role);
        let framework = self.frameworks.intern(&task.framework_id);
        let group = self.intern_group(&task.group);
        if !reserved.is_zero() {
            if let Some(Some(a)) = self.agents.get_mut(idx as usize) {
                if a.pool(role).is_none() {
                    a.pools.push(Pool {
                        role,
                        total: Res::default(),
                        used: Res::default(),
                        score: 0,
                    });
                    self.role_agents[role as usize].insert(idx);
                }
            }
        }
        self.commit_task(
            TaskRec {
                task_id: task.task_id.clone(),
                agent: idx,
                pos_in_agent: 0,
                group,
                role,
                framework,
                unres,
                reserved,
                ports: task.ports.clone(),
            },
            true,
        );
        Ok(())
    }

    /// Books a task: agent usage, ports, allocations, group counts, slab and index.
    pub(crate) fn commit_task(&mut self, mut rec: TaskRec, take_ports: bool) -> u32 {
        let slot = match self.free_task_slots.pop() {
            Some(s) => s,
            None => {
                self.tasks.push(None);
                (self.tasks.len() - 1) as u32
            }
        };
        let idx = rec.agent;
        if let Some(Some(a)) = self.agents.get_mut(idx as usize) {
            a.unres_used = a.unres_used.add(rec.unres);
            if !rec.reserved.is_zero() {
                if let Some(p) = a.pools.iter_mut().find(|p| p.role == rec.role) {
                    p.used = p.used.add(rec.reserved);
                }
            }
            if take_ports {
                for p in &rec.ports {
                    a.free_ports.take(*p);
                }
            }
            rec.pos_in_agent = a.tasks.len() as u32;
            a.tasks.push(slot);
        }
        let total = rec.unres.add(rec.reserved);
        self.role_alloc[rec.role as usize] = self.role_alloc[rec.role as usize].add(total);
        let fa = self.fw_alloc.entry((rec.role, rec.framework)).or_default();
        *fa = fa.add(total);
        self.group_add(rec.group, idx, 1);
        self.task_ix.insert(rec.task_id.clone(), slot);
        self.tasks[slot as usize] = Some(rec);
        self.rescore_agent(idx);
        slot
    }

    /// Adds `delta` (+1/-1) tasks of `group` on agent `idx` to the group's counts.
    fn group_add(&mut self, group: u32, idx: u32, delta: i32) {
        let Some(Some(a)) = self.agents.get(idx as usize) else {
            return;
        };
        let Some(g) = self.group_state.get_mut(group as usize) else {
            return;
        };
        let e = g.per_agent.entry(idx).or_insert(0);
        *e = (*e as i64 + delta as i64).max(0) as u32;
        if *e == 0 {
            g.per_agent.remove(&idx);
        }
        for (field, counts) in g.fields.iter_mut() {
            counts.add(a.value_of(*field), delta);
        }
        g.total = (g.total as i64 + delta as i64).max(0) as u32;
        g.generation += 1;
    }

    /// Makes sure the group's counts by `field` exist (built from its per-agent counts).
    pub(crate) fn ensure_group_field(&mut self, group: u32, field: u32) {
        let Some(g) = self.group_state.get(group as usize) else {
            return;
        };
        if g.fields.contains_key(&field) {
            return;
        }
        let mut counts = FieldCounts::default();
        for (agent, n) in &g.per_agent {
            if let Some(Some(a)) = self.agents.get(*agent as usize) {
                counts.add(a.value_of(field), *n as i32);
            }
        }
        if let Some(g) = self.group_state.get_mut(group as usize) {
            g.fields.insert(field, counts);
        }
    }

    /// Gives a task's resources and ports back (the task ended or was lost).
    pub fn release(&mut self, task_id: &str) -> Result<RunningTask, ViewError> {
        let slot = self
            .task_ix
            .remove(task_id)
            .ok_or_else(|| ViewError::UnknownTask(task_id.to_string()))?;
        let Some(rec) = self.tasks.get_mut(slot as usize).and_then(Option::take) else {
            return Err(ViewError::UnknownTask(task_id.to_string()));
        };
        self.free_task_slots.push(slot);
        let idx = rec.agent;
        if let Some(Some(a)) = self.agents.get_mut(idx as usize) {
            a.unres_used = a.unres_used.sub(rec.unres);
            if let Some(p) = a.pools.iter_mut().find(|p| p.role == rec.role) {
                p.used = p.used.sub(rec.reserved);
            }
            for p in &rec.ports {
                // Ports outside the agent's (possibly changed) ranges are not made free.
                if a.port_ranges.iter().any(|(b, e)| b <= p && p <= e) {
                    a.free_ports.give(*p);
                }
            }
            let pos = rec.pos_in_agent as usize;
            if pos < a.tasks.len() {
                a.tasks.swap_remove(pos);
                if let Some(moved) = a.tasks.get(pos).copied() {
                    if let Some(Some(m)) = self.tasks.get_mut(moved as usize) {
                        m.pos_in_agent = pos as u32;
                    }
                }
            }
        }
        let total = rec.unres.add(rec.reserved);
        self.role_alloc[rec.role as usize] = self.role_alloc[rec.role as usize].sub(total);
        if let Some(fa) = self.fw_alloc.get_mut(&(rec.role, rec.framework)) {
            *fa = fa.sub(total);
        }
        self.group_add(rec.group, idx, -1);
        self.rescore_agent(idx);
        Ok(self.running_task(&rec))
    }

    pub(crate) fn running_task(&self, rec: &TaskRec) -> RunningTask {
        let mut allocations = Vec::new();
        if !rec.reserved.is_zero() {
            allocations.push(RoleResources {
                role: self.roles.name(rec.role).to_string(),
                resources: rec.reserved.to_resources(),
            });
        }
        if !rec.unres.is_zero() || allocations.is_empty() {
            allocations.push(RoleResources {
                role: UNRESERVED.to_string(),
                resources: rec.unres.to_resources(),
            });
        }
        RunningTask {
            task_id: rec.task_id.clone(),
            group: self.groups.name(rec.group).to_string(),
            role: self.roles.name(rec.role).to_string(),
            framework_id: self.frameworks.name(rec.framework).to_string(),
            agent_id: self
                .agent(rec.agent)
                .map(|a| a.id.clone())
                .unwrap_or_default(),
            ports: rec.ports.clone(),
            allocations,
        }
    }

    /// A task the view knows.
    pub fn task(&self, task_id: &str) -> Option<RunningTask> {
        let slot = self.task_ix.get(task_id)?;
        self.tasks
            .get(*slot as usize)?
            .as_ref()
            .map(|r| self.running_task(r))
    }

    /// Number of tasks holding resources.
    pub fn task_count(&self) -> usize {
        self.task_ix.len()
    }

    /// Number of agents (active or not).
    pub fn agent_count(&self) -> usize {
        self.agent_ix.len()
    }

    /// One agent's resources, reservations, free ports and task count.
    pub fn agent_summary(&self, agent_id: &str) -> Option<AgentSummary> {
        let idx = *self.agent_ix.get(agent_id)?;
        let a = self.agent(idx)?;
        let mut used = a.unres_used;
        let reserved = a
            .pools
            .iter()
            .map(|p| {
                used = used.add(p.used);
                ReservationSummary {
                    role: self.roles.name(p.role).to_string(),
                    total: p.total.to_resources(),
                    available: p.total.sub_clamped(p.used).to_resources(),
                }
            })
            .collect();
        Some(AgentSummary {
            id: a.id.clone(),
            hostname: a.hostname.clone(),
            active: a.active,
            resources: a.total.to_resources(),
            used: used.to_resources(),
            unreserved_available: a.unres_avail().to_resources(),
            reserved,
            free_ports: a.free_ports.ranges().to_vec(),
            attributes: a.attributes.clone(),
            tasks: a.tasks.len() as u32,
        })
    }

    /// Ids of all agents, in the order they were first added.
    pub fn agent_ids(&self) -> Vec<String> {
        self.agents.iter().flatten().map(|a| a.id.clone()).collect()
    }

    /// Total resources of the active agents (the DRF denominator).
    pub fn cluster_total(&self) -> Resources {
        self.cluster_total.to_resources()
    }

    /// Per role: weight and allocated resources, as DRF sees them.
    pub fn role_allocations(&self) -> Vec<crate::drf::DrfClient> {
        (0..self.roles.len())
            .map(|r| crate::drf::DrfClient {
                name: self.roles.name(r as u32).to_string(),
                weight: self.role_weight[r],
                allocated: self.role_alloc[r].to_resources(),
            })
            .collect()
    }

    /// Everything needed to rebuild this view with [`ClusterView::from_snapshot`].
    pub fn snapshot(&self) -> ViewSnapshot {
        let agents = self
            .agents
            .iter()
            .flatten()
            .map(|a| {
                let mut reservations = BTreeMap::new();
                for p in &a.pools {
                    reservations
                        .insert(self.roles.name(p.role).to_string(), p.total.to_resources());
                }
                Agent {
                    id: a.id.clone(),
                    hostname: a.hostname.clone(),
                    resources: a.total.to_resources(),
                    ports: a.port_ranges.clone(),
                    attributes: a.attributes.clone(),
                    reservations,
                    active: a.active,
                }
            })
            .collect();
        let tasks = self
            .tasks
            .iter()
            .flatten()
            .map(|t| self.running_task(t))
            .collect();
        let role_weights = (0..self.roles.len())
            .filter(|r| self.role_weight[*r] != 1.0)
            .map(|r| (self.roles.name(r as u32).to_string(), self.role_weight[r]))
            .collect();
        ViewSnapshot {
            seed: self.seed,
            agents,
            tasks,
            role_weights,
        }
    }

    /// Rebuilds a view from a snapshot (agents first, then tasks, then weights).
    pub fn from_snapshot(s: &ViewSnapshot) -> Result<ClusterView, ViewError> {
        let mut v = ClusterView::new(s.seed);
        for a in &s.agents {
            v.upsert_agent(a)?;
        }
        for t in &s.tasks {
            v.record_running(t)?;
        }
        for (role, w) in &s.role_weights {
            v.set_role_weight(role, *w)?;
        }
        Ok(v)
    }
}

//! Placement: task requests in, decisions out. Requests are served in weighted DRF order across
//! roles (then frameworks inside a role); each goes to the best agent that fits its resources,
//! ports, accepted roles and constraints: fewest tasks of its group in the GROUP_BY value, then
//! on the agent, then the most free resources, then the agent's seeded rank.

use crate::constraint::{full_match_regex, parse_int, validate_constraint, Constraint, Operator};
use crate::drf::{dominant_share_res, share_key};
use crate::resources::Res;
use crate::view::{
    AgentState, ClusterView, FieldCounts, LikeEntry, RoleResources, TaskRec, UNRESERVED,
};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

/// A task to place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub task_id: String,
    /// Constraint group: tasks of one group (normally one app id) are counted together by
    /// UNIQUE, CLUSTER, GROUP_BY and MAX_PER, and spread apart.
    pub group: String,
    /// Role the task runs as (`"*"` by default).
    #[serde(default = "star")]
    pub role: String,
    #[serde(default)]
    pub framework_id: String,
    pub resources: crate::Resources,
    /// Host ports, in the task's order: `0` = any free port of the agent, `n` = exactly port n
    /// (requirePorts, or a fixed hostPort).
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    /// Marathon's acceptedResourceRoles: `"*"` = unreserved resources, the task's role =
    /// resources reserved for it. Empty = both.
    #[serde(default)]
    pub accepted_resource_roles: Vec<String>,
}

fn star() -> String {
    UNRESERVED.to_string()
}

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    Placed(Placement),
    Unplaced(Unplaced),
}

impl Decision {
    pub fn task_id(&self) -> &str {
        match self {
            Decision::Placed(p) => &p.task_id,
            Decision::Unplaced(u) => &u.task_id,
        }
    }
}

/// A task given a home: the agent, its host ports (request order) and the resources taken from
/// each pool (`"*"` = unreserved, a role = that role's reservation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub task_id: String,
    pub agent_id: String,
    pub hostname: String,
    pub ports: Vec<u16>,
    pub allocations: Vec<RoleResources>,
}

/// A task no agent could take now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unplaced {
    pub task_id: String,
    pub reason: UnplacedReason,
}

/// Why a task was not placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum UnplacedReason {
    /// The request itself is bad (it will never be placed as it is).
    Invalid { message: String },
    /// No active agent at all.
    NoAgents {
        message: String,
        inactive_agents: u32,
    },
    /// Every active agent was ruled out; counted like Marathon's queue `rejectSummaryLastOffers`
    /// (each agent counted once, at the first step that rules it out).
    NoFit {
        message: String,
        agents_considered: u32,
        inactive_agents: u32,
        reject_summary: Vec<RejectStep>,
        /// Agents ruled out per constraint (first failing constraint of each agent).
        constraints: Vec<ConstraintRejection>,
    },
}

impl UnplacedReason {
    pub fn message(&self) -> &str {
        match self {
            UnplacedReason::Invalid { message }
            | UnplacedReason::NoAgents { message, .. }
            | UnplacedReason::NoFit { message, .. } => message,
        }
    }
}

/// Marathon's offer-rejection reasons, in its funnel order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RejectReason {
    UnfulfilledRole,
    UnfulfilledConstraint,
    NoCorrespondingReservationFound,
    InsufficientCpus,
    InsufficientMemory,
    InsufficientDisk,
    InsufficientGpus,
    InsufficientPorts,
}

impl RejectReason {
    pub const FUNNEL: [RejectReason; 8] = [
        RejectReason::UnfulfilledRole,
        RejectReason::UnfulfilledConstraint,
        RejectReason::NoCorrespondingReservationFound,
        RejectReason::InsufficientCpus,
        RejectReason::InsufficientMemory,
        RejectReason::InsufficientDisk,
        RejectReason::InsufficientGpus,
        RejectReason::InsufficientPorts,
    ];

    fn text(&self) -> &'static str {
        match self {
            RejectReason::UnfulfilledRole => "offer no resources in the accepted roles",
            RejectReason::UnfulfilledConstraint => "fail a constraint",
            RejectReason::NoCorrespondingReservationFound => "have no matching reservation",
            RejectReason::InsufficientCpus => "lack cpus",
            RejectReason::InsufficientMemory => "lack mem",
            RejectReason::InsufficientDisk => "lack disk",
            RejectReason::InsufficientGpus => "lack gpus",
            RejectReason::InsufficientPorts => "lack the host ports",
        }
    }
}

/// One step of the rejection funnel: agents that reached it and agents it ruled out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectStep {
    pub reason: RejectReason,
    pub declined: u32,
    pub processed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstraintRejection {
    pub constraint: Constraint,
    pub declined: u32,
}

/// A constraint prepared against the view (fields and values interned).
#[derive(Debug, Clone)]
enum Prep {
    Unique {
        field: u32,
    },
    /// `target`: None = no value given; Some(None) = value unknown to the cluster.
    Cluster {
        field: u32,
        target: Option<Option<u32>>,
    },
    GroupBy {
        field: u32,
        min_groups: i64,
    },
    Like {
        field: u32,
        pattern: String,
        negate: bool,
    },
    MaxPer {
        field: u32,
        max: i64,
    },
    Is {
        field: u32,
        target: Option<u32>,
    },
}

type Counts = FieldCounts;

/// A prepared constraint with the group's counts resolved.
enum Chk<'a> {
    Unique {
        field: u32,
        counts: &'a Counts,
    },
    Cluster {
        field: u32,
        target: Option<Option<u32>>,
        counts: &'a Counts,
    },
    GroupBy {
        field: u32,
        counts: &'a Counts,
        enough_groups: bool,
        min_count: u32,
    },
    Like {
        field: u32,
        matches: &'a [bool],
        negate: bool,
        empty: bool,
    },
    MaxPer {
        field: u32,
        counts: &'a Counts,
        max: i64,
    },
    Is {
        field: u32,
        target: Option<u32>,
    },
}

impl Chk<'_> {
    /// Marathon's verdict for one agent (`allPlaced` = the group's tasks in the view).
    fn ok(&self, a: &AgentState) -> bool {
        match self {
            Chk::Unique { field, counts } => match a.value_of(*field) {
                Some(v) => counts.get(v) == 0,
                None => false,
            },
            Chk::Cluster {
                field,
                target,
                counts,
            } => match a.value_of(*field) {
                Some(v) => {
                    let value_ok = match target {
                        None => true,
                        Some(t) => *t == Some(v),
                    };
                    value_ok && (counts.is_empty() || (counts.groups() == 1 && counts.get(v) > 0))
                }
                None => false,
            },
            Chk::GroupBy {
                field,
                counts,
                enough_groups,
                min_count,
            } => match a.value_of(*field) {
                Some(v) => match counts.get(v) {
                    0 => true,
                    c => *enough_groups && c == *min_count,
                },
                None => false,
            },
            Chk::Like {
                field,
                matches,
                negate,
                empty,
            } => match a.value_of(*field) {
                Some(v) => {
                    if *empty {
                        false
                    } else {
                        matches.get(v as usize).copied().unwrap_or(false) != *negate
                    }
                }
                None => *negate,
            },
            Chk::MaxPer { field, counts, max } => match a.value_of(*field) {
                Some(v) => match counts.get(v) {
                    0 => true,
                    c => (c as i64) < *max,
                },
                None => false,
            },
            Chk::Is { field, target } => match (a.value_of(*field), target) {
                (Some(v), Some(t)) => v == *t,
                _ => false,
            },
        }
    }
}

/// A request checked and prepared.
struct Prepared {
    group: u32,
    role: u32,
    framework: u32,
    need: Res,
    fixed_ports: Vec<u16>,
    dynamic_ports: u32,
    unreserved_ok: bool,
    reserved_ok: bool,
    preps: Vec<Prep>,
}

/// Places `requests` on the view's agents and books every placement in the view. Requests of
/// several roles/frameworks are interleaved in weighted DRF order (lowest dominant share /
/// weight first, recomputed after each placement); inside one framework, in the given order.
/// Decisions come back in the order they were made.
pub fn place(view: &mut ClusterView, requests: &[TaskRequest]) -> Vec<Decision> {
    let mut out = Vec::with_capacity(requests.len());
    let mut placer = Placer {
        seen: HashSet::new(),
        failures: HashMap::new(),
        cursors: HashMap::new(),
    };

    // Queues per (role, framework), in first-seen order.
    let mut queue_of: HashMap<(&str, &str), usize> = HashMap::new();
    let mut queues: Vec<(u32, u32, VecDeque<usize>)> = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let key = (r.role.as_str(), r.framework_id.as_str());
        let q = *queue_of.entry(key).or_insert_with(|| {
            let role = view.intern_role(&r.role);
            let fw = view.frameworks.intern(&r.framework_id);
            queues.push((role, fw, VecDeque::new()));
            queues.len() - 1
        });
        queues[q].2.push_back(i);
    }
    if queues.len() <= 1 {
        for r in requests {
            out.push(placer.place_one(view, r));
        }
        return out;
    }

    // Weighted DRF: roles by dominant share / weight, then frameworks in the role by share.
    let total = view.cluster_total;
    let role_key = |v: &ClusterView, role: u32| {
        let w = v.role_weight.get(role as usize).copied().unwrap_or(1.0);
        let a = v.role_alloc.get(role as usize).copied().unwrap_or_default();
        (
            share_key(dominant_share_res(&a, &total) / w),
            v.roles.name(role).to_string(),
            role,
        )
    };
    let fw_key = |v: &ClusterView, role: u32, fw: u32, q: usize| {
        let a = v.fw_alloc.get(&(role, fw)).copied().unwrap_or_default();
        (
            share_key(dominant_share_res(&a, &total)),
            v.frameworks.name(fw).to_string(),
            q,
        )
    };
    let mut role_fws: HashMap<u32, BTreeSet<(u64, String, usize)>> = HashMap::new();
    for (q, (role, fw, _)) in queues.iter().enumerate() {
        role_fws
            .entry(*role)
            .or_default()
            .insert(fw_key(view, *role, *fw, q));
    }
    let mut roles: BTreeSet<(u64, String, u32)> =
        role_fws.keys().map(|r| role_key(view, *r)).collect();
    while let Some(rk) = roles.pop_first() {
        let role = rk.2;
        let Some(fws) = role_fws.get_mut(&role) else {
            continue;
        };
        let Some(fk) = fws.pop_first() else { continue };
        let q = fk.2;
        let (_, fw, items) = &mut queues[q];
        let fw = *fw;
        if let Some(i) = items.pop_front() {
            out.push(placer.place_one(view, &requests[i]));
        }
        if !queues[q].2.is_empty() {
            fws.insert(fw_key(view, role, fw, q));
        }
        if !fws.is_empty() {
            roles.insert(role_key(view, role));
        }
    }
    out
}

/// Signature of a request for the failure cache (same group, same needs = same verdict while
/// the group's tasks do not change, since free resources only shrink during one `place`).
fn signature(r: &TaskRequest) -> u64 {
    let mut h = DefaultHasher::new();
    r.group.hash(&mut h);
    r.role.hash(&mut h);
    for x in [
        r.resources.cpus,
        r.resources.mem,
        r.resources.disk,
        r.resources.gpus,
    ] {
        x.to_bits().hash(&mut h);
    }
    r.ports.hash(&mut h);
    r.constraints.hash(&mut h);
    r.accepted_resource_roles.hash(&mut h);
    h.finish()
}

fn same_needs(a: &TaskRequest, b: &TaskRequest) -> bool {
    a.group == b.group
        && a.role == b.role
        && a.resources == b.resources
        && a.ports == b.ports
        && a.constraints == b.constraints
        && a.accepted_resource_roles == b.accepted_resource_roles
}

struct Placer {
    seen: HashSet<String>,
    /// signature -> (request, group generation, reason)
    failures: HashMap<u64, Vec<(TaskRequest, u64, UnplacedReason)>>,
    /// group -> where its last search stopped
    cursors: HashMap<u32, Cursor>,
}

fn invalid(task_id: &str, message: String) -> Decision {
    Decision::Unplaced(Unplaced {
        task_id: task_id.to_string(),
        reason: UnplacedReason::Invalid { message },
    })
}

impl Placer {
    fn place_one(&mut self, view: &mut ClusterView, r: &TaskRequest) -> Decision {
        let prepared = match self.prepare(view, r) {
            Ok(p) => p,
            Err(message) => return invalid(&r.task_id, message),
        };
        let generation = view
            .group_state
            .get(prepared.group as usize)
            .map_or(0, |g| g.generation);
        let sig = signature(r);
        if let Some(list) = self.failures.get(&sig) {
            if let Some((_, _, reason)) = list
                .iter()
                .find(|(req, gen, _)| *gen == generation && same_needs(req, r))
            {
                return Decision::Unplaced(Unplaced {
                    task_id: r.task_id.clone(),
                    reason: reason.clone(),
                });
            }
        }
        let cursor = self
            .cursors
            .get(&prepared.group)
            .filter(|c| c.sig == sig && c.generation == generation);
        let found = find_agent(view, &prepared, cursor);
        match found.agent {
            Some(idx) => {
                let decision = commit(view, r, &prepared, idx);
                match found.pos {
                    Some(pos) => {
                        let generation = view
                            .group_state
                            .get(prepared.group as usize)
                            .map_or(0, |g| g.generation);
                        self.cursors.insert(
                            prepared.group,
                            Cursor {
                                sig,
                                generation,
                                gb_min: found.gb_min,
                                gb_state: found.gb_state,
                                pos,
                            },
                        );
                    }
                    None => {
                        self.cursors.remove(&prepared.group);
                    }
                }
                decision
            }
            None => {
                let reason = explain(view, r, &prepared);
                self.failures
                    .entry(sig)
                    .or_default()
                    .push((r.clone(), generation, reason.clone()));
                Decision::Unplaced(Unplaced {
                    task_id: r.task_id.clone(),
                    reason,
                })
            }
        }
    }

    /// Validates a request and prepares its constraints (interning, caches, group counts).
    fn prepare(&mut self, view: &mut ClusterView, r: &TaskRequest) -> Result<Prepared, String> {
        if r.task_id.is_empty() {
            return Err("task id must not be empty".into());
        }
        if view.task_ix.contains_key(&r.task_id) || !self.seen.insert(r.task_id.clone()) {
            return Err(format!(
                "task '{}' is already placed; use a new task id",
                r.task_id
            ));
        }
        if r.group.is_empty() {
            return Err(format!(
                "task '{}': group (app id) must not be empty",
                r.task_id
            ));
        }
        if r.role.is_empty() {
            return Err(format!(
                "task '{}': role must not be empty (use \"*\")",
                r.task_id
            ));
        }
        let need =
            Res::from_resources(&r.resources).map_err(|e| format!("task '{}': {e}", r.task_id))?;
        let mut fixed_ports = Vec::new();
        for p in r.ports.iter().filter(|p| **p != 0) {
            if fixed_ports.contains(p) {
                return Err(format!(
                    "task '{}': host port {p} is requested twice",
                    r.task_id
                ));
            }
            fixed_ports.push(*p);
        }
        let dynamic_ports = (r.ports.len() - fixed_ports.len()) as u32;
        if r.accepted_resource_roles.iter().any(String::is_empty) {
            return Err(format!(
                "task '{}': acceptedResourceRoles must not contain an empty role",
                r.task_id
            ));
        }
        let (unreserved_ok, reserved_ok) = if r.accepted_resource_roles.is_empty() {
            (true, r.role != UNRESERVED)
        } else {
            (
                r.accepted_resource_roles.iter().any(|x| x == UNRESERVED),
                r.role != UNRESERVED && r.accepted_resource_roles.contains(&r.role),
            )
        };
        for c in &r.constraints {
            validate_constraint(c)
                .map_err(|e| format!("task '{}': constraint {c}: {e}", r.task_id))?;
        }
        let group = view.intern_group(&r.group);
        let role = view.intern_role(&r.role);
        let framework = view.frameworks.intern(&r.framework_id);
        let mut preps = Vec::with_capacity(r.constraints.len());
        for c in &r.constraints {
            let field = match c.attribute_name() {
                None => 0,
                Some(name) => view.intern_field(name),
            };
            let value = c.value.as_deref();
            let known = |v: &ClusterView, s: &str| v.values[field as usize].get(s);
            let p = match c.operator {
                Operator::Unique => Prep::Unique { field },
                Operator::Cluster => Prep::Cluster {
                    field,
                    target: value.filter(|s| !s.is_empty()).map(|s| known(view, s)),
                },
                Operator::GroupBy => Prep::GroupBy {
                    field,
                    min_groups: value.and_then(parse_int).unwrap_or(0).max(0) as i64,
                },
                Operator::MaxPer => Prep::MaxPer {
                    field,
                    max: value.and_then(parse_int).unwrap_or(0) as i64,
                },
                Operator::Like | Operator::Unlike => {
                    let pattern = value.unwrap_or("").to_string();
                    ensure_like(view, field, &pattern)
                        .map_err(|e| format!("task '{}': constraint {c}: {e}", r.task_id))?;
                    Prep::Like {
                        field,
                        pattern,
                        negate: c.operator == Operator::Unlike,
                    }
                }
                Operator::Is => Prep::Is {
                    field,
                    target: known(view, value.unwrap_or("")),
                },
            };
            if matches!(
                p,
                Prep::Unique { .. }
                    | Prep::Cluster { .. }
                    | Prep::GroupBy { .. }
                    | Prep::MaxPer { .. }
            ) {
                view.ensure_group_field(group, field);
            }
            preps.push(p);
        }
        Ok(Prepared {
            group,
            role,
            framework,
            need,
            fixed_ports,
            dynamic_ports,
            unreserved_ok,
            reserved_ok,
            preps,
        })
    }
}

/// Makes sure the LIKE cache for (field, pattern) covers every known value of the field.
fn ensure_like(view: &mut ClusterView, field: u32, pattern: &str) -> Result<(), String> {
    let values = &view.values[field as usize];
    let per_field = view.like_cache.entry(field).or_default();
    if !per_field.contains_key(pattern) {
        let regex = full_match_regex(pattern).map_err(|e| e.to_string())?;
        per_field.insert(
            pattern.to_string(),
            LikeEntry {
                regex,
                matches: Vec::new(),
            },
        );
    }
    if let Some(entry) = per_field.get_mut(pattern) {
        while entry.matches.len() < values.len() {
            let name = values.name(entry.matches.len() as u32);
            entry.matches.push(entry.regex.is_match(name));
        }
    }
    Ok(())
}

static EMPTY_COUNTS: std::sync::LazyLock<Counts> = std::sync::LazyLock::new(Counts::default);

/// Resolves prepared constraints against the view's current group counts. Also returns the
/// lowest GROUP_BY spread value an agent could have (for the early exit of the search).
fn resolve<'a>(view: &'a ClusterView, p: &Prepared) -> (Vec<Chk<'a>>, u32) {
    let group = view.group_state.get(p.group as usize);
    let counts_of = |field: u32| -> &'a Counts {
        group
            .and_then(|g| g.fields.get(&field))
            .unwrap_or(&EMPTY_COUNTS)
    };
    let mut gb_min = 0u32;
    let chks = p
        .preps
        .iter()
        .map(|prep| match prep {
            Prep::Unique { field } => Chk::Unique {
                field: *field,
                counts: counts_of(*field),
            },
            Prep::Cluster { field, target } => Chk::Cluster {
                field: *field,
                target: *target,
                counts: counts_of(*field),
            },
            Prep::GroupBy { field, min_groups } => {
                let counts = counts_of(*field);
                let known = view.values.get(*field as usize).map_or(0, |v| v.len());
                gb_min += counts.min_over_known(known);
                Chk::GroupBy {
                    field: *field,
                    counts,
                    enough_groups: counts.groups() as i64 >= *min_groups,
                    min_count: counts.min_count(),
                }
            }
            Prep::Like {
                field,
                pattern,
                negate,
            } => Chk::Like {
                field: *field,
                matches: view
                    .like_cache
                    .get(field)
                    .and_then(|m| m.get(pattern.as_str()))
                    .map_or(&[][..], |e| &e.matches[..]),
                negate: *negate,
                empty: pattern.is_empty(),
            },
            Prep::MaxPer { field, max } => Chk::MaxPer {
                field: *field,
                counts: counts_of(*field),
                max: *max,
            },
            Prep::Is { field, target } => Chk::Is {
                field: *field,
                target: *target,
            },
        })
        .collect();
    (chks, gb_min)
}

/// Resources the request may use on an agent (unreserved and/or its role's reservation).
fn usable(a: &AgentState, p: &Prepared) -> Res {
    let mut r = Res::default();
    if p.unreserved_ok {
        r = r.add(a.unres_avail());
    }
    if p.reserved_ok {
        r = r.add(a.pool_avail(p.role));
    }
    r
}

/// Tasks of the group in the agent's GROUP_BY value(s).
fn group_by_load(a: &AgentState, chks: &[Chk]) -> u32 {
    let mut gb = 0;
    for c in chks {
        if let Chk::GroupBy { field, counts, .. } = c {
            if let Some(v) = a.value_of(*field) {
                gb += counts.get(v);
            }
        }
    }
    gb
}

fn fits(a: &AgentState, p: &Prepared, avail: &Res) -> bool {
    p.need.le(avail) && a.free_ports.can_serve(&p.fixed_ports, p.dynamic_ports)
}

/// Position in an agent order: (score, rank, agent index), most free first.
type Pos = (u64, u32, u32);

/// Where the last first-pass search of a group stopped, valid while nothing but that group's own
/// placements (same needs) changed: within one `place` call free resources only shrink and agents
/// only move down the order, so agents before the cursor stay unsuitable.
struct Cursor {
    sig: u64,
    generation: u64,
    gb_min: u32,
    gb_state: Vec<(bool, u32)>,
    pos: Pos,
}

/// Searches candidates in preference order (most free first) for the best agent by
/// (GROUP_BY load, tasks of the group on the agent, position). A first pass looks only at
/// agents with the lowest possible spread (cheap checks first) and stops at the first that
/// fits; only if there is none, a second pass ranks every feasible agent. `stop` ends a pass
/// early when no later candidate can fit. Returns the agent and, if the first pass found it,
/// its position.
#[allow(clippy::too_many_arguments)]
fn search(
    view: &ClusterView,
    p: &Prepared,
    chks: &[Chk],
    gb_min: u32,
    first: impl Iterator<Item = Pos>,
    all: impl Iterator<Item = Pos>,
    avail_of: impl Fn(&AgentState) -> Option<Res>,
    stop: impl Fn(u64) -> bool,
) -> Option<(u32, Option<Pos>)> {
    let per_agent = view.group_state.get(p.group as usize).map(|g| &g.per_agent);
    let on_agent = |idx: u32| per_agent.and_then(|m| m.get(&idx)).copied().unwrap_or(0);
    let has_group_by = chks.iter().any(|c| matches!(c, Chk::GroupBy { .. }));
    for pos in first {
        let (score, _, idx) = pos;
        if stop(score) {
            break;
        }
        if on_agent(idx) != 0 {
            continue;
        }
        let Some(a) = view.agent(idx) else { continue };
        if has_group_by && group_by_load(a, chks) > gb_min {
            continue;
        }
        let Some(avail) = avail_of(a) else { continue };
        if fits(a, p, &avail) && chks.iter().all(|c| c.ok(a)) {
            return Some((idx, Some(pos)));
        }
    }
    let mut best: Option<((u32, u32), u32)> = None;
    for (score, _, idx) in all {
        if stop(score) {
            break;
        }
        let Some(a) = view.agent(idx) else { continue };
        let Some(avail) = avail_of(a) else { continue };
        if !fits(a, p, &avail) || !chks.iter().all(|c| c.ok(a)) {
            continue;
        }
        let key = (group_by_load(a, chks), on_agent(idx));
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, idx));
        }
    }
    best.map(|(_, idx)| (idx, None))
}

fn positions<'a, I>(set: I) -> impl Iterator<Item = Pos> + 'a
where
    I: Iterator<Item = &'a (std::cmp::Reverse<u64>, u32, u32)> + 'a,
{
    set.map(|(std::cmp::Reverse(s), rank, idx)| (*s, *rank, *idx))
}

/// The search's answer: the agent (if any), and what a cursor for the group needs.
struct Found {
    agent: Option<u32>,
    pos: Option<Pos>,
    gb_min: u32,
    gb_state: Vec<(bool, u32)>,
}

/// The best agent for a prepared request, or None. `cursor` (same group and needs, group
/// unchanged since) lets the unreserved first pass resume where the last one stopped.
fn find_agent(view: &ClusterView, p: &Prepared, cursor: Option<&Cursor>) -> Found {
    let (chks, gb_min) = resolve(view, p);
    let gb_state: Vec<(bool, u32)> = chks
        .iter()
        .filter_map(|c| match c {
            Chk::GroupBy {
                enough_groups,
                min_count,
                ..
            } => Some((*enough_groups, *min_count)),
            _ => None,
        })
        .collect();
    let mut found = Found {
        agent: None,
        pos: None,
        gb_min,
        gb_state,
    };

    // Phase 1: agents with free reservations for the role (most free reservation first),
    // reserved and (if accepted) unreserved resources together.
    if p.reserved_ok {
        if let Some(order) = view.role_order.get(p.role as usize) {
            let hit = search(
                view,
                p,
                &chks,
                gb_min,
                positions(order.iter()),
                positions(order.iter()),
                |a| {
                    if !a.active || a.pool_avail(p.role).is_zero() {
                        None
                    } else {
                        Some(usable(a, p))
                    }
                },
                // Reservations with no cpus and no mem left are left to phase 2.
                |score| score == 0,
            );
            if let Some((idx, _)) = hit {
                found.agent = Some(idx);
                return found;
            }
        }
    }
    if !p.unreserved_ok {
        return found;
    }

    // Phase 2: unreserved resources, most free first, down to the first agent that cannot
    // have enough cpus and mem (the score is monotone in both).
    let need_score = p.need.score();
    let start = cursor
        .filter(|c| c.gb_min == found.gb_min && c.gb_state == found.gb_state)
        .map(|c| c.pos);
    let first: Box<dyn Iterator<Item = Pos>> = match start {
        Some((score, rank, idx)) => {
            use std::ops::Bound::{Excluded, Unbounded};
            let from = (std::cmp::Reverse(score), rank, idx);
            Box::new(positions(view.order.range((Excluded(from), Unbounded))))
        }
        None => Box::new(positions(view.order.iter())),
    };
    if let Some((idx, pos)) = search(
        view,
        p,
        &chks,
        gb_min,
        first,
        positions(view.order.iter()),
        |a| Some(usable(a, p)),
        |score| score < need_score,
    ) {
        found.agent = Some(idx);
        found.pos = pos;
    }
    found
}

/// Books the request on agent `idx` and returns the decision.
fn commit(view: &mut ClusterView, r: &TaskRequest, p: &Prepared, idx: u32) -> Decision {
    let Some(Some(a)) = view.agents.get_mut(idx as usize) else {
        return invalid(
            &r.task_id,
            format!("task '{}': chosen agent vanished", r.task_id),
        );
    };
    let reserved = if p.reserved_ok {
        p.need.min(a.pool_avail(p.role))
    } else {
        Res::default()
    };
    let unres = p.need.sub(reserved);
    let Some(ports) = a.free_ports.allocate(&r.ports) else {
        return invalid(
            &r.task_id,
            format!("task '{}': ports vanished on the chosen agent", r.task_id),
        );
    };
    let agent_id = a.id.clone();
    let hostname = a.hostname.clone();
    let rec = TaskRec {
        task_id: r.task_id.clone(),
        agent: idx,
        pos_in_agent: 0,
        group: p.group,
        role: p.role,
        framework: p.framework,
        unres,
        reserved,
        ports: ports.clone(),
    };
    view.commit_task(rec, false);
    let mut allocations = Vec::with_capacity(2);
    if !reserved.is_zero() {
        allocations.push(RoleResources {
            role: r.role.clone(),
            resources: reserved.to_resources(),
        });
    }
    if !unres.is_zero() || allocations.is_empty() {
        allocations.push(RoleResources {
            role: UNRESERVED.to_string(),
            resources: unres.to_resources(),
        });
    }
    Decision::Placed(Placement {
        task_id: r.task_id.clone(),
        agent_id,
        hostname,
        ports,
        allocations,
    })
}

/// Counts, over every agent, the first funnel step that rules it out.
fn explain(view: &ClusterView, r: &TaskRequest, p: &Prepared) -> UnplacedReason {
    let (chks, _) = resolve(view, p);
    let mut declined = [0u32; 8];
    let mut per_constraint = vec![0u32; chks.len()];
    let mut considered = 0u32;
    let mut inactive = 0u32;
    for a in view.agents.iter().flatten() {
        if !a.active {
            inactive += 1;
            continue;
        }
        considered += 1;
        let has_pool = p.reserved_ok && a.pool(p.role).is_some();
        let step = if !p.unreserved_ok && !has_pool {
            0
        } else if let Some(i) = chks.iter().position(|c| !c.ok(a)) {
            per_constraint[i] += 1;
            1
        } else {
            let avail = usable(a, p);
            if p.need.cpus > avail.cpus {
                3
            } else if p.need.mem > avail.mem {
                4
            } else if p.need.disk > avail.disk {
                5
            } else if p.need.gpus > avail.gpus {
                6
            } else if !a.free_ports.can_serve(&p.fixed_ports, p.dynamic_ports) {
                7
            } else {
                // Fits now (cannot happen right after a failed search); count as ports so the
                // numbers still add up.
                7
            }
        };
        declined[step] += 1;
    }
    if considered == 0 {
        return UnplacedReason::NoAgents {
            message: format!(
                "task '{}': no active agent to place it on ({inactive} inactive)",
                r.task_id
            ),
            inactive_agents: inactive,
        };
    }
    let mut processed = considered;
    let mut reject_summary = Vec::with_capacity(8);
    let mut parts = Vec::new();
    for (i, reason) in RejectReason::FUNNEL.iter().enumerate() {
        reject_summary.push(RejectStep {
            reason: *reason,
            declined: declined[i],
            processed,
        });
        if declined[i] > 0 {
            if *reason == RejectReason::UnfulfilledConstraint {
                for (c, n) in r.constraints.iter().zip(&per_constraint) {
                    if *n > 0 {
                        parts.push(format!("{n} fail constraint {c}"));
                    }
                }
            } else {
                parts.push(format!("{} {}", declined[i], reason.text()));
            }
        }
        processed -= declined[i];
    }
    let constraints = r
        .constraints
        .iter()
        .zip(per_constraint)
        .map(|(c, n)| ConstraintRejection {
            constraint: c.clone(),
            declined: n,
        })
        .collect();
    UnplacedReason::NoFit {
        message: format!(
            "task '{}': none of {considered} active agents fits: {}",
            r.task_id,
            parts.join(", ")
        ),
        agents_considered: considered,
        inactive_agents: inactive,
        reject_summary,
        constraints,
    }
}

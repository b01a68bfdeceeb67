//! The step functions that drive a running deployment action. They are called whenever the
//! tasks of an app change (launched, running, healthy, ready, gone) and answer what to do now.
//!
//! Rolling restart (Marathon's TaskReplaceActor rules):
//! - `minHealthy = ceil(instances * minimumHealthCapacity)`,
//!   `maxCapacity = floor(instances * (1 + maximumOverCapacity))`;
//! - when `minHealthy == maxCapacity <= healthy`, one extra task is allowed (else no progress);
//!   resident apps instead may drop one below `minHealthy`;
//! - old tasks that are failing (not running, unreachable, failing checks) are killed at once;
//!   the others are killed only while `capacity - killed >= minHealthy`, where capacity counts
//!   old healthy tasks, old tasks whose health is not known yet (killed first), and new tasks
//!   that are healthy (or running, without health checks) *and* ready;
//! - new tasks are launched up to `maxCapacity - (old alive after kills) - (new alive)` and at
//!   most `instances - (new alive)`;
//! - done when no old task is left and `instances` new tasks are healthy and ready.
//!
//! Scaling: launch the missing count, or choose which tasks to kill: explicitly named tasks
//! first, then unreachable, staging, unhealthy, healthy ones, each group ordered by
//! `killSelection` (YOUNGEST_FIRST: latest staged first).

use std::cmp::Ordering;

use crate::app::{KillSelection, UpgradeStrategy};

/// Where a live task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskPhase {
    /// Agent unreachable (TASK_UNREACHABLE): counts as alive but is the first to go.
    Unreachable,
    /// Launched, not running yet (TASK_STAGING / TASK_STARTING).
    Staging,
    /// TASK_RUNNING.
    Running,
}

/// What the step functions need to know about one live (non-terminal, not being killed) task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub id: String,
    pub phase: TaskPhase,
    /// Latest health result; `None` while unknown (grace period) or without health checks.
    pub healthy: Option<bool>,
    /// Readiness checks passed (true when the app has none).
    pub ready: bool,
    /// When the task was staged (any monotonic unit, e.g. ms since epoch): for killSelection.
    pub staged_at: i64,
}

impl TaskView {
    /// Counts toward capacity: running and healthy (or running, when there are no checks).
    pub fn is_healthy(&self, has_health_checks: bool) -> bool {
        self.phase == TaskPhase::Running && (!has_health_checks || self.healthy == Some(true))
    }
    /// Adds nothing: unreachable, not running yet, or failing its health checks.
    pub fn is_failing(&self, has_health_checks: bool) -> bool {
        self.phase != TaskPhase::Running || (has_health_checks && self.healthy == Some(false))
    }
    /// Healthy and ready: a new task that may replace an old one.
    pub fn is_replacement_ready(&self, has_health_checks: bool) -> bool {
        self.is_healthy(has_health_checks) && self.ready
    }
}

/// `ceil(instances * minimumHealthCapacity)` (tolerant to float noise: 10 * 0.7 is 7).
pub fn min_healthy(instances: u32, strategy: &UpgradeStrategy) -> u32 {
    let x = instances as f64 * strategy.minimum_health_capacity.clamp(0.0, 1.0);
    (x - 1e-9).ceil().max(0.0) as u32
}

/// `floor(instances * (1 + maximumOverCapacity))`.
pub fn max_capacity(instances: u32, strategy: &UpgradeStrategy) -> u32 {
    let x = instances as f64 * (1.0 + strategy.maximum_over_capacity.clamp(0.0, 1.0));
    (x + 1e-9).floor().max(0.0) as u32
}

/// Orders tasks for killing: lower ranks first (unreachable, staging, failing checks,
/// health unknown, healthy),
/// then by kill selection, then by id.
fn kill_order(a: &TaskView, b: &TaskView, sel: KillSelection, has_hc: bool) -> Ordering {
    let rank = |t: &TaskView| -> u8 {
        match t.phase {
            TaskPhase::Unreachable => 0,
            TaskPhase::Staging => 1,
            TaskPhase::Running if t.is_failing(has_hc) => 2,
            TaskPhase::Running if !t.is_healthy(has_hc) => 3,
            TaskPhase::Running => 4,
        }
    };
    rank(a)
        .cmp(&rank(b))
        .then_with(|| match sel {
            KillSelection::YoungestFirst => b.staged_at.cmp(&a.staged_at),
            KillSelection::OldestFirst => a.staged_at.cmp(&b.staged_at),
        })
        .then_with(|| a.id.cmp(&b.id))
}

/// Input of one rolling-restart step.
#[derive(Debug, Clone)]
pub struct RestartInput<'a> {
    /// Target instance count of the new version.
    pub instances: u32,
    pub strategy: UpgradeStrategy,
    pub kill_selection: KillSelection,
    /// Whether the new/old version has health checks (decides what counts as healthy).
    pub has_health_checks: bool,
    /// The app has `residency` (persistent volumes): no extra task in the
    /// `minHealthy == maxCapacity` case, one old task is killed first instead.
    pub resident: bool,
    /// Live tasks of older versions (not already being killed).
    pub old: &'a [TaskView],
    /// Live tasks of the target version.
    pub new: &'a [TaskView],
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestartDecision {
    /// Old task ids to kill now.
    pub kill: Vec<String>,
    /// New tasks to launch now.
    pub launch: u32,
    /// The replacement is complete.
    pub done: bool,
    pub min_healthy: u32,
    /// The capacity in force for this step (maxCapacity, or +1 in the equal case).
    pub max_capacity: u32,
}

/// One rolling-restart step; see the module docs for the rules.
pub fn restart_step(input: &RestartInput<'_>) -> RestartDecision {
    let hc = input.has_health_checks;
    let n = input.instances;
    let min_h = min_healthy(n, &input.strategy);
    let mut max_c = max_capacity(n, &input.strategy);
    let old_healthy = input.old.iter().filter(|t| t.is_healthy(hc)).count() as u32;
    // Old tasks whose health is not known yet (grace period, checks not reported since a
    // restart) are presumed to serve: they count toward capacity and are killed before
    // healthy ones, within the same budget, so confirmed-healthy capacity never drops below
    // `minHealthy` and the restart cannot stall on them.
    let old_unknown = input
        .old
        .iter()
        .filter(|t| !t.is_failing(hc) && !t.is_healthy(hc))
        .count() as u32;
    let new_ready = input
        .new
        .iter()
        .filter(|t| t.is_replacement_ready(hc))
        .count() as u32;
    let capacity = old_healthy + old_unknown + new_ready;
    // What kills must keep: minHealthy, or one less for resident apps in the equal case
    // (their tasks are pinned to reservations, an extra task has nowhere to go).
    let mut keep = min_h;
    if min_h == max_c && max_c <= capacity {
        if input.resident {
            keep = min_h.saturating_sub(1);
        } else {
            max_c += 1;
        }
    }

    let done = input.old.is_empty() && new_ready >= n;
    if done {
        return RestartDecision {
            kill: vec![],
            launch: 0,
            done,
            min_healthy: min_h,
            max_capacity: max_c,
        };
    }

    // Old tasks in kill order: failing ones go at once (they carry no capacity), then
    // unknown-health and healthy ones while the capacity stays at `keep` or above.
    let mut old: Vec<&TaskView> = input.old.iter().collect();
    old.sort_by(|a, b| kill_order(a, b, input.kill_selection, hc));
    let mut budget = capacity.saturating_sub(keep);
    let mut kill = Vec::new();
    for t in old {
        if t.is_failing(hc) {
            kill.push(t.id.clone());
        } else if budget > 0 {
            budget -= 1;
            kill.push(t.id.clone());
        }
    }

    let old_left = input.old.len() as u32 - kill.len() as u32;
    let new_alive = input.new.len() as u32;
    let room = max_c.saturating_sub(old_left + new_alive);
    let launch = n.saturating_sub(new_alive).min(room);
    RestartDecision {
        kill,
        launch,
        done: false,
        min_healthy: min_h,
        max_capacity: max_c,
    }
}

/// Input of one scaling step.
#[derive(Debug, Clone)]
pub struct ScaleInput<'a> {
    pub instances: u32,
    pub kill_selection: KillSelection,
    pub has_health_checks: bool,
    /// Live tasks of the app.
    pub tasks: &'a [TaskView],
    /// Tasks named to die first (kill-and-scale), in the given order.
    pub sentenced: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScaleDecision {
    pub launch: u32,
    pub kill: Vec<String>,
    /// The task count already matches.
    pub done: bool,
}

/// One scaling step: launch the missing tasks or pick the ones to kill.
pub fn scale_step(input: &ScaleInput<'_>) -> ScaleDecision {
    let alive = input.tasks.len() as u32;
    let n = input.instances;
    let mut kill: Vec<String> = Vec::new();
    // Named tasks go regardless of the count (Marathon's "sentenced to death").
    for id in input.sentenced {
        if input.tasks.iter().any(|t| &t.id == id) && !kill.contains(id) {
            kill.push(id.clone());
        }
    }
    let remaining = alive - kill.len() as u32;
    if remaining > n {
        let mut rest: Vec<&TaskView> = input
            .tasks
            .iter()
            .filter(|t| !kill.contains(&t.id))
            .collect();
        rest.sort_by(|a, b| kill_order(a, b, input.kill_selection, input.has_health_checks));
        kill.extend(
            rest.into_iter()
                .take((remaining - n) as usize)
                .map(|t| t.id.clone()),
        );
    }
    let after = alive - kill.len() as u32;
    let launch = n.saturating_sub(after);
    ScaleDecision {
        launch,
        done: kill.is_empty() && launch == 0,
        kill,
    }
}

#[cfg(test)]
mod tests;

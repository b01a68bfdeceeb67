//! Deployment planning, as Marathon's `DeploymentPlan(original, target)`:
//! 1. one step stopping apps that are gone (`StopApplication`),
//! 2. one step starting new apps with 0 instances (`StartApplication`),
//! 3. for every class of affected apps with the same longest dependency chain (shortest
//!    first): `ScaleApplication` for new apps and scale-only changes, `RestartApplication`
//!    for apps whose definition changed (`needsRestart`: any field but `instances`/`version`,
//!    or a restart request).
//!
//! Empty steps are dropped. Plans conflict when they touch the same app ids. A plan is plain
//! data (serde) so it can be stored and resumed after a master restart.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::app::AppDefinition;
use crate::group::{Group, GroupError};
use crate::path::PathId;
use crate::rolling::{restart_step, scale_step, RestartInput, ScaleInput, TaskView};

/// Marathon's deployment action names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ActionKind {
    StartApplication,
    ScaleApplication,
    RestartApplication,
    StopApplication,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::StartApplication => "StartApplication",
            ActionKind::ScaleApplication => "ScaleApplication",
            ActionKind::RestartApplication => "RestartApplication",
            ActionKind::StopApplication => "StopApplication",
        }
    }
}

/// One action of a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub action: ActionKind,
    pub app: PathId,
    /// Instances to reach: 0 for `StartApplication`, the target's for scale and restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_to: Option<i64>,
    /// `ScaleApplication` only: specific task ids to kill first (from a kill with `scale=true`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kill_tasks: Vec<String>,
}

/// A step: its actions may run in parallel; steps run one after another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Step {
    pub actions: Vec<Action>,
}

/// Planning problems.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Group(#[from] GroupError),
}

/// A deployment plan with the definitions it needs to run (and to be reverted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentPlan {
    pub id: String,
    pub version: String,
    pub steps: Vec<Step>,
    /// Target definitions of the apps started, scaled or restarted.
    pub target_apps: BTreeMap<PathId, AppDefinition>,
    /// Original definitions of every affected app that existed before.
    pub original_apps: BTreeMap<PathId, AppDefinition>,
}

/// Computes the plan taking the `original` root group to `target`. `to_kill` names tasks to
/// kill first when an app scales down (kill-and-scale requests).
pub fn plan(
    original: &Group,
    target: &Group,
    id: &str,
    version: &str,
    to_kill: &BTreeMap<PathId, Vec<String>>,
) -> Result<DeploymentPlan, PlanError> {
    let orig = original.transitive_apps();
    let targ = target.transitive_apps();

    let mut steps: Vec<Step> = Vec::new();
    let mut original_apps = BTreeMap::new();
    let mut target_apps = BTreeMap::new();

    // 1. stop apps that are gone
    let mut stop = Step::default();
    for (id, app) in &orig {
        if !targ.contains_key(id) {
            stop.actions.push(Action {
                action: ActionKind::StopApplication,
                app: id.clone(),
                scale_to: None,
                kill_tasks: vec![],
            });
            original_apps.insert(id.clone(), (*app).clone());
        }
    }
    steps.push(stop);

    // 2. start new apps at 0 instances
    let mut start = Step::default();
    for (id, app) in &targ {
        if !orig.contains_key(id) {
            start.actions.push(Action {
                action: ActionKind::StartApplication,
                app: id.clone(),
                scale_to: Some(0),
                kill_tasks: vec![],
            });
            target_apps.insert(id.clone(), (*app).clone());
        }
    }
    steps.push(start);

    // 3. dependency-ordered scale / restart
    let affected: BTreeSet<&PathId> = targ
        .iter()
        .filter(|(id, app)| orig.get(*id).is_none_or(|o| o != *app))
        .map(|(id, _)| id)
        .collect();
    if !affected.is_empty() {
        let lengths = target.dependency_graph().longest_path_lengths()?;
        let mut classes: BTreeMap<usize, Vec<&PathId>> = BTreeMap::new();
        for id in &affected {
            classes
                .entry(lengths.get(*id).copied().unwrap_or(1))
                .or_default()
                .push(id);
        }
        for ids in classes.values() {
            let mut step = Step::default();
            for id in ids {
                let Some(new) = targ.get(*id) else { continue };
                let action = match orig.get(*id) {
                    None => Some(Action {
                        action: ActionKind::ScaleApplication,
                        app: (*id).clone(),
                        scale_to: Some(new.instances),
                        kill_tasks: vec![],
                    }),
                    Some(old) if old.is_only_scale_change(new) => Some(Action {
                        action: ActionKind::ScaleApplication,
                        app: (*id).clone(),
                        scale_to: Some(new.instances),
                        kill_tasks: to_kill.get(*id).cloned().unwrap_or_default(),
                    }),
                    Some(old) if old.needs_restart(new) => Some(Action {
                        action: ActionKind::RestartApplication,
                        app: (*id).clone(),
                        scale_to: Some(new.instances),
                        kill_tasks: vec![],
                    }),
                    Some(_) => None,
                };
                if let Some(a) = action {
                    if let Some(old) = orig.get(*id) {
                        original_apps.insert((*id).clone(), (*old).clone());
                    }
                    target_apps.insert((*id).clone(), (*new).clone());
                    step.actions.push(a);
                }
            }
            steps.push(step);
        }
    }
    steps.retain(|s| !s.actions.is_empty());
    Ok(DeploymentPlan {
        id: id.to_string(),
        version: version.to_string(),
        steps,
        target_apps,
        original_apps,
    })
}

impl DeploymentPlan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Ids of every app an action of this plan touches (Marathon's `affectedRunSpecIds`).
    pub fn affected_app_ids(&self) -> BTreeSet<PathId> {
        self.steps
            .iter()
            .flat_map(|s| s.actions.iter().map(|a| a.app.clone()))
            .collect()
    }

    /// True when both plans touch a common app.
    pub fn conflicts_with(&self, other: &DeploymentPlan) -> bool {
        let mine = self.affected_app_ids();
        other
            .steps
            .iter()
            .flat_map(|s| &s.actions)
            .any(|a| mine.contains(&a.app))
    }

    /// The running plans this plan conflicts with (409 without `force`, cancelled with it).
    pub fn conflicting<'a>(&self, running: &'a [DeploymentPlan]) -> Vec<&'a DeploymentPlan> {
        running
            .iter()
            .filter(|p| p.id != self.id && self.conflicts_with(p))
            .collect()
    }

    /// The root group that undoes this plan on top of `current`: affected apps go back to their
    /// original definitions, apps this plan created are removed (Marathon's revert on
    /// `DELETE /v2/deployments/{id}`).
    pub fn revert(&self, current: &Group) -> Group {
        let mut root = current.clone();
        for id in self.affected_app_ids() {
            match self.original_apps.get(&id) {
                Some(orig) => {
                    // Both cases below only fail for ids clashing with groups, which cannot
                    // happen for ids that were apps before.
                    let _ = root.put_app(orig.clone());
                }
                None => {
                    let _ = root.remove_app(&id);
                }
            }
        }
        root
    }

    /// The `GET /v2/deployments` entry. `current_step` is 1-based (0 before the first step
    /// starts); `readiness` holds the readiness check results per app of the current step.
    pub fn to_api_json(
        &self,
        current_step: usize,
        readiness: &BTreeMap<PathId, Vec<Value>>,
    ) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                json!({"actions": s.actions.iter().map(|a| json!({"action": a.action.as_str(), "app": a.app})).collect::<Vec<_>>()})
            })
            .collect();
        let current_actions: Vec<Value> = current_step
            .checked_sub(1)
            .and_then(|i| self.steps.get(i))
            .map(|s| {
                s.actions
                    .iter()
                    .map(|a| {
                        json!({
                            "action": a.action.as_str(),
                            "app": a.app,
                            "readinessCheckResults": readiness.get(&a.app).cloned().unwrap_or_default(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "id": self.id,
            "version": self.version,
            "affectedApps": self.affected_app_ids(),
            "affectedPods": [],
            "steps": steps,
            "currentActions": current_actions,
            "currentStep": current_step,
            "totalSteps": self.steps.len(),
        })
    }

    /// The `plan` object of `deployment_info`/`deployment_success` events:
    /// `{id, version, original, target, steps}` with the caller's root groups.
    pub fn to_event_json(&self, original: &Group, target: &Group) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                json!({"actions": s.actions.iter().map(|a| json!({"action": a.action.as_str(), "app": a.app})).collect::<Vec<_>>()})
            })
            .collect();
        json!({
            "id": self.id,
            "version": self.version,
            "original": original.to_json(),
            "target": target.to_json(),
            "steps": steps,
        })
    }
}

/// Input for driving one action of the current step.
#[derive(Debug, Clone)]
pub struct ActionInput<'a> {
    pub action: &'a Action,
    /// The target definition (from [`DeploymentPlan::target_apps`]); `None` for stops.
    pub app: Option<&'a AppDefinition>,
    /// Live tasks started from the target's configuration (same `lastConfigChangeAt`).
    pub current: &'a [TaskView],
    /// Live tasks of older configurations.
    pub outdated: &'a [TaskView],
}

/// What to do now for one action.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionDecision {
    pub kill: Vec<String>,
    pub launch: u32,
    /// The action is complete; the step is complete when all its actions are.
    pub done: bool,
}

/// Drives one action: `StartApplication` is immediate, `StopApplication` kills every task and
/// is done when none is left, `ScaleApplication` runs [`scale_step`] over all tasks (named
/// tasks die first), `RestartApplication` runs [`restart_step`] (outdated tasks are the old
/// ones). Call again whenever the app's tasks change.
pub fn drive_action(input: &ActionInput<'_>) -> ActionDecision {
    let all = || input.current.iter().chain(input.outdated.iter());
    match input.action.action {
        ActionKind::StartApplication => ActionDecision {
            kill: vec![],
            launch: 0,
            done: true,
        },
        ActionKind::StopApplication => {
            let kill: Vec<String> = all().map(|t| t.id.clone()).collect();
            ActionDecision {
                done: kill.is_empty(),
                kill,
                launch: 0,
            }
        }
        ActionKind::ScaleApplication => {
            let Some(app) = input.app else {
                return ActionDecision {
                    kill: vec![],
                    launch: 0,
                    done: true,
                };
            };
            let tasks: Vec<TaskView> = all().cloned().collect();
            let target = input
                .action
                .scale_to
                .unwrap_or(app.instances)
                .clamp(0, u32::MAX as i64) as u32;
            let d = scale_step(&ScaleInput {
                instances: target,
                kill_selection: app.kill_selection,
                has_health_checks: !app.health_checks.is_empty(),
                tasks: &tasks,
                sentenced: &input.action.kill_tasks,
            });
            ActionDecision {
                kill: d.kill,
                launch: d.launch,
                done: d.done,
            }
        }
        ActionKind::RestartApplication => {
            let Some(app) = input.app else {
                return ActionDecision {
                    kill: vec![],
                    launch: 0,
                    done: true,
                };
            };
            let d = restart_step(&RestartInput {
                instances: app.instances.clamp(0, u32::MAX as i64) as u32,
                strategy: app.upgrade_strategy.clone(),
                kill_selection: app.kill_selection,
                has_health_checks: !app.health_checks.is_empty(),
                resident: app.residency.is_some(),
                old: input.outdated,
                new: input.current,
            });
            ActionDecision {
                kill: d.kill,
                launch: d.launch,
                done: d.done,
            }
        }
    }
}

#[cfg(test)]
mod tests;

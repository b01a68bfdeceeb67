//! Pure allocation core: agents' resources, port ranges and attributes in, placements out.
//! No I/O, no clocks; the only randomness is a seeded RNG inside the view, so the same calls
//! give the same decisions. The master keeps one [`ClusterView`] in sync with its agents and
//! tasks and asks it where new tasks go.
//!
//! ```text
//! let mut view = ClusterView::new(seed);
//! view.upsert_agent(&Agent { id, hostname, resources, ports: vec![(31000, 32000)],
//!                            attributes, reservations, active: true })?;   // (re-)registration
//! view.record_running(&RunningTask { .. })?;      // recovery: tasks that already hold resources
//! view.set_role_weight("prod", 2.0)?;             // weighted DRF (default weight 1)
//! let decisions: Vec<Decision> = place(&mut view, &[TaskRequest { task_id, group: app_id,
//!     role: "*".into(), framework_id, resources, ports: vec![0, 0], constraints,
//!     accepted_resource_roles: vec![] }]);
//! // Decision::Placed(Placement { task_id, agent_id, hostname, ports, allocations })
//! //   -> launch it; allocations say which pool ("*" or a role's reservation) paid.
//! // Decision::Unplaced(Unplaced { task_id, reason })
//! //   -> reason.message() for the queue; UnplacedReason::NoFit carries Marathon's
//! //      rejectSummaryLastOffers funnel (UnfulfilledRole, UnfulfilledConstraint, ...).
//! view.release(&task_id)?;                        // task ended: resources and ports back
//! view.set_agent_active(&agent_id, false)?;       // unreachable: keeps tasks, gets no new ones
//! view.remove_agent(&agent_id)?;                  // gone: releases and returns its tasks
//! ```
//!
//! Placement rules. Each request is a task of a *group* (the app id) with resources (cpus,
//! mem, disk, gpus; 3 decimals like Mesos), host ports (`0` = any free port of the agent's
//! ranges, lowest first; `n` = exactly port n, i.e. requirePorts or a fixed hostPort), Marathon
//! constraints ([`Constraint`]: UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS on
//! `hostname` or an attribute, with Marathon's semantics, counted over the group's tasks in the
//! view) and acceptedResourceRoles (`"*"` = unreserved, the task's role = its reservations;
//! empty = both). Reserved resources only go to their role, and a role uses its reservations
//! first. Among the agents that fit, the task goes to the one with the fewest tasks of its group
//! in its GROUP_BY value(s), then the fewest tasks of its group on the agent (spread), then the
//! most free resources (1 cpu weighs like 4096 MB), then a per-agent rank drawn from the seed.
//! Requests of several roles/frameworks are interleaved in weighted DRF order ([`drf_order`]
//! gives the same ordering standalone). Invalid requests are answered
//! [`UnplacedReason::Invalid`], never by a panic. [`validate_constraint`] and
//! [`Constraint::from_marathon`] give Marathon's own error strings for 422 answers.
//!
//! Every type crossing the API is serde-serializable; [`ClusterView::snapshot`] and
//! [`ClusterView::from_snapshot`] persist and rebuild a whole view.

mod constraint;
mod drf;
mod place;
mod ports;
mod resources;
mod view;

pub use constraint::{validate_constraint, Constraint, ConstraintError, Operator};
pub use drf::{dominant_share, drf_order, DrfClient, DrfError};
pub use place::{
    place, ConstraintRejection, Decision, Placement, RejectReason, RejectStep, TaskRequest,
    Unplaced, UnplacedReason,
};
pub use ports::PortSet;
pub use resources::{ResourceError, Resources, MAX_SCALAR};
pub use view::{
    Agent, AgentSummary, ClusterView, ReservationSummary, RoleResources, RunningTask, ViewError,
    ViewSnapshot, UNRESERVED,
};

/// Gives a task's resources and ports back to its agent (the task ended or was lost); the same
/// as [`ClusterView::release`].
pub fn release(view: &mut ClusterView, task_id: &str) -> Result<RunningTask, ViewError> {
    view.release(task_id)
}

#[cfg(test)]
mod tests;

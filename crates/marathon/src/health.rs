//! Interpreting health check results (the checks themselves run on the agent): per check and
//! task a [`CheckState`] folds results into Marathon's `healthCheckResults` entry and decides
//! when a task is to be killed.
//!
//! Rules (Marathon's): a success resets `consecutiveFailures` and makes the check alive;
//! failures before the first success within `gracePeriodSeconds` of the task start are
//! ignored; any other failure counts, makes it not alive, and once `consecutiveFailures`
//! reaches `maxConsecutiveFailures` (> 0) the task is killed and replaced. A task is healthy
//! when every check has a result and all are alive, unhealthy when any check is not alive,
//! unknown otherwise. Times are ms since the epoch, passed in.

use serde::{Deserialize, Serialize};

use crate::app::{HealthCheck, HealthCheckProtocol};
use crate::task::{timestamp, HealthCheckResult};

/// What one result changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthOutcome {
    /// The result was taken into account (false: a failure inside the grace period).
    pub counted: bool,
    /// `alive` flipped (emit `health_status_changed_event`).
    pub alive_changed: bool,
    /// A counted failure (emit `failed_health_check_event`).
    pub failed: bool,
    /// The task has failed too often: kill it (emit `unhealthy_instance_kill_event`).
    pub kill: bool,
}

/// The state of one check of one task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CheckState {
    pub has_result: bool,
    pub alive: bool,
    pub consecutive_failures: u32,
    pub first_success_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    pub last_failure_ms: Option<i64>,
    pub last_failure_cause: Option<String>,
}

impl CheckState {
    /// Folds in one result: `Ok(())` for a pass, `Err(cause)` for a failure.
    pub fn record(
        &mut self,
        check: &HealthCheck,
        task_started_ms: i64,
        now_ms: i64,
        result: Result<(), String>,
    ) -> HealthOutcome {
        let was_alive = self.has_result && self.alive;
        match result {
            Ok(()) => {
                self.has_result = true;
                self.alive = true;
                self.consecutive_failures = 0;
                self.first_success_ms.get_or_insert(now_ms);
                self.last_success_ms = Some(now_ms);
                HealthOutcome {
                    counted: true,
                    alive_changed: !was_alive,
                    failed: false,
                    kill: false,
                }
            }
            Err(cause) => {
                let grace_ms = check.grace_period_seconds.max(0).saturating_mul(1000);
                if self.first_success_ms.is_none()
                    && now_ms < task_started_ms.saturating_add(grace_ms)
                {
                    return HealthOutcome::default();
                }
                let changed = !self.has_result || was_alive;
                self.has_result = true;
                self.alive = false;
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.last_failure_ms = Some(now_ms);
                self.last_failure_cause = Some(cause);
                let max = check.max_consecutive_failures;
                let kill = max > 0 && i64::from(self.consecutive_failures) >= max;
                HealthOutcome {
                    counted: true,
                    alive_changed: changed,
                    failed: true,
                    kill,
                }
            }
        }
    }

    /// The `healthCheckResults` entry for this check.
    pub fn to_result(&self, task_id: &str) -> HealthCheckResult {
        let ts = |ms: Option<i64>| ms.and_then(timestamp);
        HealthCheckResult {
            alive: self.alive,
            consecutive_failures: self.consecutive_failures,
            first_success: ts(self.first_success_ms),
            last_failure: ts(self.last_failure_ms),
            last_success: ts(self.last_success_ms),
            last_failure_cause: self.last_failure_cause.clone(),
            task_id: task_id.to_string(),
            instance_id: None,
        }
    }
}

/// A task's health from the states of all `n_checks` checks: `Some(true)` healthy,
/// `Some(false)` unhealthy, `None` unknown (no checks, or some check without a result yet).
pub fn task_health(states: &[CheckState], n_checks: usize) -> Option<bool> {
    if n_checks == 0 {
        return None;
    }
    if states.iter().any(|s| s.has_result && !s.alive) {
        return Some(false);
    }
    if states.len() >= n_checks
        && states
            .iter()
            .take(n_checks)
            .all(|s| s.has_result && s.alive)
    {
        return Some(true);
    }
    None
}

/// When the next run of `check` is due for a task started at `task_started_ms` (ms): Mesos-side
/// checks (COMMAND, MESOS_*) wait `delaySeconds` before the first run, Marathon-side ones
/// (HTTP, HTTPS, TCP) start right away; then every `intervalSeconds`.
pub fn next_check_due(check: &HealthCheck, task_started_ms: i64, last_run_ms: Option<i64>) -> i64 {
    let interval = check.interval_seconds.max(1).saturating_mul(1000);
    match last_run_ms {
        Some(last) => last.saturating_add(interval),
        None => match check.protocol {
            HealthCheckProtocol::Http | HealthCheckProtocol::Https | HealthCheckProtocol::Tcp => {
                task_started_ms
            }
            _ => task_started_ms.saturating_add(check.delay_seconds.max(0).saturating_mul(1000)),
        },
    }
}

#[cfg(test)]
mod tests;

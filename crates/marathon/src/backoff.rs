//! Launch backoff (Marathon's rate limiter): after a failed task the next launch of the app
//! waits `backoffSeconds`, each further consecutive failure multiplies the wait by
//! `backoffFactor`, capped at `maxLaunchDelaySeconds`; so after `k` failures the delay is
//! `min(backoffSeconds * backoffFactor^(k-1), maxLaunchDelaySeconds)`.
//!
//! Reset: by `DELETE /v2/queue/{id}/delay`, by a new app version (the caller starts a fresh
//! [`LaunchDelay`]), and by a task that stays up: one that has run at least as long as the
//! delay in force (and at least `backoffSeconds`), i.e. the app is no longer crash-looping
//! faster than it is being held back. Time is passed in (milliseconds since the epoch).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::app::AppDefinition;

/// An app's backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BackoffPolicy {
    pub backoff_seconds: f64,
    pub factor: f64,
    pub max_launch_delay_seconds: f64,
}

impl From<&AppDefinition> for BackoffPolicy {
    fn from(app: &AppDefinition) -> Self {
        BackoffPolicy {
            backoff_seconds: app.backoff_seconds.max(0) as f64,
            factor: app.backoff_factor.max(1.0),
            max_launch_delay_seconds: app.max_launch_delay_seconds.max(0) as f64,
        }
    }
}

impl BackoffPolicy {
    /// The delay after `failures` consecutive failures (0 failures: no delay).
    pub fn delay_seconds(&self, failures: u32) -> f64 {
        if failures == 0 {
            return 0.0;
        }
        let exp = (failures - 1).min(10_000) as i32;
        let d = self.backoff_seconds * self.factor.powi(exp);
        if d.is_finite() {
            d.min(self.max_launch_delay_seconds)
        } else {
            self.max_launch_delay_seconds
        }
    }
}

/// The launch delay state of one app version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LaunchDelay {
    /// Consecutive failures counted.
    pub failures: u32,
    /// The delay in force, in ms.
    pub current_delay_ms: i64,
    /// No launch before this instant (ms since epoch).
    pub delay_until_ms: i64,
}

impl LaunchDelay {
    /// Records a failed task at `now_ms`.
    pub fn on_failure(&mut self, policy: &BackoffPolicy, now_ms: i64) {
        self.failures = self.failures.saturating_add(1);
        self.current_delay_ms = (policy.delay_seconds(self.failures) * 1000.0).round() as i64;
        self.delay_until_ms = now_ms.saturating_add(self.current_delay_ms);
    }

    /// Clears the delay (`DELETE /v2/queue/{id}/delay`).
    pub fn reset(&mut self) {
        *self = LaunchDelay::default();
    }

    /// A task has been running for `uptime_ms`: resets the delay when it counts as staying up.
    /// Returns whether it reset.
    pub fn on_task_uptime(&mut self, policy: &BackoffPolicy, uptime_ms: i64) -> bool {
        let needed = self
            .current_delay_ms
            .max((policy.backoff_seconds * 1000.0) as i64);
        if self.failures > 0 && uptime_ms >= needed {
            self.reset();
            true
        } else {
            false
        }
    }

    /// Milliseconds until launches may resume (0 when they may now).
    pub fn time_left_ms(&self, now_ms: i64) -> i64 {
        (self.delay_until_ms - now_ms).max(0)
    }

    pub fn may_launch(&self, now_ms: i64) -> bool {
        self.time_left_ms(now_ms) == 0
    }

    /// The `delay` object of a `/v2/queue` entry: `{timeLeftSeconds, overdue}`; overdue once the
    /// delay has passed and the launch is still pending.
    pub fn queue_json(&self, now_ms: i64) -> Value {
        let left = self.time_left_ms(now_ms);
        json!({"timeLeftSeconds": (left + 999) / 1000, "overdue": left == 0})
    }
}

/// A `/v2/queue` entry: `{app, count, delay, since}` (marathon-python's MarathonQueueItem).
pub fn queue_entry_json(
    app: &AppDefinition,
    count: u32,
    delay: &LaunchDelay,
    since: &str,
    now_ms: i64,
) -> Value {
    json!({
        "app": app.to_json(),
        "count": count,
        "delay": delay.queue_json(now_ms),
        "since": since,
    })
}

#[cfg(test)]
mod tests;

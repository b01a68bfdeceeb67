//! Slowing down password guessing: failed logins are counted per key (a uid, a client IP)
//! within a window; after `free_failures` of them the key is blocked for a delay that doubles
//! with each further failure, up to `max_delay`. Pure: every call takes the current time.

use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed within `window` before delays start.
    pub free_failures: u32,
    /// Failures older than this (counted from the last one) are forgotten.
    pub window: Duration,
    /// The first delay; each further failure doubles it.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Bound on remembered keys (the oldest idle ones are dropped first).
    pub max_keys: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            free_failures: 5,
            window: Duration::from_secs(15 * 60),
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(15 * 60),
            max_keys: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Duration,
    blocked_until: Duration,
}

/// Failed-login bookkeeping.
#[derive(Debug)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    entries: HashMap<String, Entry>,
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        LoginThrottle {
            policy,
            entries: HashMap::new(),
        }
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// `Err(wait)` when `key` is blocked at `now` (time since the epoch).
    pub fn check(&self, key: &str, now: Duration) -> Result<(), Duration> {
        match self.entries.get(key) {
            Some(e) if e.blocked_until > now => Err(e.blocked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt for `key`; returns the delay now imposed (zero if none).
    pub fn record_failure(&mut self, key: &str, now: Duration) -> Duration {
        if self.entries.len() >= self.policy.max_keys && !self.entries.contains_key(key) {
            self.prune(now);
        }
        let p = self.policy;
        let e = self.entries.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            blocked_until: Duration::ZERO,
        });
        if now.saturating_sub(e.last_failure) > p.window {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last_failure = now;
        let delay = if e.failures > p.free_failures {
            let doublings = (e.failures - p.free_failures - 1).min(30);
            p.base_delay
                .saturating_mul(1u32 << doublings)
                .min(p.max_delay)
        } else {
            Duration::ZERO
        };
        e.blocked_until = now + delay;
        delay
    }

    /// Forgets `key`'s failures (after a successful login).
    pub fn record_success(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Number of keys remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn prune(&mut self, now: Duration) {
        let window = self.policy.window;
        self.entries
            .retain(|_, e| e.blocked_until > now || now.saturating_sub(e.last_failure) <= window);
        if self.entries.len() >= self.policy.max_keys {
            // Still full of recent entries: drop the half that failed longest ago.
            let mut times: Vec<Duration> = self.entries.values().map(|e| e.last_failure).collect();
            times.sort_unstable();
            let cut = times[times.len() / 2];
            self.entries.retain(|_, e| e.last_failure > cut);
        }
    }
}

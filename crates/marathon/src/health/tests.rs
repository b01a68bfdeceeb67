use super::*;

fn check(grace: i64, max: i64) -> HealthCheck {
    let mut c = HealthCheck::new(HealthCheckProtocol::Http);
    c.grace_period_seconds = grace;
    c.max_consecutive_failures = max;
    c
}

#[test]
fn failures_in_the_grace_period_are_ignored_until_first_success() {
    let c = check(10, 3);
    let mut s = CheckState::default();
    let o = s.record(&c, 0, 5_000, Err("connection refused".into()));
    assert_eq!(o, HealthOutcome::default());
    assert!(!s.has_result);
    let o = s.record(&c, 0, 6_000, Ok(()));
    assert!(o.counted && o.alive_changed && !o.failed);
    // after the first success the grace period no longer protects
    let o = s.record(&c, 0, 7_000, Err("500".into()));
    assert!(o.counted && o.failed && o.alive_changed && !o.kill);
    assert_eq!(s.consecutive_failures, 1);
}

#[test]
fn kill_after_max_consecutive_failures() {
    let c = check(0, 3);
    let mut s = CheckState::default();
    let kills: Vec<bool> = (0..4)
        .map(|i| s.record(&c, 0, 1_000 * i, Err("x".into())).kill)
        .collect();
    assert_eq!(kills, vec![false, false, true, true]);
    s.record(&c, 0, 10_000, Ok(()));
    assert_eq!(s.consecutive_failures, 0);
    // maxConsecutiveFailures 0: never kill
    let c0 = check(0, 0);
    let mut s0 = CheckState::default();
    assert!((0..10).all(|i| !s0.record(&c0, 0, i, Err("x".into())).kill));
}

#[test]
fn grace_expires_without_success() {
    let c = check(10, 1);
    let mut s = CheckState::default();
    assert!(!s.record(&c, 0, 9_999, Err("x".into())).counted);
    assert!(s.record(&c, 0, 10_000, Err("x".into())).kill);
}

#[test]
fn task_health_combines_checks() {
    let c = check(0, 3);
    let mut ok = CheckState::default();
    ok.record(&c, 0, 1, Ok(()));
    let mut bad = CheckState::default();
    bad.record(&c, 0, 1, Err("x".into()));
    assert_eq!(task_health(&[], 0), None);
    assert_eq!(task_health(&[ok.clone()], 1), Some(true));
    assert_eq!(task_health(&[ok.clone(), CheckState::default()], 2), None);
    assert_eq!(task_health(&[ok.clone(), bad.clone()], 2), Some(false));
    assert_eq!(task_health(&[ok], 2), None);
}

#[test]
fn result_json_and_schedule() {
    let c = check(0, 3);
    let mut s = CheckState::default();
    s.record(&c, 0, 1_767_225_600_000, Ok(()));
    s.record(&c, 0, 1_767_225_660_000, Err("HTTP 500".into()));
    let r = s.to_result("app.u");
    assert!(!r.alive);
    assert_eq!(r.consecutive_failures, 1);
    assert_eq!(r.first_success.as_deref(), Some("2026-01-01T00:00:00.000Z"));
    assert_eq!(r.last_failure.as_deref(), Some("2026-01-01T00:01:00.000Z"));
    assert_eq!(r.last_failure_cause.as_deref(), Some("HTTP 500"));
    assert_eq!(next_check_due(&c, 1_000, None), 1_000);
    assert_eq!(next_check_due(&c, 1_000, Some(5_000)), 65_000);
    let mut cmd = HealthCheck::new(HealthCheckProtocol::Command);
    cmd.delay_seconds = 15;
    assert_eq!(next_check_due(&cmd, 1_000, None), 16_000);
}

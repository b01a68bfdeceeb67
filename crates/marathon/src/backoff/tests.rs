use super::*;

fn policy() -> BackoffPolicy {
    BackoffPolicy {
        backoff_seconds: 1.0,
        factor: 2.0,
        max_launch_delay_seconds: 10.0,
    }
}

#[test]
fn delay_grows_by_factor_and_caps() {
    let p = policy();
    let got: Vec<f64> = (0..7).map(|k| p.delay_seconds(k)).collect();
    assert_eq!(got, vec![0.0, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]);
    let app = AppDefinition::new("/a", "x");
    let d = BackoffPolicy::from(&app);
    assert_eq!(
        (d.backoff_seconds, d.factor, d.max_launch_delay_seconds),
        (1.0, 1.15, 3600.0)
    );
    assert!((d.delay_seconds(3) - 1.3225).abs() < 1e-9);
    assert_eq!(d.delay_seconds(u32::MAX), 3600.0);
}

#[test]
fn failures_hold_launches_back_until_the_delay_passes() {
    let p = policy();
    let mut d = LaunchDelay::default();
    assert!(d.may_launch(0));
    d.on_failure(&p, 1_000);
    assert_eq!(d.delay_until_ms, 2_000);
    assert!(!d.may_launch(1_500));
    assert!(d.may_launch(2_000));
    d.on_failure(&p, 2_000);
    d.on_failure(&p, 4_000);
    assert_eq!(d.current_delay_ms, 4_000);
    assert_eq!(
        d.queue_json(5_500),
        serde_json::json!({"timeLeftSeconds": 3, "overdue": false})
    );
    assert_eq!(
        d.queue_json(9_000),
        serde_json::json!({"timeLeftSeconds": 0, "overdue": true})
    );
}

#[test]
fn resets() {
    let p = policy();
    let mut d = LaunchDelay::default();
    d.on_failure(&p, 0);
    d.on_failure(&p, 0);
    assert!(
        !d.on_task_uptime(&p, 1_000),
        "shorter than the 2 s delay in force"
    );
    assert!(d.on_task_uptime(&p, 2_000));
    assert_eq!(d, LaunchDelay::default());
    d.on_failure(&p, 0);
    d.reset();
    assert!(d.may_launch(0));
}

#[test]
fn queue_entry_has_marathon_python_keys() {
    let app = AppDefinition::new("/a", "x");
    let j = queue_entry_json(
        &app,
        2,
        &LaunchDelay::default(),
        "2026-01-01T00:00:00.000Z",
        0,
    );
    for k in j.as_object().unwrap().keys() {
        assert!([
            "app",
            "overdue",
            "count",
            "delay",
            "since",
            "processedOffersSummary",
            "lastUnusedOffers"
        ]
        .contains(&k.as_str()));
    }
    for k in j["delay"].as_object().unwrap().keys() {
        assert!(["timeLeftSeconds", "overdue"].contains(&k.as_str()));
    }
}

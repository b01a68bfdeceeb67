use super::*;
use serde_json::Value;

// marathon-python 0.13.0 constructor parameters (camelCase as sent on the wire)
const PY_TASK: &[&str] = &[
    "appId",
    "healthCheckResults",
    "host",
    "id",
    "ports",
    "servicePorts",
    "slaveId",
    "stagedAt",
    "startedAt",
    "version",
    "ipAddresses",
    "state",
    "localVolumes",
    "region",
    "zone",
    "role",
];
const PY_HC_RESULT: &[&str] = &[
    "alive",
    "consecutiveFailures",
    "firstSuccess",
    "lastFailure",
    "lastSuccess",
    "taskId",
    "lastFailureCause",
    "instanceId",
];
const PY_IP: &[&str] = &["ipAddress", "protocol"];
const PY_FAILURE: &[&str] = &[
    "appId",
    "host",
    "message",
    "taskId",
    "instanceId",
    "slaveId",
    "state",
    "timestamp",
    "version",
];

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn timestamps_use_marathons_format() {
    assert_eq!(timestamp(0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
    assert_eq!(
        timestamp(1_767_225_600_123).as_deref(),
        Some("2026-01-01T00:00:00.123Z")
    );
    assert_eq!(
        parse_timestamp("2026-01-01T00:00:00.123Z"),
        Some(1_767_225_600_123)
    );
    assert_eq!(
        parse_timestamp("2026-01-01T00:00:00Z"),
        Some(1_767_225_600_000)
    );
    assert_eq!(parse_timestamp("yesterday"), None);
    assert_eq!(timestamp(i64::MAX), None);
}

#[test]
fn task_json_keys_are_marathon_pythons() {
    let t = TaskJson {
        app_id: "/a".into(),
        health_check_results: vec![HealthCheckResult {
            alive: true,
            consecutive_failures: 0,
            first_success: Some("2026-01-01T00:00:00.000Z".into()),
            last_failure: None,
            last_success: Some("2026-01-01T00:00:00.000Z".into()),
            last_failure_cause: None,
            task_id: "a.u".into(),
            instance_id: None,
        }],
        host: "h".into(),
        id: "a.u".into(),
        ip_addresses: vec![IpAddress {
            ip_address: "10.0.0.1".into(),
            protocol: "IPv4".into(),
        }],
        ports: vec![31000],
        service_ports: vec![10000],
        slave_id: "S1".into(),
        staged_at: "2026-01-01T00:00:00.000Z".into(),
        started_at: Some("2026-01-01T00:00:01.000Z".into()),
        state: "TASK_RUNNING".into(),
        version: "2026-01-01T00:00:00.000Z".into(),
    };
    let j = serde_json::to_value(&t).unwrap();
    for k in keys(&j) {
        assert!(PY_TASK.contains(&k.as_str()), "{k}");
    }
    for k in keys(&j["healthCheckResults"][0]) {
        assert!(PY_HC_RESULT.contains(&k.as_str()), "{k}");
    }
    for k in keys(&j["ipAddresses"][0]) {
        assert!(PY_IP.contains(&k.as_str()), "{k}");
    }
    let f = TaskFailure {
        app_id: "/a".into(),
        host: "h".into(),
        message: "boom".into(),
        state: "TASK_FAILED".into(),
        task_id: "a.u".into(),
        timestamp: "2026-01-01T00:00:00.000Z".into(),
        version: "v".into(),
        slave_id: "S1".into(),
    };
    for k in keys(&serde_json::to_value(&f).unwrap()) {
        assert!(PY_FAILURE.contains(&k.as_str()), "{k}");
    }
}

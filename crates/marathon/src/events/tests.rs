use super::*;
use crate::app::HealthCheckProtocol;
use crate::group::Group;
use std::collections::BTreeMap;

/// marathon-python 0.13.0 `EventFactory.event_to_class` keys.
const PY_EVENT_TYPES: &[&str] = &[
    "api_post_event",
    "status_update_event",
    "framework_message_event",
    "subscribe_event",
    "unsubscribe_event",
    "add_health_check_event",
    "remove_health_check_event",
    "failed_health_check_event",
    "health_status_changed_event",
    "unhealthy_task_kill_event",
    "group_change_success",
    "group_change_failed",
    "deployment_success",
    "deployment_failed",
    "deployment_info",
    "deployment_step_success",
    "deployment_step_failure",
    "event_stream_attached",
    "event_stream_detached",
    "app_terminated_event",
    "instance_changed_event",
    "unknown_instance_terminated_event",
    "unhealthy_instance_kill_event",
    "instance_health_changed_event",
    "pod_created_event",
    "pod_updated_event",
    "pod_deleted_event",
];

/// (event type, its KNOWN_ATTRIBUTES in camelCase) from marathon-python's event classes.
const PY_ATTRS: &[(&str, &[&str])] = &[
    ("api_post_event", &["clientIp", "appDefinition", "uri"]),
    (
        "status_update_event",
        &[
            "slaveId",
            "taskId",
            "taskStatus",
            "appId",
            "host",
            "ports",
            "version",
            "message",
            "ipAddresses",
        ],
    ),
    (
        "failed_health_check_event",
        &["appId", "healthCheck", "taskId", "instanceId"],
    ),
    (
        "health_status_changed_event",
        &["appId", "healthCheck", "taskId", "instanceId", "alive"],
    ),
    ("group_change_success", &["groupId", "version"]),
    ("group_change_failed", &["groupId", "version", "reason"]),
    ("deployment_success", &["id"]),
    ("deployment_failed", &["id"]),
    ("deployment_info", &["plan", "currentStep"]),
    ("deployment_step_success", &["plan"]),
    ("deployment_step_failure", &["plan"]),
    ("event_stream_attached", &["remoteAddress"]),
    ("event_stream_detached", &["remoteAddress"]),
    ("app_terminated_event", &["appId"]),
    (
        "instance_changed_event",
        &[
            "instanceId",
            "slaveId",
            "condition",
            "host",
            "runSpecId",
            "runSpecVersion",
        ],
    ),
    (
        "instance_health_changed_event",
        &["instanceId", "runSpecId", "runSpecVersion", "healthy"],
    ),
    (
        "unhealthy_instance_kill_event",
        &[
            "appId",
            "taskId",
            "instanceId",
            "version",
            "reason",
            "host",
            "slaveId",
        ],
    ),
];

fn all_events() -> Vec<Value> {
    let ts = "2026-01-01T00:00:00.000Z";
    let app = AppDefinition::new("/a", "x");
    let mut target = Group::empty_root();
    target.put_app(app.clone()).unwrap();
    let plan =
        crate::plan::plan(&Group::empty_root(), &target, "d1", ts, &BTreeMap::new()).unwrap();
    let pj = plan.to_event_json(&Group::empty_root(), &target);
    let ips = [IpAddress {
        ip_address: "10.0.0.1".into(),
        protocol: "IPv4".into(),
    }];
    vec![
        api_post_event(ts, "127.0.0.1", "/v2/apps", &app),
        status_update_event(
            ts,
            &StatusUpdate {
                slave_id: "S1",
                task_id: "a.u",
                task_status: "TASK_RUNNING",
                message: "",
                app_id: "/a",
                host: "h",
                ip_addresses: &ips,
                ports: &[31000],
                version: ts,
            },
        ),
        deployment_info(ts, &pj, &plan, 1),
        deployment_step_event(ts, &pj, &plan, 1, true),
        deployment_step_event(ts, &pj, &plan, 2, false),
        deployment_success(ts, &pj, "d1"),
        deployment_failed(ts, &pj, "d1", "cancelled"),
        group_change_success(ts, "/", ts),
        group_change_failed(ts, "/", ts, "boom"),
        health_status_changed(ts, "/a", "a.u", ts, false),
        failed_health_check(
            ts,
            "/a",
            "a.u",
            &HealthCheck::new(HealthCheckProtocol::Http),
        ),
        unhealthy_instance_kill(ts, "/a", "a.u", ts, "failed 3 health checks", "h", "S1"),
        app_terminated(ts, "/a"),
        event_stream(ts, "127.0.0.1", true),
        event_stream(ts, "127.0.0.1", false),
        instance_changed(ts, "a.u", "S1", "Running", "h", "/a", ts),
        instance_health_changed(ts, "a.u", "/a", ts, Some(true)),
    ]
}

#[test]
fn every_event_is_known_to_marathon_python_and_carries_its_fields() {
    for e in all_events() {
        let t = event_type(&e);
        assert!(PY_EVENT_TYPES.contains(&t), "{t}");
        assert!(e["timestamp"].is_string());
        if let Some((_, attrs)) = PY_ATTRS.iter().find(|(k, _)| *k == t) {
            for a in *attrs {
                if *a == "healthCheck" && t == "health_status_changed_event" {
                    continue; // optional in Marathon's own event too
                }
                assert!(e.get(*a).is_some(), "{t} lacks {a}");
            }
        }
    }
}

#[test]
fn deployment_events_carry_the_plan_and_step() {
    let e = &all_events()[2];
    assert_eq!(
        e["currentStep"],
        json!({"actions": [{"action": "StartApplication", "app": "/a"}]})
    );
    for k in ["id", "version", "original", "target", "steps"] {
        assert!(e["plan"].get(k).is_some(), "{k}");
    }
}

#[test]
fn sse_framing_and_filters() {
    let e = app_terminated("T", "/a");
    assert_eq!(
        sse_frame(&e),
        format!("event: app_terminated_event\ndata: {e}\n\n")
    );
    assert!(wanted(&e, &[]));
    assert!(wanted(&e, &["app_terminated_event".into()]));
    assert!(!wanted(&e, &["status_update_event".into()]));
}

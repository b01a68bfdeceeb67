use super::*;
use serde_json::json;

fn parse(v: Value) -> AppDefinition {
    AppDefinition::from_json(v, &PathId::root()).expect("parses")
}

/// Constructor parameter names of marathon-python 0.13.0's models (snake_case as in the
/// Python source; the client converts camelCase keys with `to_snake_case` and calls `cls(**kw)`).
const PY_APP: &[&str] = &[
    "accepted_resource_roles",
    "args",
    "backoff_factor",
    "backoff_seconds",
    "cmd",
    "constraints",
    "container",
    "cpus",
    "dependencies",
    "deployments",
    "disk",
    "env",
    "executor",
    "health_checks",
    "id",
    "role",
    "instances",
    "kill_selection",
    "labels",
    "last_task_failure",
    "max_launch_delay_seconds",
    "mem",
    "ports",
    "require_ports",
    "store_urls",
    "task_rate_limit",
    "tasks",
    "tasks_running",
    "tasks_staged",
    "tasks_healthy",
    "task_kill_grace_period_seconds",
    "tasks_unhealthy",
    "upgrade_strategy",
    "unreachable_strategy",
    "uris",
    "user",
    "version",
    "version_info",
    "ip_address",
    "fetch",
    "task_stats",
    "readiness_checks",
    "readiness_check_results",
    "secrets",
    "port_definitions",
    "residency",
    "gpus",
    "networks",
];
const PY_CONTAINER: &[&str] = &["docker", "type", "port_mappings", "volumes"];
const PY_PORT_MAPPING: &[&str] = &[
    "name",
    "container_port",
    "host_port",
    "service_port",
    "protocol",
    "labels",
];
const PY_VOLUME: &[&str] = &[
    "container_path",
    "host_path",
    "mode",
    "persistent",
    "external",
];
const PY_UPGRADE: &[&str] = &["maximum_over_capacity", "minimum_health_capacity"];
const PY_UNREACHABLE: &[&str] = &[
    "unreachable_inactive_after_seconds",
    "unreachable_expunge_after_seconds",
    "inactive_after_seconds",
    "expunge_after_seconds",
];
const PY_VERSION_INFO: &[&str] = &["last_scaling_at", "last_config_change_at"];
const PY_READINESS: &[&str] = &[
    "name",
    "protocol",
    "path",
    "port_name",
    "interval_seconds",
    "http_status_codes_for_ready",
    "preserve_last_response",
    "timeout_seconds",
];
const PY_PORT_DEFINITION: &[&str] = &["port", "protocol", "name", "labels"];
const PY_RESIDENCY: &[&str] = &["relaunch_escalation_timeout_seconds", "task_lost_behavior"];
const PY_SECRET: &[&str] = &["source"];

/// marathon-python's `to_snake_case`.
fn to_snake(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || next_lower {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn assert_keys(obj: &Value, allowed: &[&str], what: &str) {
    let Value::Object(m) = obj else {
        panic!("{what} is not an object: {obj}")
    };
    for k in m.keys() {
        assert!(
            allowed.contains(&to_snake(k).as_str()),
            "{what} emits `{k}` which marathon-python 0.13.0 rejects"
        );
    }
}

fn full_app() -> AppDefinition {
    parse(json!({
        "id": "/prod/web",
        "cmd": "python3 -m http.server $PORT0",
        "cpus": 0.5, "mem": 64, "instances": 3,
        "container": {"type": "DOCKER", "docker": {"image": "python:3", "pullConfig": null},
            "portMappings": [{"containerPort": 8080, "name": "http-api"}],
            "volumes": [{"containerPath": "/data", "hostPath": "/tmp", "mode": "RO"}]},
        "networks": [{"mode": "container/bridge"}],
        "healthChecks": [{"protocol": "HTTP", "path": "/health"}, {"protocol": "COMMAND", "command": {"value": "true"}}],
        "readinessChecks": [{"portName": "http-api"}],
        "constraints": [["hostname", "UNIQUE"]],
        "fetch": [{"uri": "https://example.com/a.tgz"}],
        "env": {"A": "1", "DB": {"secret": "db"}},
        "secrets": {"db": {"source": "/db/pass"}},
        "labels": {"team": "web"},
        "residency": null,
        "unreachableStrategy": {"inactiveAfterSeconds": 60, "expungeAfterSeconds": 120},
        "taskKillGracePeriodSeconds": 5, "user": "nobody", "role": "slave_public",
        "acceptedResourceRoles": ["*"], "dependencies": ["../db"], "version": "2026-01-01T00:00:00.000Z",
        "versionInfo": {"lastScalingAt": "2026-01-01T00:00:00.000Z", "lastConfigChangeAt": "2026-01-01T00:00:00.000Z"}
    }))
}

#[test]
fn defaults_are_marathons() {
    let app = parse(json!({"id": "/a", "cmd": "sleep 100"}));
    let j = app.to_json();
    assert_eq!(j["cpus"], json!(1.0));
    assert_eq!(j["mem"], json!(128.0));
    assert_eq!(j["disk"], json!(0.0));
    assert_eq!(j["gpus"], json!(0));
    assert_eq!(j["instances"], json!(1));
    assert_eq!(j["backoffSeconds"], json!(1));
    assert_eq!(j["backoffFactor"], json!(1.15));
    assert_eq!(j["maxLaunchDelaySeconds"], json!(3600));
    assert_eq!(
        j["upgradeStrategy"],
        json!({"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0})
    );
    assert_eq!(j["killSelection"], json!("YOUNGEST_FIRST"));
    assert_eq!(j["requirePorts"], json!(false));
    assert_eq!(j["networks"], json!([{"mode": "host"}]));
    assert_eq!(
        j["portDefinitions"],
        json!([{"port": 0, "protocol": "tcp", "name": "default", "labels": {}}])
    );
    assert_eq!(
        j["unreachableStrategy"],
        json!({"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0})
    );
    assert_eq!(j["executor"], json!(""));
    assert!(j.get("container").is_none());
}

#[test]
fn health_and_readiness_defaults() {
    let app = parse(
        json!({"id": "/a", "cmd": "x", "healthChecks": [{}], "portDefinitions": [{"port": 0, "name": "http-api"}], "readinessChecks": [{}]}),
    );
    let hc = &app.health_checks[0];
    assert_eq!(hc.protocol, HealthCheckProtocol::Http);
    assert_eq!(
        (
            hc.grace_period_seconds,
            hc.interval_seconds,
            hc.timeout_seconds,
            hc.max_consecutive_failures,
            hc.delay_seconds
        ),
        (300, 60, 20, 3, 15)
    );
    assert_eq!(
        hc.port_index,
        Some(0),
        "a check without port gets portIndex 0"
    );
    let rc = &app.readiness_checks[0];
    assert_eq!(rc.name, "readinessCheck");
    assert_eq!(rc.path, "/");
    assert_eq!(rc.port_name, "http-api");
    assert_eq!((rc.interval_seconds, rc.timeout_seconds), (30, 10));
    assert_eq!(rc.http_status_codes_for_ready, vec![200]);
}

#[test]
fn bridge_apps_get_default_mapping_and_host_port_zero() {
    let app = parse(
        json!({"id": "/b", "container": {"docker": {"image": "nginx"}}, "networks": [{"mode": "container/bridge"}]}),
    );
    let c = app.container.as_ref().unwrap();
    assert_eq!(c.kind, ContainerType::Docker);
    assert_eq!(
        c.port_mappings.as_ref().unwrap(),
        &vec![PortMapping::new(0, Some(0), Some("default"))]
    );
    assert_eq!(app.port_definitions, Some(vec![]));
}

#[test]
fn deprecated_forms_are_migrated() {
    let app = parse(json!({
        "id": "old", "cmd": "x", "ports": [0, 8080], "uris": ["http://h/a.tar.gz", "http://h/b.sh"],
        "container": {"type": "DOCKER", "docker": {"image": "nginx", "network": "BRIDGE",
            "portMappings": [{"containerPort": 80, "hostPort": 0}]}}
    }));
    assert_eq!(app.id.to_string(), "/old");
    assert_eq!(app.networks[0].mode, NetworkMode::ContainerBridge);
    assert_eq!(
        app.container
            .as_ref()
            .unwrap()
            .port_mappings
            .as_ref()
            .unwrap()[0]
            .container_port,
        80
    );
    assert_eq!(
        app.port_definitions
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.port)
            .collect::<Vec<_>>(),
        vec![0, 8080]
    );
    assert!(app.fetch[0].extract);
    assert!(!app.fetch[1].extract);
}

#[test]
fn read_only_fields_are_dropped_and_unknown_fields_rejected() {
    let app = parse(
        json!({"id": "/a", "cmd": "x", "tasksRunning": 2, "tasks": [], "deployments": [{"id": "d"}]}),
    );
    assert_eq!(app.id.to_string(), "/a");
    let err = AppDefinition::from_json(
        json!({"id": "/a", "cmd": "x", "instance": 3}),
        &PathId::root(),
    )
    .unwrap_err();
    assert_eq!(err.path, "/instance");
    assert!(
        err.message.contains("unknown field `instance`"),
        "{}",
        err.message
    );
    let err =
        AppDefinition::from_json(json!({"id": "/a", "cpus": "lots"}), &PathId::root()).unwrap_err();
    assert_eq!(err.path, "/cpus");
    let err = AppDefinition::from_json(
        json!({"id": "/a", "healthChecks": [{"protocol": "FTP"}]}),
        &PathId::root(),
    )
    .unwrap_err();
    assert_eq!(err.path, "/healthChecks(0)/protocol");
    let err = AppDefinition::from_json(json!({"cmd": "x"}), &PathId::root()).unwrap_err();
    assert_eq!(err.path, "/id");
    assert!(AppDefinition::from_json(json!([1]), &PathId::root()).is_err());
    let err = AppDefinition::from_json(json!({"id": "/a", "instances": 1.5}), &PathId::root())
        .unwrap_err();
    assert_eq!(err.path, "/instances");
    // integral floats are accepted for integer fields
    assert_eq!(
        parse(json!({"id": "/a", "cmd": "x", "instances": 2.0})).instances,
        2
    );
}

#[test]
fn relative_ids_resolve_against_the_group() {
    let app = AppDefinition::from_json(json!({"id": "web", "cmd": "x"}), &PathId::parse("/prod"))
        .unwrap();
    assert_eq!(app.id.to_string(), "/prod/web");
    assert_eq!(full_app().dependency_ids(), vec![PathId::parse("/db")]);
}

#[test]
fn env_and_unreachable_variants_round_trip() {
    let app = full_app();
    assert_eq!(app.env["DB"], EnvValue::Secret("db".into()));
    let j = app.to_json();
    assert_eq!(j["env"], json!({"A": "1", "DB": {"secret": "db"}}));
    let back = parse(j.clone());
    assert_eq!(back, app);
    let d = parse(json!({"id": "/a", "cmd": "x", "unreachableStrategy": "disabled"}));
    assert_eq!(d.to_json()["unreachableStrategy"], json!("disabled"));
    assert!(
        AppDefinition::from_json(json!({"id": "/a", "env": {"X": 1}}), &PathId::root()).is_err()
    );
}

#[test]
fn emitted_keys_are_accepted_by_marathon_python() {
    for app in [full_app(), parse(json!({"id": "/a", "cmd": "x"}))] {
        let j = app.to_json();
        assert_keys(&j, PY_APP, "app");
        assert_keys(&j["upgradeStrategy"], PY_UPGRADE, "upgradeStrategy");
        if j["unreachableStrategy"].is_object() {
            assert_keys(
                &j["unreachableStrategy"],
                PY_UNREACHABLE,
                "unreachableStrategy",
            );
        }
        if let Some(vi) = j.get("versionInfo") {
            assert_keys(vi, PY_VERSION_INFO, "versionInfo");
        }
        for pd in j["portDefinitions"].as_array().unwrap() {
            assert_keys(pd, PY_PORT_DEFINITION, "portDefinition");
        }
        for rc in j["readinessChecks"].as_array().unwrap() {
            assert_keys(rc, PY_READINESS, "readinessCheck");
        }
        if let Some(c) = j.get("container") {
            assert_keys(c, PY_CONTAINER, "container");
            for pm in c["portMappings"].as_array().unwrap() {
                assert_keys(pm, PY_PORT_MAPPING, "portMapping");
                let proto = pm["protocol"].as_str().unwrap();
                assert!(["tcp", "udp", "udp,tcp"].contains(&proto));
            }
            for v in c["volumes"].as_array().unwrap() {
                assert_keys(v, PY_VOLUME, "volume");
                assert!(["RO", "RW"].contains(&v["mode"].as_str().unwrap()));
            }
            assert!(["DOCKER", "MESOS"].contains(&c["type"].as_str().unwrap()));
        }
        if let Some(r) = j.get("residency") {
            assert_keys(r, PY_RESIDENCY, "residency");
        }
        if let Some(Value::Object(s)) = j.get("secrets") {
            for v in s.values() {
                assert_keys(v, PY_SECRET, "secret");
            }
        }
        // constraints: lists of 2 or 3 strings (MarathonConstraint(*c))
        for c in j["constraints"].as_array().unwrap() {
            let n = c.as_array().unwrap().len();
            assert!(n == 2 || n == 3);
        }
        // health check command is {"value": ...} (string or {"value"} accepted by the client)
        for hc in j["healthChecks"].as_array().unwrap() {
            if let Some(cmd) = hc.get("command") {
                assert!(cmd["value"].is_string());
            }
        }
    }
}

#[test]
fn snake_case_matches_marathon_python() {
    assert_eq!(to_snake("versionInfo"), "version_info");
    assert_eq!(to_snake("ignoreHttp1xx"), "ignore_http1xx");
    assert_eq!(to_snake("portDefinitions"), "port_definitions");
}

#[test]
fn upgrade_and_scale_detection() {
    let a = full_app();
    let mut scaled = a.clone();
    scaled.instances = 10;
    assert!(!a.is_upgrade(&scaled));
    assert!(a.is_only_scale_change(&scaled));
    assert!(!a.needs_restart(&scaled));
    let mut labelled = a.clone();
    labelled.labels.insert("x".into(), "y".into());
    assert!(
        a.is_upgrade(&labelled),
        "labels count as a config change, as in Marathon"
    );
    let restarted = a.restarted("2026-02-02T00:00:00.000Z");
    assert!(!a.is_upgrade(&restarted));
    assert!(a.needs_restart(&restarted));
}

#[test]
fn version_stamping() {
    let mut a = AppDefinition::new("/a", "x");
    a.stamp_version(None, "T1");
    assert_eq!(a.version.as_deref(), Some("T1"));
    let mut b = a.clone();
    b.instances = 5;
    b.stamp_version(Some(&a), "T2");
    let vi = b.version_info.clone().unwrap();
    assert_eq!(vi.last_scaling_at.as_deref(), Some("T2"));
    assert_eq!(vi.last_config_change_at.as_deref(), Some("T1"));
    let mut c = b.clone();
    c.cmd = Some("y".into());
    c.stamp_version(Some(&b), "T3");
    assert_eq!(
        c.version_info.unwrap().last_config_change_at.as_deref(),
        Some("T3")
    );
}

#[test]
fn partial_and_full_updates() {
    let cur = full_app();
    let id = cur.id.clone();
    let AppUpdate::Change(next) =
        apply_update(Some(&cur), &id, json!({"instances": 7}), true).unwrap()
    else {
        panic!("expected a change")
    };
    assert_eq!(next.instances, 7);
    assert_eq!(next.cmd, cur.cmd);
    assert_eq!(next.labels, cur.labels);
    let AppUpdate::Change(full) =
        apply_update(Some(&cur), &id, json!({"cmd": "other"}), false).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        full.instances, 1,
        "a full update resets omitted fields to defaults"
    );
    assert!(full.labels.is_empty());
    // null resets a field
    let AppUpdate::Change(reset) =
        apply_update(Some(&cur), &id, json!({"labels": null}), true).unwrap()
    else {
        panic!()
    };
    assert!(reset.labels.is_empty());
    // rollback
    assert_eq!(
        apply_update(Some(&cur), &id, json!({"version": "V1"}), true).unwrap(),
        AppUpdate::Rollback {
            version: "V1".into()
        }
    );
    let err =
        apply_update(Some(&cur), &id, json!({"version": "V1", "cmd": "x"}), true).unwrap_err();
    assert_eq!(
        err.message,
        "The 'version' field may only be combined with the 'id' field."
    );
    let err = apply_update(Some(&cur), &id, json!({"id": "/other", "cmd": "x"}), true).unwrap_err();
    assert_eq!(err.path, "/id");
    // switching a host app to bridge drops its default port definitions
    let host = AppDefinition::new("/h", "x");
    let AppUpdate::Change(b) = apply_update(
        Some(&host),
        &host.id,
        json!({"networks": [{"mode": "container/bridge"}], "container": {"docker": {"image": "nginx"}}}),
        true,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(b.port_definitions, Some(vec![]));
    assert!(
        crate::validate::validate_app(&b).is_empty(),
        "{:?}",
        crate::validate::validate_app(&b)
    );
}

#[test]
fn new_equals_parsed_minimal_app() {
    assert_eq!(
        AppDefinition::new("a", "x"),
        parse(json!({"id": "/a", "cmd": "x"}))
    );
}

#[test]
fn nulls_ip_address_and_protocol_spelling() {
    let app = parse(
        json!({"id": "/a", "cmd": "x", "ipAddress": {"networkName": "dcos"}, "container": null,
        "portDefinitions": null}),
    );
    assert_eq!(
        app.networks,
        vec![Network {
            mode: NetworkMode::Container,
            name: Some("dcos".into()),
            labels: BTreeMap::new()
        }]
    );
    assert_eq!(app.port_definitions, Some(vec![]));
    let app = parse(
        json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 0, "protocol": "tcp,udp"}]}),
    );
    assert_eq!(app.port_definitions.unwrap()[0].protocol, "udp,tcp");
    let err = AppDefinition::from_json(
        json!({"id": "/a", "ipAddress": {}, "networks": [{"mode": "host"}]}),
        &PathId::root(),
    )
    .unwrap_err();
    assert_eq!(err.message, "must not specify both networks and ipAddress");
}

#[test]
fn container_networking_without_container_gets_a_mesos_container() {
    let app =
        parse(json!({"id": "/a", "cmd": "x", "networks": [{"mode": "container", "name": "dcos"}]}));
    let c = app.container.as_ref().unwrap();
    assert_eq!(c.kind, ContainerType::Mesos);
    assert_eq!(
        c.port_mappings.as_ref().unwrap(),
        &vec![PortMapping::new(0, None, Some("default"))]
    );
    assert!(
        crate::validate::validate_app(&app).is_empty(),
        "{:?}",
        crate::validate::validate_app(&app)
    );
}

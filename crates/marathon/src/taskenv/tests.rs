use super::*;
use serde_json::json;

fn app(v: serde_json::Value) -> AppDefinition {
    AppDefinition::from_json(v, &PathId::root()).unwrap()
}

#[test]
fn task_ids_round_trip() {
    let id = task_id(&PathId::parse("/foo/bar"), "1b2c-3d");
    assert_eq!(id, "foo_bar.1b2c-3d");
    assert_eq!(app_id_of_task(&id).unwrap(), PathId::parse("/foo/bar"));
    // dots inside a segment survive: the uuid is after the last dot
    let id = task_id(&PathId::parse("/a.b/c"), "u");
    assert_eq!(app_id_of_task(&id).unwrap(), PathId::parse("/a.b/c"));
    for bad in ["nodot", ".u", "a__b.u", "a."] {
        assert!(app_id_of_task(bad).is_err(), "{bad}");
    }
}

#[test]
fn host_networking_env() {
    let mut a = app(
        json!({"id": "/web/site", "cmd": "x", "cpus": 0.5, "mem": 64,
        "portDefinitions": [{"port": 0, "name": "http"}, {"port": 9000}],
        "labels": {"team": "web", "dcos.lb/port": "80", "x": "y".repeat(600)},
        "env": {"FOO": "bar", "PORT": "override", "PW": {"secret": "pw"}, "MISSING": {"secret": "none"}},
        "secrets": {"pw": {"source": "/pw"}, "none": {"source": "/none"}}}),
    );
    a.version = Some("2026-01-01T00:00:00.000Z".into());
    let mut secrets = BTreeMap::new();
    secrets.insert("pw".to_string(), "s3cret".to_string());
    let env = task_env(&TaskEnvInput {
        app: &a,
        task_id: "web_site.u1",
        host: "agent-1",
        host_ports: &[Some(31000), Some(31001)],
        secret_values: &secrets,
    });
    let get = |k: &str| env.get(k).cloned();
    assert_eq!(get("PORT0").as_deref(), Some("31000"));
    assert_eq!(get("PORT1").as_deref(), Some("31001"));
    assert_eq!(
        get("PORT_31000").as_deref(),
        Some("31000"),
        "dynamic ports are named by their value"
    );
    assert_eq!(get("PORT_9000").as_deref(), Some("31001"));
    assert_eq!(get("PORT_HTTP").as_deref(), Some("31000"));
    assert_eq!(get("PORTS").as_deref(), Some("31000,31001"));
    assert_eq!(
        get("PORT").as_deref(),
        Some("override"),
        "the app's env wins"
    );
    assert_eq!(get("HOST").as_deref(), Some("agent-1"));
    assert_eq!(get("MESOS_TASK_ID").as_deref(), Some("web_site.u1"));
    assert_eq!(get("MARATHON_APP_ID").as_deref(), Some("/web/site"));
    assert_eq!(
        get("MARATHON_APP_VERSION").as_deref(),
        Some("2026-01-01T00:00:00.000Z")
    );
    assert_eq!(get("MARATHON_APP_RESOURCE_CPUS").as_deref(), Some("0.5"));
    assert_eq!(get("MARATHON_APP_RESOURCE_MEM").as_deref(), Some("64.0"));
    assert_eq!(get("MARATHON_APP_RESOURCE_DISK").as_deref(), Some("0.0"));
    assert_eq!(get("MARATHON_APP_RESOURCE_GPUS").as_deref(), Some("0"));
    assert_eq!(
        get("MARATHON_APP_LABELS").as_deref(),
        Some("DCOS_LB_PORT TEAM")
    );
    assert_eq!(
        get("MARATHON_APP_LABEL_DCOS_LB_PORT").as_deref(),
        Some("80")
    );
    assert_eq!(
        get("MARATHON_APP_LABEL_X"),
        None,
        "values of 512+ chars are skipped"
    );
    assert_eq!(get("FOO").as_deref(), Some("bar"));
    assert_eq!(get("PW").as_deref(), Some("s3cret"));
    assert_eq!(get("MISSING"), None);
}

#[test]
fn bridge_networking_env_and_port_requests() {
    let a = app(
        json!({"id": "/b", "networks": [{"mode": "container/bridge"}],
        "container": {"docker": {"image": "nginx:1.25"}, "portMappings": [
            {"containerPort": 80, "hostPort": 0, "name": "web"},
            {"containerPort": 443, "hostPort": 8443},
            {"containerPort": 0}
        ]}}),
    );
    let req = port_requests(&a);
    assert_eq!(req.len(), 3);
    assert_eq!((req[0].fixed, req[0].host_port), (None, true));
    assert_eq!((req[1].fixed, req[1].host_port), (Some(8443), true));
    // bridge mode gives a missing hostPort the value 0 (Marathon's normalization)
    assert_eq!((req[2].fixed, req[2].host_port), (None, true));
    let env = task_env(&TaskEnvInput {
        app: &a,
        task_id: "b.u",
        host: "h",
        host_ports: &[Some(31005), Some(8443), Some(31006)],
        secret_values: &BTreeMap::new(),
    });
    assert_eq!(env["PORT_80"], "31005");
    assert_eq!(env["PORT_443"], "8443");
    assert_eq!(env["PORT_WEB"], "31005");
    assert_eq!(env["MARATHON_APP_DOCKER_IMAGE"], "nginx:1.25");
}

#[test]
fn container_only_ports_use_container_ports() {
    let a = app(
        json!({"id": "/c", "networks": [{"mode": "container", "name": "dcos"}],
        "container": {"docker": {"image": "nginx"}, "portMappings": [{"containerPort": 80}, {"containerPort": 0}]}}),
    );
    let req = port_requests(&a);
    assert!(!req[0].host_port && !req[1].host_port);
    let env = task_env(&TaskEnvInput {
        app: &a,
        task_id: "c.u",
        host: "h",
        host_ports: &[None, None],
        secret_values: &BTreeMap::new(),
    });
    assert_eq!(env["PORT0"], "80");
    assert_eq!(env["PORT1"], "1025");
    assert_eq!(env["PORT_1025"], "1025");
    assert_eq!(env["PORTS"], "1025");
}

#[test]
fn require_ports_fixes_host_ports() {
    let a = app(
        json!({"id": "/r", "cmd": "x", "requirePorts": true, "portDefinitions": [{"port": 8080}, {"port": 0}]}),
    );
    let req = port_requests(&a);
    assert_eq!(req[0].fixed, Some(8080));
    assert_eq!(req[1].fixed, None);
    let no_ports = app(json!({"id": "/n", "cmd": "x", "portDefinitions": []}));
    let env = task_env(&TaskEnvInput {
        app: &no_ports,
        task_id: "n.u",
        host: "h",
        host_ports: &[],
        secret_values: &BTreeMap::new(),
    });
    assert!(!env.contains_key("PORTS"));
    assert_eq!(env["MARATHON_APP_LABELS"], "");
}

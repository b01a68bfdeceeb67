use super::*;
use crate::path::PathId;
use serde_json::json;

fn app(v: Value) -> AppDefinition {
    AppDefinition::from_json(v, &PathId::root()).expect("parses")
}

fn errors_at(v: &[Violation], path: &str) -> Vec<String> {
    v.iter()
        .filter(|x| x.path == path)
        .flat_map(|x| x.errors.clone())
        .collect()
}

#[test]
fn a_plain_app_is_valid() {
    assert!(validate_app(&app(json!({"id": "/a", "cmd": "sleep 1"}))).is_empty());
    assert!(validate_app(&app(
        json!({"id": "/d", "container": {"docker": {"image": "nginx"}}})
    ))
    .is_empty());
    assert!(validate_app(&app(json!({"id": "/args", "args": ["sleep", "1"]}))).is_empty());
}

#[test]
fn cmd_args_or_container() {
    let msg = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.";
    let v = validate_app(&app(json!({"id": "/a"})));
    assert_eq!(errors_at(&v, "/"), vec![msg]);
    let v = validate_app(&app(json!({"id": "/a", "cmd": "x", "args": ["y"]})));
    assert_eq!(errors_at(&v, "/"), vec![msg]);
}

#[test]
fn upgrade_strategy_bounds_give_the_documented_body() {
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 1.5}}),
    ));
    assert_eq!(
        error_body(&v),
        json!({"message": "Object is not valid", "details": [
            {"path": "/upgradeStrategy/minimumHealthCapacity", "errors": ["is greater than 1"]}]})
    );
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "upgradeStrategy": {"maximumOverCapacity": -0.1}}),
    ));
    assert_eq!(
        errors_at(&v, "/upgradeStrategy/maximumOverCapacity"),
        vec!["is less than 0"]
    );
}

#[test]
fn resources_and_backoff_bounds() {
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "cpus": 0.0001, "mem": -1, "instances": -1,
        "backoffFactor": 0.5, "backoffSeconds": -1, "maxLaunchDelaySeconds": -5, "gpus": -1, "disk": -2}),
    ));
    assert_eq!(errors_at(&v, "/cpus"), vec!["is less than 0.001"]);
    assert_eq!(errors_at(&v, "/mem"), vec!["is less than 0"]);
    assert_eq!(errors_at(&v, "/instances"), vec!["is less than 0"]);
    assert_eq!(errors_at(&v, "/backoffFactor"), vec!["is less than 1"]);
    assert_eq!(errors_at(&v, "/backoffSeconds"), vec!["is less than 0"]);
    assert_eq!(
        errors_at(&v, "/maxLaunchDelaySeconds"),
        vec!["is less than 0"]
    );
    assert_eq!(errors_at(&v, "/gpus"), vec!["is less than 0"]);
    assert_eq!(errors_at(&v, "/disk"), vec!["is less than 0"]);
}

#[test]
fn id_rules() {
    let v = validate_app(&app(json!({"id": "/Bad", "cmd": "x"})));
    assert_eq!(errors_at(&v, "/id").len(), 1);
    assert!(errors_at(&v, "/id")[0].starts_with("must fully match regular expression"));
    let v = validate_app(&app(json!({"id": "/x/restart", "cmd": "x"})));
    assert_eq!(
        errors_at(&v, "/id"),
        vec!["must not end with any of the following reserved keywords: restart, tasks, versions"]
    );
    let v = validate_app(&app(json!({"id": "/", "cmd": "x"})));
    assert_eq!(errors_at(&v, "/"), vec!["must not be root"]);
}

#[test]
fn ports_versus_networking() {
    let v = validate_app(&app(
        json!({"id": "/a", "container": {"docker": {"image": "nginx"},
        "portMappings": [{"containerPort": 80}]}}),
    ));
    assert_eq!(
        errors_at(&v, "/"),
        vec!["portMappings are not allowed with host-networking"]
    );
    let v = validate_app(&app(
        json!({"id": "/a", "container": {"docker": {"image": "nginx"}},
        "networks": [{"mode": "container/bridge"}], "portDefinitions": [{"port": 0}]}),
    ));
    assert_eq!(
        errors_at(&v, "/"),
        vec!["portDefinitions are only allowed with host-networking"]
    );
    let v = validate_app(&app(json!({"id": "/a", "cmd": "x",
        "portDefinitions": [{"port": 80, "name": "web"}, {"port": 80, "name": "web"}]})));
    assert_eq!(
        errors_at(&v, "/portDefinitions"),
        vec!["Port names must be unique.", "Ports must be unique."]
    );
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 0, "protocol": "sctp"}]}),
    ));
    assert_eq!(errors_at(&v, "/portDefinitions(0)/protocol").len(), 1);
    let v = validate_app(&app(
        json!({"id": "/a", "container": {"docker": {"image": "nginx"}},
        "networks": [{"mode": "container", "name": "a"}, {"mode": "container", "name": "b"}]}),
    ));
    assert_eq!(
        errors_at(&v, "/"),
        vec!["may only specify a single container network when using the Docker container engine"]
    );
}

#[test]
fn constraint_messages_are_marathons() {
    let cases: &[(&[&str], Option<&str>)] = &[
        (&["hostname", "UNIQUE"], None),
        (
            &["hostname", "UNIQUE", "x"],
            Some("Value specified but not used"),
        ),
        (&["rack", "CLUSTER"], Some("Missing value")),
        (&["rack", "CLUSTER", "r1"], None),
        (&["rack", "GROUP_BY"], None),
        (&["rack", "GROUP_BY", "3"], None),
        (
            &["rack", "GROUP_BY", "x"],
            Some("Value was specified but is not a number"),
        ),
        (&["rack", "MAX_PER", "2"], None),
        (
            &["rack", "MAX_PER", "two"],
            Some("Value was not specified or is not a number"),
        ),
        (
            &["rack", "MAX_PER"],
            Some("Value was not specified or is not a number"),
        ),
        (&["host", "LIKE", "a.*"], None),
        (
            &["host", "UNLIKE", "(a"],
            Some("'(a' is not a valid regular expression"),
        ),
        (
            &["host", "LIKE"],
            Some("A regular expression value must be provided"),
        ),
        (&["os", "IS", "linux"], None),
        (&["host", "NEAR", "x"], Some(CONSTRAINT_OPERATORS)),
        (
            &["host"],
            Some("Each constraint must have either 2 or 3 fields"),
        ),
        (&["", "UNIQUE"], Some("Missing field and operator")),
    ];
    for (c, want) in cases {
        let c: Vec<String> = c.iter().map(|s| s.to_string()).collect();
        assert_eq!(check_constraint(&c).as_deref(), *want, "{c:?}");
    }
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "constraints": [["h", "UNIQUE"], ["r", "CLUSTER"]]}),
    ));
    assert_eq!(errors_at(&v, "/constraints(1)"), vec!["Missing value"]);
}

#[test]
fn health_checks() {
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "healthChecks": [{"portIndex": 3}]}),
    ));
    assert_eq!(
        errors_at(&v, "/healthChecks(0)"),
        vec!["Health check port indices must address an element of the ports array or container port mappings."]
    );
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "COMMAND"}]}),
    ));
    assert_eq!(
        errors_at(&v, "/healthChecks(0)/command"),
        vec!["must be defined for COMMAND health checks"]
    );
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "TCP", "path": "/x"}]}),
    ));
    assert_eq!(
        errors_at(&v, "/healthChecks(0)/path"),
        vec!["is not allowed for protocol TCP"]
    );
    let v = validate_app(&app(json!({"id": "/a", "cmd": "x", "healthChecks": [
        {"protocol": "COMMAND", "command": {"value": "true"}}, {"protocol": "MESOS_TCP"}]})));
    assert_eq!(
        errors_at(&v, "/"),
        vec!["AppDefinition can contain at most one Mesos health check"]
    );
    let ok = app(
        json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "TCP"}, {"protocol": "HTTP", "path": "/h"}]}),
    );
    assert!(validate_app(&ok).is_empty());
    // no ports at all: a port check has nothing to address
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "portDefinitions": [], "healthChecks": [{"protocol": "TCP"}]}),
    ));
    assert_eq!(errors_at(&v, "/healthChecks(0)").len(), 1);
}

#[test]
fn env_labels_fetch_and_readiness() {
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "env": {"A=B": "1", "S": {"secret": "nope"}},
        "fetch": [{"uri": "not a uri"}, {"uri": "http://ok/a.tgz", "destPath": "../escape"}]}),
    ));
    assert_eq!(errors_at(&v, "/env/A=B").len(), 1);
    assert_eq!(
        errors_at(&v, "/env/S"),
        vec!["references an undefined secret named 'nope'"]
    );
    assert_eq!(
        errors_at(&v, "/fetch(0)/uri"),
        vec!["URI has invalid syntax."]
    );
    assert_eq!(errors_at(&v, "/fetch(1)/destPath").len(), 1);
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "readinessChecks": [{"portName": "nope"}]}),
    ));
    assert_eq!(
        errors_at(&v, "/readinessChecks(0)/portName"),
        vec!["No port definition reference for portName nope"]
    );
}

#[test]
fn container_rules() {
    let v = validate_app(&app(
        json!({"id": "/a", "container": {"docker": {"image": ""}}}),
    ));
    assert_eq!(
        errors_at(&v, "/container/docker/image"),
        vec!["must not be empty"]
    );
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "container": {"type": "DOCKER"}}),
    ));
    assert_eq!(
        errors_at(&v, "/container/docker"),
        vec!["must be defined for DOCKER containers"]
    );
    let v = validate_app(&app(
        json!({"id": "/a", "cmd": "x", "container": {"type": "MESOS", "volumes": [{"containerPath": "d"}]}}),
    ));
    assert_eq!(errors_at(&v, "/container/volumes(0)").len(), 1);
    let ok = app(
        json!({"id": "/a", "cmd": "x", "container": {"type": "MESOS", "docker": {"image": "alpine"}}}),
    );
    assert!(validate_app(&ok).is_empty());
}

#[test]
fn violations_merge_by_path() {
    let mut v = Violations::default();
    v.push("/a", "x");
    v.push("/a", "y");
    v.push("/a", "x");
    v.extend_prefixed(
        "/apps(0)",
        vec![Violation::new("/cpus", "z"), Violation::new("/", "w")],
    );
    let v = v.into_vec();
    assert_eq!(v[0].errors, vec!["x", "y"]);
    assert_eq!(v[1].path, "/apps(0)/cpus");
    assert_eq!(v[2].path, "/apps(0)");
}

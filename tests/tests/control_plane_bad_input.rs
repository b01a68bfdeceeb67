//! Bad input on every master route: a 4xx with a JSON `message`, and nothing changes.

use dcos_e2e::Cluster;
use serde_json::{json, Value};

fn assert_err(c: &Cluster, (s, v): (u16, Value), want: u16, what: &str) {
    assert_eq!(s, want, "{what}: got {s} {v}");
    let m = v["message"].as_str().unwrap_or("");
    assert!(!m.is_empty(), "{what}: JSON message expected, got {v}");
    let _ = c;
}

#[test]
fn bad_input_gets_a_json_4xx_and_changes_nothing() {
    let c = Cluster::start(0, &[]);
    let before = c.state();
    let token = c.master.join_token();
    let cases: Vec<(&str, &str, String, u16)> = vec![
        ("POST", "/internal/v1/tasks", "{not json".into(), 400),
        ("POST", "/internal/v1/tasks", "[]".into(), 422),
        (
            "POST",
            "/internal/v1/tasks",
            json!({"cmd": "x", "cpus": "lots"}).to_string(),
            422,
        ),
        (
            "POST",
            "/internal/v1/tasks",
            json!({"cmd": "x", "unknown_field": 1}).to_string(),
            422,
        ),
        (
            "POST",
            "/internal/v1/tasks",
            json!({"cmd": ""}).to_string(),
            422,
        ),
        (
            "POST",
            "/internal/v1/tasks",
            json!({"cmd": "x", "cpus": -1}).to_string(),
            422,
        ),
        (
            "POST",
            "/internal/v1/tasks",
            json!({"id": "../x", "cmd": "x"}).to_string(),
            422,
        ),
        (
            "POST",
            "/internal/v1/tasks",
            json!({"cmd": "x", "constraints": [["rack", "NOPE"]]}).to_string(),
            422,
        ),
        (
            "POST",
            "/internal/v1/tasks",
            json!({"cmd": "sleep 1"}).to_string(),
            409,
        ),
        ("GET", "/internal/v1/tasks/nope", String::new(), 404),
        ("DELETE", "/internal/v1/tasks/nope", String::new(), 404),
        ("PUT", "/internal/v1/tasks", "{}".into(), 405),
        ("POST", "/mesos/master/state.json", "{}".into(), 405),
        ("GET", "/agent/nope/state.json", String::new(), 404),
        (
            "GET",
            "/slave/nope/files/read.json?path=/x",
            String::new(),
            404,
        ),
        (
            "GET",
            "/mesos/files/read.json?path=/etc/passwd",
            String::new(),
            404,
        ),
        ("GET", "/mesos/files/read.json", String::new(), 400),
        ("GET", "/no/such/route", String::new(), 404),
        // Agent protocol without the join token.
        ("POST", "/internal/v1/agents/register", "{}".into(), 401),
        (
            "POST",
            "/internal/v1/agents/x/heartbeat",
            String::new(),
            401,
        ),
    ];
    for (method, path, body, want) in cases {
        let what = format!("{method} {path}");
        assert_err(&c, c.send(method, path, &body), want, &what);
    }
    // Oversized body (on its own connection: the server closes it without reading the body).
    let big = format!("{{\"cmd\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = c
        .http
        .post(c.url("/internal/v1/tasks"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .expect("oversized request");
    assert_eq!(r.status().as_u16(), 413);
    let v: Value = r.json().expect("a JSON error body");
    assert!(
        v["message"].as_str().unwrap_or("").contains("larger than"),
        "{v}"
    );
    // With the token: unknown agents, malformed and invalid bodies.
    let http = reqwest::blocking::Client::new();
    let call = |path: &str, body: String| -> (u16, Value) {
        let r = http
            .post(c.url(path))
            .header("X-Dcos-Join-Token", &token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("request");
        let s = r.status().as_u16();
        (s, r.json().unwrap_or(Value::Null))
    };
    assert_err(
        &c,
        call("/internal/v1/agents/nope/heartbeat", String::new()),
        404,
        "heartbeat of an unknown agent",
    );
    assert_err(
        &c,
        call(
            "/internal/v1/agents/nope/status",
            json!({"updates": []}).to_string(),
        ),
        404,
        "status of an unknown agent",
    );
    assert_err(
        &c,
        call("/internal/v1/agents/register", "{\"hostname\":".into()),
        400,
        "malformed registration",
    );
    let reg = json!({
        "hostname": "h", "endpoint": "ftp://x", "version": "t",
        "resources": {"cpus": 1, "mem": 1, "disk": 0}
    });
    assert_err(
        &c,
        call("/internal/v1/agents/register", reg.to_string()),
        422,
        "bad endpoint",
    );
    let reg = json!({
        "hostname": "h", "endpoint": "http://127.0.0.1:9", "version": "t",
        "resources": {"cpus": 1, "mem": 1, "disk": 0, "ports": [{"begin": 10, "end": 5}]}
    });
    assert_err(
        &c,
        call("/internal/v1/agents/register", reg.to_string()),
        422,
        "bad port range",
    );
    let wrong = reqwest::blocking::Client::new()
        .post(c.url("/internal/v1/agents/register"))
        .header("X-Dcos-Join-Token", "wrong")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .expect("request");
    assert_eq!(wrong.status().as_u16(), 401);

    // Nothing changed.
    let after = c.state();
    assert_eq!(after["slaves"], before["slaves"]);
    assert_eq!(after["frameworks"], before["frameworks"]);
    assert_eq!(c.get("/internal/v1/tasks").1["tasks"], json!([]));
    // The refusals are logged.
    let log = std::fs::read_to_string(c.master.data_dir.join("master.log")).unwrap_or_default();
    assert!(log.contains("join token"), "a refused agent call is logged");
}

#[test]
fn identity_and_metrics_routes_answer() {
    let c = Cluster::start(0, &[]);
    let r = reqwest::blocking::get(c.url("/ping")).expect("ping");
    assert_eq!(r.text().unwrap(), "pong");
    let v = c.get("/dcos-metadata/dcos-version.json").1;
    assert!(
        v["version"].is_string() && v["bootstrap-id"].is_string(),
        "{v}"
    );
    let m = c.get("/metadata").1;
    assert_eq!(m["PUBLIC_IPV4"], "127.0.0.1");
    assert_eq!(m["CLUSTER_ID"].as_str().map(|s| s.len()), Some(36));
    let metrics = c
        .http
        .get(c.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("dcos_master_agents{status=\"active\"} 0"),
        "{metrics}"
    );
    let url = std::fs::read_to_string(c.master.data_dir.join("master.url")).unwrap();
    assert_eq!(url.trim(), c.master.url);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(c.master.data_dir.join("join-token"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let log = c
        .get("/mesos/files/read.json?path=/master/log&offset=0&length=100000")
        .1;
    assert!(
        log["data"]
            .as_str()
            .unwrap_or("")
            .contains("master state recovered"),
        "{log}"
    );
    let size = c.get("/mesos/files/read.json?path=/master/log&offset=-1").1;
    assert!(size["offset"].as_u64().unwrap_or(0) > 0);
    for p in [
        "/mesos/master/state",
        "/master/state.json",
        "/master/slaves",
        "/master/state-summary",
    ] {
        assert_eq!(c.get(p).0, 200, "{p}");
    }
}

//! End to end with the real `dcos` CLI against a local cluster (`dcos cluster up`, free ports,
//! temp dirs): `dcos marathon app add` deploys examples/sleep.json, the app shows in
//! `app list`, its deployment finishes, its task runs, `app update instances=2` scales it,
//! `app remove` removes it; an invalid app gives exit 1 and one line naming the problem.

use dcos_e2e::wait_until;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dcos_e2e::local_cluster::LocalCluster;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn marathon_app_lifecycle_through_the_cli() {
    let c = LocalCluster::new("e2e-marathon", 1);
    let cfg = c.config.to_str().unwrap().to_string();
    let out = c.ok(&["cluster", "up", "--config", &cfg]);
    assert!(out.contains(&format!("Entry point: {}", c.url)), "{out}");

    let pong = c.ok(&["marathon", "ping"]);
    assert!(pong.contains("pong"), "{pong}");
    let about = json(&c.ok(&["marathon", "about"]));
    assert!(about.is_object(), "{about}");

    let sleep = examples().join("sleep.json");
    let out = c.ok(&["marathon", "app", "add", sleep.to_str().unwrap()]);
    assert!(out.contains("Created app /sleep"), "{out}");
    assert!(out.contains("Created deployment "), "{out}");

    let list = c.ok(&["marathon", "app", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("CMD"),
        "{list}"
    );
    assert!(lines.iter().any(|l| l.starts_with("/sleep ")), "{list}");

    wait_until(Duration::from_secs(60), "the deployment to finish", || {
        let deps = json(&c.ok(&["marathon", "deployment", "list", "--json"]));
        deps.as_array().is_some_and(|d| d.is_empty()).then_some(())
    });
    let out = c.ok(&["marathon", "deployment", "list"]);
    assert!(out.contains("There are no deployments"), "{out}");

    let task = wait_until(Duration::from_secs(60), "a running task", || {
        let out = c.ok(&["marathon", "task", "list", "/sleep"]);
        out.lines()
            .find(|l| l.starts_with("/sleep") && l.contains("TASK_RUNNING"))
            .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
    });
    let shown = json(&c.ok(&["marathon", "task", "show", &task]));
    assert_eq!(shown["appId"], "/sleep", "{shown}");

    let out = c.ok(&[
        "marathon",
        "app",
        "update",
        "/sleep",
        "instances=2",
        "--wait",
    ]);
    assert!(out.contains("has finished"), "{out}");
    let app = json(&c.ok(&["marathon", "app", "show", "/sleep"]));
    assert_eq!(app["instances"], 2, "{app}");
    let tasks = json(&c.ok(&["marathon", "task", "list", "--json"]));
    assert_eq!(tasks.as_array().map(Vec::len), Some(2), "{tasks}");
    let versions = json(&c.ok(&["marathon", "app", "version", "list", "/sleep"]));
    assert!(
        versions.as_array().is_some_and(|v| v.len() >= 2),
        "{versions}"
    );

    c.ok(&["marathon", "app", "remove", "/sleep"]);
    wait_until(Duration::from_secs(60), "the app to be gone", || {
        let apps = json(&c.ok(&["marathon", "app", "list", "--json"]));
        apps.as_array().is_some_and(|a| a.is_empty()).then_some(())
    });

    // An unknown app and an invalid definition: exit 1, one line, nothing deployed.
    let o = c.cmd(&["marathon", "app", "show", "/nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", c.show(&[], &o));
    let bad = c.tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"id": "/bad", "cmd": "sleep 1", "cpus": -1, "instances": -2}"#,
    )
    .unwrap();
    let args = ["marathon", "app", "add", bad.to_str().unwrap()];
    let o = c.cmd(&args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{}", c.show(&args, &o));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("dcos: ") && err.contains("/cpus"), "{err}");
    let notjson = c.tmp.path().join("notjson.json");
    std::fs::write(&notjson, "{ nope").unwrap();
    let o = c.cmd(&["marathon", "app", "add", notjson.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not valid JSON"), "{err}");
    let apps = json(&c.ok(&["marathon", "app", "list", "--json"]));
    assert_eq!(apps, Value::Array(vec![]), "nothing deployed");
}

#[test]
fn marathon_restart_stop_start_kill_and_deployments() {
    let c = LocalCluster::new("e2e-marathon-ops", 1);
    let cfg = c.config.to_str().unwrap().to_string();
    c.ok(&["cluster", "up", "--config", &cfg]);
    let sleep = examples().join("sleep.json");
    let out = c.ok(&["marathon", "app", "add", sleep.to_str().unwrap(), "--wait"]);
    assert!(out.contains("has finished"), "{out}");
    let running = |n: usize| {
        wait_until(
            Duration::from_secs(60),
            &format!("{n} running tasks"),
            || {
                let t = json(&c.ok(&["marathon", "task", "list", "--json"]));
                let ids: Vec<String> = t
                    .as_array()?
                    .iter()
                    .filter(|t| t["state"] == "TASK_RUNNING")
                    .filter_map(|t| t["id"].as_str().map(str::to_string))
                    .collect();
                (ids.len() == n).then_some(ids)
            },
        )
    };
    let first = running(1);

    // restart replaces the task; deployment watch follows the restart to its end.
    let out = c.ok(&["marathon", "app", "restart", "sleep"]);
    let dep = out.trim().rsplit(' ').next().unwrap_or("").to_string();
    assert!(!dep.is_empty(), "{out}");
    let out = c.ok(&["marathon", "deployment", "watch", &dep]);
    assert!(out.contains("has finished"), "{out}");
    let second = running(1);
    assert_ne!(first, second, "restart replaced the task");

    // task kill: the app starts a replacement; with --scale it does not.
    let out = c.ok(&["marathon", "task", "kill", &second[0]]);
    assert!(out.contains("Killed") && out.contains(&second[0]), "{out}");
    let third = wait_until(Duration::from_secs(60), "a replacement", || {
        let ids = running(1);
        (ids != second).then_some(ids)
    });
    let out = c.ok(&["marathon", "task", "stop", &third[0]]);
    assert!(out.contains(&third[0]), "{out}");

    // stop scales to 0, start scales back, start again is refused.
    c.ok(&["marathon", "app", "stop", "/sleep"]);
    running(0);
    c.ok(&["marathon", "app", "start", "/sleep", "2"]);
    running(2);
    let o = c.cmd(&["marathon", "app", "start", "/sleep"]);
    assert_eq!(o.status.code(), Some(1), "{}", c.show(&[], &o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already started"));

    // app kill --scale leaves no task and instances 0.
    let out = c.ok(&["marathon", "app", "kill", "/sleep", "--scale"]);
    assert!(
        out.contains("Created deployment") || out.contains("Killed"),
        "{out}"
    );
    running(0);
    let app = json(&c.ok(&["marathon", "app", "show", "/sleep"]));
    assert_eq!(app["instances"], 0, "{app}");

    let o = c.cmd(&["marathon", "deployment", "rollback", "no-such-deployment"]);
    assert_eq!(o.status.code(), Some(1), "{}", c.show(&[], &o));
}

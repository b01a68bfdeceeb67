//! End to end with the real `dcos` CLI: `dcos cluster up` starts a master and two agents from a
//! config.yaml (free ports, temp dirs), the CLI lists the nodes, a task launched through the
//! master's operator API shows up in `dcos task list` and its output in `dcos task log`, and
//! `dcos cluster down` leaves no process and no state behind.

use dcos_e2e::{dcos_bin, wait_until};
use serde_json::Value;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use dcos_e2e::local_cluster::{alive, proc_stat, LocalCluster};

/// Live (non-zombie) processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let live = matches!(proc_stat(pid), Some((s, _)) if s != 'Z' && s != 'X');
        if live
            && pid != std::process::id() as i32
            && String::from_utf8_lossy(&cmd).contains(needle)
        {
            out.push(pid);
        }
    }
    out
}

/// The token `dcos cluster up` logged the CLI in with, if the master requires one.
fn cli_token(c: &LocalCluster) -> Option<String> {
    let o = c.cmd(&["config", "show", "core.dcos_acs_token"]);
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn post_task(c: &LocalCluster, body: Value) -> Value {
    let mut req = reqwest::blocking::Client::new()
        .post(format!("{}/internal/v1/tasks", c.url))
        .json(&body);
    if let Some(t) = cli_token(c) {
        req = req.header("Authorization", format!("token={t}"));
    }
    let r = req.send().expect("POST /internal/v1/tasks");
    let status = r.status();
    let v: Value = r.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "POST /internal/v1/tasks: {status} {v}");
    v
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn cluster_up_runs_tasks_shows_logs_and_down_leaves_nothing() {
    let c = LocalCluster::new("e2e-up", 2);
    let cfg = c.config.to_str().unwrap().to_string();

    let out = c.ok(&["cluster", "up", "--config", &cfg]);
    assert!(out.contains(&format!("Entry point: {}", c.url)), "{out}");
    assert_eq!(c.recorded_pids().len(), 3, "{}", c.record());

    // Idempotent: a second `up` changes nothing.
    let pids = c.recorded_pids();
    let out = c.ok(&["cluster", "up", "--config", &cfg]);
    assert!(out.contains("already running"), "{out}");
    assert_eq!(c.recorded_pids(), pids);

    // The CLI is attached to it.
    let clusters = json(&c.ok(&["cluster", "list", "--json"]));
    assert_eq!(clusters.as_array().unwrap().len(), 1, "{clusters}");
    assert_eq!(clusters[0]["name"], "e2e-up");
    assert_eq!(clusters[0]["attached"], true);
    assert_eq!(clusters[0]["status"], "AVAILABLE");
    assert_eq!(clusters[0]["url"], c.url.as_str());

    let nodes = json(&c.ok(&["node", "list", "--json"]));
    assert_eq!(nodes.as_array().unwrap().len(), 2, "{nodes}");
    let table = c.ok(&["node", "list"]);
    assert_eq!(
        table
            .lines()
            .filter(|l| l.contains(" agent ") || l.ends_with(" agent"))
            .count(),
        2,
        "{table}"
    );
    assert!(table.contains("master (leader)"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains(" e2e ") && l.ends_with(" z-1")),
        "REGION and ZONE from the agents' attributes: {table}"
    );

    // A task through the operator API; unique sleep argument to find its process later.
    let marker = format!("3000.{}", std::process::id());
    let task = post_task(
        &c,
        serde_json::json!({
            "name": "e2e-hello",
            "cmd": format!("echo hello-from-e2e; echo to-stderr >&2; sleep {marker}"),
            "cpus": 0.1, "mem": 32
        }),
    );
    let task_id = task["id"].as_str().expect("task id").to_string();

    wait_until(
        Duration::from_secs(30),
        "the task RUNNING in `dcos task list --json`",
        || {
            let v = json(&c.ok(&["task", "list", "--json"]));
            v.as_array()?
                .iter()
                .any(|t| t["id"] == task_id.as_str() && t["state"] == "TASK_RUNNING")
                .then_some(())
        },
    );
    let table = c.ok(&["task", "list"]);
    let header = table.lines().next().unwrap_or("");
    assert!(
        header.starts_with("NAME") && header.contains("AGENT ID"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("e2e-hello") && l.contains(&task_id)),
        "{table}"
    );
    assert!(
        c.ok(&["task", "list", "nothing-matches-this"])
            .lines()
            .count()
            == 1
    );

    let log = wait_until(
        Duration::from_secs(20),
        "the task's stdout in `dcos task log`",
        || {
            let o = c.cmd(&["task", "log", &task_id]);
            let s = String::from_utf8_lossy(&o.stdout).into_owned();
            (o.status.success() && s.contains("hello-from-e2e")).then_some(s)
        },
    );
    assert!(!log.contains("to-stderr"), "{log}");
    assert!(c
        .ok(&["task", "log", "e2e-hello", "stderr"])
        .contains("to-stderr"));

    let services = c.ok(&["service", "list"]);
    assert!(services.contains("dcos-tasks"), "{services}");
    c.ok(&["node", "log", "--leader", "--lines", "3"]);
    // An agent's log, served by the agent through the files API (path=/slave/log).
    let agent_id = nodes[0]["id"].as_str().unwrap().to_string();
    let o = c.cmd(&["node", "log", "--mesos-id", &agent_id, "--lines", "50"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("registered with the master"),
        "{}",
        c.show(&["node", "log"], &o)
    );
    let o = c.cmd(&["node", "log", "--mesos-id", "no-such-agent"]);
    assert_eq!(o.status.code(), Some(1), "{}", c.show(&["node", "log"], &o));
    assert!(
        !processes_with(&marker).is_empty(),
        "the task's process should be running"
    );

    // --follow prints output as it comes and returns once the task has ended.
    let ticker = post_task(
        &c,
        serde_json::json!({
            "name": "e2e-ticker",
            "cmd": "for i in 1 2 3 4 5 6; do echo tick-$i; sleep 0.4; done",
            "cpus": 0.1, "mem": 32
        }),
    );
    let ticker_id = ticker["id"].as_str().expect("task id").to_string();
    wait_until(Duration::from_secs(30), "the ticker task to start", || {
        let v = json(&c.ok(&["task", "list", "--json", "--completed"]));
        v.as_array()?
            .iter()
            .any(|t| t["id"] == ticker_id.as_str() && t["state"] != "TASK_STAGING")
            .then_some(())
    });
    let mut child = Command::new(dcos_bin())
        .args(["task", "log", "--follow", "--lines", "100", &ticker_id])
        .env("DCOS_DIR", c.dcos_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_until(
        Duration::from_secs(30),
        "`dcos task log --follow` to end with its task",
        || child.try_wait().unwrap(),
    );
    let o = child.wait_with_output().unwrap();
    let followed = String::from_utf8_lossy(&o.stdout);
    assert!(
        status.success(),
        "{}",
        c.show(&["task", "log", "--follow"], &o)
    );
    for i in 1..=6 {
        assert_eq!(
            followed.matches(&format!("tick-{i}\n")).count(),
            1,
            "tick-{i} once in:\n{followed}"
        );
    }

    // Down: no process of the cluster (master, agents, the task) survives; state is gone.
    let pids = c.recorded_pids();
    let out = c.ok(&["cluster", "down", "--yes"]);
    assert!(out.contains("is down"), "{out}");
    for (pid, st) in &pids {
        assert!(
            !alive(*pid, *st),
            "pid {pid} still runs after `dcos cluster down`"
        );
    }
    assert!(
        processes_with(&marker).is_empty(),
        "the task's process survived `dcos cluster down`"
    );
    assert!(
        !c.tmp.path().join("cluster").exists(),
        "cluster folder left behind"
    );
    assert!(
        !c.dcos_dir().join("local/e2e-up").exists(),
        "cluster record left behind"
    );
    let clusters = json(&c.ok(&["cluster", "list", "--json"]));
    assert!(clusters.as_array().unwrap().is_empty(), "{clusters}");
    let o = c.cmd(&["node", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no cluster is attached"));
}

#[test]
fn keep_data_then_up_resumes_the_same_cluster() {
    let c = LocalCluster::new("e2e-keep", 1);
    let cfg = c.config.to_str().unwrap().to_string();
    c.ok(&["cluster", "up", "--config", &cfg]);
    let id1 = json(&c.ok(&["cluster", "list", "--json"]))[0]["cluster_id"].clone();
    let pids = c.recorded_pids();
    let out = c.ok(&["cluster", "down", "--keep-data"]);
    assert!(out.contains("data kept"), "{out}");
    for (pid, st) in &pids {
        assert!(!alive(*pid, *st), "pid {pid} still runs");
    }
    assert!(
        c.tmp.path().join("cluster/master").is_dir(),
        "data removed despite --keep-data"
    );
    c.ok(&["cluster", "up", "--config", &cfg]);
    let clusters = json(&c.ok(&["cluster", "list", "--json"]));
    assert_eq!(
        clusters[0]["cluster_id"], id1,
        "the master's store (and cluster id) was kept"
    );
    let nodes = json(&c.ok(&["node", "list", "--json"]));
    assert!(!nodes.as_array().unwrap().is_empty(), "{nodes}");
    c.ok(&["cluster", "down", "--yes"]);
    assert!(!c.tmp.path().join("cluster").exists());
}

#[test]
fn a_port_in_use_is_refused_before_anything_starts() {
    let c = LocalCluster::new("e2e-busy", 1);
    let port: u16 = c.url.rsplit(':').next().unwrap().parse().unwrap();
    let _busy = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let o = c.cmd(&["cluster", "up", "--config", c.config.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        c.show(&["cluster", "up"], &o)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("already in use"), "{err}");
    assert!(c.recorded_pids().is_empty());
}

#[test]
fn an_agent_that_cannot_start_is_reported_and_nothing_is_left_running() {
    let c = LocalCluster::new("e2e-bad-agent", 1);
    let yaml = std::fs::read_to_string(&c.config).unwrap();
    let yaml = yaml.replace("  count: 1\n", "  count: 1\n  resources: cpus:lots\n");
    std::fs::write(&c.config, yaml).unwrap();
    let o = c.cmd(&["cluster", "up", "--config", c.config.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        c.show(&["cluster", "up"], &o)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("dcos: agent 0 exited during startup"),
        "{err}"
    );
    assert!(
        last.contains("cpus"),
        "the agent's own complaint is shown: {err}"
    );
    assert!(last.contains("agent-0.log"), "{err}");
    let pids = c.recorded_pids();
    assert_eq!(pids.len(), 2, "{}", c.record());
    for (pid, st) in &pids {
        assert!(
            !alive(*pid, *st),
            "pid {pid} left running after a failed `up`"
        );
    }
    // `down` still cleans up the folders of the failed attempt.
    c.ok(&["cluster", "down", "--yes"]);
    assert!(!c.tmp.path().join("cluster").exists());
}

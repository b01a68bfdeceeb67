//! Control plane end to end: real `dcosd master` and `dcosd agent` processes on this machine.

use dcos_e2e::{wait_until, Cluster};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(60);

/// The sandbox directory of `task_id` in an agent's state.json (executors carry `directory`).
fn sandbox_dir(agent_state: &Value, task_id: &str) -> Option<String> {
    for f in agent_state["frameworks"]
        .as_array()
        .into_iter()
        .chain(agent_state["completed_frameworks"].as_array())
        .flatten()
    {
        for ex in f["executors"]
            .as_array()
            .into_iter()
            .chain(f["completed_executors"].as_array())
            .flatten()
        {
            let has = ex["id"] == task_id
                || ["tasks", "completed_tasks", "queued_tasks"]
                    .iter()
                    .any(|k| {
                        ex[*k]
                            .as_array()
                            .is_some_and(|ts| ts.iter().any(|t| t["id"] == task_id))
                    });
            if has {
                return ex["directory"].as_str().map(str::to_string);
            }
        }
    }
    None
}

/// Reads a sandbox file of a task through the master's agent proxy.
fn read_task_file(c: &Cluster, agent: &str, task_id: &str, file: &str) -> Option<String> {
    let (s, st) = c.get(&format!("/agent/{agent}/state.json"));
    if s != 200 {
        return None;
    }
    let dir = sandbox_dir(&st, task_id)?;
    let (s, v) = c.get(&format!(
        "/agent/{agent}/files/read.json?path={dir}/{file}&offset=0&length=65536"
    ));
    if s != 200 {
        return None;
    }
    v["data"].as_str().map(str::to_string)
}

#[test]
fn agents_register_and_a_task_runs_with_a_readable_log() {
    let c = Cluster::start(2, &[]);
    let st = c.state();
    let slaves = st["slaves"].as_array().expect("slaves");
    assert_eq!(slaves.len(), 2, "{st}");
    let mut ranges: Vec<&str> = slaves
        .iter()
        .map(|s| s["resources"]["ports"].as_str().unwrap_or(""))
        .collect();
    ranges.sort();
    assert_eq!(ranges, vec!["[31000-31099]", "[31100-31199]"]);
    for s in slaves {
        assert_eq!(s["resources"]["cpus"], 2.0, "{s}");
        assert_eq!(s["resources"]["mem"], 1024.0, "{s}");
        assert!(s["attributes"]["rack"].is_string(), "{s}");
    }
    assert_eq!(
        c.get("/mesos/master/slaves").1["slaves"]
            .as_array()
            .map(|a| a.len()),
        Some(2)
    );

    let t = c.launch(&json!({
        "id": "hello", "cmd": "echo hello-from-task port=$PORT0; sleep 60",
        "cpus": 0.1, "mem": 32, "ports": 1
    }));
    assert_eq!(t["state"], "TASK_STAGING");
    let agent = t["agent_id"].as_str().expect("agent id").to_string();
    let port = t["resources"]["ports"][0].as_u64().expect("a port");
    c.wait_task_state("hello", "TASK_RUNNING", LONG);
    let out = wait_until(
        LONG,
        "the task's stdout through /agent/<id>/files/read.json",
        || read_task_file(&c, &agent, "hello", "stdout").filter(|s| s.contains("hello-from-task")),
    );
    assert!(
        out.contains(&format!("port={port}")),
        "PORT0 is the assigned port: {out}"
    );

    // state.json shows the task under the dcos-tasks framework with Mesos field names.
    let task = c.state_task("hello").expect("task in state.json");
    assert_eq!(task["state"], "TASK_RUNNING");
    assert_eq!(task["framework_id"], "dcos-tasks");
    assert_eq!(task["slave_id"], agent.as_str());
    assert_eq!(task["resources"]["ports"], format!("[{port}-{port}]"));
    let states: Vec<&str> = task["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(states.first(), Some(&"TASK_STAGING"));
    assert_eq!(states.last(), Some(&"TASK_RUNNING"));
    assert!(task["statuses"][0]["timestamp"].as_f64().unwrap_or(0.0) > 1.0e9);
    let summary = c.get("/mesos/master/state-summary").1;
    assert_eq!(summary["slaves"].as_array().map(|a| a.len()), Some(2));

    // Kill: SIGTERM on the agent, reported KILLED; the framework lists it as completed.
    let (s, v) = c.send("DELETE", "/internal/v1/tasks/hello?grace_period_secs=1", "");
    assert_eq!(s, 202, "{v}");
    c.wait_task_state("hello", "TASK_KILLED", LONG);
    let st = c.state();
    let fw = st["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "dcos-tasks")
        .expect("dcos-tasks framework");
    assert!(fw["completed_tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == "hello"));
}

#[test]
fn a_task_over_its_memory_limit_fails_with_the_memory_reason() {
    let c = Cluster::start(1, &[]);
    // `tail` keeps a line in memory until a newline that /dev/zero never sends.
    c.launch(&json!({
        "id": "hog", "cmd": "head -c 400000000 /dev/zero | tail", "cpus": 0.1, "mem": 32
    }));
    let t = c.wait_task_state("hog", "TASK_FAILED", LONG);
    let last = t["statuses"]
        .as_array()
        .and_then(|s| s.last())
        .cloned()
        .unwrap_or_default();
    let text = format!("{} {}", last["reason"], last["message"]).to_lowercase();
    assert!(
        last["reason"] == "REASON_CONTAINER_LIMITATION_MEMORY" || text.contains("memory"),
        "the failure names the memory limit: {last}"
    );
}

#[test]
fn master_kill9_and_restart_lose_nothing() {
    let mut c = Cluster::start(2, &[]);
    c.launch(&json!({"id": "keep1", "cmd": "sleep 300", "cpus": 0.1, "mem": 16, "ports": 2}));
    c.launch(&json!({"id": "keep2", "cmd": "sleep 300", "cpus": 0.1, "mem": 16}));
    c.wait_task_state("keep1", "TASK_RUNNING", LONG);
    c.wait_task_state("keep2", "TASK_RUNNING", LONG);
    let before1 = c.task("keep1");
    let before2 = c.task("keep2");
    let agents_before = {
        let mut a = c.active_agents();
        a.sort();
        a
    };
    let token = c.master.join_token();
    let cluster_id = c.get("/metadata").1["CLUSTER_ID"].clone();

    c.master.kill9();
    c.master.restart();

    assert_eq!(c.master.join_token(), token, "the join token survives");
    assert_eq!(c.get("/metadata").1["CLUSTER_ID"], cluster_id);
    // Right after the restart everything is known (recovered from the store)...
    for (id, before) in [("keep1", &before1), ("keep2", &before2)] {
        let t = c.task(id);
        assert_eq!(t["agent_id"], before["agent_id"]);
        assert_eq!(t["resources"], before["resources"]);
    }
    // ...and the agents re-register with the same ids; the tasks are still running.
    let mut agents_after = c.wait_agents(2);
    agents_after.sort();
    assert_eq!(agents_after, agents_before);
    assert_eq!(c.task("keep1")["state"], "TASK_RUNNING");
    assert_eq!(c.task("keep2")["state"], "TASK_RUNNING");
    // New work still places around the recovered ports.
    let t3 =
        c.launch(&json!({"id": "after", "cmd": "sleep 300", "cpus": 0.1, "mem": 16, "ports": 2}));
    if t3["agent_id"] == before1["agent_id"] {
        for p in t3["resources"]["ports"].as_array().unwrap() {
            assert!(!before1["resources"]["ports"]
                .as_array()
                .unwrap()
                .contains(p));
        }
    }
    c.wait_task_state("after", "TASK_RUNNING", LONG);
}

fn agent_index(c: &Cluster, agent_id: &str) -> usize {
    // Agent i was started with ports [31000+100i ...]; match through state.json.
    let st = c.state();
    let s = st["slaves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == agent_id)
        .expect("agent in state.json");
    let ports = s["resources"]["ports"].as_str().unwrap_or("[31000-");
    let base: usize = ports[1..6].parse().unwrap_or(31000);
    (base - 31000) / 100
}

#[test]
fn a_killed_agent_is_detected_and_its_tasks_become_unreachable_then_lost() {
    let mut c = Cluster::start(
        1,
        &[
            "--agent-timeout-secs",
            "2",
            "--unreachable-to-lost-secs",
            "2",
            "--heartbeat-interval-ms",
            "300",
        ],
    );
    c.launch(&json!({"id": "doomed", "cmd": "sleep 300", "cpus": 0.1, "mem": 16}));
    c.wait_task_state("doomed", "TASK_RUNNING", LONG);
    let killed = Instant::now();
    c.agents[0].proc.kill9();
    dcos_e2e::kill_processes_under(&c.agents[0].work_dir);
    let t = c.wait_task_state("doomed", "TASK_UNREACHABLE", Duration::from_secs(15));
    eprintln!("agent loss detected after {:?}", killed.elapsed());
    assert_eq!(
        t["statuses"].as_array().unwrap().last().unwrap()["reason"],
        "REASON_SLAVE_REMOVED"
    );
    let st = c.state();
    assert_eq!(st["unreachable_slaves"], 1, "{st}");
    assert_eq!(st["slaves"][0]["active"], false);
    assert!(c.state_task("doomed").is_some());
    c.wait_task_state("doomed", "TASK_LOST", Duration::from_secs(15));
}

#[test]
fn a_stopped_agent_is_detected_and_reconciled_when_it_returns() {
    let c = Cluster::start(
        2,
        &[
            "--agent-timeout-secs",
            "2",
            "--unreachable-to-lost-secs",
            "2",
            "--heartbeat-interval-ms",
            "300",
        ],
    );
    let t = c.launch(&json!({
        "id": "old", "cmd": "sleep 300", "cpus": 0.1, "mem": 16,
        "constraints": [["rack", "IS", "r0"]]
    }));
    let agent = t["agent_id"].as_str().unwrap().to_string();
    assert_eq!(
        agent_index(&c, &agent),
        0,
        "the constraint put it on rack r0"
    );
    c.wait_task_state("old", "TASK_RUNNING", LONG);
    c.agents[0].proc.signal(libc::SIGSTOP);
    c.wait_task_state("old", "TASK_UNREACHABLE", Duration::from_secs(15));
    c.wait_task_state("old", "TASK_LOST", Duration::from_secs(15));
    // Its replacement runs elsewhere.
    c.launch(&json!({
        "id": "new", "cmd": "sleep 300", "cpus": 0.1, "mem": 16,
        "constraints": [["rack", "IS", "r1"]]
    }));
    c.wait_task_state("new", "TASK_RUNNING", LONG);
    // The agent returns: it re-registers, and the master has it kill the replaced task.
    c.agents[0].proc.signal(libc::SIGCONT);
    wait_until(LONG, "the returning agent to be active again", || {
        c.active_agents().contains(&agent).then_some(())
    });
    wait_until(
        LONG,
        "the replaced task to be killed on the returning agent",
        || {
            let (s, v) = c.get(&format!("/agent/{agent}/v1/tasks"));
            if s != 200 {
                return None;
            }
            let tasks = v["tasks"].as_array()?;
            match tasks.iter().find(|t| t["task_id"] == "old") {
                None => Some(()),
                Some(t) => {
                    let state = t["state"].as_str().unwrap_or("");
                    matches!(
                        state,
                        "TASK_KILLED" | "TASK_FAILED" | "TASK_FINISHED" | "TASK_LOST"
                    )
                    .then_some(())
                }
            }
        },
    );
    assert_eq!(
        c.task("old")["state"],
        "TASK_LOST",
        "a terminal state never changes"
    );
    assert_eq!(c.task("new")["state"], "TASK_RUNNING");
}

#[test]
fn an_agent_restart_keeps_its_id_and_its_tasks() {
    let mut c = Cluster::start(1, &[]);
    let t = c
        .launch(&json!({"id": "survivor", "cmd": "echo alive; sleep 300", "cpus": 0.1, "mem": 16}));
    let agent = t["agent_id"].as_str().unwrap().to_string();
    c.wait_task_state("survivor", "TASK_RUNNING", LONG);
    c.agents[0].restart();
    wait_until(
        LONG,
        "the restarted agent to register again with the same id",
        || {
            let st = c.state();
            let s = st["slaves"]
                .as_array()?
                .iter()
                .find(|s| s["id"] == agent.as_str())?
                .clone();
            (s["active"] == true && s["reregistered_time"].is_f64()).then_some(())
        },
    );
    assert_eq!(
        c.state()["slaves"].as_array().map(|a| a.len()),
        Some(1),
        "no second agent record"
    );
    assert_eq!(c.task("survivor")["state"], "TASK_RUNNING");
    // The recovered task can still be killed through the restarted agent.
    let (s, v) = c.send(
        "DELETE",
        "/internal/v1/tasks/survivor?grace_period_secs=1",
        "",
    );
    assert_eq!(s, 202, "{v}");
    c.wait_task_state("survivor", "TASK_KILLED", LONG);
}

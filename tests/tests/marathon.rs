//! End to end: the Marathon v2 API of a real master driving real agents.

use dcos_e2e::{agent_flags, wait_until, Cluster};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const M: &str = "/marathon/v2";

fn app_doc(c: &Cluster, id: &str) -> Value {
    let (s, v) = c.get(&format!("{M}/apps{id}"));
    assert_eq!(s, 200, "GET app {id}: {v}");
    v["app"].clone()
}

fn running_ids(app: &Value) -> BTreeSet<String> {
    app["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["state"] == "TASK_RUNNING")
        .filter_map(|t| t["id"].as_str().map(str::to_string))
        .collect()
}

/// Waits until the app has `n` running tasks and no deployment; returns the app document.
fn wait_stable(c: &Cluster, id: &str, n: usize) -> Value {
    wait_until(
        Duration::from_secs(40),
        &format!("{id} to run {n} tasks"),
        || {
            let a = app_doc(c, id);
            let tasks = a["tasks"].as_array().map(Vec::len).unwrap_or(0);
            (a["tasksRunning"] == n && tasks == n && a["deployments"] == json!([])).then_some(a)
        },
    )
}

#[test]
fn app_lifecycle_create_validate_scale_restart_kill_delete() {
    let c = Cluster::start(2, &[]);
    // invalid JSON -> 400, invalid app -> 422 with details, nothing created
    let (s, v) = c.send("POST", &format!("{M}/apps"), "{not json");
    assert_eq!(s, 400, "{v}");
    let (s, v) = c.post_json(
        &format!("{M}/apps"),
        &json!({"id": "/bad", "cmd": "sleep 1", "cpus": -1}),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["message"], "Object is not valid");
    assert!(
        v["details"].as_array().is_some_and(|d| !d.is_empty()),
        "{v}"
    );
    let (s, v) = c.get(&format!("{M}/apps"));
    assert_eq!((s, v["apps"].clone()), (200, json!([])));

    // create
    let body = json!({"id": "/web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 32, "instances": 2,
                      "portDefinitions": [{"port": 0, "name": "http"}]});
    let r = c
        .http
        .post(c.url(&format!("{M}/apps")))
        .json(&body)
        .send()
        .expect("POST /v2/apps");
    assert_eq!(r.status().as_u16(), 201);
    let dep = r
        .headers()
        .get("Marathon-Deployment-Id")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    assert!(r.headers().get("Location").is_some());
    let created: Value = r.json().expect("json");
    assert_eq!(created["id"], "/web");
    assert_eq!(created["deployments"][0]["id"].as_str(), dep.as_deref());
    // duplicate -> 409
    let (s, v) = c.post_json(&format!("{M}/apps"), &body);
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["message"], "An app with id [/web] already exists.");

    let a = wait_stable(&c, "/web", 2);
    for t in a["tasks"].as_array().into_iter().flatten() {
        assert_eq!(t["appId"], "/web");
        assert_eq!(t["ports"].as_array().map(Vec::len), Some(1), "{t}");
    }
    // the same through /service/marathon, and /v2/tasks
    let (s, v) = c.get("/service/marathon/v2/tasks");
    assert_eq!(s, 200);
    assert_eq!(v["tasks"].as_array().map(Vec::len), Some(2), "{v}");

    // scale up, then a restart keeps capacity and replaces every task
    let (s, v) = c.send(
        "PUT",
        &format!("{M}/apps/web"),
        &json!({"instances": 4}).to_string(),
    );
    assert_eq!(s, 200, "{v}");
    assert!(v["deploymentId"].is_string(), "{v}");
    let before = running_ids(&wait_stable(&c, "/web", 4));
    let (s, v) = c.send("POST", &format!("{M}/apps/web/restart"), "");
    assert_eq!(s, 200, "{v}");
    let mut min_running = 4;
    let after = wait_until(
        Duration::from_secs(60),
        "the restart to replace every task",
        || {
            let a = app_doc(&c, "/web");
            min_running = min_running.min(a["tasksRunning"].as_u64().unwrap_or(0));
            let ids = running_ids(&a);
            (a["deployments"] == json!([]) && ids.len() == 4 && ids.is_disjoint(&before))
                .then_some(ids)
        },
    );
    assert_eq!(after.len(), 4);
    assert!(
        min_running >= 4,
        "capacity dropped to {min_running} during the restart"
    );
    let (s, v) = c.get(&format!("{M}/apps/web/versions"));
    assert_eq!(s, 200);
    assert!(
        v["versions"].as_array().is_some_and(|x| x.len() >= 2),
        "{v}"
    );

    // scale down
    let (s, v) = c.send(
        "PATCH",
        &format!("{M}/apps/web"),
        &json!({"instances": 1}).to_string(),
    );
    assert_eq!(s, 200, "{v}");
    let a = wait_stable(&c, "/web", 1);

    // a task killed outside a deployment is replaced
    let victim = running_ids(&a).into_iter().next().expect("one task");
    let (s, v) = c.send("DELETE", &format!("{M}/apps/web/tasks/{victim}"), "");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["task"]["id"], victim.as_str());
    wait_until(
        Duration::from_secs(30),
        "the killed task to be replaced",
        || {
            let a = app_doc(&c, "/web");
            let ids = running_ids(&a);
            (ids.len() == 1 && !ids.contains(&victim)).then_some(())
        },
    );

    // delete removes the app and its tasks
    let (s, v) = c.send("DELETE", &format!("{M}/apps/web"), "");
    assert_eq!(s, 200, "{v}");
    wait_until(Duration::from_secs(30), "the app's tasks to end", || {
        let (_, v) = c.get(&format!("{M}/tasks"));
        (v["tasks"] == json!([])).then_some(())
    });
    let (s, v) = c.get(&format!("{M}/apps/web"));
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["message"], "App '/web' does not exist");
}

#[test]
fn a_crashing_app_backs_off_and_the_delay_can_be_reset() {
    let c = Cluster::start(1, &[]);
    let (s, v) = c.post_json(
        &format!("{M}/apps"),
        &json!({"id": "/crash", "cmd": "exit 1", "cpus": 0.1, "mem": 16,
                "backoffSeconds": 30, "backoffFactor": 2}),
    );
    assert_eq!(s, 201, "{v}");
    let q = wait_until(
        Duration::from_secs(30),
        "the crashing app to be delayed",
        || {
            let (_, v) = c.get(&format!("{M}/queue"));
            v["queue"]
                .as_array()?
                .iter()
                .find(|e| {
                    e["app"]["id"] == "/crash" && e["delay"]["timeLeftSeconds"].as_u64() > Some(5)
                })
                .cloned()
        },
    );
    assert_eq!(q["delay"]["overdue"], false, "{q}");
    assert_eq!(q["count"], 1, "{q}");
    let (s, _) = c.send("DELETE", &format!("{M}/queue/crash/delay"), "");
    assert_eq!(s, 204);
    // after the reset the app is launched again (and fails again: the failure count restarts)
    wait_until(
        Duration::from_secs(30),
        "a relaunch after the delay reset",
        || {
            let (_, v) = c.get(&format!("{M}/queue"));
            let e = v["queue"]
                .as_array()?
                .iter()
                .find(|e| e["app"]["id"] == "/crash")?
                .clone();
            (e["delay"]["timeLeftSeconds"].as_u64() <= Some(30)).then_some(())
        },
    );
    let (s, v) = c.get(&format!("{M}/apps/crash"));
    assert_eq!(s, 200);
    assert_eq!(v["app"]["lastTaskFailure"]["state"], "TASK_FAILED", "{v}");
}

#[test]
fn a_deployment_continues_across_a_master_restart_and_lost_tasks_are_replaced() {
    let mut c = Cluster::start(
        2,
        &[
            "--agent-timeout-secs",
            "2",
            "--unreachable-to-lost-secs",
            "2",
        ],
    );
    // one task per rack, three wanted, two racks: the deployment cannot finish yet
    let (s, v) = c.post_json(
        "/service/marathon/v2/apps",
        &json!({"id": "/spread", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 3,
                "constraints": [["rack", "UNIQUE"]]}),
    );
    assert_eq!(s, 201, "{v}");
    let dep = v["deployments"][0]["id"]
        .as_str()
        .expect("deployment id")
        .to_string();
    wait_until(Duration::from_secs(30), "two tasks running", || {
        (app_doc(&c, "/spread")["tasksRunning"] == 2).then_some(())
    });
    let (s, v) = c.send(
        "PUT",
        &format!("{M}/apps/spread"),
        &json!({"instances": 1}).to_string(),
    );
    assert_eq!(s, 409, "a locked app needs force: {v}");
    assert_eq!(v["deployments"][0]["id"], dep.as_str());

    c.master.restart();
    let (s, v) = c.get(&format!("{M}/deployments"));
    assert_eq!(s, 200);
    assert_eq!(
        v[0]["id"],
        dep.as_str(),
        "the deployment survived the restart: {v}"
    );
    assert_eq!(v[0]["affectedApps"], json!(["/spread"]));
    // a third rack arrives: the same deployment finishes
    c.add_agent(&agent_flags(2));
    c.wait_agents(3);
    let a = wait_stable(&c, "/spread", 3);
    let hosts: BTreeSet<String> = a["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["slaveId"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        hosts.len(),
        3,
        "UNIQUE rack puts each task on its own agent: {a}"
    );

    // scale to 2 and lose an agent: its task is replaced on the free agent
    let (s, v) = c.send(
        "PUT",
        &format!("{M}/apps/spread"),
        &json!({"instances": 2}).to_string(),
    );
    assert_eq!(s, 200, "{v}");
    let a = wait_stable(&c, "/spread", 2);
    let used: BTreeSet<String> = a["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["slaveId"].as_str().map(str::to_string))
        .collect();
    let agents = c.active_agents();
    let (victim_idx, victim_id) = c
        .agents
        .iter()
        .enumerate()
        .find_map(|(i, ag)| {
            let id = std::fs::read_to_string(ag.work_dir.join("agent-id")).ok()?;
            used.contains(id.trim()).then(|| (i, id.trim().to_string()))
        })
        .unwrap_or_else(|| panic!("no agent of {used:?} among {agents:?}"));
    c.agents[victim_idx].proc.kill9();
    wait_until(
        Duration::from_secs(60),
        "the lost agent's task to be replaced elsewhere",
        || {
            let a = app_doc(&c, "/spread");
            let on: BTreeSet<String> = a["tasks"]
                .as_array()?
                .iter()
                .filter(|t| t["state"] == "TASK_RUNNING")
                .filter_map(|t| t["slaveId"].as_str().map(str::to_string))
                .collect();
            (on.len() == 2 && !on.contains(&victim_id)).then_some(())
        },
    );
}

#[test]
fn an_unhealthy_task_is_replaced() {
    let c = Cluster::start(1, &[]);
    let flag = tempfile::tempdir().expect("temp dir");
    let fail = flag.path().join("fail");
    let (s, v) = c.post_json(
        &format!("{M}/apps"),
        &json!({"id": "/checked", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16,
                "healthChecks": [{"protocol": "COMMAND",
                                  "command": {"value": format!("test ! -f {}", fail.display())},
                                  "gracePeriodSeconds": 0, "intervalSeconds": 1,
                                  "timeoutSeconds": 1, "maxConsecutiveFailures": 2,
                                  "delaySeconds": 0}]}),
    );
    assert_eq!(s, 201, "{v}");
    let first = wait_until(Duration::from_secs(30), "a healthy task", || {
        let a = app_doc(&c, "/checked");
        let t = a["tasks"].as_array()?.first()?.clone();
        (a["tasksHealthy"] == 1 && t["healthCheckResults"][0]["alive"] == true)
            .then(|| t["id"].as_str().map(str::to_string))
            .flatten()
    });
    std::fs::write(&fail, "").expect("write the fail flag");
    wait_until(
        Duration::from_secs(30),
        "the unhealthy task to be killed",
        || {
            let a = app_doc(&c, "/checked");
            let ids = running_ids(&a);
            (!ids.contains(&first)).then_some(())
        },
    );
    std::fs::remove_file(&fail).expect("remove the fail flag");
    wait_until(Duration::from_secs(30), "a healthy replacement", || {
        let a = app_doc(&c, "/checked");
        let ids = running_ids(&a);
        (a["tasksHealthy"] == 1 && ids.len() == 1 && !ids.contains(&first)).then_some(())
    });
}

#[test]
fn groups_create_scale_and_delete_app_trees() {
    let c = Cluster::start(1, &[]);
    let (s, v) = c.post_json(
        &format!("{M}/groups"),
        &json!({"id": "/shop", "apps": [
            {"id": "db", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16},
            {"id": "web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "dependencies": ["db"]}
        ]}),
    );
    assert_eq!(s, 201, "{v}");
    assert!(v["deploymentId"].is_string(), "{v}");
    // the same group again -> 409
    let (s, v) = c.post_json(&format!("{M}/groups"), &json!({"id": "/shop"}));
    assert_eq!(s, 409, "{v}");
    wait_stable(&c, "/shop/db", 1);
    wait_stable(&c, "/shop/web", 1);
    let (s, g) = c.get(&format!("{M}/groups/shop"));
    assert_eq!(s, 200, "{g}");
    let ids: Vec<&str> = g["apps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, ["/shop/db", "/shop/web"]);
    assert_eq!(
        g["apps"][1]["dependencies"].as_array().map(Vec::len),
        Some(1),
        "{g}"
    );
    // scaleBy doubles every app of the group
    let (s, v) = c.send(
        "PUT",
        &format!("{M}/groups/shop"),
        &json!({"scaleBy": 2}).to_string(),
    );
    assert_eq!(s, 200, "{v}");
    wait_stable(&c, "/shop/db", 2);
    wait_stable(&c, "/shop/web", 2);
    // a cycle is refused
    let (s, v) = c.send(
        "PUT",
        &format!("{M}/groups/shop"),
        &json!({"apps": [
            {"id": "a", "cmd": "sleep 1", "dependencies": ["b"]},
            {"id": "b", "cmd": "sleep 1", "dependencies": ["a"]}]})
        .to_string(),
    );
    assert_eq!(s, 422, "{v}");
    // delete the group: its apps and tasks go
    let (s, v) = c.send("DELETE", &format!("{M}/groups/shop"), "");
    assert_eq!(s, 200, "{v}");
    wait_until(Duration::from_secs(30), "the group's tasks to end", || {
        let (_, v) = c.get(&format!("{M}/tasks"));
        (v["tasks"] == json!([])).then_some(())
    });
    let (s, _) = c.get(&format!("{M}/groups/shop"));
    assert_eq!(s, 404);
}

#[test]
fn the_event_stream_reports_deployments_and_task_updates() {
    use std::io::{BufRead, BufReader};
    let c = Cluster::start(1, &[]);
    let resp = c
        .http
        .get(c.url(&format!(
            "{M}/events?event_type=deployment_success&event_type=status_update_event"
        )))
        .header("Accept", "text/event-stream")
        .send()
        .expect("GET /v2/events");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(resp).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let (s, v) = c.post_json(
        &format!("{M}/apps"),
        &json!({"id": "/evented", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16}),
    );
    assert_eq!(s, 201, "{v}");
    let dep = v["deployments"][0]["id"]
        .as_str()
        .expect("deployment id")
        .to_string();
    let (mut running, mut success) = (false, false);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !(running && success) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no events (running={running}, success={success})"));
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let ev: Value = serde_json::from_str(data).expect("event JSON");
        match ev["eventType"].as_str() {
            Some("status_update_event") => {
                assert_eq!(ev["appId"], "/evented", "{ev}");
                running |= ev["taskStatus"] == "TASK_RUNNING";
            }
            Some("deployment_success") => {
                assert_eq!(ev["id"], dep.as_str(), "{ev}");
                success = true;
            }
            other => panic!("an event not asked for: {other:?}: {ev}"),
        }
    }
}

#[test]
fn an_unreachable_task_is_replaced_and_the_extra_one_goes_when_it_returns() {
    let c = Cluster::start(
        2,
        &[
            "--agent-timeout-secs",
            "2",
            "--unreachable-to-lost-secs",
            "600",
        ],
    );
    let (s, v) = c.post_json(
        &format!("{M}/apps"),
        &json!({"id": "/solo", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16,
                "unreachableStrategy": {"inactiveAfterSeconds": 1, "expungeAfterSeconds": 600}}),
    );
    assert_eq!(s, 201, "{v}");
    let a = wait_stable(&c, "/solo", 1);
    let original = a["tasks"][0]["id"].as_str().expect("task id").to_string();
    let agent_id = a["tasks"][0]["slaveId"]
        .as_str()
        .expect("agent id")
        .to_string();
    let idx = c
        .agents
        .iter()
        .position(|ag| {
            std::fs::read_to_string(ag.work_dir.join("agent-id"))
                .is_ok_and(|s| s.trim() == agent_id)
        })
        .expect("the task's agent");
    c.agents[idx].proc.signal(libc::SIGSTOP);
    let replacement = wait_until(Duration::from_secs(30), "a replacement elsewhere", || {
        let a = app_doc(&c, "/solo");
        a["tasks"].as_array()?.iter().find_map(|t| {
            (t["state"] == "TASK_RUNNING" && t["slaveId"] != agent_id.as_str())
                .then(|| t["id"].as_str().map(str::to_string))
                .flatten()
        })
    });
    c.agents[idx].proc.signal(libc::SIGCONT);
    // the agent returns with the original task: one of the two goes (the youngest)
    wait_until(Duration::from_secs(30), "back to one task", || {
        let a = app_doc(&c, "/solo");
        let ids = running_ids(&a);
        (ids.len() == 1 && a["tasks"].as_array().map(Vec::len) == Some(1)).then_some(ids)
    });
    let ids = running_ids(&app_doc(&c, "/solo"));
    assert!(
        ids.contains(&original),
        "YOUNGEST_FIRST keeps {original}, not {replacement}: {ids:?}"
    );
}

#[test]
fn versions_and_deployments_roll_back() {
    let c = Cluster::start(1, &[]);
    let (s, v) = c.post_json(
        &format!("{M}/apps"),
        &json!({"id": "/rb", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16}),
    );
    assert_eq!(s, 201, "{v}");
    let first_version = v["version"].as_str().expect("version").to_string();
    wait_stable(&c, "/rb", 1);
    // several apps in one PATCH /v2/apps
    let (s, v) = c.send(
        "PATCH",
        &format!("{M}/apps"),
        &json!([{"id": "/rb", "cmd": "sleep 2000"}]).to_string(),
    );
    assert_eq!(s, 200, "{v}");
    wait_until(Duration::from_secs(30), "the new command to run", || {
        let a = wait_stable(&c, "/rb", 1);
        (a["cmd"] == "sleep 2000" && a["tasks"][0]["version"] == a["version"]).then_some(())
    });
    // back to the first version
    let (s, v) = c.send(
        "PUT",
        &format!("{M}/apps/rb"),
        &json!({"version": first_version}).to_string(),
    );
    assert_eq!(s, 200, "{v}");
    wait_until(Duration::from_secs(30), "the rollback", || {
        let a = wait_stable(&c, "/rb", 1);
        (a["cmd"] == "sleep 1000" && a["tasks"][0]["version"] == a["version"]).then_some(())
    });
    let (s, v) = c.send(
        "PUT",
        &format!("{M}/apps/rb"),
        &json!({"version": "2000-01-01T00:00:00.000Z"}).to_string(),
    );
    assert_eq!(s, 404, "{v}");

    // a deployment that cannot finish (one rack, three UNIQUE tasks) is rolled back: the app it
    // created goes away again
    let (s, v) = c.post_json(
        &format!("{M}/apps"),
        &json!({"id": "/stuck", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 3,
                "constraints": [["rack", "UNIQUE"]]}),
    );
    assert_eq!(s, 201, "{v}");
    let dep = v["deployments"][0]["id"]
        .as_str()
        .expect("deployment")
        .to_string();
    wait_until(Duration::from_secs(30), "one task of /stuck", || {
        (app_doc(&c, "/stuck")["tasksRunning"] == 1).then_some(())
    });
    let (s, q) = c.get(&format!("{M}/queue"));
    assert_eq!(s, 200);
    assert!(
        q["queue"].as_array().is_some_and(|q| q
            .iter()
            .any(|e| e["app"]["id"] == "/stuck" && e["count"] == 2)),
        "two launches wait in the queue: {q}"
    );
    let (s, v) = c.send("DELETE", &format!("{M}/deployments/{dep}"), "");
    assert_eq!(s, 200, "{v}");
    wait_until(
        Duration::from_secs(30),
        "the rollback to remove /stuck",
        || {
            let (s, _) = c.get(&format!("{M}/apps/stuck"));
            let (_, d) = c.get(&format!("{M}/deployments"));
            (s == 404 && d == json!([])).then_some(())
        },
    );
    let (s, v) = c.send("DELETE", &format!("{M}/deployments/{dep}"), "");
    assert_eq!(s, 404, "{v}");
}

//! End-to-end tests of the agent with a real master: tasks survive an agent restart and are
//! reported, the files API works through the master's proxy and stays inside the sandboxes,
//! the agent's own API refuses bad input and unauthenticated calls.

use dcos_e2e::{dcosd_bin, wait_until, Cluster, Proc};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(30);

/// Stops every task of the given agent work dirs the gentle way (SIGTERM to the supervisors,
/// no grace) so they remove their cgroups; runs on drop, before the cluster is torn down.
struct StopTasks(Vec<PathBuf>);

fn find_files(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let is_link = e.file_type().map(|t| t.is_symlink()).unwrap_or(true);
            if p.is_dir() && !is_link {
                find_files(&p, name, out);
            } else if e.file_name() == name {
                out.push(p);
            }
        }
    }
}

impl Drop for StopTasks {
    fn drop(&mut self) {
        let mut pid_files = Vec::new();
        for d in &self.0 {
            find_files(&d.join("slaves"), ".supervisor.pid.json", &mut pid_files);
        }
        let mut waiting = Vec::new();
        for pf in pid_files {
            let Some(sb) = pf.parent() else { continue };
            if sb.join(".exit_status.json").exists() {
                continue;
            }
            let info: Value = std::fs::read_to_string(&pf)
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null);
            let Some(pid) = info["supervisor_pid"].as_i64() else {
                continue;
            };
            let _ = std::fs::write(sb.join(".kill.json"), r#"{"grace_secs":0}"#);
            // SAFETY: kill(2) on a supervisor of this test's own agent.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
            waiting.push(sb.to_path_buf());
        }
        for _ in 0..100 {
            if waiting
                .iter()
                .all(|sb| sb.join(".exit_status.json").exists())
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Starts agent `i` again with its flags after a `kill -9` of the agent process alone. (The
/// harness's `AgentProc::restart` drops the old guard after spawning the new agent, and that
/// guard kills every process naming the work dir: the new agent and the tasks too.)
fn restart_agent(c: &mut Cluster, i: usize) {
    let a = &mut c.agents[i];
    a.proc.owned_dir = None;
    a.proc.kill9();
    let mut cmd = std::process::Command::new(dcosd_bin());
    cmd.args(&a.args);
    let mut p = Proc::spawn(
        &a.proc.name,
        cmd,
        a.work_dir.join("agent.stdout"),
        a.work_dir.join("agent.log"),
    );
    p.owned_dir = Some(a.work_dir.clone());
    a.proc = p;
}

fn agent_url(c: &Cluster, i: usize) -> String {
    let out = std::fs::read_to_string(&c.agents[i].proc.stdout).unwrap_or_default();
    out.lines()
        .find_map(|l| l.strip_prefix("dcosd agent listening on "))
        .map(|u| u.trim().to_string())
        .expect("agent URL line")
}

fn agent_id(c: &Cluster, i: usize) -> String {
    std::fs::read_to_string(c.agents[i].work_dir.join("agent-id"))
        .expect("agent-id file")
        .trim()
        .to_string()
}

/// The sandbox directory of a task from the agent's state.json (through the master).
fn sandbox_of(c: &Cluster, agent: &str, task: &str) -> Option<String> {
    let (s, st) = c.get(&format!("/agent/{agent}/state.json"));
    assert_eq!(s, 200, "{st}");
    for f in st["frameworks"].as_array()? {
        for key in ["executors", "completed_executors"] {
            for e in f[key].as_array().into_iter().flatten() {
                if e["id"] == task {
                    return e["directory"].as_str().map(str::to_string);
                }
            }
        }
    }
    None
}

fn last_status(t: &Value) -> Value {
    t["statuses"]
        .as_array()
        .and_then(|s| s.last().cloned())
        .unwrap_or(Value::Null)
}

#[test]
fn an_agent_restart_keeps_running_tasks_and_reports_the_ones_that_ended() {
    let mut c = Cluster::start(1, &[]);
    let _stop = StopTasks(vec![c.agents[0].work_dir.clone()]);
    c.launch(&json!({"id": "long", "cmd": "echo up; sleep 300", "cpus": 0.1, "mem": 32}));
    c.launch(&json!({"id": "short", "cmd": "sleep 1.5; exit 7", "cpus": 0.1, "mem": 32}));
    c.wait_task_state("long", "TASK_RUNNING", LONG);
    c.wait_task_state("short", "TASK_RUNNING", LONG);
    let id_before = agent_id(&c, 0);
    let dir = sandbox_of(&c, &id_before, "long").expect("sandbox of long");
    let pid_before =
        std::fs::read_to_string(Path::new(&dir).join(".supervisor.pid.json")).expect("pid file");

    // kill -9 of the agent alone: the supervisors live in their own sessions.
    c.agents[0].proc.kill9();
    // "short" ends while no agent watches it.
    wait_until(LONG, "short to end while the agent is down", || {
        let sb = sandbox_of_fs(&c.agents[0].work_dir, "short")?;
        sb.join(".exit_status.json").exists().then_some(())
    });
    restart_agent(&mut c, 0);

    let short = c.wait_task_state("short", "TASK_FAILED", LONG);
    assert_eq!(
        last_status(&short)["message"],
        "Command exited with status 7",
        "{short}"
    );
    assert_eq!(agent_id(&c, 0), id_before, "the agent keeps its id");
    // "long" never stopped: same supervisor, still running, still reported by the agent.
    let t = c.task("long");
    assert_eq!(t["state"], "TASK_RUNNING", "{t}");
    let pid_after =
        std::fs::read_to_string(Path::new(&dir).join(".supervisor.pid.json")).expect("pid file");
    assert_eq!(pid_before, pid_after);
    let (s, tasks) = c.get(&format!("/agent/{id_before}/v1/tasks"));
    if s == 200 {
        let long = tasks["tasks"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["task_id"] == "long").cloned())
            .unwrap_or(Value::Null);
        assert_eq!(long["state"], "TASK_RUNNING", "{tasks}");
    }
    // The restarted agent can still kill it, with SIGTERM first.
    let (s, v) = c.send("DELETE", "/internal/v1/tasks/long?grace_period_secs=5", "");
    assert!(s < 300, "{s} {v}");
    let killed = c.wait_task_state("long", "TASK_KILLED", LONG);
    assert_eq!(
        last_status(&killed)["message"],
        "Command terminated with signal Terminated",
        "{killed}"
    );
}

/// Finds a task's run dir by walking the work dir (for when no agent runs).
fn sandbox_of_fs(work: &Path, task: &str) -> Option<PathBuf> {
    let slaves = std::fs::read_dir(work.join("slaves")).ok()?;
    for a in slaves.flatten() {
        let fws = std::fs::read_dir(a.path().join("frameworks")).ok()?;
        for f in fws.flatten() {
            let latest = f.path().join("executors").join(task).join("runs/latest");
            if latest.exists() {
                return Some(latest);
            }
        }
    }
    None
}

#[test]
fn the_files_api_works_through_the_master_and_stays_in_the_sandboxes() {
    let c = Cluster::start(1, &[]);
    let _stop = StopTasks(vec![c.agents[0].work_dir.clone()]);
    c.launch(&json!({
        "id": "logger",
        "cmd": "for i in 1 2 3; do echo line$i; done; echo problem >&2; ln -s /etc/passwd leak; ln -s ../../../../../../../../agent-id up",
        "cpus": 0.1, "mem": 32
    }));
    c.wait_task_state("logger", "TASK_FINISHED", LONG);
    let agent = agent_id(&c, 0);
    let dir = sandbox_of(&c, &agent, "logger").expect("directory in state.json");
    let read = |path: &str, offset: i64, length: Option<i64>| {
        let mut q = format!("/agent/{agent}/files/read.json?path={path}&offset={offset}");
        if let Some(l) = length {
            q.push_str(&format!("&length={l}"));
        }
        c.get(&q)
    };
    let (s, v) = read(&format!("{dir}/stdout"), -1, None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({"data": "", "offset": 18}));
    let (_, v) = read(&format!("{dir}/stdout"), 0, None);
    assert_eq!(v["data"], "line1\nline2\nline3\n");
    let (_, v) = read(&format!("{dir}/stdout"), 6, Some(5));
    assert_eq!(v, json!({"data": "line2", "offset": 6}));
    let (_, v) = c.get(&format!(
        "/slave/{agent}/files/read.json?path={dir}/stderr&offset=0"
    ));
    assert_eq!(v["data"], "problem\n");

    let (s, listing) = c.get(&format!("/agent/{agent}/files/browse.json?path={dir}"));
    assert_eq!(s, 200, "{listing}");
    let stdout = listing
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|e| e["path"] == format!("{dir}/stdout"))
                .cloned()
        })
        .expect("stdout listed");
    assert_eq!(stdout["size"], 18);
    assert_eq!(stdout["mode"], "-rw-r--r--");
    assert_eq!(stdout["uid"], "root");
    for key in ["mtime", "nlink", "gid"] {
        assert!(!stdout[key].is_null(), "{key} missing: {stdout}");
    }

    // Nothing outside the sandboxes: symlinks planted by the task, `..`, the agent's state.
    let work = c.agents[0].work_dir.canonicalize().expect("work dir");
    for path in [
        format!("{dir}/leak"),
        format!("{dir}/up"),
        format!("{dir}/../../../../../../../../agent-id"),
        format!("{}/agent-id", work.display()),
        "/etc/passwd".to_string(),
    ] {
        let (s, v) = read(&path, 0, None);
        assert_eq!(s, 403, "{path}: {v}");
        assert!(
            v["message"].as_str().unwrap_or("").contains("outside"),
            "{v}"
        );
    }
    let (s, v) = read(&format!("{dir}/nope"), 0, None);
    assert_eq!(s, 404, "{v}");
    let (s, v) = read(&format!("{dir}/stdout"), -7, None);
    assert_eq!(s, 400, "{v}");
    let (s, _) = c.get(&format!(
        "/agent/{agent}/files/read.json?path={dir}&offset=0"
    ));
    assert_eq!(s, 400, "a directory is not readable");
}

#[test]
fn the_agent_api_needs_the_join_token_and_refuses_bad_input() {
    let c = Cluster::start(1, &[]);
    let _stop = StopTasks(vec![c.agents[0].work_dir.clone()]);
    let url = agent_url(&c, 0);
    let token = c.master.join_token();
    let http = reqwest::blocking::Client::new();
    let call = |method: &str, path: &str, body: &str, with_token: bool| -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut r = http
            .request(m, format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string());
        if with_token {
            r = r.header("X-Dcos-Join-Token", &token);
        }
        let r = r.send().expect("agent reachable");
        let s = r.status().as_u16();
        (
            s,
            serde_json::from_str(&r.text().unwrap_or_default()).unwrap_or(Value::Null),
        )
    };
    for path in ["/state.json", "/v1/tasks", "/files/browse.json?path=/"] {
        let (s, v) = call("GET", path, "", false);
        assert_eq!(s, 401, "{path}: {v}");
        assert!(v["message"].is_string());
    }
    let (s, _) = call("GET", "/health", "", false);
    assert_eq!(s, 200);

    c.launch(&json!({"id": "dup", "cmd": "sleep 300", "cpus": 0.1, "mem": 32}));
    c.wait_task_state("dup", "TASK_RUNNING", LONG);
    let launch = json!({
        "task_id": "dup", "framework_id": "dcos-tasks", "name": "dup",
        "command": {"value": "echo second"}, "resources": {"cpus": 0.1, "mem": 32}
    });
    let (s, v) = call("POST", "/v1/launch", &launch.to_string(), true);
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["launched"], false, "a duplicate launch is a no-op: {v}");
    let agent = agent_id(&c, 0);
    let runs = c.agents[0].work_dir.join(format!(
        "slaves/{agent}/frameworks/dcos-tasks/executors/dup/runs"
    ));
    let n = std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0);
    assert_eq!(n, 2, "one run dir and its `latest` link");

    let bad = [
        ("POST", "/v1/launch", "{not json".to_string(), 400),
        (
            "POST",
            "/v1/launch",
            json!({"task_id": "x"}).to_string(),
            400,
        ),
        (
            "POST",
            "/v1/launch",
            json!({"task_id": "../../etc", "framework_id": "f", "name": "n",
                   "command": {"value": "true"}, "resources": {"cpus": 0.1, "mem": 32}})
            .to_string(),
            400,
        ),
        (
            "POST",
            "/v1/launch",
            json!({"task_id": "nocmd", "framework_id": "f", "name": "n",
                   "command": {"shell": true}, "resources": {"cpus": 0.1, "mem": 32}})
            .to_string(),
            400,
        ),
        (
            "POST",
            "/v1/launch",
            json!({"task_id": "neg", "framework_id": "f", "name": "n",
                   "command": {"value": "true"}, "resources": {"cpus": -1, "mem": 32}})
            .to_string(),
            400,
        ),
        (
            "POST",
            "/v1/kill",
            json!({"task_id": "ghost"}).to_string(),
            404,
        ),
        (
            "POST",
            "/v1/kill",
            json!({"task_id": "dup", "grace_period_secs": -1}).to_string(),
            400,
        ),
    ];
    for (m, p, body, want) in bad {
        let (s, v) = call(m, p, &body, true);
        assert_eq!(s, want, "{m} {p} {}: {v}", &body[..body.len().min(80)]);
        assert!(v["message"].is_string(), "{v}");
    }
    // An oversized body is refused from its Content-Length, before it is read.
    {
        use std::io::{Read, Write};
        let addr = url.trim_start_matches("http://");
        let mut sock = std::net::TcpStream::connect(addr).expect("connect to the agent");
        let head = format!(
            "POST /v1/launch HTTP/1.1\r\nHost: {addr}\r\nX-Dcos-Join-Token: {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n"
        );
        sock.write_all(head.as_bytes()).expect("send headers");
        sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut buf = [0u8; 512];
        let n = sock.read(&mut buf).unwrap_or(0);
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    }
    // Nothing of the refused launches exists, and the running task is untouched.
    let (_, tasks) = call("GET", "/v1/tasks", "", true);
    let ids: Vec<&str> = tasks["tasks"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["task_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["dup"], "{tasks}");
    assert_eq!(c.task("dup")["state"], "TASK_RUNNING");
}

//! The real `dcosd agent` against a scripted master speaking the internal protocol: what it
//! registers, status updates resent until acknowledged, re-registration after a 404 with its
//! running tasks (and the kills the master asks for), health check results. Needs root and
//! `cargo build -p dcos-server`.

use axum::extract::{Path as AxPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use dcos_schemas::agent::{RegisterRequest, RegisterResponse, StatusAck, StatusBatch};
use dcos_schemas::task::{StatusUpdate, TaskState};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "test-join-token";

#[derive(Default)]
struct Script {
    registrations: Vec<RegisterRequest>,
    updates: Vec<StatusUpdate>,
    /// Answer the next heartbeat with 404.
    forget: bool,
    /// Do not acknowledge status updates.
    drop_acks: bool,
    /// Tasks to ask the agent to kill when it registers.
    kill_tasks: Vec<String>,
}

type Shared = Arc<Mutex<Script>>;

fn authorized(h: &HeaderMap) -> bool {
    h.get("X-Dcos-Join-Token").and_then(|v| v.to_str().ok()) == Some(TOKEN)
}

async fn register(
    State(s): State<Shared>,
    h: HeaderMap,
    Json(r): Json<RegisterRequest>,
) -> Result<Json<RegisterResponse>, StatusCode> {
    if !authorized(&h) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let mut s = s.lock().unwrap();
    s.registrations.push(r);
    Ok(Json(RegisterResponse {
        agent_id: "agent-1".into(),
        heartbeat_interval_ms: 200,
        kill_tasks: std::mem::take(&mut s.kill_tasks),
    }))
}

async fn heartbeat(
    State(s): State<Shared>,
    h: HeaderMap,
    AxPath(_id): AxPath<String>,
) -> StatusCode {
    if !authorized(&h) {
        return StatusCode::UNAUTHORIZED;
    }
    let mut s = s.lock().unwrap();
    if std::mem::take(&mut s.forget) {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    }
}

async fn status(
    State(s): State<Shared>,
    h: HeaderMap,
    AxPath(_id): AxPath<String>,
    Json(b): Json<StatusBatch>,
) -> Result<Json<StatusAck>, StatusCode> {
    if !authorized(&h) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let mut s = s.lock().unwrap();
    let acked = if s.drop_acks {
        vec![]
    } else {
        b.updates.iter().map(|u| u.uuid.clone()).collect()
    };
    s.updates.extend(b.updates);
    Ok(Json(StatusAck { acked }))
}

fn dcosd() -> PathBuf {
    if let Some(p) = std::env::var_os("DCOSD_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    let p = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("dcosd"))
        .expect("target dir");
    assert!(
        p.is_file(),
        "{} not found: run `cargo build -p dcos-server` or set DCOSD_BIN",
        p.display()
    );
    p
}

/// A fake master and a real agent; on drop the agent's tasks are stopped (so their supervisors
/// remove their cgroups), then the agent is killed.
struct Fixture {
    script: Shared,
    agent: Option<Child>,
    agent_url: String,
    work: tempfile::TempDir,
    http: reqwest::Client,
}

impl Fixture {
    async fn start() -> Fixture {
        Fixture::start_with(|_, _| {}).await
    }

    /// Starts the agent after `prepare(work_dir, cgroups_root)` ran.
    async fn start_with(prepare: impl FnOnce(&Path, &str)) -> Fixture {
        let script: Shared = Arc::default();
        let app = Router::new()
            .route("/internal/v1/agents/register", post(register))
            .route("/internal/v1/agents/{id}/heartbeat", post(heartbeat))
            .route("/internal/v1/agents/{id}/status", post(status))
            .with_state(script.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let master = format!("http://{}", l.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(l, app).await });
        let work = tempfile::tempdir().expect("work dir");
        let cgroups_root = format!("dcos-proto-{}", uuid::Uuid::new_v4().simple());
        prepare(work.path(), &cgroups_root);
        let mut child = Command::new(dcosd())
            .args([
                "agent",
                "--master",
                &master,
                "--listen",
                "127.0.0.1:0",
                "--join-token",
                TOKEN,
            ])
            .args(["--resources", "cpus:3;mem:512;disk:100;ports:[41000-41009]"])
            .args(["--attributes", "rack:r9"])
            .args(["--cgroups-root", &cgroups_root])
            .arg("--work-dir")
            .arg(work.path())
            .env(
                "DCOS_LOG",
                std::env::var("DCOS_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dcosd agent");
        let out = child.stdout.take().expect("stdout");
        let line = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut line = String::new();
            let _ = std::io::BufReader::new(out).read_line(&mut line);
            line
        })
        .await
        .expect("read line");
        let agent_url = line
            .trim()
            .strip_prefix("dcosd agent listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        let f = Fixture {
            script,
            agent: Some(child),
            agent_url,
            work,
            http: reqwest::Client::new(),
        };
        f.wait("registration", |s| !s.registrations.is_empty())
            .await;
        let id_file = f.work.path().join("agent-id");
        f.wait("the agent to store its id", |_| id_file.exists())
            .await;
        f
    }

    async fn wait(&self, what: &str, f: impl Fn(&Script) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !f(&self.script.lock().unwrap()) {
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn launch(&self, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/launch", self.agent_url))
            .header("X-Dcos-Join-Token", TOKEN)
            .json(&body)
            .send()
            .await
            .expect("launch");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    fn updates_of(&self, task: &str) -> Vec<StatusUpdate> {
        let s = self.script.lock().unwrap();
        s.updates
            .iter()
            .filter(|u| u.task_id == task)
            .cloned()
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let mut pid_files = Vec::new();
        find(&self.work.path().join("slaves"), &mut pid_files);
        for pf in pid_files {
            let Some(sb) = pf.parent() else { continue };
            if sb.join(".exit_status.json").exists() {
                continue;
            }
            let info: Value = std::fs::read_to_string(&pf)
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null);
            if let Some(pid) = info["supervisor_pid"].as_i64() {
                let _ = std::fs::write(sb.join(".kill.json"), r#"{"grace_secs":0}"#);
                // SAFETY: kill(2) on a supervisor of this test's agent.
                unsafe {
                    libc::kill(pid as i32, libc::SIGTERM);
                }
                for _ in 0..100 {
                    if sb.join(".exit_status.json").exists() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        if let Some(mut c) = self.agent.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let link = e.file_type().map(|t| t.is_symlink()).unwrap_or(true);
            if e.path().is_dir() && !link {
                find(&e.path(), out);
            } else if e.file_name() == ".supervisor.pid.json" {
                out.push(e.path());
            }
        }
    }
}

fn task(id: &str, cmd: &str) -> Value {
    json!({
        "task_id": id, "framework_id": "fw", "name": id,
        "command": {"value": cmd}, "resources": {"cpus": 0.1, "mem": 32, "ports": [41000]}
    })
}

fn states(us: &[StatusUpdate]) -> Vec<TaskState> {
    us.iter().map(|u| u.state).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_its_resources_and_resends_updates_until_acknowledged() {
    let f = Fixture::start().await;
    {
        let s = f.script.lock().unwrap();
        let r = &s.registrations[0];
        assert_eq!(r.agent_id, None);
        assert_eq!(r.resources.cpus, 3.0);
        assert_eq!(r.resources.mem, 512.0);
        assert_eq!(r.resources.ports[0].begin, 41000);
        assert_eq!(r.attributes.get("rack").map(String::as_str), Some("r9"));
        assert_eq!(r.endpoint, f.agent_url);
    }
    assert_eq!(
        std::fs::read_to_string(f.work.path().join("agent-id")).unwrap_or_default(),
        "agent-1"
    );
    f.script.lock().unwrap().drop_acks = true;
    let (s, v) = f.launch(task("once", "echo $PORT0 > port; exit 0")).await;
    assert_eq!(s, 202, "{v}");
    // Without acknowledgements the same updates come again, in order.
    f.wait("the FINISHED update twice", |s| {
        s.updates
            .iter()
            .filter(|u| u.state == TaskState::Finished)
            .count()
            >= 2
    })
    .await;
    let us = f.updates_of("once");
    // Distinct updates in the order first seen: the task's order.
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<TaskState> = us
        .iter()
        .filter(|u| seen.insert(u.uuid.clone()))
        .map(|u| u.state)
        .collect();
    assert_eq!(
        distinct,
        [TaskState::Starting, TaskState::Running, TaskState::Finished]
    );
    // Every batch repeats the unacknowledged ones oldest first: never a later state before an
    // earlier one within what was sent.
    let pos = |st: TaskState| us.iter().position(|u| u.state == st).unwrap_or(usize::MAX);
    assert!(pos(TaskState::Starting) < pos(TaskState::Running));
    assert!(pos(TaskState::Running) < pos(TaskState::Finished));
    let finished: Vec<&StatusUpdate> = us
        .iter()
        .filter(|u| u.state == TaskState::Finished)
        .collect();
    assert_eq!(
        finished[0].uuid, finished[1].uuid,
        "a resend keeps the uuid"
    );
    assert_eq!(
        finished[0].message.as_deref(),
        Some("Command exited with status 0")
    );
    f.script.lock().unwrap().drop_acks = false;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let n = f.updates_of("once").len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        f.updates_of("once").len(),
        n,
        "acknowledged updates are not sent again"
    );
    let port_file = std::fs::read_to_string(
        f.work
            .path()
            .join("slaves/agent-1/frameworks/fw/executors/once/runs/latest/port"),
    )
    .unwrap_or_default();
    assert_eq!(port_file.trim(), "41000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_404_it_registers_again_with_its_tasks_and_kills_what_the_master_refuses() {
    let f = Fixture::start().await;
    let (s, _) = f.launch(task("keep", "sleep 300")).await;
    assert_eq!(s, 202);
    let (s, _) = f.launch(task("drop", "sleep 300")).await;
    assert_eq!(s, 202);
    f.wait("both running", |s| {
        s.updates
            .iter()
            .filter(|u| u.state == TaskState::Running)
            .count()
            >= 2
    })
    .await;
    {
        let mut s = f.script.lock().unwrap();
        s.kill_tasks = vec!["drop".into()];
        s.forget = true;
    }
    f.wait("a second registration", |s| s.registrations.len() >= 2)
        .await;
    {
        let s = f.script.lock().unwrap();
        let r = &s.registrations[1];
        assert_eq!(r.agent_id.as_deref(), Some("agent-1"));
        let mut ids: Vec<&str> = r.tasks.iter().map(|t| t.task_id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["drop", "keep"]);
        assert!(r.tasks.iter().all(|t| t.state == TaskState::Running));
    }
    f.wait("drop to be killed", |s| {
        s.updates
            .iter()
            .any(|u| u.task_id == "drop" && u.state == TaskState::Killed)
    })
    .await;
    assert!(!states(&f.updates_of("keep")).contains(&TaskState::Killed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_results_are_reported_as_running_updates() {
    let f = Fixture::start().await;
    let mut t = task("web", "sleep 0.5; touch ok; sleep 2; rm ok; sleep 300");
    t["health_checks"] = json!([{
        "protocol": "COMMAND", "command": {"value": "test -f ok"},
        "gracePeriodSeconds": 1, "intervalSeconds": 0.2, "timeoutSeconds": 2,
        "maxConsecutiveFailures": 2, "delaySeconds": 0
    }]);
    let (s, v) = f.launch(t).await;
    assert_eq!(s, 202, "{v}");
    f.wait("healthy then unhealthy", |s| {
        let hs: Vec<Option<bool>> = s
            .updates
            .iter()
            .filter(|u| {
                u.task_id == "web"
                    && u.reason.as_deref() == Some("REASON_TASK_HEALTH_CHECK_STATUS_UPDATED")
            })
            .map(|u| u.healthy)
            .collect();
        hs.contains(&Some(true)) && hs.contains(&Some(false))
    })
    .await;
    let hs: Vec<(TaskState, Option<bool>)> = f
        .updates_of("web")
        .iter()
        .filter(|u| u.healthy.is_some())
        .map(|u| (u.state, u.healthy))
        .collect();
    assert_eq!(
        hs,
        [
            (TaskState::Running, Some(true)),
            (TaskState::Running, Some(false))
        ],
        "one update per transition"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_uris_land_in_the_sandbox_before_the_task_starts() {
    let f = Fixture::start().await;
    let src = tempfile::tempdir().expect("temp dir");
    let script = src.path().join("hello.sh");
    std::fs::write(&script, "#!/bin/sh\necho fetched-and-run\n").expect("script");
    let mut t = task("fetcher", "./hello.sh > out.txt");
    t["fetch"] = json!([{"uri": format!("file://{}", script.display()), "executable": true}]);
    let (s, v) = f.launch(t).await;
    assert_eq!(s, 202, "{v}");
    f.wait("fetcher to finish", |s| {
        s.updates
            .iter()
            .any(|u| u.task_id == "fetcher" && u.state.is_terminal())
    })
    .await;
    let last = f.updates_of("fetcher").pop().expect("an update");
    assert_eq!(last.state, TaskState::Finished, "{last:?}");
    let out = std::fs::read_to_string(
        f.work
            .path()
            .join("slaves/agent-1/frameworks/fw/executors/fetcher/runs/latest/out.txt"),
    )
    .unwrap_or_default();
    assert_eq!(out, "fetched-and-run\n");

    let mut t = task("nofile", "true");
    t["fetch"] = json!([{"uri": "file:///nonexistent/dcos-fetch-test"}]);
    assert_eq!(f.launch(t).await.0, 202);
    f.wait("nofile to fail", |s| {
        s.updates
            .iter()
            .any(|u| u.task_id == "nofile" && u.state == TaskState::Failed)
    })
    .await;
    let last = f.updates_of("nofile").pop().expect("an update");
    assert!(
        last.message
            .as_deref()
            .unwrap_or("")
            .contains("failed to fetch 'file:///nonexistent/dcos-fetch-test'"),
        "{last:?}"
    );
    let mut t = task("badfetch", "true");
    t["fetch"] = json!([{"uri": "ftp://example.com/x"}]);
    let (s, v) = f.launch(t).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"].as_str().unwrap_or("").contains("ftp://"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroups_left_by_a_killed_supervisor_are_removed_when_the_agent_starts() {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut stale = Vec::new();
    let f = Fixture::start_with(|work, root| {
        let Some(l) = dcos_agent::cgroups::Layout::detect(
            &dcos_agent::cgroups::HostFs,
            Path::new("/sys/fs/cgroup"),
            &own,
            root,
        ) else {
            return;
        };
        std::fs::write(work.join("agent-id"), "agent-1").expect("agent id");
        for base in std::iter::once(l.memory_base.clone()).chain(l.cpu_base.clone()) {
            let ghost = base.join("agent-1").join("ghost");
            std::fs::create_dir_all(&ghost).expect("create a stale cgroup");
            stale.push(base);
        }
    })
    .await;
    for base in &stale {
        assert!(
            !base.join("agent-1/ghost").exists(),
            "{} left",
            base.display()
        );
    }
    drop(f);
    for base in &stale {
        let _ = std::fs::remove_dir(base.join("agent-1"));
        let _ = std::fs::remove_dir(base);
    }
}

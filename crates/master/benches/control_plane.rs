//! Control-plane figures with real processes: master and agent idle RSS, task launch latency
//! (request to TASK_RUNNING) with real agents, and the master's RSS and recovery time with
//! 10,000 tasks in its store.
//!
//! Run: `cargo build --release -p dcos-server && cargo bench -p dcos-master --bench control_plane`
//! (uses target/release/dcosd, or DCOSD_BIN). Prints figures; asserts nothing about speed.

use dcos_e2e::{dcosd_bin, Cluster, MasterProc};
use dcos_master::model::{wall_now, AgentRecord, TaskRecord, TaskStatus};
use dcos_master::store::{Store, StoreError};
use dcos_schemas::agent::{CommandInfo, LaunchTask, PortRange, Resources, TaskResources};
use dcos_schemas::task::TaskState;
use serde_json::json;
use std::time::{Duration, Instant};

fn rss_mib(pid: i32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn idle_and_latency(tasks: usize, clients: usize) {
    let c = Cluster::start(2, &[]);
    std::thread::sleep(Duration::from_secs(3));
    println!(
        "master idle RSS:            {:.1} MiB",
        rss_mib(c.master.proc.pid())
    );
    println!(
        "agent idle RSS:             {:.1} MiB",
        rss_mib(c.agents[0].proc.pid())
    );

    let per = tasks / clients;
    let c = &c;
    let mut lat: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|k| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    for i in 0..per {
                        let id = format!("lat-{k}-{i}");
                        let t0 = Instant::now();
                        let body = json!({"id": id, "cmd": "sleep 600", "cpus": 0.01, "mem": 8});
                        let (st, v) = c.post_json("/internal/v1/tasks", &body);
                        assert_eq!(st, 201, "{v}");
                        loop {
                            let (_, t) = c.get(&format!("/internal/v1/tasks/{id}"));
                            if t["state"] == "TASK_RUNNING" {
                                break;
                            }
                            assert!(
                                t0.elapsed() < Duration::from_secs(60),
                                "task {id} not running after 60 s: {t}"
                            );
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        out.push(t0.elapsed().as_secs_f64() * 1000.0);
                        let (st, v) = c.send(
                            "DELETE",
                            &format!("/internal/v1/tasks/{id}?grace_period_secs=0"),
                            "",
                        );
                        assert_eq!(st, 202, "{v}");
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "task launch latency (request -> TASK_RUNNING, {} tasks, {clients} concurrent clients, 2 agents): median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0)
    );
    println!(
        "master RSS after the launches: {:.1} MiB",
        rss_mib(c.master.proc.pid())
    );
}

fn seed_store(dir: &std::path::Path, n: usize) -> Result<(), StoreError> {
    let mut store = Store::open(dir)?;
    let now = wall_now();
    let agent = AgentRecord {
        id: "bench-agent-S0".into(),
        hostname: "bench".into(),
        endpoint: "http://127.0.0.1:9".into(),
        resources: Resources {
            cpus: 100_000.0,
            mem: 100_000_000.0,
            disk: 0.0,
            gpus: 0.0,
            ports: vec![PortRange {
                begin: 1000,
                end: 60000,
            }],
        },
        attributes: Default::default(),
        version: "bench".into(),
        registered_time: now,
        reregistered_time: None,
        unreachable_since: None,
    };
    store.transaction(|tx| -> Result<(), StoreError> {
        tx.put_agent(&agent)?;
        for i in 0..n {
            let id = format!("bench-task-{i:05}");
            let resources = TaskResources {
                cpus: 0.1,
                mem: 32.0,
                disk: 0.0,
                gpus: 0.0,
                ports: vec![1000 + (i as u16 % 50000)],
            };
            let launch = LaunchTask {
                task_id: id.clone(),
                framework_id: "dcos-tasks".into(),
                name: id.clone(),
                command: CommandInfo {
                    value: Some("sleep 3600".into()),
                    shell: true,
                    arguments: vec![],
                    env: [("PORT0".to_string(), resources.ports[0].to_string())].into(),
                    user: None,
                },
                resources: resources.clone(),
                container: None,
                health_checks: vec![],
                fetch: vec![],
                kill_grace_period_secs: 3.0,
                labels: Default::default(),
            };
            let st = |state, uuid: String, source: &str| TaskStatus {
                uuid,
                state,
                timestamp: now,
                message: None,
                reason: None,
                healthy: None,
                source: source.into(),
            };
            let s1 = st(TaskState::Staging, format!("{id}-1"), "SOURCE_MASTER");
            let s2 = st(TaskState::Running, format!("{id}-2"), "SOURCE_EXECUTOR");
            let t = TaskRecord {
                id: id.clone(),
                name: id.clone(),
                framework_id: "dcos-tasks".into(),
                agent_id: agent.id.clone(),
                role: "*".into(),
                group: "/bench".into(),
                state: TaskState::Running,
                resources,
                launch,
                constraints: vec![],
                kill_requested: false,
                created: now,
                updated: now,
                statuses: vec![s1.clone(), s2.clone()],
                allocations: vec![],
            };
            tx.put_task(&t)?;
            tx.append_status(&id, &s1)?;
            tx.append_status(&id, &s2)?;
            tx.record_ack(&s2.uuid, &id, now)?;
        }
        Ok(())
    })
}

fn recovery(n: usize, runs: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("master");
    let t0 = Instant::now();
    seed_store(&data, n).expect("seeding the store");
    println!(
        "store seeded with {n} tasks (one transaction) in {:.0} ms",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    let client = reqwest::blocking::Client::new();
    let mut times = Vec::new();
    // Printed on the first start only; every run logs in with it.
    let mut admin_password: Option<String> = None;
    for _ in 0..runs {
        let t0 = Instant::now();
        let mut m = MasterProc::start(&data, "127.0.0.1:0", &[]);
        if admin_password.is_none() {
            admin_password = m.admin_password.clone();
        }
        loop {
            if client
                .get(format!("{}/ping", m.url))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(500));
        let rss_serving = rss_mib(m.proc.pid());
        let pw = admin_password.as_deref().expect("the bootstrap password");
        let token = dcos_e2e::login(&m.url, "admin", pw).expect("login as admin");
        let t1 = Instant::now();
        let st: serde_json::Value = client
            .get(format!("{}/mesos/master/state.json", m.url))
            .header("Authorization", format!("token={token}"))
            .send()
            .and_then(|r| r.json())
            .expect("state.json");
        let state_ms = t1.elapsed().as_secs_f64() * 1000.0;
        let running = st["frameworks"][0]["tasks"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0);
        std::thread::sleep(Duration::from_secs(1));
        println!(
            "  run: serving after {:.0} ms; master RSS {rss_serving:.1} MiB; GET state.json with {running} tasks took {state_ms:.0} ms; RSS after it {:.1} MiB",
            times.last().copied().unwrap_or(0.0),
            rss_mib(m.proc.pid())
        );
        m.kill9();
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "master recovery with {n} tasks (process start -> /ping answers, {runs} runs): median {:.0} ms",
        pct(&times, 0.5)
    );
}

fn main() {
    if std::env::var_os("DCOSD_BIN").is_none() {
        // Prefer the release build next to this bench executable.
        let exe = std::env::current_exe().unwrap_or_default();
        if let Some(p) = exe
            .parent()
            .and_then(|d| d.parent())
            .map(|d| d.join("dcosd"))
        {
            if p.is_file() {
                std::env::set_var("DCOSD_BIN", p);
            }
        }
    }
    println!("dcosd: {}", dcosd_bin().display());
    let tasks: usize = std::env::var("BENCH_TASKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    idle_and_latency(tasks, 4);
    recovery(10_000, 3);
}

//! Tests of the master's state machine (registry, task lifecycle, recovery) over a real store.

use crate::core::{AgentStatus, Core, CoreConfig, CoreError, Effect};
use crate::frameworks::TaskRequest;
use crate::model::OPERATOR_FRAMEWORK_ID;
use crate::store::Store;
use dcos_schemas::agent::{
    AgentTask, CommandInfo, PortRange, RegisterRequest, Resources, StatusBatch,
};
use dcos_schemas::task::{StatusUpdate, TaskState};
use std::path::Path;
use std::time::{Duration, Instant};

fn cfg() -> CoreConfig {
    CoreConfig {
        agent_timeout: Duration::from_secs(5),
        unreachable_to_lost: Duration::from_millis(1),
        heartbeat_interval: Duration::from_secs(1),
    }
}

fn open(dir: &Path) -> Core {
    Core::open(Store::open(dir).unwrap(), cfg(), Instant::now()).unwrap()
}

fn reg(id: Option<&str>, tasks: Vec<AgentTask>) -> RegisterRequest {
    RegisterRequest {
        agent_id: id.map(str::to_string),
        hostname: "node1".into(),
        endpoint: "http://127.0.0.1:5051".into(),
        resources: Resources {
            cpus: 2.0,
            mem: 1024.0,
            disk: 100.0,
            gpus: 0.0,
            ports: vec![PortRange {
                begin: 31000,
                end: 31009,
            }],
        },
        attributes: [("rack".to_string(), "a".to_string())].into(),
        tasks,
        version: "test".into(),
    }
}

fn req(id: &str) -> TaskRequest {
    TaskRequest {
        id: Some(id.into()),
        name: String::new(),
        command: CommandInfo {
            value: Some("sleep 100".into()),
            shell: true,
            arguments: vec![],
            env: Default::default(),
            user: None,
        },
        cpus: 0.5,
        mem: 64.0,
        disk: 0.0,
        gpus: 0.0,
        ports: 2,
        constraints: vec![],
        role: String::new(),
        group: String::new(),
        container: None,
        health_checks: vec![],
        fetch: vec![],
        kill_grace_period_secs: None,
        labels: Default::default(),
    }
}

fn update(agent: &str, task: &str, state: TaskState, uuid: &str) -> StatusUpdate {
    StatusUpdate {
        uuid: uuid.into(),
        task_id: task.into(),
        framework_id: OPERATOR_FRAMEWORK_ID.into(),
        agent_id: agent.into(),
        state,
        message: None,
        reason: None,
        timestamp: 10.0,
        healthy: None,
    }
}

fn running_task(core: &mut Core) -> String {
    let (resp, _) = core.register(reg(None, vec![]), Instant::now()).unwrap();
    let (t, effects) = core.launch(OPERATOR_FRAMEWORK_ID, req("t1")).unwrap();
    assert_eq!(t.state, TaskState::Staging);
    assert_eq!(t.agent_id, resp.agent_id);
    assert_eq!(t.resources.ports, vec![31000, 31001]);
    match &effects[0] {
        Effect::Launch { spec, endpoint, .. } => {
            assert_eq!(endpoint, "http://127.0.0.1:5051");
            assert_eq!(
                spec.command.env.get("PORT0").map(String::as_str),
                Some("31000")
            );
            assert_eq!(
                spec.command.env.get("PORTS").map(String::as_str),
                Some("31000,31001")
            );
        }
        other => panic!("first effect should be the launch, got {other:?}"),
    }
    let batch = StatusBatch {
        updates: vec![update(&resp.agent_id, "t1", TaskState::Running, "u1")],
    };
    let (ack, _) = core.status_updates(&resp.agent_id, batch).unwrap();
    assert_eq!(ack.acked, vec!["u1".to_string()]);
    resp.agent_id
}

#[test]
fn launch_places_and_status_updates_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path());
    let agent = running_task(&mut core);
    assert_eq!(core.task("t1").unwrap().state, TaskState::Running);
    // The same uuid again (the agent resends until acked): acked, not applied twice.
    let batch = StatusBatch {
        updates: vec![update(&agent, "t1", TaskState::Running, "u1")],
    };
    let (ack, _) = core.status_updates(&agent, batch).unwrap();
    assert_eq!(ack.acked, vec!["u1".to_string()]);
    assert_eq!(
        core.task("t1").unwrap().statuses.len(),
        2,
        "STAGING + RUNNING once"
    );
    // Duplicate task ids are refused and change nothing.
    assert!(matches!(
        core.launch(OPERATOR_FRAMEWORK_ID, req("t1")),
        Err(CoreError::Conflict(_))
    ));
    assert_eq!(core.tasks().count(), 1);
}

#[test]
fn bad_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path());
    assert!(matches!(
        core.launch(OPERATOR_FRAMEWORK_ID, req("t1")),
        Err(CoreError::Placement(_))
    ));
    let mut r = reg(None, vec![]);
    r.endpoint = "not a url".into();
    assert!(matches!(
        core.register(r, Instant::now()),
        Err(CoreError::Invalid(_))
    ));
    let mut r = reg(Some("../etc"), vec![]);
    r.hostname = "x".into();
    assert!(matches!(
        core.register(r, Instant::now()),
        Err(CoreError::Invalid(_))
    ));
    assert_eq!(core.agents().count(), 0);
    let (resp, _) = core.register(reg(None, vec![]), Instant::now()).unwrap();
    let mut bad = req("t2");
    bad.cpus = f64::NAN;
    assert!(matches!(
        core.launch(OPERATOR_FRAMEWORK_ID, bad),
        Err(CoreError::Invalid(_))
    ));
    let mut big = req("t3");
    big.mem = 4096.0;
    assert!(matches!(
        core.launch(OPERATOR_FRAMEWORK_ID, big),
        Err(CoreError::Placement(_))
    ));
    assert!(matches!(
        core.status_updates("nope", StatusBatch { updates: vec![] }),
        Err(CoreError::UnknownAgent(_))
    ));
    let spoofed = StatusBatch {
        updates: vec![update("other", "t1", TaskState::Running, "x")],
    };
    assert!(matches!(
        core.status_updates(&resp.agent_id, spoofed),
        Err(CoreError::Invalid(_))
    ));
    assert_eq!(core.tasks().count(), 0);
}

#[test]
fn silent_agent_goes_unreachable_then_lost_and_is_reconciled_on_return() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path());
    let agent = running_task(&mut core);
    // Nothing happens within the timeout.
    assert!(core
        .tick(Instant::now() + Duration::from_secs(4))
        .unwrap()
        .is_empty());
    let effects = core.tick(Instant::now() + Duration::from_secs(6)).unwrap();
    assert_eq!(core.agent(&agent).unwrap().status, AgentStatus::Unreachable);
    assert_eq!(core.task("t1").unwrap().state, TaskState::Unreachable);
    assert!(effects.iter().any(|e| matches!(e, Effect::Event(_))));
    assert!(matches!(
        core.heartbeat(&agent, Instant::now()),
        Err(CoreError::NotRegistered(_))
    ));
    std::thread::sleep(Duration::from_millis(20));
    core.tick(Instant::now() + Duration::from_secs(7)).unwrap();
    let t = core.task("t1").unwrap();
    assert_eq!(t.state, TaskState::Lost);
    assert_eq!(
        t.statuses.last().unwrap().reason.as_deref(),
        Some("REASON_SLAVE_REMOVED")
    );
    // The agent comes back still running t1: the master no longer wants it.
    let running = AgentTask {
        task_id: "t1".into(),
        framework_id: OPERATOR_FRAMEWORK_ID.into(),
        state: TaskState::Running,
    };
    let (resp, _) = core
        .register(reg(Some(&agent), vec![running]), Instant::now())
        .unwrap();
    assert_eq!(resp.agent_id, agent);
    assert_eq!(resp.kill_tasks, vec!["t1".to_string()]);
    assert_eq!(
        core.task("t1").unwrap().state,
        TaskState::Lost,
        "terminal stays terminal"
    );
    core.heartbeat(&agent, Instant::now()).unwrap();
}

#[test]
fn unreachable_agent_returning_in_time_keeps_its_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg();
    c.unreachable_to_lost = Duration::from_secs(600);
    let mut core = Core::open(Store::open(dir.path()).unwrap(), c, Instant::now()).unwrap();
    let agent = running_task(&mut core);
    core.tick(Instant::now() + Duration::from_secs(6)).unwrap();
    assert_eq!(core.task("t1").unwrap().state, TaskState::Unreachable);
    let running = AgentTask {
        task_id: "t1".into(),
        framework_id: OPERATOR_FRAMEWORK_ID.into(),
        state: TaskState::Running,
    };
    let (resp, _) = core
        .register(reg(Some(&agent), vec![running]), Instant::now())
        .unwrap();
    assert!(resp.kill_tasks.is_empty());
    assert_eq!(core.task("t1").unwrap().state, TaskState::Running);
}

#[test]
fn restart_recovers_everything_and_agents_reregister() {
    let dir = tempfile::tempdir().unwrap();
    let (agent, token, cluster) = {
        let mut core = open(dir.path());
        let a = running_task(&mut core);
        (a, core.join_token.clone(), core.cluster_id.clone())
    };
    let mut core = open(dir.path());
    assert_eq!(core.join_token, token, "the join token survives a restart");
    assert_eq!(core.cluster_id, cluster);
    assert_eq!(core.agent(&agent).unwrap().status, AgentStatus::Recovered);
    let t = core.task("t1").unwrap();
    assert_eq!(t.state, TaskState::Running);
    assert_eq!(t.resources.ports, vec![31000, 31001]);
    // Recovered agents must register again (reconciliation) before heartbeats count.
    assert!(matches!(
        core.heartbeat(&agent, Instant::now()),
        Err(CoreError::NotRegistered(_))
    ));
    let running = AgentTask {
        task_id: "t1".into(),
        framework_id: OPERATOR_FRAMEWORK_ID.into(),
        state: TaskState::Running,
    };
    let (resp, _) = core
        .register(reg(Some(&agent), vec![running]), Instant::now())
        .unwrap();
    assert!(resp.kill_tasks.is_empty());
    assert_eq!(core.task("t1").unwrap().state, TaskState::Running);
    // Ports in use survive too: a new task gets the next ones.
    let (t2, _) = core.launch(OPERATOR_FRAMEWORK_ID, req("t2")).unwrap();
    assert_eq!(t2.resources.ports, vec![31002, 31003]);
}

#[test]
fn agent_reregistering_without_a_task_loses_it_and_staging_tasks_are_resent() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path());
    let agent = running_task(&mut core);
    core.launch(OPERATOR_FRAMEWORK_ID, req("t2")).unwrap();
    let (_, effects) = core
        .register(reg(Some(&agent), vec![]), Instant::now())
        .unwrap();
    assert_eq!(core.task("t1").unwrap().state, TaskState::Lost);
    assert_eq!(core.task("t2").unwrap().state, TaskState::Staging);
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Launch { spec, .. } if spec.task_id == "t2")));
}

#[test]
fn kill_is_recorded_and_sent_and_terminal_tasks_cannot_be_killed() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path());
    let agent = running_task(&mut core);
    let (t, effects) = core.kill("t1", Some(1.0)).unwrap();
    assert!(t.kill_requested);
    assert!(effects.iter().any(
        |e| matches!(e, Effect::Kill { task_id, grace: Some(g), .. } if task_id == "t1" && *g == 1.0)
    ));
    let batch = StatusBatch {
        updates: vec![update(&agent, "t1", TaskState::Killed, "u9")],
    };
    core.status_updates(&agent, batch).unwrap();
    assert_eq!(core.task("t1").unwrap().state, TaskState::Killed);
    assert!(matches!(core.kill("t1", None), Err(CoreError::Conflict(_))));
    assert!(matches!(
        core.kill("nope", None),
        Err(CoreError::UnknownTask(_))
    ));
    // Its resources are free again.
    let (t3, _) = core.launch(OPERATOR_FRAMEWORK_ID, req("t3")).unwrap();
    assert_eq!(t3.resources.ports, vec![31000, 31001]);
}

#[test]
fn a_staging_task_killed_before_launch_ends_killed() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path());
    core.register(reg(None, vec![]), Instant::now()).unwrap();
    core.launch(OPERATOR_FRAMEWORK_ID, req("t1")).unwrap();
    // Without a kill request nothing changes.
    assert!(core.killed_before_launch("t1").unwrap().is_empty());
    core.kill("t1", None).unwrap();
    core.killed_before_launch("t1").unwrap();
    assert_eq!(core.task("t1").unwrap().state, TaskState::Killed);
}

#[test]
fn state_json_uses_mesos_names_and_ranges() {
    use crate::state_json::{port_ranges, ranges_text};
    assert_eq!(
        port_ranges(&[31005, 31000, 31001, 31002]),
        vec![(31000, 31002), (31005, 31005)]
    );
    assert_eq!(
        ranges_text(&[(31000, 31002), (31005, 31005)]),
        "[31000-31002, 31005-31005]"
    );
    assert_eq!(port_ranges(&[65535, 65534]), vec![(65534, 65535)]);
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path());
    let agent = running_task(&mut core);
    let st = crate::state_json::state(&core, "m1", "http://127.0.0.1:5050");
    assert_eq!(st["activated_slaves"], 1);
    assert_eq!(st["slaves"][0]["id"], agent.as_str());
    assert_eq!(st["slaves"][0]["resources"]["ports"], "[31000-31009]");
    assert_eq!(st["slaves"][0]["used_resources"]["ports"], "[31000-31001]");
    assert_eq!(st["slaves"][0]["used_resources"]["cpus"], 0.5);
    let fw = &st["frameworks"][0];
    assert_eq!(fw["id"], OPERATOR_FRAMEWORK_ID);
    assert_eq!(fw["tasks"][0]["id"], "t1");
    assert_eq!(fw["tasks"][0]["slave_id"], agent.as_str());
    assert_eq!(fw["tasks"][0]["state"], "TASK_RUNNING");
    assert_eq!(fw["tasks"][0]["resources"]["ports"], "[31000-31001]");
    assert_eq!(fw["tasks"][0]["statuses"][1]["state"], "TASK_RUNNING");
    let sum = crate::state_json::summary(&core, "http://127.0.0.1:5050");
    assert_eq!(sum["slaves"][0]["TASK_RUNNING"], 1);
    assert_eq!(sum["frameworks"][0]["TASK_RUNNING"], 1);
    let sl = crate::state_json::slaves(&core);
    assert_eq!(sl["slaves"].as_array().unwrap().len(), 1);
    assert_eq!(sl["recovered_slaves"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn internal_frameworks_hear_committed_status_changes() {
    use crate::frameworks::FrameworkEvent;
    use crate::model::FrameworkRecord;
    let dir = tempfile::tempdir().unwrap();
    let m = crate::Master::open(dir.path().to_path_buf(), dir.path().join("log"), cfg()).unwrap();
    let (f, mut events) = m
        .register_framework(FrameworkRecord {
            id: "marathon".into(),
            name: "marathon".into(),
            role: "*".into(),
            user: "root".into(),
            registered_time: 1.0,
            webui_url: None,
            active: true,
        })
        .unwrap();
    assert_eq!(f.id, "marathon");
    let (resp, effects) = m
        .core()
        .register(reg(None, vec![]), Instant::now())
        .unwrap();
    m.run_effects(effects);
    let ev = events.recv().await.unwrap();
    assert!(
        matches!(ev, FrameworkEvent::AgentRegistered { .. }),
        "{ev:?}"
    );
    let t = m.launch("marathon", req("app.1")).unwrap();
    assert_eq!(t.framework_id, "marathon");
    let ev = events.recv().await.unwrap();
    assert!(
        matches!(&ev, FrameworkEvent::Update { task_id, state: TaskState::Staging, .. } if task_id == "app.1"),
        "{ev:?}"
    );
    let batch = StatusBatch {
        updates: vec![update(&resp.agent_id, "app.1", TaskState::Running, "r1")],
    };
    let (_, effects) = m.core().status_updates(&resp.agent_id, batch).unwrap();
    m.run_effects(effects);
    let ev = events.recv().await.unwrap();
    assert!(
        matches!(
            ev,
            FrameworkEvent::Update {
                state: TaskState::Running,
                ..
            }
        ),
        "{ev:?}"
    );
    assert_eq!(m.tasks_of("marathon").len(), 1);
    assert!(m.tasks_of(OPERATOR_FRAMEWORK_ID).is_empty());
    assert!(matches!(
        m.launch("nope", req("x")),
        Err(CoreError::UnknownFramework(_))
    ));
}

#[test]
fn launch_batch_commits_the_good_requests_and_reports_the_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path());
    core.register(reg(None, vec![]), Instant::now()).unwrap();
    let mut big = req("big");
    big.mem = 1.0e6;
    let out = core
        .launch_batch(
            OPERATOR_FRAMEWORK_ID,
            vec![req("a"), req("b"), req("a"), big],
        )
        .unwrap();
    assert_eq!(out.len(), 4);
    assert!(out[0].0.is_ok() && out[1].0.is_ok());
    assert!(matches!(out[2].0, Err(CoreError::Conflict(_))));
    assert!(matches!(out[3].0, Err(CoreError::Placement(_))));
    assert!(matches!(out[0].1[0], Effect::Launch { .. }));
    assert!(out[0].1.iter().any(|e| matches!(e, Effect::Event(_))));
    assert_eq!(core.tasks().count(), 2);
    let a = core.task("a").unwrap().resources.ports.clone();
    let b = core.task("b").unwrap().resources.ports.clone();
    assert!(
        a.iter().all(|p| !b.contains(p)),
        "distinct ports: {a:?} {b:?}"
    );
    drop(core);
    let core = open(dir.path());
    assert_eq!(core.tasks().count(), 2, "both committed");
}

use super::*;
use dcos_schemas::agent::{CommandInfo, TaskResources};

fn config(work: &Path) -> Config {
    Config {
        master: "http://127.0.0.1:1".into(),
        work_dir: work.to_path_buf(),
        hostname: "h".into(),
        endpoint: "http://127.0.0.1:2".into(),
        advertise_ip: "127.0.0.1".into(),
        port: 2,
        resources: Resources::default(),
        attributes: BTreeMap::new(),
        join_token: None,
        master_ca_pem: None,
        heartbeat_interval_ms: None,
        cgroups: None,
        log_file: None,
        supervisor_exe: "/bin/false".into(),
    }
}

fn record(agent: &Agent, id: &str) -> TaskRecord {
    TaskRecord {
        launch: LaunchTask {
            task_id: id.into(),
            framework_id: "fw".into(),
            name: id.into(),
            command: CommandInfo {
                value: Some("true".into()),
                shell: true,
                arguments: vec![],
                env: BTreeMap::new(),
                user: None,
            },
            resources: TaskResources::default(),
            container: None,
            health_checks: vec![],
            fetch: vec![],
            kill_grace_period_secs: 1.0,
            labels: BTreeMap::new(),
        },
        agent_id: "a1".into(),
        run_id: "r".into(),
        sandbox: agent.sandboxes_root().join(id),
        state: TaskState::Staging,
        statuses: vec![],
        kill_requested: false,
        launched_at: 0.0,
        healthy: None,
    }
}

#[test]
fn updates_are_journaled_in_order_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let a = Agent::open(config(dir.path())).unwrap();
        a.set_agent_id("a1").unwrap();
        assert!(a.insert_new(record(&a, "t1")).unwrap());
        assert!(
            !a.insert_new(record(&a, "t1")).unwrap(),
            "a duplicate is refused"
        );
        a.update("t1", TaskState::Starting, None, None).unwrap();
        a.update("t1", TaskState::Running, None, None).unwrap();
        a.update("t1", TaskState::Running, None, None).unwrap(); // no duplicate update
        a.update("t1", TaskState::Failed, Some("boom".into()), Some("R"))
            .unwrap();
        a.update("t1", TaskState::Finished, None, None).unwrap(); // after terminal: dropped
        let p = a.pending_updates(10);
        let states: Vec<TaskState> = p.iter().map(|u| u.state).collect();
        assert_eq!(
            states,
            [TaskState::Starting, TaskState::Running, TaskState::Failed]
        );
        assert_eq!(p[2].message.as_deref(), Some("boom"));
        assert_eq!(p[2].agent_id, "a1");
        a.ack(&[p[0].uuid.clone()]).unwrap();
    }
    let a = Agent::open(config(dir.path())).unwrap();
    assert_eq!(a.agent_id().as_deref(), Some("a1"));
    let t = a.task("t1").expect("record survives");
    assert_eq!(t.state, TaskState::Failed);
    assert_eq!(t.statuses.len(), 3);
    assert_eq!(a.pending_updates(10).len(), 2);
    // A finished task with unacknowledged updates is still reported when registering.
    assert_eq!(a.tasks_for_registration().len(), 1);
    let uuids: Vec<String> = a.pending_updates(10).into_iter().map(|u| u.uuid).collect();
    a.ack(&uuids).unwrap();
    assert!(a.tasks_for_registration().is_empty());
}

#[test]
fn old_completed_tasks_and_their_sandboxes_are_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let a = Agent::open(config(dir.path())).unwrap();
    a.set_agent_id("a1").unwrap();
    let first = record(&a, "t0");
    std::fs::create_dir_all(&first.sandbox).unwrap();
    for i in 0..=MAX_COMPLETED {
        let id = format!("t{i}");
        a.insert_new(record(&a, &id)).unwrap();
        a.update(&id, TaskState::Finished, None, None).unwrap();
    }
    assert!(a.task("t0").is_none());
    assert!(a.task(&format!("t{MAX_COMPLETED}")).is_some());
    for _ in 0..100 {
        if !first.sandbox.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !first.sandbox.exists(),
        "the sandbox of a forgotten task is removed"
    );
}

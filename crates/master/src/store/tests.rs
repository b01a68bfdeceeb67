use super::*;
use crate::model::{AgentRecord, TaskStatus};
use dcos_schemas::agent::{CommandInfo, LaunchTask, PortRange, Resources, TaskResources};
use dcos_schemas::task::TaskState;

fn agent(id: &str) -> AgentRecord {
    AgentRecord {
        id: id.into(),
        hostname: "h".into(),
        endpoint: "http://127.0.0.1:1".into(),
        resources: Resources {
            cpus: 2.0,
            mem: 1024.0,
            disk: 0.0,
            gpus: 0.0,
            ports: vec![PortRange {
                begin: 31000,
                end: 31010,
            }],
        },
        attributes: Default::default(),
        version: "t".into(),
        registered_time: 1.0,
        reregistered_time: None,
        unreachable_since: None,
    }
}

pub(crate) fn task(id: &str, agent: &str) -> TaskRecord {
    let launch = LaunchTask {
        task_id: id.into(),
        framework_id: "f".into(),
        name: id.into(),
        command: CommandInfo {
            value: Some("sleep 1".into()),
            shell: true,
            arguments: vec![],
            env: Default::default(),
            user: None,
        },
        resources: TaskResources {
            cpus: 0.1,
            mem: 32.0,
            disk: 0.0,
            gpus: 0.0,
            ports: vec![],
        },
        container: None,
        health_checks: vec![],
        fetch: vec![],
        kill_grace_period_secs: 3.0,
        labels: Default::default(),
    };
    TaskRecord {
        id: id.into(),
        name: id.into(),
        framework_id: "f".into(),
        agent_id: agent.into(),
        role: "*".into(),
        group: id.into(),
        state: TaskState::Staging,
        resources: launch.resources.clone(),
        launch,
        constraints: vec![],
        kill_requested: false,
        created: 1.0,
        updated: 1.0,
        statuses: vec![],
        allocations: vec![],
    }
}

fn status(state: TaskState, uuid: &str) -> TaskStatus {
    TaskStatus {
        uuid: uuid.into(),
        state,
        timestamp: 2.0,
        message: None,
        reason: None,
        healthy: None,
        source: "SOURCE_EXECUTOR".into(),
    }
}

#[test]
fn committed_records_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(dir.path()).unwrap();
        s.transaction(|tx| -> Result<(), StoreError> {
            tx.put_agent(&agent("a1"))?;
            let mut t = task("t1", "a1");
            tx.put_task(&t)?;
            tx.append_status("t1", &status(TaskState::Staging, "u1"))?;
            t.state = TaskState::Running;
            tx.put_task(&t)?;
            tx.append_status("t1", &status(TaskState::Running, "u2"))?;
            assert!(tx.record_ack("u2", "t1", 2.0)?);
            assert!(!tx.record_ack("u2", "t1", 2.0)?, "a uuid is recorded once");
            tx.put_meta("k", "v")
        })
        .unwrap();
    }
    let s = Store::open(dir.path()).unwrap();
    let snap = s.load().unwrap();
    assert_eq!(snap.agents, vec![agent("a1")]);
    assert_eq!(snap.tasks.len(), 1);
    assert_eq!(snap.tasks[0].state, TaskState::Running);
    let states: Vec<TaskState> = snap.tasks[0].statuses.iter().map(|s| s.state).collect();
    assert_eq!(states, vec![TaskState::Staging, TaskState::Running]);
    assert!(s.is_acked("u2").unwrap());
    assert!(!s.is_acked("u1").unwrap());
    assert_eq!(s.get_meta("k").unwrap().as_deref(), Some("v"));
    assert_eq!(s.schema_version().unwrap(), migrations::latest());
}

#[test]
fn a_failed_transaction_changes_nothing() {
    let mut s = Store::open_in_memory().unwrap();
    let r: Result<(), StoreError> = s.transaction(|tx| {
        tx.put_agent(&agent("a1"))?;
        Err(StoreError::TooNew { found: 9, known: 1 })
    });
    assert!(r.is_err());
    assert!(s.load().unwrap().agents.is_empty());
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let c = rusqlite::Connection::open(dir.path().join("master.sqlite")).unwrap();
    c.execute("INSERT INTO schema_migrations(version) VALUES (999)", [])
        .unwrap();
    drop(c);
    match Store::open(dir.path()) {
        Err(StoreError::TooNew { found: 999, .. }) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("opened a store with a newer schema"),
    }
}

#[test]
fn the_database_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    s.transaction(|tx| tx.put_meta("join_token", "secret"))
        .unwrap();
    for f in ["master.sqlite", "master.sqlite-wal"] {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{f} must not be readable by others (mode {mode:o})"
        );
    }
}

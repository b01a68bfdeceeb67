use super::*;
use crate::agent::TaskRecord;
use dcos_schemas::agent::{CommandInfo, TaskResources};

fn launch(cmd: Option<&str>) -> LaunchTask {
    LaunchTask {
        task_id: "web.1".into(),
        framework_id: "marathon".into(),
        name: "web".into(),
        command: CommandInfo {
            value: cmd.map(str::to_string),
            shell: true,
            arguments: vec![],
            env: BTreeMap::new(),
            user: None,
        },
        resources: TaskResources {
            cpus: 0.5,
            mem: 64.0,
            disk: 0.0,
            gpus: 0.0,
            ports: vec![31000, 31001],
        },
        container: None,
        health_checks: vec![],
        fetch: vec![],
        kill_grace_period_secs: 3.0,
        labels: BTreeMap::new(),
    }
}

fn record(kill_requested: bool) -> TaskRecord {
    TaskRecord {
        launch: launch(Some("true")),
        agent_id: "a1".into(),
        run_id: "r1".into(),
        sandbox: "/w/slaves/a1/frameworks/marathon/executors/web.1/runs/r1".into(),
        state: TaskState::Running,
        statuses: vec![],
        kill_requested,
        launched_at: 0.0,
        healthy: None,
    }
}

#[test]
fn ids_that_could_escape_a_directory_are_refused() {
    for ok in ["web.1", "app_group.3f2a-11", "a:b@c+d"] {
        assert!(valid_id(ok), "{ok}");
    }
    for bad in [
        "",
        ".",
        "..",
        "a/b",
        "../x",
        "a b",
        "a\0b",
        &"x".repeat(256),
    ] {
        assert!(!valid_id(bad), "{bad:?}");
    }
}

#[test]
fn launches_are_validated_before_anything_is_created() {
    assert!(validate(&launch(Some("sleep 1"))).is_ok());
    let msg = |t: &LaunchTask| validate(t).unwrap_err().to_string();
    assert!(msg(&launch(None)).contains("command needs"));
    assert!(msg(&launch(Some("  "))).contains("command needs"));
    let mut t = launch(Some("x"));
    t.task_id = "../etc".into();
    assert!(msg(&t).contains("task_id"));
    let mut t = launch(Some("x"));
    t.resources.mem = f64::NAN;
    assert!(msg(&t).contains("resources.mem"));
    let mut t = launch(Some("x"));
    t.command.env.insert("A=B".into(), "c".into());
    assert!(msg(&t).contains("environment"));
    let mut t = launch(Some("x\0y"));
    assert!(msg(&t).contains("NUL"));
    t.command.value = Some("x".into());
    t.kill_grace_period_secs = -1.0;
    assert!(msg(&t).contains("kill_grace"));
    // Exec form: arguments without a shell command.
    let mut t = launch(None);
    t.command.shell = false;
    t.command.arguments = vec!["sleep".into(), "1".into()];
    assert!(validate(&t).is_ok());
}

#[test]
fn exit_statuses_map_to_mesos_states_and_reasons() {
    let st = |code: Option<i32>, signal: Option<i32>| ExitStatus {
        code,
        signal,
        ..ExitStatus::default()
    };
    let (s, m, r) = final_state(&record(false), &st(Some(0), None));
    assert_eq!(
        (s, m.as_str(), r),
        (TaskState::Finished, "Command exited with status 0", None)
    );
    let (s, m, r) = final_state(&record(false), &st(Some(3), None));
    assert_eq!(s, TaskState::Failed);
    assert_eq!(m, "Command exited with status 3");
    assert_eq!(r, Some(REASON_COMMAND_FAILED));
    let (s, m, _) = final_state(&record(false), &st(None, Some(libc::SIGSEGV)));
    assert_eq!(
        (s, m.as_str()),
        (
            TaskState::Failed,
            "Command terminated with signal Segmentation fault"
        )
    );
    let (s, m, r) = final_state(&record(true), &st(None, Some(libc::SIGTERM)));
    assert_eq!(
        (s, m.as_str(), r),
        (
            TaskState::Killed,
            "Command terminated with signal Terminated",
            None
        )
    );
    let mut oom = st(None, Some(libc::SIGKILL));
    oom.oom_killed = true;
    let (s, m, r) = final_state(&record(false), &oom);
    assert_eq!(s, TaskState::Failed);
    assert_eq!(m, "Memory limit exceeded: task used more than 64 MB");
    assert_eq!(r, Some(REASON_MEMORY));
    let err = ExitStatus {
        error: Some("user `x` does not exist on this agent".into()),
        ..ExitStatus::default()
    };
    let (s, m, r) = final_state(&record(false), &err);
    assert_eq!(s, TaskState::Failed);
    assert!(m.contains("user `x`"));
    assert_eq!(r, Some(REASON_LAUNCH_FAILED));
}

#[test]
fn image_containers_are_recognised() {
    assert!(container_image(
        &serde_json::json!({"type": "DOCKER", "docker": {"image": "nginx"}})
    ));
    assert!(!container_image(
        &serde_json::json!({"type": "MESOS", "volumes": []})
    ));
}

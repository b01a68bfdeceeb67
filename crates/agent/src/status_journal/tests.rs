use super::*;
use dcos_schemas::task::TaskState;

fn update(uuid: &str, task: &str, state: TaskState) -> StatusUpdate {
    StatusUpdate {
        uuid: uuid.into(),
        task_id: task.into(),
        framework_id: "marathon".into(),
        agent_id: "a1".into(),
        state,
        message: None,
        reason: None,
        timestamp: 1.0,
        healthy: None,
    }
}

#[test]
fn pending_updates_survive_a_reopen_in_order_until_acked() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("status.jsonl");
    {
        let mut j = StatusJournal::open(&p).unwrap();
        j.append(update("u1", "t1", TaskState::Starting)).unwrap();
        j.append(update("u2", "t1", TaskState::Running)).unwrap();
        j.append(update("u3", "t2", TaskState::Running)).unwrap();
        j.ack(&["u1".into()]).unwrap();
    }
    let mut j = StatusJournal::open(&p).unwrap();
    let ids: Vec<&str> = j.pending().iter().map(|u| u.uuid.as_str()).collect();
    assert_eq!(ids, ["u2", "u3"]);
    j.ack(&["u3".into(), "nope".into()]).unwrap();
    drop(j);
    let j = StatusJournal::open(&p).unwrap();
    assert_eq!(j.pending().len(), 1);
    assert_eq!(j.pending()[0].state, TaskState::Running);
    assert_eq!(j.pending()[0].task_id, "t1");
}

#[test]
fn a_torn_last_line_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("status.jsonl");
    {
        let mut j = StatusJournal::open(&p).unwrap();
        j.append(update("u1", "t1", TaskState::Running)).unwrap();
    }
    let mut f = OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(b"{\"update\":{\"uuid\":\"u2\",\"ta").unwrap();
    drop(f);
    let mut j = StatusJournal::open(&p).unwrap();
    assert_eq!(j.pending().len(), 1);
    // Appends after recovery land on a clean line.
    j.append(update("u3", "t1", TaskState::Finished)).unwrap();
    drop(j);
    let j = StatusJournal::open(&p).unwrap();
    let ids: Vec<&str> = j.pending().iter().map(|u| u.uuid.as_str()).collect();
    assert_eq!(ids, ["u1", "u3"]);
}

#[test]
fn compaction_keeps_only_pending_updates() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("status.jsonl");
    let mut j = StatusJournal::open(&p).unwrap();
    for i in 0..200 {
        j.append(update(&format!("u{i}"), "t", TaskState::Running))
            .unwrap();
        j.ack(&[format!("u{i}")]).unwrap();
    }
    j.append(update("last", "t", TaskState::Finished)).unwrap();
    let lines = std::fs::read_to_string(&p).unwrap().lines().count();
    assert!(
        lines < COMPACT_AFTER + 10,
        "journal was not compacted: {lines} lines"
    );
    drop(j);
    let j = StatusJournal::open(&p).unwrap();
    assert_eq!(j.pending().len(), 1);
    assert_eq!(std::fs::read_to_string(&p).unwrap().lines().count(), 1);
}

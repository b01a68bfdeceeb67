use super::*;
use serde_json::json;

fn doc() -> Value {
    json!({
        "slaves": [{"id": "A1", "hostname": "10.0.0.2", "pid": "slave(1)@10.0.0.2:5051",
                    "domain": {"fault_domain": {"region": {"name": "eu"}, "zone": {"name": "eu-1"}}}}],
        "frameworks": [{
            "id": "F1", "name": "marathon", "user": "root",
            "tasks": [{"id": "web.1", "name": "web", "state": "TASK_RUNNING", "slave_id": "A1"}],
            "completed_tasks": [{"id": "old.1", "name": "old", "state": "TASK_FINISHED", "slave_id": "A1"}]
        }],
        "completed_frameworks": [{
            "id": "F0", "name": "gone", "user": "nobody",
            "tasks": [], "completed_tasks": [{"id": "x.1", "name": "x", "state": "TASK_KILLED", "slave_id": "A9"}]
        }]
    })
}

#[test]
fn running_tasks_only_unless_completed_is_asked() {
    let d = doc();
    let s = State::new(&d);
    let ids: Vec<_> = s.tasks(false).iter().map(|t| t.id()).collect();
    assert_eq!(ids, ["web.1"]);
    let ids: Vec<_> = s.tasks(true).iter().map(|t| t.id()).collect();
    assert_eq!(ids, ["web.1", "old.1", "x.1"]);
    assert_eq!(s.tasks(true)[2].user(), "nobody");
}

#[test]
fn agent_host_region_zone_and_ip() {
    let d = doc();
    let s = State::new(&d);
    assert_eq!(s.agent_host("A1"), "10.0.0.2");
    assert_eq!(s.agent_host("nope"), "");
    let a = s.agent("A1").unwrap();
    assert_eq!(region_zone(a), ("eu".to_string(), "eu-1".to_string()));
    assert_eq!(
        pid_ip("slave(1)@10.0.0.2:5051").as_deref(),
        Some("10.0.0.2")
    );
    assert_eq!(pid_ip("nonsense"), None);
}

#[test]
fn filters_are_substrings_or_globs() {
    assert!(task_matches("web", "web.1", ""));
    assert!(task_matches("w*.1", "web.1", ""));
    assert!(!task_matches("w*.2", "web.1", "web"));
    assert!(task_matches("?eb", "x", "web"));
    assert!(!task_matches("db", "web.1", "web"));
}

#[test]
fn region_and_zone_fall_back_to_attributes() {
    let a = json!({"attributes": {"region": "us", "zone": "us-2", "rack": "r1"}});
    assert_eq!(region_zone(&a), ("us".to_string(), "us-2".to_string()));
    assert_eq!(region_zone(&json!({})), (String::new(), String::new()));
}

use super::*;
use serde_json::json;

#[test]
fn the_sandbox_is_found_through_the_executor_running_the_task() {
    let agent = json!({
        "frameworks": [{
            "id": "F1",
            "executors": [
                {"id": "other", "directory": "/w/other", "tasks": [{"id": "t0"}]},
                {"id": "exec-1", "directory": "/w/s/exec-1", "tasks": [{"id": "t1"}]}
            ]
        }],
        "completed_frameworks": [{
            "id": "F0",
            "completed_executors": [{"id": "t9", "directory": "/w/s/t9", "completed_tasks": []}]
        }]
    });
    assert_eq!(
        sandbox_dir(&agent, "t1", "").as_deref(),
        Some("/w/s/exec-1")
    );
    // A task whose executor carries its own id (command tasks), found among completed ones.
    assert_eq!(sandbox_dir(&agent, "t9", "").as_deref(), Some("/w/s/t9"));
    // By the executor id the master reported.
    assert_eq!(
        sandbox_dir(&agent, "tx", "other").as_deref(),
        Some("/w/other")
    );
    assert_eq!(sandbox_dir(&agent, "nope", ""), None);
    assert_eq!(sandbox_dir(&json!({}), "t1", ""), None);
}

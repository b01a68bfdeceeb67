use serde_json::json;

use super::render::{app_table, deployment_table};
use super::*;
use crate::http::server_message as error_message;

#[test]
fn key_value_pairs_become_json_values() {
    let v = parse_properties(&[
        "instances=2".into(),
        "cmd=sleep 10".into(),
        "env={\"A\":\"b\"}".into(),
    ])
    .unwrap();
    assert_eq!(
        v,
        json!({"instances": 2, "cmd": "sleep 10", "env": {"A": "b"}})
    );
    let e = parse_properties(&["instances".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("key=value"), "{e}");
}

#[test]
fn validation_details_are_listed_on_one_line() {
    let body = r#"{"message":"Object is not valid","details":[{"path":"/cpus","errors":["must be >= 0"]},{"path":"/id","errors":["required","bad"]}]}"#;
    assert_eq!(
        error_message(body).unwrap(),
        "Object is not valid (/cpus: must be >= 0; /id: required, bad)"
    );
    assert_eq!(
        error_message(r#"{"message":"App '/x' does not exist"}"#).unwrap(),
        "App '/x' does not exist"
    );
}

#[test]
fn app_table_shows_counts_and_deployment_action() {
    let apps = vec![
        json!({"id": "/sleep", "mem": 16, "cpus": 0.01, "instances": 2,
        "tasksRunning": 1, "cmd": "sleep 3600"}),
    ];
    let deps = json!([{"id": "d1", "affectedApps": ["/sleep"],
        "currentActions": [{"action": "ScaleApplication", "app": "/sleep"}]}]);
    let out = app_table(&apps, &deps, &json!({"queue": []}));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("ID  "), "{out}");
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &cells[..8],
        &["/sleep", "16", "0.01", "1/2", "---", "scale", "False", "MESOS"]
    );
    let d = deployment_table(deps.as_array().unwrap());
    assert!(d.contains("/sleep  scale   0/0       d1"), "{d}");
}

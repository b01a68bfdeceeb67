use super::*;

const PY_APP_EXTRA: &[&str] = &[
    "tasksStaged",
    "tasksRunning",
    "tasksHealthy",
    "tasksUnhealthy",
    "deployments",
    "tasks",
    "lastTaskFailure",
    "readinessCheckResults",
    "taskStats",
];
const PY_INFO: &[&str] = &[
    "event_subscriber",
    "framework_id",
    "http_config",
    "leader",
    "marathon_config",
    "name",
    "version",
    "elected",
    "zookeeper_config",
    "buildref",
];
const PY_MARATHON_CONFIG: &[&str] = &[
    "checkpoint",
    "executor",
    "failover_timeout",
    "framework_name",
    "ha",
    "hostname",
    "leader_proxy_connection_timeout_ms",
    "leader_proxy_read_timeout_ms",
    "local_port_min",
    "local_port_max",
    "maintenance_mode",
    "master",
    "mesos_leader_ui_url",
    "mesos_role",
    "mesos_user",
    "new_group_enforce_role",
    "webui_url",
    "reconciliation_initial_delay",
    "reconciliation_interval",
    "task_launch_timeout",
    "marathon_store_timeout",
    "task_reservation_timeout",
    "features",
    "access_control_allow_origin",
    "decline_offer_duration",
    "default_network_name",
    "env_vars_prefix",
    "launch_token",
    "launch_token_refresh_interval",
    "max_instances_per_offer",
    "mesos_bridge_name",
    "mesos_heartbeat_failure_threshold",
    "mesos_heartbeat_interval",
    "min_revive_offers_interval",
    "offer_matching_timeout",
    "on_elected_prepare_timeout",
    "revive_offers_for_new_apps",
    "revive_offers_repetitions",
    "scale_apps_initial_delay",
    "scale_apps_interval",
    "store_cache",
    "task_launch_confirm_timeout",
    "task_lost_expunge_initial_delay",
    "task_lost_expunge_interval",
];

fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn embeds_follow_the_request() {
    let app = AppDefinition::new("/a", "x");
    let failure = TaskFailure {
        app_id: "/a".into(),
        host: "h".into(),
        message: "m".into(),
        state: "TASK_FAILED".into(),
        task_id: "a.u".into(),
        timestamp: "T".into(),
        version: "V".into(),
        slave_id: "S".into(),
    };
    let ids = vec!["d1".to_string()];
    let live = AppLive {
        counts: AppCounts {
            staged: 1,
            running: 2,
            healthy: 2,
            unhealthy: 0,
        },
        tasks: &[],
        deployment_ids: &ids,
        last_task_failure: Some(&failure),
        readiness_check_results: &[],
    };
    let plain = app_json(&app, &Embed::default(), &live);
    assert_eq!(plain, app.to_json());
    let list = app_json(&app, &Embed::list_default(), &live);
    assert_eq!(list["tasksRunning"], json!(2));
    assert_eq!(list["deployments"], json!([{"id": "d1"}]));
    assert!(list.get("tasks").is_none());
    let single = app_json(&app, &Embed::single_app(), &live);
    assert_eq!(single["tasks"], json!([]));
    assert_eq!(single["lastTaskFailure"]["message"], json!("m"));
    let base: Vec<String> = app.to_json().as_object().unwrap().keys().cloned().collect();
    for k in single.as_object().unwrap().keys() {
        assert!(
            base.contains(k) || PY_APP_EXTRA.contains(&k.as_str()),
            "{k}"
        );
    }
}

#[test]
fn info_keys_are_marathon_pythons() {
    let j = info_json(&InfoInput {
        version: "1.11.0",
        leader: "m1:8080",
        framework_id: Some("F1"),
        mesos_master: "m1:5050",
        hostname: "m1",
        http_port: 8080,
        mesos_role: "*",
        mesos_user: "root",
        local_port_min: 10000,
        local_port_max: 20000,
    });
    for k in j.as_object().unwrap().keys() {
        assert!(PY_INFO.contains(&snake(k).as_str()), "{k}");
    }
    for k in j["marathon_config"].as_object().unwrap().keys() {
        assert!(PY_MARATHON_CONFIG.contains(&k.as_str()), "{k}");
    }
    for k in j["http_config"].as_object().unwrap().keys() {
        assert!(
            ["assets_path", "http_port", "https_port"].contains(&k.as_str()),
            "{k}"
        );
    }
    // required objects
    for k in ["marathon_config", "http_config", "zookeeper_config"] {
        assert!(j[k].is_object(), "{k}");
    }
    for k in j["zookeeper_config"].as_object().unwrap().keys() {
        assert!(
            [
                "zk",
                "zk_future_timeout",
                "zk_hosts",
                "zk_max_versions",
                "zk_path",
                "zk_session_timeout",
                "zk_state",
                "zk_timeout",
                "zk_connection_timeout",
                "zk_compression",
                "zk_compression_threshold",
                "zk_max_node_size"
            ]
            .contains(&k.as_str()),
            "{k}"
        );
    }
    for k in j["event_subscriber"].as_object().unwrap().keys() {
        assert!(["type", "http_endpoints"].contains(&k.as_str()), "{k}");
    }
}

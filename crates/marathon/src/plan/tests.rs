use super::*;
use serde_json::json;

fn p(s: &str) -> PathId {
    PathId::parse(s)
}

fn root(v: Value) -> Group {
    Group::from_json(v, &PathId::root()).expect("parses")
}

fn summary(plan: &DeploymentPlan) -> Vec<Vec<String>> {
    plan.steps
        .iter()
        .map(|s| {
            s.actions
                .iter()
                .map(|a| format!("{} {}", a.action.as_str(), a.app))
                .collect()
        })
        .collect()
}

fn none() -> BTreeMap<PathId, Vec<String>> {
    BTreeMap::new()
}

#[test]
fn new_apps_start_then_scale() {
    let target = root(json!({"id": "/", "apps": [{"id": "a", "cmd": "x", "instances": 3}]}));
    let plan = plan(&Group::empty_root(), &target, "d1", "V1", &none()).unwrap();
    assert_eq!(
        summary(&plan),
        vec![vec!["StartApplication /a"], vec!["ScaleApplication /a"]]
    );
    assert_eq!(plan.steps[0].actions[0].scale_to, Some(0));
    assert_eq!(plan.steps[1].actions[0].scale_to, Some(3));
    assert!(plan.target_apps.contains_key(&p("/a")));
}

#[test]
fn dependency_chain_orders_steps() {
    // web -> api -> db, cache independent
    let target = root(json!({"id": "/", "apps": [
        {"id": "web", "cmd": "x", "dependencies": ["/api"]},
        {"id": "api", "cmd": "x", "dependencies": ["/db"]},
        {"id": "db", "cmd": "x"},
        {"id": "cache", "cmd": "x"}
    ]}));
    let plan = plan(&Group::empty_root(), &target, "d", "V", &none()).unwrap();
    assert_eq!(
        summary(&plan),
        vec![
            vec![
                "StartApplication /api",
                "StartApplication /cache",
                "StartApplication /db",
                "StartApplication /web"
            ],
            vec!["ScaleApplication /cache", "ScaleApplication /db"],
            vec!["ScaleApplication /api"],
            vec!["ScaleApplication /web"],
        ]
    );
}

#[test]
fn removed_changed_and_scaled_apps() {
    let original = root(json!({"id": "/", "apps": [
        {"id": "gone", "cmd": "x"},
        {"id": "scaled", "cmd": "x", "instances": 2},
        {"id": "changed", "cmd": "x"},
        {"id": "same", "cmd": "x"},
        {"id": "relabelled", "cmd": "x"}
    ]}));
    let target = root(json!({"id": "/", "apps": [
        {"id": "scaled", "cmd": "x", "instances": 5},
        {"id": "changed", "cmd": "y"},
        {"id": "same", "cmd": "x"},
        {"id": "relabelled", "cmd": "x", "labels": {"a": "b"}},
        {"id": "fresh", "cmd": "x"}
    ]}));
    let mut kill = BTreeMap::new();
    kill.insert(p("/scaled"), vec!["scaled.t1".to_string()]);
    let plan = plan(&original, &target, "d", "V", &kill).unwrap();
    assert_eq!(
        summary(&plan),
        vec![
            vec!["StopApplication /gone"],
            vec!["StartApplication /fresh"],
            vec![
                "RestartApplication /changed",
                "ScaleApplication /fresh",
                "RestartApplication /relabelled",
                "ScaleApplication /scaled"
            ],
        ]
    );
    let scale = plan.steps[2]
        .actions
        .iter()
        .find(|a| a.app == p("/scaled"))
        .unwrap();
    assert_eq!(scale.kill_tasks, vec!["scaled.t1"]);
    assert_eq!(scale.scale_to, Some(5));
    assert!(!plan.affected_app_ids().contains(&p("/same")));
    assert!(plan.original_apps.contains_key(&p("/gone")));
}

#[test]
fn restart_request_restarts() {
    let mut original = Group::empty_root();
    let mut app = AppDefinition::new("/a", "x");
    app.stamp_version(None, "T1");
    original.put_app(app.clone()).unwrap();
    let mut target = original.clone();
    target.put_app(app.restarted("T2")).unwrap();
    let plan = plan(&original, &target, "d", "T2", &none()).unwrap();
    assert_eq!(summary(&plan), vec![vec!["RestartApplication /a"]]);
}

#[test]
fn identical_groups_give_an_empty_plan() {
    let g = root(json!({"id": "/", "apps": [{"id": "a", "cmd": "x"}]}));
    assert!(plan(&g, &g, "d", "V", &none()).unwrap().is_empty());
}

#[test]
fn cyclic_targets_are_refused() {
    let target = root(json!({"id": "/", "apps": [
        {"id": "a", "cmd": "x", "dependencies": ["/b"]},
        {"id": "b", "cmd": "x", "dependencies": ["/a"]}
    ]}));
    let err = plan(&Group::empty_root(), &target, "d", "V", &none()).unwrap_err();
    assert_eq!(err.to_string(), "Dependency graph has cyclic dependencies.");
}

#[test]
fn conflicts_and_revert() {
    let base = root(json!({"id": "/", "apps": [{"id": "a", "cmd": "x"}, {"id": "b", "cmd": "x"}]}));
    let ta = root(json!({"id": "/", "apps": [{"id": "a", "cmd": "y"}, {"id": "b", "cmd": "x"}]}));
    let tb = root(
        json!({"id": "/", "apps": [{"id": "a", "cmd": "x"}, {"id": "b", "cmd": "y"}, {"id": "c", "cmd": "z"}]}),
    );
    let pa = plan(&base, &ta, "pa", "V", &none()).unwrap();
    let pb = plan(&base, &tb, "pb", "V", &none()).unwrap();
    let pa2 = plan(&base, &ta, "pa2", "V", &none()).unwrap();
    assert!(!pa.conflicts_with(&pb));
    assert!(pa.conflicts_with(&pa2));
    let running = vec![pb.clone(), pa2.clone()];
    let c = pa.conflicting(&running);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].id, "pa2");
    // revert pb on top of its target: b back to x, c removed
    let reverted = pb.revert(&tb);
    assert_eq!(
        reverted.find_app(&p("/b")).unwrap().cmd.as_deref(),
        Some("x")
    );
    assert!(reverted.find_app(&p("/c")).is_none());
}

#[test]
fn api_json_is_marathon_pythons_deployment() {
    let target = root(json!({"id": "/", "apps": [{"id": "a", "cmd": "x"}]}));
    let plan = plan(
        &Group::empty_root(),
        &target,
        "d1",
        "2026-01-01T00:00:00.000Z",
        &none(),
    )
    .unwrap();
    let j = plan.to_api_json(2, &BTreeMap::new());
    // MarathonDeployment(affected_apps, current_actions, current_step, id, steps, total_steps, version, affected_pods)
    let allowed = [
        "affectedApps",
        "currentActions",
        "currentStep",
        "id",
        "steps",
        "totalSteps",
        "version",
        "affectedPods",
    ];
    for k in j.as_object().unwrap().keys() {
        assert!(allowed.contains(&k.as_str()), "{k}");
    }
    // MarathonDeploymentAction(action, app, apps, type, readiness_check_results, pod)
    for a in j["currentActions"].as_array().unwrap() {
        for k in a.as_object().unwrap().keys() {
            assert!(
                [
                    "action",
                    "app",
                    "apps",
                    "type",
                    "readinessCheckResults",
                    "pod"
                ]
                .contains(&k.as_str()),
                "{k}"
            );
        }
    }
    assert_eq!(
        j,
        json!({
            "id": "d1", "version": "2026-01-01T00:00:00.000Z", "affectedApps": ["/a"], "affectedPods": [],
            "steps": [{"actions": [{"action": "StartApplication", "app": "/a"}]},
                      {"actions": [{"action": "ScaleApplication", "app": "/a"}]}],
            "currentActions": [{"action": "ScaleApplication", "app": "/a", "readinessCheckResults": []}],
            "currentStep": 2, "totalSteps": 2
        })
    );
    let ev = plan.to_event_json(&Group::empty_root(), &target);
    assert_eq!(ev["target"]["apps"][0]["id"], json!("/a"));
}

#[test]
fn plans_survive_a_round_trip_through_storage() {
    let target = root(json!({"id": "/", "apps": [{"id": "a", "cmd": "x", "healthChecks": [{}]}]}));
    let plan = plan(&Group::empty_root(), &target, "d1", "V", &none()).unwrap();
    let stored = serde_json::to_string(&plan).unwrap();
    let back: DeploymentPlan = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, plan);
}

fn tv(id: &str, running: bool) -> crate::rolling::TaskView {
    crate::rolling::TaskView {
        id: id.into(),
        phase: if running {
            crate::rolling::TaskPhase::Running
        } else {
            crate::rolling::TaskPhase::Staging
        },
        healthy: None,
        ready: true,
        staged_at: 0,
    }
}

#[test]
fn driving_actions() {
    let app = AppDefinition::new("/a", "x");
    let act = |kind, scale_to, kill: Vec<String>| Action {
        action: kind,
        app: p("/a"),
        scale_to,
        kill_tasks: kill,
    };
    let start = act(ActionKind::StartApplication, Some(0), vec![]);
    assert!(
        drive_action(&ActionInput {
            action: &start,
            app: Some(&app),
            current: &[],
            outdated: &[]
        })
        .done
    );
    let stop = act(ActionKind::StopApplication, None, vec![]);
    let tasks = [tv("a.1", true), tv("a.2", false)];
    let d = drive_action(&ActionInput {
        action: &stop,
        app: None,
        current: &tasks,
        outdated: &[],
    });
    assert_eq!((d.kill.len(), d.done), (2, false));
    assert!(
        drive_action(&ActionInput {
            action: &stop,
            app: None,
            current: &[],
            outdated: &[]
        })
        .done
    );
    let scale = act(ActionKind::ScaleApplication, Some(3), vec![]);
    let d = drive_action(&ActionInput {
        action: &scale,
        app: Some(&app),
        current: &tasks,
        outdated: &[],
    });
    assert_eq!((d.launch, d.done), (1, false));
    let kill_one = act(ActionKind::ScaleApplication, Some(1), vec!["a.1".into()]);
    let d = drive_action(&ActionInput {
        action: &kill_one,
        app: Some(&app),
        current: &tasks,
        outdated: &[],
    });
    assert_eq!(d.kill, vec!["a.1"]);
    let restart = act(ActionKind::RestartApplication, Some(1), vec![]);
    let old = [tv("a.old", true)];
    let d = drive_action(&ActionInput {
        action: &restart,
        app: Some(&app),
        current: &[],
        outdated: &old,
    });
    assert_eq!(
        (d.launch, d.kill.len()),
        (1, 0),
        "default strategy keeps the old task until the new is ready"
    );
    let new = [tv("a.new", true)];
    let d = drive_action(&ActionInput {
        action: &restart,
        app: Some(&app),
        current: &new,
        outdated: &old,
    });
    assert_eq!(d.kill, vec!["a.old"]);
    let d = drive_action(&ActionInput {
        action: &restart,
        app: Some(&app),
        current: &new,
        outdated: &[],
    });
    assert!(d.done);
}

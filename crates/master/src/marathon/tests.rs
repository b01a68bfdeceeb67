use super::reconcile::task_request;
use super::store::{Change, MarathonStore};
use super::Deployment;
use dcos_marathon::app::AppDefinition;
use dcos_marathon::group::Group;
use dcos_marathon::path::PathId;
use dcos_marathon::plan::plan;
use std::collections::BTreeMap;

fn app(body: serde_json::Value) -> AppDefinition {
    match AppDefinition::from_json(body, &PathId::root()) {
        Ok(a) => a,
        Err(e) => panic!("bad test app: {e:?}"),
    }
}

#[test]
fn store_keeps_apps_versions_and_deployments_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = app(serde_json::json!({"id": "/web", "cmd": "sleep 100", "instances": 2}));
    a.stamp_version(None, "2026-01-01T00:00:00.000Z");
    let mut target = Group::empty_root();
    target.put_app(a.clone()).unwrap();
    let p = plan(&Group::empty_root(), &target, "d1", "v", &BTreeMap::new()).unwrap();
    let d = Deployment { plan: p, step: 1 };
    {
        let mut s = MarathonStore::open(dir.path()).unwrap();
        s.commit(&Change {
            put_apps: vec![&a],
            put_deployments: vec![&d],
            ..Change::default()
        })
        .unwrap();
    }
    let s = MarathonStore::open(dir.path()).unwrap();
    assert_eq!(s.load_apps().unwrap(), vec![a.clone()]);
    let ds = s.load_deployments().unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].step, 1);
    assert_eq!(ds[0].plan, d.plan);
    assert_eq!(
        s.versions("/web").unwrap(),
        vec!["2026-01-01T00:00:00.000Z".to_string()]
    );
    assert!(s
        .version("/web", "2026-01-01T00:00:00.000Z")
        .unwrap()
        .is_some());
}

#[test]
fn task_request_carries_command_resources_ports_and_marathon_env() {
    let mut a = app(serde_json::json!({
        "id": "/g/web", "cmd": "echo hi", "cpus": 0.5, "mem": 64,
        "portDefinitions": [{"port": 0, "name": "http"}, {"port": 0}],
        "env": {"FOO": "bar"}, "labels": {"team": "x"}
    }));
    a.stamp_version(None, "2026-01-01T00:00:00.000Z");
    let r = task_request(&a);
    assert!(r.id.as_deref().is_some_and(|id| id.starts_with("g_web.")));
    assert_eq!(r.command.value.as_deref(), Some("echo hi"));
    assert!(r.command.shell);
    assert_eq!(r.ports, 2);
    assert_eq!(r.cpus, 0.5);
    assert_eq!(r.group, "/g/web");
    assert_eq!(r.command.env.get("FOO").map(String::as_str), Some("bar"));
    assert_eq!(
        r.command.env.get("MARATHON_APP_ID").map(String::as_str),
        Some("/g/web")
    );
    assert!(
        !r.command.env.contains_key("PORT0"),
        "the master assigns ports"
    );
    assert_eq!(
        r.labels.get(super::VERSION_LABEL).map(String::as_str),
        Some("2026-01-01T00:00:00.000Z")
    );
}

#[test]
fn the_group_tree_survives_without_its_apps_and_apps_refill_it() {
    let dir = tempfile::tempdir().unwrap();
    let body = serde_json::json!({"id": "/shop", "dependencies": ["/base"], "groups": [{"id": "empty"}],
                                  "apps": [{"id": "web", "cmd": "sleep 1"}]});
    let g = Group::from_json(body, &PathId::root()).unwrap();
    let mut root = Group::empty_root();
    root.put_group(g).unwrap();
    let web = root.find_app(&PathId::parse("/shop/web")).cloned().unwrap();
    {
        let mut s = MarathonStore::open(dir.path()).unwrap();
        let skel = super::skeleton(&root);
        assert!(
            !skel.contains("sleep"),
            "apps are stored on their own: {skel}"
        );
        s.commit(&Change {
            put_apps: vec![&web],
            groups: Some(skel),
            ..Change::default()
        })
        .unwrap();
    }
    let s = MarathonStore::open(dir.path()).unwrap();
    let mut back = Group::from_json(s.load_groups().unwrap().unwrap(), &PathId::root()).unwrap();
    for a in s.load_apps().unwrap() {
        back.put_app(a).unwrap();
    }
    assert_eq!(back.to_json(), root.to_json());
}

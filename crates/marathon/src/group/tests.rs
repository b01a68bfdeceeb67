use super::*;
use serde_json::json;

fn p(s: &str) -> PathId {
    PathId::parse(s)
}

fn tree() -> Group {
    Group::from_json(
        json!({
            "id": "/prod",
            "groups": [
                {"id": "db", "apps": [{"id": "mysql", "cmd": "x"}]},
                {"id": "back", "dependencies": ["../db"], "apps": [
                    {"id": "api", "cmd": "x"},
                    {"id": "worker", "cmd": "x", "dependencies": ["api"]}
                ]},
                {"id": "front", "apps": [{"id": "web", "cmd": "x", "dependencies": ["/prod/back/api"]}]}
            ]
        }),
        &PathId::root(),
    )
    .expect("parses")
}

#[test]
fn relative_ids_are_resolved() {
    let g = tree();
    assert_eq!(g.id, p("/prod"));
    let apps: Vec<String> = g.transitive_apps().keys().map(|k| k.to_string()).collect();
    assert_eq!(
        apps,
        vec![
            "/prod/back/api",
            "/prod/back/worker",
            "/prod/db/mysql",
            "/prod/front/web"
        ]
    );
    assert_eq!(
        g.find_group(&p("/prod/back")).unwrap().dependencies,
        vec![p("/prod/db")]
    );
    assert_eq!(
        g.find_app(&p("/prod/back/worker"))
            .unwrap()
            .dependency_ids(),
        vec![p("/prod/back/api")]
    );
    assert!(g.find_app(&p("/prod/back/nope")).is_none());
    assert!(g.validate().is_empty(), "{:?}", g.validate());
    // a missing id means the URL's group; relative ids resolve against it
    let g2 = Group::from_json(json!({"apps": [{"id": "a", "cmd": "x"}]}), &p("/x/y")).unwrap();
    assert_eq!(g2.id, p("/x/y"));
    assert!(g2.find_app(&p("/x/y/a")).is_some());
}

#[test]
fn serializes_marathon_group_shape() {
    let g = tree();
    let j = g.to_json();
    let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
    // marathon-python MarathonGroup(apps, dependencies, groups, id, pods, version)
    for k in keys {
        assert!(
            ["apps", "dependencies", "groups", "id", "pods", "version"].contains(&k.as_str()),
            "{k}"
        );
    }
    assert_eq!(j["groups"][1]["dependencies"], json!(["/prod/db"]));
    let back = Group::from_json(j, &PathId::root()).unwrap();
    assert_eq!(back, g);
}

#[test]
fn parse_errors_carry_paths() {
    let e = Group::from_json(
        json!({"id": "/g", "apps": [{"id": "a", "cpus": "x"}]}),
        &PathId::root(),
    )
    .unwrap_err();
    assert_eq!(e.path, "/apps(0)/cpus");
    let e = Group::from_json(
        json!({"id": "/g", "groups": [{"id": "s", "apps": [{"id": "a", "bogus": 1}]}]}),
        &PathId::root(),
    )
    .unwrap_err();
    assert_eq!(e.path, "/groups(0)/apps(0)/bogus");
    let e = Group::from_json(json!({"id": "/g", "nope": 1}), &PathId::root()).unwrap_err();
    assert_eq!(e.path, "/nope");
}

#[test]
fn validation_reports_nested_paths_and_foreign_ids() {
    let g = Group::from_json(
        json!({"id": "/g", "apps": [{"id": "/elsewhere/a", "cmd": "x"}, {"id": "b", "cmd": "x", "cpus": 0}]}),
        &PathId::root(),
    )
    .unwrap();
    let v = g.validate();
    assert!(v.iter().any(|x| x.path == "/apps(1)/cpus"), "{v:?}");
    assert!(
        v.iter().any(|x| x
            .errors
            .iter()
            .any(|e| e.contains("Identifier is not child of /g"))),
        "{v:?}"
    );
}

#[test]
fn cycles_are_detected_with_marathons_message() {
    let g = Group::from_json(
        json!({"id": "/c", "apps": [
            {"id": "a", "cmd": "x", "dependencies": ["b"]},
            {"id": "b", "cmd": "x", "dependencies": ["c"]},
            {"id": "c", "cmd": "x", "dependencies": ["a"]},
            {"id": "d", "cmd": "x"}
        ]}),
        &PathId::root(),
    )
    .unwrap();
    let err = g.dependency_graph().topological_order().unwrap_err();
    assert_eq!(err.to_string(), "Dependency graph has cyclic dependencies.");
    let GroupError::Cycle { cycle } = err else {
        panic!()
    };
    assert_eq!(cycle.len(), 3);
    let v = g.validate();
    assert_eq!(
        v,
        vec![Violation::new(
            "/",
            "Dependency graph has cyclic dependencies."
        )]
    );
}

#[test]
fn topological_order_and_longest_paths() {
    let g = tree();
    let graph = g.dependency_graph();
    // group dependency: everything in /prod/back depends on /prod/db/mysql
    assert!(graph.edges[&p("/prod/back/api")].contains(&p("/prod/db/mysql")));
    let order = graph.topological_order().unwrap();
    let pos = |s: &str| order.iter().position(|x| *x == p(s)).unwrap();
    assert!(pos("/prod/db/mysql") < pos("/prod/back/api"));
    assert!(pos("/prod/back/api") < pos("/prod/back/worker"));
    assert!(pos("/prod/back/api") < pos("/prod/front/web"));
    let len = graph.longest_path_lengths().unwrap();
    assert_eq!(len[&p("/prod/db/mysql")], 1);
    assert_eq!(len[&p("/prod/back/api")], 2);
    assert_eq!(len[&p("/prod/back/worker")], 3);
    assert_eq!(len[&p("/prod/front/web")], 3);
}

#[test]
fn put_and_remove() {
    let mut root = Group::empty_root();
    root.put_app(AppDefinition::new("/a/b/c", "x")).unwrap();
    assert!(root.find_group(&p("/a/b")).is_some());
    assert!(root.find_app(&p("/a/b/c")).is_some());
    assert_eq!(
        root.put_app(AppDefinition::new("/a/b", "x")),
        Err(GroupError::GroupExists(p("/a/b")))
    );
    root.put_group(Group::empty(p("/a/x"))).unwrap();
    assert!(root.find_group(&p("/a/x")).is_some());
    assert_eq!(
        root.put_group(Group::empty(p("/a/b/c"))),
        Err(GroupError::AppExists(p("/a/b/c")))
    );
    root.remove_app(&p("/a/b/c")).unwrap();
    assert_eq!(
        root.remove_app(&p("/a/b/c")),
        Err(GroupError::NoApp(p("/a/b/c")))
    );
    root.remove_group(&p("/a")).unwrap();
    assert!(root.transitive_groups().len() == 1);
    assert_eq!(root.remove_group(&PathId::root()), Err(GroupError::Root));
}

#[test]
fn scale_by_rounds_up() {
    let mut g = tree();
    for a in g.groups.values_mut().flat_map(|g| g.apps.values_mut()) {
        a.instances = 3;
    }
    g.scale_by(1.5);
    assert!(g.transitive_apps().values().all(|a| a.instances == 5));
}

#[test]
fn group_updates() {
    let cur = tree();
    let back = p("/prod/back");
    let cur_back = cur.find_group(&back).unwrap();
    assert_eq!(
        apply_group_update(Some(cur_back), &back, json!({"scaleBy": 2})).unwrap(),
        GroupUpdate::ScaleBy(2.0)
    );
    assert_eq!(
        apply_group_update(Some(cur_back), &back, json!({"version": "V"})).unwrap(),
        GroupUpdate::Rollback("V".into())
    );
    let GroupUpdate::Replace(next) = apply_group_update(
        Some(cur_back),
        &back,
        json!({"apps": [{"id": "api", "cmd": "y"}]}),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        next.apps.len(),
        1,
        "apps given in the body replace the group's apps"
    );
    assert_eq!(
        next.dependencies,
        vec![p("/prod/db")],
        "dependencies not given are kept"
    );
    assert!(apply_group_update(Some(cur_back), &back, json!({"scaleBy": 2, "apps": []})).is_err());
}

#[test]
fn version_stamping_keeps_unchanged_apps() {
    let mut old = tree();
    old.stamp_versions(&Group::empty_root(), "T1");
    let mut next = old.clone();
    next.find_group_mut(&p("/prod/db"))
        .unwrap()
        .apps
        .get_mut(&p("/prod/db/mysql"))
        .unwrap()
        .cmd = Some("new".into());
    next.stamp_versions(&old, "T2");
    assert_eq!(
        next.find_app(&p("/prod/db/mysql"))
            .unwrap()
            .version
            .as_deref(),
        Some("T2")
    );
    assert_eq!(
        next.find_app(&p("/prod/back/api"))
            .unwrap()
            .version
            .as_deref(),
        Some("T1")
    );
}

#[test]
fn violation_indices_follow_input_order() {
    let g = Group::from_json(
        json!({"id": "/g", "apps": [{"id": "zeta", "cmd": "x"}, {"id": "alpha", "cmd": "x", "mem": -1}]}),
        &PathId::root(),
    )
    .unwrap();
    let v = g.validate();
    assert_eq!(v, vec![Violation::new("/apps(1)/mem", "is less than 0")]);
    let ids: Vec<String> = g.apps.keys().map(|k| k.to_string()).collect();
    assert_eq!(ids, vec!["/g/zeta", "/g/alpha"]);
}

#[test]
fn the_group_id_itself_is_checked() {
    let g = Group::from_json(json!({"id": "/Bad_Group"}), &PathId::root()).unwrap();
    let v = g.validate();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "/id");
}

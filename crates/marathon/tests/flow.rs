//! The public API end to end, the way the master's HTTP shell uses it: parse and validate a
//! group, plan the deployment, drive every step with the live tasks of a simulated cluster
//! (a launched task runs and passes its checks one tick later), then a config change (rolling
//! restart) and a scale down, checking capacity on the way.

use std::collections::BTreeMap;

use dcos_marathon::app::AppDefinition;
use dcos_marathon::group::Group;
use dcos_marathon::path::PathId;
use dcos_marathon::plan::{drive_action, plan, ActionInput, ActionKind, DeploymentPlan};
use dcos_marathon::rolling::{TaskPhase, TaskView};
use dcos_marathon::taskenv::task_id;
use serde_json::json;

/// A task in the simulated cluster.
#[derive(Clone)]
struct SimTask {
    view: TaskView,
    app: PathId,
    config: String,
}

#[derive(Default)]
struct Cluster {
    tasks: Vec<SimTask>,
    next: u64,
    tick: i64,
}

impl Cluster {
    fn views(&self, app: &PathId, config: &str, current: bool) -> Vec<TaskView> {
        self.tasks
            .iter()
            .filter(|t| &t.app == app && (t.config == config) == current)
            .map(|t| t.view.clone())
            .collect()
    }

    /// One tick: staging tasks start running and pass their checks.
    fn advance(&mut self) {
        self.tick += 1;
        for t in &mut self.tasks {
            if t.view.phase == TaskPhase::Staging {
                t.view.phase = TaskPhase::Running;
                t.view.healthy = Some(true);
                t.view.ready = true;
            }
        }
    }

    fn running(&self, app: &PathId) -> usize {
        self.tasks
            .iter()
            .filter(|t| &t.app == app && t.view.phase == TaskPhase::Running)
            .count()
    }
}

fn config_of(app: &AppDefinition) -> String {
    app.version_info
        .as_ref()
        .and_then(|v| v.last_config_change_at.clone())
        .unwrap_or_default()
}

/// Runs a plan to completion; returns the number of ticks and the last step of each app.
fn run(plan: &DeploymentPlan, cluster: &mut Cluster) -> (u32, BTreeMap<PathId, usize>) {
    let mut finished = BTreeMap::new();
    let mut ticks = 0;
    for (i, step) in plan.steps.iter().enumerate() {
        loop {
            let mut all_done = true;
            for action in &step.actions {
                let app = plan.target_apps.get(&action.app);
                let config = app.map(config_of).unwrap_or_default();
                let current = cluster.views(&action.app, &config, true);
                let outdated = cluster.views(&action.app, &config, false);
                let d = drive_action(&ActionInput {
                    action,
                    app,
                    current: &current,
                    outdated: &outdated,
                });
                cluster.tasks.retain(|t| !d.kill.contains(&t.view.id));
                for _ in 0..d.launch {
                    cluster.next += 1;
                    let id = task_id(&action.app, &format!("{:08}", cluster.next));
                    cluster.tasks.push(SimTask {
                        view: TaskView {
                            id,
                            phase: TaskPhase::Staging,
                            healthy: None,
                            ready: false,
                            staged_at: cluster.tick,
                        },
                        app: action.app.clone(),
                        config: config.clone(),
                    });
                }
                if d.done {
                    finished.insert(action.app.clone(), i);
                } else {
                    all_done = false;
                }
                // a restart keeps minHealthy running tasks and stays within maxCapacity (+1)
                if let (Some(a), ActionKind::RestartApplication) = (app, action.action) {
                    let us = &a.upgrade_strategy;
                    let min_healthy =
                        (a.instances as f64 * us.minimum_health_capacity).ceil() as usize;
                    let max_capacity = (a.instances as f64 * (1.0 + us.maximum_over_capacity))
                        .floor() as usize
                        + 1;
                    let mine: Vec<&SimTask> =
                        cluster.tasks.iter().filter(|t| t.app == a.id).collect();
                    let running = mine
                        .iter()
                        .filter(|t| t.view.phase == TaskPhase::Running)
                        .count();
                    assert!(running >= min_healthy, "{running} running < {min_healthy}");
                    assert!(
                        mine.len() <= max_capacity,
                        "{} tasks > {max_capacity}",
                        mine.len()
                    );
                }
            }
            if all_done {
                break;
            }
            cluster.advance();
            ticks += 1;
            assert!(ticks < 1_000, "the deployment does not finish");
        }
    }
    (ticks, finished)
}

#[test]
fn deploy_restart_and_scale_a_dependency_chain() {
    let body = json!({
        "id": "/shop",
        "apps": [
            {"id": "web", "cmd": "serve web", "instances": 2, "dependencies": ["api"],
             "healthChecks": [{"protocol": "HTTP", "path": "/"}],
             "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.5}},
            {"id": "api", "cmd": "serve api", "instances": 2, "dependencies": ["db"]},
            {"id": "db", "cmd": "serve db", "instances": 1}
        ]
    });
    let group = Group::from_json(body, &PathId::root()).expect("parses");
    assert!(group.validate().is_empty(), "{:?}", group.validate());
    let empty = Group::empty_root();
    let mut v1 = Group::empty_root();
    v1.put_group(group).unwrap();
    v1.stamp_versions(&empty, "2026-01-01T00:00:00.000Z");

    // deploy: db before api before web
    let p1 = plan(
        &empty,
        &v1,
        "d1",
        "2026-01-01T00:00:00.000Z",
        &BTreeMap::new(),
    )
    .unwrap();
    let mut cluster = Cluster::default();
    let (_, finished) = run(&p1, &mut cluster);
    let step = |app: &str| finished[&PathId::parse(app)];
    assert!(step("/shop/db") < step("/shop/api") && step("/shop/api") < step("/shop/web"));
    for (app, n) in [("/shop/db", 1), ("/shop/api", 2), ("/shop/web", 2)] {
        assert_eq!(cluster.running(&PathId::parse(app)), n, "{app}");
    }

    // change web's command: a rolling restart that keeps at least one web task running
    let mut v2 = v1.clone();
    let web_id = PathId::parse("/shop/web");
    let mut web = v2.find_app(&web_id).unwrap().clone();
    web.cmd = Some("serve web --v2".into());
    v2.put_app(web).unwrap();
    v2.stamp_versions(&v1, "2026-01-02T00:00:00.000Z");
    let p2 = plan(&v1, &v2, "d2", "2026-01-02T00:00:00.000Z", &BTreeMap::new()).unwrap();
    assert_eq!(
        p2.to_api_json(1, &BTreeMap::new())["steps"],
        json!([{"actions": [{"action": "RestartApplication", "app": "/shop/web"}]}])
    );
    let before: Vec<String> = cluster
        .views(&web_id, "", false)
        .iter()
        .map(|t| t.id.clone())
        .collect();
    run(&p2, &mut cluster);
    let after: Vec<String> = cluster
        .tasks
        .iter()
        .filter(|t| t.app == web_id)
        .map(|t| t.view.id.clone())
        .collect();
    assert_eq!(after.len(), 2);
    assert!(
        after.iter().all(|id| !before.contains(id)),
        "every web task was replaced"
    );

    // scale api down to 1, killing a named task
    let mut v3 = v2.clone();
    let api_id = PathId::parse("/shop/api");
    let mut api = v3.find_app(&api_id).unwrap().clone();
    api.instances = 1;
    v3.put_app(api).unwrap();
    v3.stamp_versions(&v2, "2026-01-03T00:00:00.000Z");
    let victim = cluster
        .tasks
        .iter()
        .find(|t| t.app == api_id)
        .unwrap()
        .view
        .id
        .clone();
    let mut kill = BTreeMap::new();
    kill.insert(api_id.clone(), vec![victim.clone()]);
    let p3 = plan(&v2, &v3, "d3", "2026-01-03T00:00:00.000Z", &kill).unwrap();
    run(&p3, &mut cluster);
    assert_eq!(cluster.running(&api_id), 1);
    assert!(cluster.tasks.iter().all(|t| t.view.id != victim));

    // remove everything
    let p4 = plan(
        &v3,
        &empty,
        "d4",
        "2026-01-04T00:00:00.000Z",
        &BTreeMap::new(),
    )
    .unwrap();
    run(&p4, &mut cluster);
    assert!(cluster.tasks.is_empty());
}

//! Planning and rolling-step benchmark: `cargo bench -p dcos-marathon --bench plan`.
//! Prints timings; figures are recorded in docs/bench-marathon.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dcos_marathon::app::{KillSelection, UpgradeStrategy};
use dcos_marathon::group::Group;
use dcos_marathon::path::PathId;
use dcos_marathon::plan::plan;
use dcos_marathon::rolling::{restart_step, RestartInput, TaskPhase, TaskView};
use serde_json::{json, Value};

/// 1,000 apps in 20 groups of 50; in every group app i>0 depends on app i-1 of the previous
/// group for the first 10 apps (dependency chains 20 long), the rest are independent.
fn group_json(n_groups: usize, per_group: usize, cmd: &str) -> Value {
    let groups: Vec<Value> = (0..n_groups)
        .map(|g| {
            let apps: Vec<Value> = (0..per_group)
                .map(|i| {
                    let mut app = json!({
                        "id": format!("app-{i}"),
                        "cmd": cmd,
                        "cpus": 0.1, "mem": 32, "instances": 1,
                        "healthChecks": [{"protocol": "HTTP", "path": "/health"}],
                        "labels": {"group": format!("g{g}")}
                    });
                    if g > 0 && i < 10 {
                        app["dependencies"] = json!([format!("/bench/g{}/app-{i}", g - 1)]);
                    }
                    app
                })
                .collect();
            json!({"id": format!("g{g}"), "apps": apps})
        })
        .collect();
    json!({"id": "/bench", "groups": groups})
}

fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) -> T {
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        let d = t.elapsed();
        best = best.min(d);
        total += d;
        out = Some(r);
    }
    println!(
        "{label:<58} best {:>9.3} ms   mean {:>9.3} ms   ({runs} runs)",
        best.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3 / runs as f64
    );
    match out {
        Some(r) => r,
        None => unreachable!("runs > 0"),
    }
}

fn root_of(g: Group) -> Group {
    let mut root = Group::empty_root();
    root.put_group(g).expect("fresh root");
    root
}

fn main() {
    let runs = 10;
    let v1 = group_json(20, 50, "sleep 1000");
    let v2 = group_json(20, 50, "sleep 2000");

    let g1 = time("parse group of 1,000 apps from JSON", runs, || {
        Group::from_json(v1.clone(), &PathId::root()).expect("valid")
    });
    let g2 = Group::from_json(v2.clone(), &PathId::root()).expect("valid");
    let violations = time(
        "validate group of 1,000 apps (incl. cycle check)",
        runs,
        || g1.validate(),
    );
    assert!(violations.is_empty(), "{violations:?}");
    let r1 = root_of(g1);
    let r2 = root_of(g2);
    let empty = Group::empty_root();
    let none = BTreeMap::new();
    let p = time("plan: deploy 1,000 new apps", runs, || {
        plan(&empty, &r1, "d", "V", &none).expect("plan")
    });
    println!(
        "    -> {} steps, {} actions",
        p.steps.len(),
        p.steps.iter().map(|s| s.actions.len()).sum::<usize>()
    );
    let p = time("plan: change all 1,000 apps (restart)", runs, || {
        plan(&r1, &r2, "d", "V", &none).expect("plan")
    });
    println!(
        "    -> {} steps, {} actions",
        p.steps.len(),
        p.steps.iter().map(|s| s.actions.len()).sum::<usize>()
    );
    let mut r3 = r1.clone();
    r3.scale_by(3.0);
    let p = time("plan: scale all 1,000 apps", runs, || {
        plan(&r1, &r3, "d", "V", &none).expect("plan")
    });
    println!(
        "    -> {} steps, {} actions",
        p.steps.len(),
        p.steps.iter().map(|s| s.actions.len()).sum::<usize>()
    );
    let p = time("plan: remove all 1,000 apps", runs, || {
        plan(&r1, &empty, "d", "V", &none).expect("plan")
    });
    println!(
        "    -> {} steps, {} actions",
        p.steps.len(),
        p.steps.iter().map(|s| s.actions.len()).sum::<usize>()
    );
    // 1,000 apps directly in the root group (the common flat layout)
    let flat = time("put_app 1,000 top-level apps into the root", runs, || {
        let mut root = Group::empty_root();
        for i in 0..1000 {
            let mut app =
                dcos_marathon::app::AppDefinition::new(&format!("/flat-{i}"), "sleep 1000");
            app.stamp_version(None, "V");
            root.put_app(app).expect("fresh id");
        }
        root
    });
    time("find_app x1,000 in a flat root of 1,000 apps", runs, || {
        (0..1000)
            .filter(|i| {
                flat.find_app(&PathId::parse(&format!("/flat-{i}")))
                    .is_some()
            })
            .count()
    });
    let p = time("plan: deploy 1,000 top-level apps", runs, || {
        plan(&empty, &flat, "d", "V", &none).expect("plan")
    });
    println!(
        "    -> {} steps, {} actions",
        p.steps.len(),
        p.steps.iter().map(|s| s.actions.len()).sum::<usize>()
    );
    time(
        "GET /v2/apps JSON of 1,000 apps (to_json per app)",
        runs,
        || {
            flat.transitive_apps()
                .values()
                .map(|a| a.to_json().to_string().len())
                .sum::<usize>()
        },
    );
    time(
        "serialize /v2/deployments entry of the restart plan",
        runs,
        || {
            plan(&r1, &r2, "d", "V", &none)
                .expect("plan")
                .to_api_json(1, &BTreeMap::new())
                .to_string()
                .len()
        },
    );

    // Rolling restart of 100 instances with the default strategy and with 0.9/0.1:
    // new tasks become healthy and ready one round after launch.
    for (mhc, moc) in [(1.0, 1.0), (0.9, 0.1), (1.0, 0.0)] {
        let strategy = UpgradeStrategy {
            minimum_health_capacity: mhc,
            maximum_over_capacity: moc,
        };
        let label = format!("rolling restart of 100 instances (mhc {mhc}, moc {moc})");
        let (rounds, calls, step_time) = time(&label, runs, || {
            let mut old: Vec<TaskView> = (0..100)
                .map(|i| TaskView {
                    id: format!("o{i}"),
                    phase: TaskPhase::Running,
                    healthy: Some(true),
                    ready: true,
                    staged_at: i,
                })
                .collect();
            let mut new: Vec<TaskView> = Vec::new();
            let mut rounds = 0u32;
            let mut step_time = Duration::ZERO;
            loop {
                let t = Instant::now();
                let d = restart_step(&RestartInput {
                    instances: 100,
                    strategy: strategy.clone(),
                    kill_selection: KillSelection::YoungestFirst,
                    has_health_checks: true,
                    resident: false,
                    old: &old,
                    new: &new,
                });
                step_time += t.elapsed();
                rounds += 1;
                if d.done {
                    break;
                }
                for t in new.iter_mut() {
                    t.phase = TaskPhase::Running;
                    t.healthy = Some(true);
                    t.ready = true;
                }
                old.retain(|t| !d.kill.contains(&t.id));
                let base = new.len();
                for k in 0..d.launch {
                    new.push(TaskView {
                        id: format!("n{}", base + k as usize),
                        phase: TaskPhase::Staging,
                        healthy: None,
                        ready: false,
                        staged_at: 1000,
                    });
                }
                assert!(rounds < 10_000, "rolling restart did not terminate");
            }
            (rounds, rounds, step_time)
        });
        println!(
            "    -> {rounds} rounds, mean step {:.2} µs",
            step_time.as_secs_f64() * 1e6 / calls as f64
        );
    }
}

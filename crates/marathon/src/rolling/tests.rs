use super::*;
use proptest::prelude::*;

fn strategy(mhc: f64, moc: f64) -> UpgradeStrategy {
    UpgradeStrategy {
        minimum_health_capacity: mhc,
        maximum_over_capacity: moc,
    }
}

fn running(id: &str, staged_at: i64) -> TaskView {
    TaskView {
        id: id.into(),
        phase: TaskPhase::Running,
        healthy: Some(true),
        ready: true,
        staged_at,
    }
}

fn staging(id: &str, staged_at: i64) -> TaskView {
    TaskView {
        id: id.into(),
        phase: TaskPhase::Staging,
        healthy: None,
        ready: false,
        staged_at,
    }
}

#[test]
fn capacity_formulas() {
    assert_eq!(min_healthy(10, &strategy(0.7, 0.0)), 7);
    assert_eq!(min_healthy(3, &strategy(0.5, 0.0)), 2);
    assert_eq!(max_capacity(3, &strategy(1.0, 0.5)), 4);
    assert_eq!(max_capacity(10, &strategy(1.0, 0.1)), 11);
    assert_eq!(min_healthy(0, &strategy(1.0, 1.0)), 0);
}

#[test]
fn default_strategy_launches_all_then_kills_as_new_become_ready() {
    let old: Vec<TaskView> = (0..3).map(|i| running(&format!("o{i}"), i)).collect();
    let d = restart_step(&RestartInput {
        instances: 3,
        strategy: strategy(1.0, 1.0),
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: true,
        resident: false,
        old: &old,
        new: &[],
    });
    assert_eq!(
        d.kill,
        Vec::<String>::new(),
        "minimumHealthCapacity 1 keeps every old task"
    );
    assert_eq!(d.launch, 3);
    // one new task healthy and ready: exactly one old may go, the youngest
    let new = vec![running("n0", 10), staging("n1", 10), staging("n2", 10)];
    let d = restart_step(&RestartInput {
        instances: 3,
        strategy: strategy(1.0, 1.0),
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: true,
        resident: false,
        old: &old,
        new: &new,
    });
    assert_eq!(d.kill, vec!["o2"]);
    assert_eq!(d.launch, 0);
    // healthy but not ready does not count
    let mut not_ready = new.clone();
    not_ready[0].ready = false;
    let d = restart_step(&RestartInput {
        instances: 3,
        strategy: strategy(1.0, 1.0),
        kill_selection: KillSelection::OldestFirst,
        has_health_checks: true,
        resident: false,
        old: &old,
        new: &not_ready,
    });
    assert!(d.kill.is_empty());
}

#[test]
fn equal_min_and_max_allows_one_extra() {
    let old: Vec<TaskView> = (0..4).map(|i| running(&format!("o{i}"), i)).collect();
    let d = restart_step(&RestartInput {
        instances: 4,
        strategy: strategy(1.0, 0.0),
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: false,
        resident: false,
        old: &old,
        new: &[],
    });
    assert_eq!((d.min_healthy, d.max_capacity), (4, 5));
    assert_eq!(d.launch, 1);
    assert!(d.kill.is_empty());
}

#[test]
fn zero_capacity_kills_everything_at_once() {
    let old: Vec<TaskView> = (0..4).map(|i| running(&format!("o{i}"), i)).collect();
    let d = restart_step(&RestartInput {
        instances: 4,
        strategy: strategy(0.0, 0.0),
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: false,
        resident: false,
        old: &old,
        new: &[],
    });
    assert_eq!(d.kill.len(), 4);
    assert_eq!(d.launch, 4);
}

#[test]
fn unhealthy_old_tasks_go_first() {
    let mut old: Vec<TaskView> = (0..3).map(|i| running(&format!("o{i}"), i)).collect();
    old[0].healthy = Some(false);
    let d = restart_step(&RestartInput {
        instances: 3,
        strategy: strategy(0.5, 0.0),
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: true,
        resident: false,
        old: &old,
        new: &[],
    });
    // minHealthy 2, healthy 2: only the unhealthy one may go
    assert_eq!(d.kill, vec!["o0"]);
    assert_eq!(d.launch, 1);
}

#[test]
fn done_when_all_new_are_ready() {
    let new: Vec<TaskView> = (0..2).map(|i| running(&format!("n{i}"), i)).collect();
    let d = restart_step(&RestartInput {
        instances: 2,
        strategy: strategy(1.0, 1.0),
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: true,
        resident: false,
        old: &[],
        new: &new,
    });
    assert!(d.done);
}

#[test]
fn scale_down_prefers_unhealthy_and_staging_then_kill_selection() {
    let mut tasks: Vec<TaskView> = (0..5).map(|i| running(&format!("t{i}"), i)).collect();
    tasks[1].healthy = Some(false);
    tasks[3] = staging("t3", 3);
    let d = scale_step(&ScaleInput {
        instances: 2,
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: true,
        tasks: &tasks,
        sentenced: &[],
    });
    assert_eq!(d.kill, vec!["t3", "t1", "t4"]);
    let d = scale_step(&ScaleInput {
        instances: 4,
        kill_selection: KillSelection::OldestFirst,
        has_health_checks: false,
        tasks: &tasks[..],
        sentenced: &[],
    });
    // without health checks t1 counts as healthy: staging t3 goes first
    assert_eq!(d.kill, vec!["t3"]);
    let d = scale_step(&ScaleInput {
        instances: 4,
        kill_selection: KillSelection::OldestFirst,
        has_health_checks: false,
        tasks: &tasks,
        sentenced: &["t0".to_string(), "nope".to_string()],
    });
    assert_eq!(d.kill, vec!["t0"]);
    assert_eq!(d.launch, 0);
}

#[test]
fn scale_up_launches_the_missing_count() {
    let tasks = vec![running("a", 1)];
    let d = scale_step(&ScaleInput {
        instances: 4,
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: false,
        tasks: &tasks,
        sentenced: &[],
    });
    assert_eq!((d.launch, d.kill.len(), d.done), (3, 0, false));
    let d = scale_step(&ScaleInput {
        instances: 1,
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: false,
        tasks: &tasks,
        sentenced: &[],
    });
    assert!(d.done);
}

/// Simulates a rolling restart: launched tasks become healthy+ready after `delay` rounds.
#[allow(clippy::too_many_arguments)]
fn simulate(
    n: u32,
    mhc: f64,
    moc: f64,
    delay: u32,
    hc: bool,
    resident: bool,
    unknown: u32,
    failing: u32,
) -> Result<u32, TestCaseError> {
    let strategy = strategy(mhc, moc);
    let min_h = min_healthy(n, &strategy);
    let mut old: Vec<TaskView> = (0..n)
        .map(|i| running(&format!("o{i}"), i as i64))
        .collect();
    // some old tasks have no health result yet, some fail their checks
    for (i, t) in old.iter_mut().enumerate() {
        let i = i as u32;
        if i < unknown {
            t.healthy = None;
        } else if i < unknown + failing {
            t.healthy = Some(false);
        }
    }
    // (task, rounds until ready)
    let mut new: Vec<(TaskView, u32)> = Vec::new();
    let mut next_id = 0;
    let limit = 4 * (n + 2) * (delay + 2);
    for round in 0..limit {
        let views: Vec<TaskView> = new.iter().map(|(t, _)| t.clone()).collect();
        let healthy_before = old.iter().filter(|t| t.is_healthy(hc)).count()
            + views.iter().filter(|t| t.is_replacement_ready(hc)).count();
        let d = restart_step(&RestartInput {
            instances: n,
            strategy: strategy.clone(),
            kill_selection: KillSelection::YoungestFirst,
            has_health_checks: hc,
            resident,
            old: &old,
            new: &views,
        });
        if d.done {
            return Ok(round);
        }
        old.retain(|t| !d.kill.contains(&t.id));
        let healthy_after = old.iter().filter(|t| t.is_healthy(hc)).count()
            + views.iter().filter(|t| t.is_replacement_ready(hc)).count();
        // never below minHealthy because of our kills
        let floor = if resident {
            min_h.saturating_sub(1)
        } else {
            min_h
        } as usize;
        prop_assert!(
            healthy_after >= floor.min(healthy_before),
            "round {round}: {healthy_after} < {floor}"
        );
        for _ in 0..d.launch {
            new.push((staging(&format!("n{next_id}"), 100 + next_id), delay));
            next_id += 1;
        }
        let alive = old.len() + new.len();
        prop_assert!(
            alive as u32 <= d.max_capacity,
            "round {round}: {alive} alive > {}",
            d.max_capacity
        );
        prop_assert!(
            d.max_capacity <= max_capacity(n, &strategy) + 1,
            "the extra slot is at most one task"
        );
        prop_assert!(new.len() as u32 <= n, "never more new tasks than instances");
        for (t, left) in new.iter_mut() {
            if *left == 0 {
                t.phase = TaskPhase::Running;
                t.healthy = Some(true);
                t.ready = true;
            } else {
                *left -= 1;
            }
        }
    }
    Err(TestCaseError::fail(format!(
        "no termination within {limit} rounds"
    )))
}

proptest! {
    #[test]
    fn rolling_restart_invariants(
        n in 0u32..40,
        mhc in 0u32..=10,
        moc in 0u32..=10,
        delay in 0u32..3,
        hc in any::<bool>(),
        resident in any::<bool>(),
        unknown in 0u32..10,
        failing in 0u32..10,
    ) {
        // resident apps must have maximumOverCapacity 0 (validation)
        let moc = if resident { 0 } else { moc };
        simulate(n, mhc as f64 / 10.0, moc as f64 / 10.0, delay, hc, resident, unknown, failing)?;
    }

    #[test]
    fn scale_reaches_the_target(n in 0u32..30, have in 0u32..30, sel in any::<bool>()) {
        let tasks: Vec<TaskView> = (0..have).map(|i| running(&format!("t{i}"), i as i64)).collect();
        let d = scale_step(&ScaleInput {
            instances: n,
            kill_selection: if sel { KillSelection::YoungestFirst } else { KillSelection::OldestFirst },
            has_health_checks: false,
            tasks: &tasks,
            sentenced: &[],
        });
        prop_assert_eq!(have - d.kill.len() as u32 + d.launch, n);
        prop_assert!(d.kill.is_empty() || d.launch == 0);
    }
}

#[test]
fn resident_apps_kill_one_below_min_healthy_instead_of_overcommitting() {
    let old: Vec<TaskView> = (0..3).map(|i| running(&format!("o{i}"), i)).collect();
    let d = restart_step(&RestartInput {
        instances: 3,
        strategy: strategy(1.0, 0.0),
        kill_selection: KillSelection::YoungestFirst,
        has_health_checks: false,
        resident: true,
        old: &old,
        new: &[],
    });
    assert_eq!(d.max_capacity, 3);
    assert_eq!(d.kill, vec!["o2"]);
    assert_eq!(d.launch, 1);
}

#[test]
fn unknown_health_old_tasks_count_as_capacity_and_go_before_healthy_ones() {
    let mut old: Vec<TaskView> = (0..4).map(|i| running(&format!("o{i}"), i)).collect();
    old[3].healthy = None;
    // minHealthy 3 of 4: one task may go, and it is the one without a health result
    let d = restart_step(&RestartInput {
        instances: 4,
        strategy: strategy(0.75, 0.0),
        kill_selection: KillSelection::OldestFirst,
        has_health_checks: true,
        resident: false,
        old: &old,
        new: &[],
    });
    assert_eq!(d.kill, vec!["o3"]);
    assert_eq!(d.launch, 1);
    // all old tasks unknown, minHealthy == maxCapacity: the extra slot still opens
    let unknown: Vec<TaskView> = (0..3)
        .map(|i| TaskView {
            healthy: None,
            ..running(&format!("u{i}"), i)
        })
        .collect();
    let d = restart_step(&RestartInput {
        instances: 3,
        strategy: strategy(1.0, 0.0),
        kill_selection: KillSelection::OldestFirst,
        has_health_checks: true,
        resident: false,
        old: &unknown,
        new: &[],
    });
    assert_eq!((d.kill.len(), d.launch, d.max_capacity), (0, 1, 4));
}

//! Simulator benchmark of the pure allocation core: 10,000 simulated agents (three sizes, racks
//! and zones, some with reservations) and 100,000 tasks of ~1,000 apps with a realistic mix of
//! constraints, placed in batches as a scheduler would; then single-task placements on the full
//! cluster, churn (release + re-place), and one DRF allocation cycle of 1,000 frameworks in 20
//! weighted roles. Prints placements per second, p50/p99 latency per batch and per single
//! decision, and peak memory (VmHWM).
//!
//! Run: `cargo bench -p dcos-alloc --bench alloc_sim` (optional args: AGENTS TASKS BATCH SEED).

use dcos_alloc::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .filter(|a| !a.starts_with('-'))
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn vm_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn fmt_d(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

struct App {
    id: String,
    instances: usize,
    resources: Resources,
    ports: usize,
    constraints: Vec<Constraint>,
    role: &'static str,
    kind: &'static str,
}

fn main() {
    let n_agents = arg(1, 10_000) as usize;
    let n_tasks = arg(2, 100_000) as usize;
    let batch = arg(3, 1_000).max(1) as usize;
    let seed = arg(4, 42);
    let mut rng = StdRng::seed_from_u64(seed);

    // Agents: 50 per rack, 5 zones; small/medium/large; 10% with a "prod" reservation.
    let racks = n_agents.div_ceil(50);
    let mut agents = Vec::with_capacity(n_agents);
    for i in 0..n_agents {
        let (cpus, mem) = match rng.gen_range(0..10) {
            0..=4 => (8.0, 32_768.0),
            5..=7 => (16.0, 65_536.0),
            _ => (32.0, 131_072.0),
        };
        let rack = i / 50;
        let mut attributes = BTreeMap::new();
        attributes.insert("rack".to_string(), format!("r{rack}"));
        attributes.insert("zone".to_string(), format!("z{}", rack % 5));
        attributes.insert(
            "disk_type".to_string(),
            if i % 3 == 0 { "ssd" } else { "hdd" }.to_string(),
        );
        let mut reservations = BTreeMap::new();
        if i % 10 == 0 {
            reservations.insert(
                "prod".to_string(),
                Resources::new(cpus / 2.0, mem / 2.0, 0.0, 0.0),
            );
        }
        agents.push(Agent {
            id: format!("agent-{i:05}"),
            hostname: format!("node{i:05}.dc1.example"),
            resources: Resources::new(cpus, mem, 400_000.0, 0.0),
            ports: vec![(31000, 32000)],
            attributes,
            reservations,
            active: true,
        });
    }

    // Apps: sizes from a heavy-tailed mix, constraints from a realistic mix.
    let mut apps = Vec::new();
    let mut planned = 0usize;
    let mut n = 0usize;
    while planned < n_tasks {
        let instances = match rng.gen_range(0..100) {
            0..=49 => rng.gen_range(1..=20),
            50..=84 => rng.gen_range(20..=150),
            85..=97 => rng.gen_range(150..=600),
            _ => rng.gen_range(600..=2_000),
        }
        .min(n_tasks - planned);
        let (kind, constraints): (&str, Vec<Constraint>) = match rng.gen_range(0..100) {
            0..=24 if instances <= n_agents => (
                "UNIQUE hostname",
                vec![Constraint::new("hostname", Operator::Unique, None)],
            ),
            25..=44 => (
                "GROUP_BY zone",
                vec![Constraint::new("zone", Operator::GroupBy, Some("5"))],
            ),
            45..=64 => {
                let per = instances.div_ceil(racks).max(1) + rng.gen_range(0..3);
                (
                    "MAX_PER rack",
                    vec![Constraint::new(
                        "rack",
                        Operator::MaxPer,
                        Some(&per.to_string()),
                    )],
                )
            }
            65..=74 if instances <= 300 => (
                "LIKE",
                vec![
                    Constraint::new("disk_type", Operator::Like, Some("ssd")),
                    Constraint::new("rack", Operator::Unlike, Some("r1[0-9]")),
                ],
            ),
            _ => ("none", vec![]),
        };
        let resources = Resources::new(
            [0.1, 0.25, 0.5, 1.0, 2.0][rng.gen_range(0..5)],
            [64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0][rng.gen_range(0..6)],
            [0.0, 100.0, 1024.0][rng.gen_range(0..3)],
            0.0,
        );
        apps.push(App {
            id: format!("/team{}/app{n}", n % 37),
            instances,
            resources,
            ports: rng.gen_range(0..=2),
            constraints,
            role: if n % 10 == 3 { "prod" } else { "*" },
            kind,
        });
        planned += instances;
        n += 1;
    }
    let mut kinds: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for a in &apps {
        let e = kinds.entry(a.kind).or_default();
        e.0 += 1;
        e.1 += a.instances;
    }

    // The scheduler's queue: each app's instances together (a deployment), apps in random order.
    apps.shuffle(&mut rng);
    let mut requests = Vec::with_capacity(n_tasks);
    for app in &apps {
        for i in 0..app.instances {
            requests.push(TaskRequest {
                task_id: format!("{}.{i}", app.id),
                group: app.id.clone(),
                role: app.role.to_string(),
                framework_id: "marathon".to_string(),
                resources: app.resources,
                ports: vec![0; app.ports],
                constraints: app.constraints.clone(),
                accepted_resource_roles: vec![],
            });
        }
    }

    println!("dcos-alloc simulator: {n_agents} agents ({racks} racks, 5 zones), {} tasks of {} apps, batches of {batch}, seed {seed}", requests.len(), apps.len());
    for (k, (a, t)) in &kinds {
        println!("  constraint mix: {k:<16} {a:>5} apps {t:>7} tasks");
    }

    let rss_before_view = vm_kib("VmRSS:");
    let t0 = Instant::now();
    let mut view = ClusterView::new(seed);
    for a in &agents {
        if let Err(e) = view.upsert_agent(a) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
    let register = t0.elapsed();
    println!("register {n_agents} agents: {}", fmt_d(register));

    // Phase 1: everything, in batches.
    let mut batch_times = Vec::new();
    let mut placed = 0usize;
    let mut unplaced: BTreeMap<String, usize> = BTreeMap::new();
    let mut placed_ids = Vec::with_capacity(requests.len());
    let t1 = Instant::now();
    for chunk in requests.chunks(batch) {
        let s = Instant::now();
        let decisions = place(&mut view, chunk);
        batch_times.push(s.elapsed());
        for d in decisions {
            match d {
                Decision::Placed(p) => {
                    placed += 1;
                    placed_ids.push(p.task_id);
                }
                Decision::Unplaced(u) => {
                    let key = match &u.reason {
                        UnplacedReason::NoFit { reject_summary, .. } => reject_summary
                            .iter()
                            .filter(|s| s.declined > 0)
                            .map(|s| format!("{:?}", s.reason))
                            .collect::<Vec<_>>()
                            .join("+"),
                        other => other.message().to_string(),
                    };
                    *unplaced.entry(key).or_default() += 1;
                }
            }
        }
    }
    let total = t1.elapsed();
    batch_times.sort();
    let per_task = total.as_secs_f64() / requests.len() as f64;
    println!(
        "batched: {} decisions ({placed} placed, {} unplaced) in {:.3} s = {:.0} decisions/s ({:.0} placements/s), mean {:.1} µs/decision",
        requests.len(),
        requests.len() - placed,
        total.as_secs_f64(),
        requests.len() as f64 / total.as_secs_f64(),
        placed as f64 / total.as_secs_f64(),
        per_task * 1e6
    );
    println!(
        "  per batch of {batch}: p50 {}  p99 {}  max {}",
        fmt_d(pct(&batch_times, 0.50)),
        fmt_d(pct(&batch_times, 0.99)),
        fmt_d(pct(&batch_times, 1.0))
    );
    for (k, n) in &unplaced {
        println!("  unplaced: {n} x {k}");
    }
    let used = view.role_allocations();
    let tot = view.cluster_total();
    for r in &used {
        println!(
            "  role {:<5} holds {:.0}/{:.0} cpus, {:.0}/{:.0} GB mem",
            r.name,
            r.allocated.cpus,
            tot.cpus,
            r.allocated.mem / 1024.0,
            tot.mem / 1024.0
        );
    }

    // Phase 2: single decisions on the full cluster (release a random 10,000, re-place each
    // alone, timing every call).
    placed_ids.shuffle(&mut rng);
    let sample: Vec<String> = placed_ids.iter().take(10_000).cloned().collect();
    let by_id: std::collections::HashMap<&str, &TaskRequest> =
        requests.iter().map(|r| (r.task_id.as_str(), r)).collect();
    for id in &sample {
        let _ = view.release(id);
    }
    let mut single = Vec::with_capacity(sample.len());
    let mut single_placed = 0;
    let t2 = Instant::now();
    for id in &sample {
        let Some(r) = by_id.get(id.as_str()) else {
            continue;
        };
        let s = Instant::now();
        let d = place(&mut view, std::slice::from_ref(*r));
        single.push(s.elapsed());
        if matches!(d.first(), Some(Decision::Placed(_))) {
            single_placed += 1;
        }
    }
    let single_total = t2.elapsed();
    single.sort();
    println!(
        "single decisions on the loaded cluster: {} ({single_placed} placed) in {:.3} s = {:.0}/s; latency p50 {}  p99 {}  max {}",
        sample.len(),
        single_total.as_secs_f64(),
        sample.len() as f64 / single_total.as_secs_f64(),
        fmt_d(pct(&single, 0.50)),
        fmt_d(pct(&single, 0.99)),
        fmt_d(pct(&single, 1.0))
    );

    // Phase 3: churn, as a cluster in steady state: release 100 random tasks, place 100.
    let mut churn_times = Vec::new();
    let t3 = Instant::now();
    let mut churned = 0usize;
    for round in 0..100 {
        let start = (round * 100) % placed_ids.len().max(1);
        let victims: Vec<String> = placed_ids.iter().skip(start).take(100).cloned().collect();
        let mut again = Vec::with_capacity(victims.len());
        for id in &victims {
            if view.release(id).is_ok() {
                if let Some(r) = by_id.get(id.as_str()) {
                    again.push((*r).clone());
                }
            }
        }
        let s = Instant::now();
        let d = place(&mut view, &again);
        churn_times.push(s.elapsed());
        churned += d.len();
    }
    let churn_total = t3.elapsed();
    churn_times.sort();
    println!(
        "churn: {churned} release+place in {:.3} s; per batch of 100: p50 {}  p99 {}",
        churn_total.as_secs_f64(),
        fmt_d(pct(&churn_times, 0.50)),
        fmt_d(pct(&churn_times, 0.99))
    );
    let rss_loaded = vm_kib("VmRSS:");
    println!(
        "tasks in view: {}, agents: {}",
        view.task_count(),
        view.agent_count()
    );
    match (vm_kib("VmHWM:"), rss_before_view, rss_loaded) {
        (Some(hwm), Some(before), Some(loaded)) => println!(
            "peak memory (VmHWM): {:.1} MiB; the loaded view adds {:.1} MiB of RSS to the {:.1} MiB the simulator's own inputs take",
            hwm as f64 / 1024.0,
            loaded.saturating_sub(before) as f64 / 1024.0,
            before as f64 / 1024.0
        ),
        _ => println!("peak memory (VmHWM): unavailable"),
    }
    drop(view);

    // Phase 4: one allocation cycle of many frameworks, as Mesos measures it: 1,000 frameworks
    // in 20 roles (weights 1-3), 100 tasks each, all in one `place` call under weighted DRF.
    let mut view = ClusterView::new(seed);
    for a in &agents {
        let _ = view.upsert_agent(a);
    }
    for r in 0..20 {
        let _ = view.set_role_weight(&format!("role{r}"), 1.0 + (r % 3) as f64);
    }
    let cycle: Vec<TaskRequest> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let fw = (i / 100) % 1000;
            let mut r = r.clone();
            r.framework_id = format!("framework-{fw:04}");
            r.role = format!("role{}", fw % 20);
            r
        })
        .collect();
    let s = Instant::now();
    let d = place(&mut view, &cycle);
    let took = s.elapsed();
    let ok = d
        .iter()
        .filter(|d| matches!(d, Decision::Placed(_)))
        .count();
    println!(
        "DRF cycle: {} tasks of 1000 frameworks in 20 weighted roles on {n_agents} agents, one place() call: {:.3} s ({ok} placed, {:.0} placements/s)",
        cycle.len(),
        took.as_secs_f64(),
        ok as f64 / took.as_secs_f64()
    );
    // Phase 5: more than fits: one app of 1.2 x agents instances with UNIQUE hostname, on the
    // loaded cluster; the surplus must be reported unplaced with its reason, quickly.
    let n_unique = n_agents * 6 / 5;
    let wide: Vec<TaskRequest> = (0..n_unique)
        .map(|i| TaskRequest {
            task_id: format!("/wide.{i}"),
            group: "/wide".to_string(),
            role: "*".to_string(),
            framework_id: "marathon".to_string(),
            resources: Resources::new(0.01, 1.0, 0.0, 0.0),
            ports: vec![],
            constraints: vec![Constraint::new("hostname", Operator::Unique, None)],
            accepted_resource_roles: vec![],
        })
        .collect();
    let s = Instant::now();
    let d = place(&mut view, &wide);
    let took = s.elapsed();
    let ok = d
        .iter()
        .filter(|d| matches!(d, Decision::Placed(_)))
        .count();
    let example = d
        .iter()
        .find_map(|d| match d {
            Decision::Unplaced(u) => Some(u.reason.message().to_string()),
            _ => None,
        })
        .unwrap_or_default();
    println!(
        "over-subscribed UNIQUE hostname app: {n_unique} tasks in {:.3} s ({ok} placed, {} unplaced, {:.0} decisions/s); e.g. \"{example}\"",
        took.as_secs_f64(),
        d.len() - ok,
        d.len() as f64 / took.as_secs_f64()
    );
    if let Some(k) = vm_kib("VmHWM:") {
        println!("peak memory at exit (VmHWM): {:.1} MiB", k as f64 / 1024.0);
    }
}

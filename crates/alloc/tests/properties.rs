//! Property tests of the allocation core: whatever agents and requests come in, no agent is
//! over-committed, no host port is handed out twice, UNIQUE and MAX_PER hold, and releasing
//! everything gives every agent back exactly what it had.

use dcos_alloc::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone)]
struct AgentSpec {
    cpus: u32,
    mem: u32,
    rack: u8,
    port_lo: u16,
    port_n: u16,
    reserved_cpus: u32,
}

#[derive(Debug, Clone)]
struct ReqSpec {
    group: u8,
    cpus_tenths: u32,
    mem: u32,
    dynamic_ports: u8,
    fixed_port: Option<u16>,
    constraint: u8,
    max_per: u8,
    role: u8,
    accept: u8,
}

fn agent_spec() -> impl Strategy<Value = AgentSpec> {
    (
        1u32..8,
        256u32..4096,
        0u8..4,
        31000u16..31010,
        0u16..6,
        0u32..3,
    )
        .prop_map(
            |(cpus, mem, rack, port_lo, port_n, reserved_cpus)| AgentSpec {
                cpus,
                mem,
                rack,
                port_lo,
                port_n,
                reserved_cpus: reserved_cpus.min(cpus),
            },
        )
}

fn req_spec() -> impl Strategy<Value = ReqSpec> {
    (
        0u8..8,
        1u32..25,
        1u32..1024,
        0u8..3,
        prop::option::of(31000u16..31016),
        0u8..7,
        1u8..4,
        0u8..2,
        0u8..3,
    )
        .prop_map(
            |(
                group,
                cpus_tenths,
                mem,
                dynamic_ports,
                fixed_port,
                constraint,
                max_per,
                role,
                accept,
            )| {
                ReqSpec {
                    group,
                    cpus_tenths,
                    mem,
                    dynamic_ports,
                    fixed_port,
                    constraint,
                    max_per,
                    role,
                    accept,
                }
            },
        )
}

fn build(agents: &[AgentSpec], seed: u64) -> ClusterView {
    let mut v = ClusterView::new(seed);
    for (i, a) in agents.iter().enumerate() {
        let mut reservations = BTreeMap::new();
        if a.reserved_cpus > 0 {
            reservations.insert(
                "prod".to_string(),
                Resources::new(a.reserved_cpus as f64, 0.0, 0.0, 0.0),
            );
        }
        v.upsert_agent(&Agent {
            id: format!("a{i}"),
            // Two agents share each hostname, so UNIQUE hostname must count by name.
            hostname: format!("h{}", i / 2),
            resources: Resources::new(a.cpus as f64, a.mem as f64, 100.0, 0.0),
            ports: if a.port_n == 0 {
                vec![]
            } else {
                vec![(a.port_lo, a.port_lo + a.port_n - 1)]
            },
            attributes: [("rack".to_string(), format!("r{}", a.rack))]
                .into_iter()
                .collect(),
            reservations,
            active: true,
        })
        .unwrap();
    }
    v
}

fn request(i: usize, r: &ReqSpec) -> TaskRequest {
    let mut ports = vec![0u16; r.dynamic_ports as usize];
    if let Some(p) = r.fixed_port {
        ports.push(p);
    }
    let group = format!("/g{}", r.group);
    // The constraint is a property of the group (as of an app), chosen by the group number.
    let kind = r.group as usize % 7;
    let constraints = match kind {
        0 => vec![Constraint::new("hostname", Operator::Unique, None)],
        1 => vec![Constraint::new("rack", Operator::Unique, None)],
        2 => vec![Constraint::new(
            "rack",
            Operator::MaxPer,
            Some(&(r.group % 3 + 1).to_string()),
        )],
        3 => vec![Constraint::new("hostname", Operator::MaxPer, Some("2"))],
        4 => vec![Constraint::new("rack", Operator::GroupBy, None)],
        5 => vec![Constraint::new("rack", Operator::Like, Some("r[01]"))],
        _ => vec![],
    };
    let role = if r.role == 0 { "*" } else { "prod" };
    let accepted = match r.accept {
        0 => vec![],
        1 => vec!["*".to_string()],
        _ => vec![role.to_string()],
    };
    let _ = (r.max_per, r.constraint);
    TaskRequest {
        task_id: format!("t{i}"),
        group,
        role: role.to_string(),
        framework_id: format!("fw{}", r.group % 2),
        resources: Resources::new(r.cpus_tenths as f64 / 10.0, r.mem as f64, 1.0, 0.0),
        ports,
        constraints,
        accepted_resource_roles: accepted,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn placements_respect_capacity_ports_and_constraints(
        agents in prop::collection::vec(agent_spec(), 1..12),
        reqs in prop::collection::vec(req_spec(), 1..80),
        seed in any::<u64>(),
        release_every in 2usize..6,
    ) {
        let mut v = build(&agents, seed);
        let requests: Vec<TaskRequest> = reqs.iter().enumerate().map(|(i, r)| request(i, r)).collect();
        // Place in batches, releasing some tasks between batches.
        let mut live: HashMap<String, (TaskRequest, Placement)> = HashMap::new();
        for (b, batch) in requests.chunks(16).enumerate() {
            for d in place(&mut v, batch) {
                if let Decision::Placed(p) = d {
                    let r = batch.iter().find(|r| r.task_id == p.task_id).unwrap().clone();
                    live.insert(p.task_id.clone(), (r, p));
                }
            }
            let mut ids: Vec<String> = live.keys().cloned().collect();
            ids.sort();
            for id in ids.iter().skip(b).step_by(release_every) {
                v.release(id).unwrap();
                live.remove(id);
            }

            // Capacity per agent and per pool.
            let mut used: HashMap<String, (f64, f64, f64)> = HashMap::new();
            let mut ports: HashSet<(String, u16)> = HashSet::new();
            for (r, p) in live.values() {
                let e = used.entry(p.agent_id.clone()).or_default();
                for a in &p.allocations {
                    e.0 += a.resources.cpus;
                    e.1 += a.resources.mem;
                    if a.role == "*" { e.2 += a.resources.cpus; }
                    prop_assert!(a.role == "*" || a.role == r.role, "reserved resources of another role");
                }
                let total: f64 = p.allocations.iter().map(|a| a.resources.cpus).sum();
                prop_assert!((total - r.resources.cpus).abs() < 1e-9);
                prop_assert_eq!(p.ports.len(), r.ports.len());
                for (want, got) in r.ports.iter().zip(&p.ports) {
                    prop_assert!(*want == 0 || want == got, "fixed port not honoured");
                }
                for port in &p.ports {
                    prop_assert!(ports.insert((p.agent_id.clone(), *port)), "port {} twice on {}", port, p.agent_id);
                }
            }
            for (i, a) in agents.iter().enumerate() {
                let id = format!("a{i}");
                let (cpus, mem, unres_cpus) = used.get(&id).copied().unwrap_or_default();
                prop_assert!(cpus <= a.cpus as f64 + 1e-9, "agent {} over-committed: {} cpus", id, cpus);
                prop_assert!(mem <= a.mem as f64 + 1e-9);
                prop_assert!(unres_cpus <= (a.cpus - a.reserved_cpus) as f64 + 1e-9, "unreserved over-committed");
                let s = v.agent_summary(&id).unwrap();
                prop_assert!((s.used.cpus - cpus).abs() < 1e-6, "view and placements disagree");
                for (_, port) in ports.iter().filter(|(aid, _)| *aid == id) {
                    prop_assert!(*port >= a.port_lo && *port < a.port_lo + a.port_n);
                    prop_assert!(!s.free_ports.iter().any(|(lo, hi)| lo <= port && port <= hi));
                }
            }

            // UNIQUE and MAX_PER over each group's live tasks.
            let mut by_group: HashMap<String, Vec<(&TaskRequest, &Placement)>> = HashMap::new();
            for (r, p) in live.values() {
                by_group.entry(r.group.clone()).or_default().push((r, p));
            }
            for tasks in by_group.values() {
                let value = |p: &Placement, field: &str| {
                    let s = v.agent_summary(&p.agent_id).unwrap();
                    if field == "hostname" { s.hostname } else { s.attributes[field].clone() }
                };
                for c in &tasks[0].0.constraints {
                    let mut counts: HashMap<String, u32> = HashMap::new();
                    for (_, p) in tasks {
                        *counts.entry(value(p, &c.field)).or_default() += 1;
                    }
                    match c.operator {
                        Operator::Unique => prop_assert!(counts.values().all(|n| *n == 1), "UNIQUE {} broken: {:?}", c.field, counts),
                        Operator::MaxPer => {
                            let max: u32 = c.value.as_ref().unwrap().parse().unwrap();
                            prop_assert!(counts.values().all(|n| *n <= max), "MAX_PER {} broken: {:?}", max, counts);
                        }
                        Operator::Like => prop_assert!(counts.keys().all(|k| k == "r0" || k == "r1")),
                        _ => {}
                    }
                }
            }
        }

        // Releasing everything restores every agent.
        let ids: Vec<String> = live.keys().cloned().collect();
        for id in ids {
            v.release(&id).unwrap();
        }
        for (i, a) in agents.iter().enumerate() {
            let s = v.agent_summary(&format!("a{i}")).unwrap();
            prop_assert_eq!(s.used, Resources::default());
            prop_assert_eq!(s.unreserved_available.cpus, (a.cpus - a.reserved_cpus) as f64);
            let free: u32 = s.free_ports.iter().map(|(lo, hi)| (*hi - *lo) as u32 + 1).sum();
            prop_assert_eq!(free, a.port_n as u32);
        }
    }

    #[test]
    fn placement_is_deterministic_for_a_seed(
        agents in prop::collection::vec(agent_spec(), 1..8),
        reqs in prop::collection::vec(req_spec(), 1..40),
        seed in any::<u64>(),
    ) {
        let requests: Vec<TaskRequest> = reqs.iter().enumerate().map(|(i, r)| request(i, r)).collect();
        let mut v1 = build(&agents, seed);
        let mut v2 = build(&agents, seed);
        prop_assert_eq!(place(&mut v1, &requests), place(&mut v2, &requests));
    }

    #[test]
    fn one_batch_decides_like_one_call_per_task(
        agents in prop::collection::vec(agent_spec(), 1..10),
        reqs in prop::collection::vec((req_spec(), 1usize..8), 1..20),
        seed in any::<u64>(),
        prod in any::<bool>(),
    ) {
        // One role and framework, so DRF does not reorder: the batch's caches (failure cache,
        // search cursors) must not change any decision. Specs repeat like app instances.
        let requests: Vec<TaskRequest> = reqs
            .iter()
            .flat_map(|(r, n)| std::iter::repeat_n(r, *n))
            .enumerate()
            .map(|(i, r)| {
                let mut t = request(i, r);
                t.role = if prod { "prod".into() } else { "*".into() };
                t.framework_id = "fw".into();
                t.accepted_resource_roles = vec![];
                t
            })
            .collect();
        let mut batched = build(&agents, seed);
        let mut single = build(&agents, seed);
        // Placements must be identical; an unplaced task's counts may come from the batch's
        // failure cache (an earlier, equally failed request), so only the kind is compared.
        let norm = |d: Decision| match d {
            Decision::Placed(p) => format!("{p:?}"),
            Decision::Unplaced(u) => {
                let kind = match u.reason {
                    UnplacedReason::Invalid { .. } => "invalid",
                    UnplacedReason::NoAgents { .. } => "no agents",
                    UnplacedReason::NoFit { .. } => "no fit",
                };
                format!("{} unplaced: {kind}", u.task_id)
            }
        };
        let a: Vec<String> = place(&mut batched, &requests).into_iter().map(norm).collect();
        let b: Vec<String> = requests
            .iter()
            .flat_map(|r| place(&mut single, std::slice::from_ref(r)))
            .map(norm)
            .collect();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn port_set_matches_a_plain_set(ops in prop::collection::vec((any::<bool>(), 1u16..40), 0..200)) {
        let mut s = PortSet::from_ranges(&[(5, 20)]);
        let mut model: std::collections::BTreeSet<u16> = (5..=20).collect();
        for (take, p) in ops {
            if take {
                prop_assert_eq!(s.take(p), model.remove(&p));
            } else if (5..=20).contains(&p) {
                prop_assert_eq!(s.give(p), model.insert(p));
            }
            prop_assert_eq!(s.len() as usize, model.len());
            let flat: Vec<u16> = s.ranges().iter().flat_map(|(a, b)| *a..=*b).collect();
            prop_assert_eq!(flat, model.iter().copied().collect::<Vec<_>>());
            for w in s.ranges().windows(2) {
                prop_assert!(w[0].1 as u32 + 1 < w[1].0 as u32, "ranges not merged");
            }
        }
    }
}

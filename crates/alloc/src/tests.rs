use crate::*;
use std::collections::BTreeMap;

fn agent(id: &str, cpus: f64, mem: f64, attrs: &[(&str, &str)]) -> Agent {
    Agent {
        id: id.to_string(),
        hostname: format!("{id}.example"),
        resources: Resources::new(cpus, mem, 1000.0, 0.0),
        ports: vec![(31000, 31009)],
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        reservations: BTreeMap::new(),
        active: true,
    }
}

fn req(task: &str, group: &str, cpus: f64, mem: f64) -> TaskRequest {
    TaskRequest {
        task_id: task.to_string(),
        group: group.to_string(),
        role: "*".to_string(),
        framework_id: "marathon".to_string(),
        resources: Resources::new(cpus, mem, 0.0, 0.0),
        ports: vec![],
        constraints: vec![],
        accepted_resource_roles: vec![],
    }
}

fn with(mut r: TaskRequest, field: &str, op: Operator, value: Option<&str>) -> TaskRequest {
    r.constraints.push(Constraint::new(field, op, value));
    r
}

fn view_of(agents: &[Agent]) -> ClusterView {
    let mut v = ClusterView::new(7);
    for a in agents {
        v.upsert_agent(a).unwrap();
    }
    v
}

fn placed(d: &Decision) -> &Placement {
    match d {
        Decision::Placed(p) => p,
        Decision::Unplaced(u) => panic!("expected a placement, got {:?}", u.reason),
    }
}

fn unplaced(d: &Decision) -> &UnplacedReason {
    match d {
        Decision::Unplaced(u) => &u.reason,
        Decision::Placed(p) => panic!("expected no placement, got {p:?}"),
    }
}

fn declined(reason: &UnplacedReason, which: RejectReason) -> u32 {
    match reason {
        UnplacedReason::NoFit { reject_summary, .. } => reject_summary
            .iter()
            .find(|s| s.reason == which)
            .map_or(0, |s| s.declined),
        other => panic!("expected NoFit, got {other:?}"),
    }
}

fn three_racks() -> Vec<Agent> {
    vec![
        agent("a1", 4.0, 4096.0, &[("rack", "r1"), ("zone", "a")]),
        agent("a2", 4.0, 4096.0, &[("rack", "r1"), ("zone", "b")]),
        agent("a3", 4.0, 4096.0, &[("rack", "r2"), ("zone", "c")]),
        agent("a4", 4.0, 4096.0, &[("rack", "r10"), ("zone", "a")]),
    ]
}

#[test]
fn placement_takes_resources_and_release_gives_them_back() {
    let mut v = view_of(&[agent("a1", 2.0, 1024.0, &[])]);
    let d = place(&mut v, &[req("t1", "/app", 0.5, 256.0)]);
    let p = placed(&d[0]);
    assert_eq!(p.agent_id, "a1");
    assert_eq!(p.hostname, "a1.example");
    assert_eq!(
        p.allocations,
        vec![RoleResources {
            role: "*".into(),
            resources: Resources::new(0.5, 256.0, 0.0, 0.0)
        }]
    );
    let s = v.agent_summary("a1").unwrap();
    assert_eq!(
        s.unreserved_available,
        Resources::new(1.5, 768.0, 1000.0, 0.0)
    );
    assert_eq!(s.tasks, 1);
    let t = release(&mut v, "t1").unwrap();
    assert_eq!(t.agent_id, "a1");
    assert_eq!(
        v.agent_summary("a1").unwrap().unreserved_available,
        Resources::new(2.0, 1024.0, 1000.0, 0.0)
    );
    assert!(matches!(v.release("t1"), Err(ViewError::UnknownTask(_))));
}

#[test]
fn scalars_are_rounded_to_three_decimals_and_never_drift() {
    let mut v = view_of(&[agent("a1", 1.0, 1024.0, &[])]);
    let reqs: Vec<_> = (0..10)
        .map(|i| req(&format!("t{i}"), "/g", 0.1, 1.0))
        .collect();
    let d = place(&mut v, &reqs);
    assert!(
        d.iter().all(|d| matches!(d, Decision::Placed(_))),
        "ten tasks of 0.1 cpus fit in 1 cpu"
    );
    assert_eq!(
        v.agent_summary("a1").unwrap().unreserved_available.cpus,
        0.0
    );
    let d = place(&mut v, &[req("t10", "/g", 0.0001, 1.0)]);
    // 0.0001 rounds to 0 cpus: fits.
    placed(&d[0]);
    let d = place(&mut v, &[req("t11", "/g", 0.001, 1.0)]);
    assert_eq!(declined(unplaced(&d[0]), RejectReason::InsufficientCpus), 1);
}

#[test]
fn spread_prefers_agents_without_the_group_then_the_most_free() {
    let mut v = view_of(&[
        agent("small", 2.0, 2048.0, &[]),
        agent("big", 8.0, 8192.0, &[]),
        agent("mid", 4.0, 4096.0, &[]),
    ]);
    let d = place(&mut v, &[req("x", "/other", 1.0, 128.0)]);
    assert_eq!(placed(&d[0]).agent_id, "big", "most free first");
    let reqs: Vec<_> = (0..3)
        .map(|i| req(&format!("t{i}"), "/app", 0.5, 128.0))
        .collect();
    let d = place(&mut v, &reqs);
    let mut agents: Vec<_> = d.iter().map(|d| placed(d).agent_id.clone()).collect();
    assert_eq!(agents[0], "big");
    agents.sort();
    assert_eq!(
        agents,
        vec!["big", "mid", "small"],
        "one task of the group per agent"
    );
    // The fourth goes to the most free agent again.
    let d = place(&mut v, &[req("t3", "/app", 0.5, 128.0)]);
    assert_eq!(placed(&d[0]).agent_id, "big");
}

#[test]
fn unique_hostname_places_one_per_host_then_reports_the_constraint() {
    let mut v = view_of(&three_racks());
    let reqs: Vec<_> = (0..5)
        .map(|i| {
            with(
                req(&format!("t{i}"), "/app", 0.1, 32.0),
                "hostname",
                Operator::Unique,
                None,
            )
        })
        .collect();
    let d = place(&mut v, &reqs);
    let mut hosts: Vec<_> = d[..4].iter().map(|d| placed(d).hostname.clone()).collect();
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts.len(), 4);
    let reason = unplaced(&d[4]);
    assert_eq!(declined(reason, RejectReason::UnfulfilledConstraint), 4);
    assert!(
        reason.message().contains("[\"hostname\",\"UNIQUE\"]"),
        "{}",
        reason.message()
    );
    // Another group is not affected.
    let d = place(
        &mut v,
        &[with(
            req("o", "/other", 0.1, 32.0),
            "hostname",
            Operator::Unique,
            None,
        )],
    );
    placed(&d[0]);
    // After a release, the freed host takes the fifth task.
    let host = v.release("t0").unwrap().agent_id;
    let d = place(
        &mut v,
        &[with(
            req("t5", "/app", 0.1, 32.0),
            "hostname",
            Operator::Unique,
            None,
        )],
    );
    assert_eq!(placed(&d[0]).agent_id, host);
}

#[test]
fn unique_attribute_and_missing_attribute() {
    let mut agents = three_racks();
    agents.push(agent("norack", 4.0, 4096.0, &[]));
    let mut v = view_of(&agents);
    let reqs: Vec<_> = (0..4)
        .map(|i| {
            with(
                req(&format!("t{i}"), "/app", 0.1, 32.0),
                "rack",
                Operator::Unique,
                None,
            )
        })
        .collect();
    let d = place(&mut v, &reqs);
    let racks: Vec<_> = d[..3]
        .iter()
        .map(|d| v.agent_summary(&placed(d).agent_id).unwrap().attributes["rack"].clone())
        .collect();
    let mut sorted = racks.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["r1", "r10", "r2"]);
    // Four agents with a rack attribute ruled out by UNIQUE (two share r1), the one without by
    // the missing attribute: all five fail the constraint.
    assert_eq!(
        declined(unplaced(&d[3]), RejectReason::UnfulfilledConstraint),
        5
    );
}

#[test]
fn cluster_with_and_without_value() {
    let mut v = view_of(&three_racks());
    let reqs: Vec<_> = (0..4)
        .map(|i| {
            with(
                req(&format!("t{i}"), "/c", 0.1, 32.0),
                "rack",
                Operator::Cluster,
                Some("r1"),
            )
        })
        .collect();
    for d in place(&mut v, &reqs) {
        assert!(["a1", "a2"].contains(&placed(&d).agent_id.as_str()));
    }
    // No value: everything follows the first task's value.
    let reqs: Vec<_> = (0..4)
        .map(|i| {
            with(
                req(&format!("u{i}"), "/u", 0.1, 32.0),
                "zone",
                Operator::Cluster,
                None,
            )
        })
        .collect();
    let d = place(&mut v, &reqs);
    let zone =
        |d: &Decision| v.agent_summary(&placed(d).agent_id).unwrap().attributes["zone"].clone();
    let z0 = zone(&d[0]);
    assert!(d.iter().all(|d| zone(d) == z0));
    // A value no agent has: nothing fits.
    let d = place(
        &mut v,
        &[with(
            req("n", "/n", 0.1, 32.0),
            "rack",
            Operator::Cluster,
            Some("r99"),
        )],
    );
    assert_eq!(
        declined(unplaced(&d[0]), RejectReason::UnfulfilledConstraint),
        4
    );
}

#[test]
fn group_by_spreads_evenly_and_honours_the_minimum_group_count() {
    let mut v = view_of(&three_racks());
    let reqs: Vec<_> = (0..6)
        .map(|i| {
            with(
                req(&format!("t{i}"), "/g", 0.1, 32.0),
                "zone",
                Operator::GroupBy,
                None,
            )
        })
        .collect();
    let mut per_zone = BTreeMap::new();
    for d in place(&mut v, &reqs) {
        let zone = v.agent_summary(&placed(&d).agent_id).unwrap().attributes["zone"].clone();
        *per_zone.entry(zone).or_insert(0) += 1;
    }
    assert_eq!(per_zone.into_values().collect::<Vec<_>>(), vec![2, 2, 2]);

    // GROUP_BY zone 3 with one task in zone a: zone a is refused until 3 groups exist.
    let mut v = view_of(&three_racks());
    v.record_running(&RunningTask {
        task_id: "old".into(),
        group: "/h".into(),
        role: "*".into(),
        framework_id: "marathon".into(),
        agent_id: "a1".into(),
        ports: vec![],
        allocations: vec![RoleResources {
            role: "*".into(),
            resources: Resources::new(0.1, 32.0, 0.0, 0.0),
        }],
    })
    .unwrap();
    v.set_agent_active("a2", false).unwrap();
    v.set_agent_active("a3", false).unwrap();
    // Only a1 and a4 (both zone a) are active.
    let d = place(
        &mut v,
        &[with(
            req("h1", "/h", 0.1, 32.0),
            "zone",
            Operator::GroupBy,
            Some("3"),
        )],
    );
    let reason = unplaced(&d[0]);
    assert_eq!(declined(reason, RejectReason::UnfulfilledConstraint), 2);
    // Without the minimum, zone a (the smallest group) is fine.
    let d = place(
        &mut v,
        &[with(
            req("h2", "/h", 0.1, 32.0),
            "zone",
            Operator::GroupBy,
            None,
        )],
    );
    placed(&d[0]);
}

#[test]
fn like_is_a_full_match_and_unlike_accepts_a_missing_attribute() {
    let mut agents = three_racks();
    agents.push(agent("norack", 4.0, 4096.0, &[]));
    let mut v = view_of(&agents);
    let reqs: Vec<_> = (0..6)
        .map(|i| {
            with(
                req(&format!("l{i}"), "/l", 0.1, 32.0),
                "rack",
                Operator::Like,
                Some("r1"),
            )
        })
        .collect();
    for d in place(&mut v, &reqs) {
        assert!(
            ["a1", "a2"].contains(&placed(&d).agent_id.as_str()),
            "r10 must not match r1"
        );
    }
    let reqs: Vec<_> = (0..8)
        .map(|i| {
            with(
                req(&format!("u{i}"), "/u", 0.1, 32.0),
                "rack",
                Operator::Unlike,
                Some("r1.*"),
            )
        })
        .collect();
    let mut seen: Vec<_> = place(&mut v, &reqs)
        .iter()
        .map(|d| placed(d).agent_id.clone())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, vec!["a3", "norack"]);
    let d = place(
        &mut v,
        &[with(
            req("h", "/h", 0.1, 32.0),
            "hostname",
            Operator::Like,
            Some("a[34]\\.example"),
        )],
    );
    assert!(["a3", "a4"].contains(&placed(&d[0]).agent_id.as_str()));
}

#[test]
fn max_per_caps_tasks_per_value() {
    let mut v = view_of(&three_racks());
    let reqs: Vec<_> = (0..7)
        .map(|i| {
            with(
                req(&format!("m{i}"), "/m", 0.1, 32.0),
                "rack",
                Operator::MaxPer,
                Some("2"),
            )
        })
        .collect();
    let d = place(&mut v, &reqs);
    let mut per_rack = BTreeMap::new();
    for d in &d[..6] {
        let rack = v.agent_summary(&placed(d).agent_id).unwrap().attributes["rack"].clone();
        *per_rack.entry(rack).or_insert(0) += 1;
    }
    assert_eq!(per_rack.into_values().collect::<Vec<_>>(), vec![2, 2, 2]);
    assert_eq!(
        declined(unplaced(&d[6]), RejectReason::UnfulfilledConstraint),
        4
    );
}

#[test]
fn is_matches_the_exact_value() {
    let mut v = view_of(&three_racks());
    let reqs: Vec<_> = (0..3)
        .map(|i| {
            with(
                req(&format!("i{i}"), "/i", 0.1, 32.0),
                "zone",
                Operator::Is,
                Some("c"),
            )
        })
        .collect();
    for d in place(&mut v, &reqs) {
        assert_eq!(placed(&d).agent_id, "a3");
    }
    let d = place(
        &mut v,
        &[with(
            req("j", "/j", 0.1, 32.0),
            "@zone",
            Operator::Is,
            Some("b"),
        )],
    );
    assert_eq!(
        placed(&d[0]).agent_id,
        "a2",
        "@zone reads the zone attribute"
    );
}

#[test]
fn dynamic_ports_take_the_lowest_free_and_fixed_ports_are_exact() {
    let mut v = view_of(&[agent("a1", 8.0, 8192.0, &[])]); // ports 31000-31009
    let mut r = req("p1", "/p", 0.1, 32.0);
    r.ports = vec![0, 31005, 0];
    let d = place(&mut v, &[r]);
    assert_eq!(placed(&d[0]).ports, vec![31000, 31005, 31001]);
    let mut r = req("p2", "/p", 0.1, 32.0);
    r.ports = vec![31005];
    let reason = unplaced(&place(&mut v, &[r])[0]).clone();
    assert_eq!(declined(&reason, RejectReason::InsufficientPorts), 1);
    assert!(
        reason.message().contains("host ports"),
        "{}",
        reason.message()
    );
    // 7 ports left: a request for 8 fails, 7 succeed, then the range is exhausted.
    let mut r = req("p3", "/p", 0.1, 32.0);
    r.ports = vec![0; 8];
    unplaced(&place(&mut v, &[r])[0]);
    let mut r = req("p4", "/p", 0.1, 32.0);
    r.ports = vec![0; 7];
    let d = place(&mut v, &[r]);
    assert_eq!(
        placed(&d[0]).ports,
        vec![31002, 31003, 31004, 31006, 31007, 31008, 31009]
    );
    let mut r = req("p5", "/p", 0.1, 32.0);
    r.ports = vec![0];
    unplaced(&place(&mut v, &[r])[0]);
    assert!(v.agent_summary("a1").unwrap().free_ports.is_empty());
    // Release gives them back.
    v.release("p1").unwrap();
    assert_eq!(
        v.agent_summary("a1").unwrap().free_ports,
        vec![(31000, 31001), (31005, 31005)]
    );
    let mut r = req("p6", "/p", 0.1, 32.0);
    r.ports = vec![31005, 0];
    assert_eq!(placed(&place(&mut v, &[r])[0]).ports, vec![31005, 31000]);
}

#[test]
fn reservations_go_only_to_their_role_which_uses_them_first() {
    let mut a = agent("a1", 4.0, 4096.0, &[]);
    a.reservations
        .insert("prod".into(), Resources::new(2.0, 2048.0, 0.0, 0.0));
    let mut v = view_of(&[a, agent("a2", 4.0, 4096.0, &[])]);
    // A prod task takes from its reservation first.
    let mut r = req("p1", "/prod", 1.5, 1024.0);
    r.role = "prod".into();
    let p = placed(&place(&mut v, &[r])[0]).clone();
    assert_eq!(p.agent_id, "a1");
    assert_eq!(
        p.allocations,
        vec![RoleResources {
            role: "prod".into(),
            resources: Resources::new(1.5, 1024.0, 0.0, 0.0)
        }]
    );
    // Next prod task needs more than is left reserved: the rest comes from unreserved.
    let mut r = req("p2", "/prod2", 1.0, 512.0);
    r.role = "prod".into();
    let p = placed(&place(&mut v, &[r])[0]).clone();
    assert_eq!(p.agent_id, "a1");
    assert_eq!(
        p.allocations,
        vec![
            RoleResources {
                role: "prod".into(),
                resources: Resources::new(0.5, 512.0, 0.0, 0.0)
            },
            RoleResources {
                role: "*".into(),
                resources: Resources::new(0.5, 0.0, 0.0, 0.0)
            },
        ]
    );
    // A task of another role never gets reserved resources: a1 has 1.5 unreserved cpus left.
    let mut r = req("d1", "/dev", 1.6, 64.0);
    r.role = "dev".into();
    r.accepted_resource_roles = vec!["*".into()];
    assert_eq!(placed(&place(&mut v, &[r])[0]).agent_id, "a2");
    // Only reserved resources accepted, and only a1 has a prod reservation.
    let mut r = req("p3", "/prod3", 0.1, 32.0);
    r.role = "prod".into();
    r.accepted_resource_roles = vec!["prod".into()];
    let reason = unplaced(&place(&mut v, &[r])[0]).clone();
    assert_eq!(
        declined(&reason, RejectReason::UnfulfilledRole),
        1,
        "a2 has no prod reservation"
    );
    assert_eq!(
        declined(&reason, RejectReason::InsufficientCpus),
        1,
        "a1's reservation is used up"
    );
    // Releasing gives back to the reservation.
    v.release("p1").unwrap();
    let s = v.agent_summary("a1").unwrap();
    assert_eq!(
        s.reserved[0].available,
        Resources::new(1.5, 1536.0, 0.0, 0.0)
    );
}

#[test]
fn bad_agents_are_refused_and_change_nothing() {
    let mut v = ClusterView::new(1);
    let mut a = agent("a1", 1.0, 64.0, &[]);
    a.resources.cpus = f64::NAN;
    let e = v.upsert_agent(&a).unwrap_err();
    assert!(
        e.to_string().contains("cpus must be a finite number"),
        "{e}"
    );
    let mut a = agent("a1", 1.0, 64.0, &[]);
    a.ports = vec![(32000, 31000)];
    assert!(matches!(
        v.upsert_agent(&a),
        Err(ViewError::BadPortRange { .. })
    ));
    let mut a = agent("a1", 1.0, 64.0, &[]);
    a.reservations
        .insert("r".into(), Resources::new(2.0, 0.0, 0.0, 0.0));
    assert_eq!(
        v.upsert_agent(&a).unwrap_err().to_string(),
        "agent 'a1': reservations add up to more cpus than the agent has"
    );
    assert_eq!(v.agent_count(), 0);
    assert!(v.set_agent_active("nope", false).is_err());
}

#[test]
fn invalid_requests_are_reported_not_placed() {
    let mut v = view_of(&[agent("a1", 4.0, 4096.0, &[])]);
    let mut neg = req("n", "/n", -1.0, 32.0);
    neg.resources.cpus = -1.0;
    let bad_regex = with(req("r", "/r", 0.1, 32.0), "rack", Operator::Like, Some("("));
    let bad_max = with(
        req("m", "/m", 0.1, 32.0),
        "rack",
        Operator::MaxPer,
        Some("two"),
    );
    let mut dup_port = req("p", "/p", 0.1, 32.0);
    dup_port.ports = vec![31000, 31000];
    let ok = req("ok", "/ok", 0.1, 32.0);
    let dup = req("ok", "/ok", 0.1, 32.0);
    let d = place(&mut v, &[neg, bad_regex, bad_max, dup_port, ok, dup]);
    let msg = |d: &Decision| match unplaced(d) {
        UnplacedReason::Invalid { message } => message.clone(),
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert!(
        msg(&d[0]).contains("cpus must be a finite number >= 0"),
        "{}",
        msg(&d[0])
    );
    assert!(
        msg(&d[1]).ends_with("is not a valid regular expression"),
        "{}",
        msg(&d[1])
    );
    assert!(
        msg(&d[2]).ends_with("MAX_PER requires an integer value"),
        "{}",
        msg(&d[2])
    );
    assert!(
        msg(&d[3]).contains("host port 31000 is requested twice"),
        "{}",
        msg(&d[3])
    );
    placed(&d[4]);
    assert!(msg(&d[5]).contains("already placed"));
    assert_eq!(v.task_count(), 1);
}

#[test]
fn validation_uses_marathons_messages() {
    let check = |f: &str, op: Operator, v: Option<&str>| {
        validate_constraint(&Constraint::new(f, op, v)).map_err(|e| e.to_string())
    };
    assert_eq!(
        check("hostname", Operator::Unique, Some("x")).unwrap_err(),
        "UNIQUE does not accept a value"
    );
    assert!(check("hostname", Operator::Unique, None).is_ok());
    assert_eq!(
        check("rack", Operator::MaxPer, None).unwrap_err(),
        "MAX_PER requires an integer value"
    );
    assert_eq!(
        check("rack", Operator::MaxPer, Some("1.5")).unwrap_err(),
        "MAX_PER requires an integer value"
    );
    assert!(check("rack", Operator::MaxPer, Some("3")).is_ok());
    assert_eq!(
        check("rack", Operator::GroupBy, Some("x")).unwrap_err(),
        "GROUP BY must define an integer value or else no value at all"
    );
    assert!(check("rack", Operator::GroupBy, None).is_ok());
    assert_eq!(
        check("rack", Operator::Like, None).unwrap_err(),
        "LIKE and UNLIKE require a non-empty, regular expression value"
    );
    assert_eq!(
        check("rack", Operator::Unlike, Some("[")).unwrap_err(),
        "is not a valid regular expression"
    );
    assert!(check("rack", Operator::Is, Some("a b"))
        .unwrap_err()
        .starts_with("IS only supports"));
    assert!(check("rack", Operator::Is, Some("r1.5")).is_ok());
    assert!(check("rack", Operator::Cluster, None).is_ok());
    assert_eq!(
        check("", Operator::Cluster, None).unwrap_err(),
        "missing field for constraint declaration"
    );

    let parse = |parts: &[&str]| {
        Constraint::from_marathon(&parts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        parse(&["hostname"]).unwrap_err(),
        "Each constraint must have either 2 or 3 fields"
    );
    assert_eq!(
        parse(&["hostname", "SOMETIMES"]).unwrap_err(),
        "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER or UNLIKE"
    );
    let c = parse(&["rack", "max_per", "2"]).unwrap();
    assert_eq!(c, Constraint::new("rack", Operator::MaxPer, Some("2")));
    assert_eq!(c.to_marathon(), vec!["rack", "MAX_PER", "2"]);
    assert_eq!(serde_json::to_string(&c.operator).unwrap(), "\"MAX_PER\"");
}

#[test]
fn drf_orders_by_weighted_dominant_share() {
    let total = Resources::new(100.0, 1000.0, 0.0, 0.0);
    let client = |name: &str, w: f64, cpus: f64, mem: f64| DrfClient {
        name: name.into(),
        weight: w,
        allocated: Resources::new(cpus, mem, 0.0, 0.0),
    };
    // a: max(10%, 30%) = 0.3; b: max(20%, 5%) = 0.2; c: 0.4 / weight 4 = 0.1; d: 0.
    let clients = vec![
        client("a", 1.0, 10.0, 300.0),
        client("b", 1.0, 20.0, 50.0),
        client("c", 4.0, 40.0, 0.0),
        client("d", 1.0, 0.0, 0.0),
    ];
    assert_eq!(drf_order(&clients, &total).unwrap(), vec![3, 2, 1, 0]);
    assert!((dominant_share(&clients[0].allocated, &total) - 0.3).abs() < 1e-9);
    // Equal shares: by name.
    let tie = vec![client("y", 1.0, 1.0, 0.0), client("x", 1.0, 1.0, 0.0)];
    assert_eq!(drf_order(&tie, &total).unwrap(), vec![1, 0]);
    let bad = vec![client("z", 0.0, 1.0, 0.0)];
    assert_eq!(
        drf_order(&bad, &total).unwrap_err().to_string(),
        "weight of 'z' must be a finite number > 0, got 0"
    );
}

#[test]
fn place_serves_roles_in_weighted_drf_order() {
    // 12 cpus in all; two roles each asking for far more than they can get.
    let agents: Vec<_> = (0..3)
        .map(|i| agent(&format!("a{i}"), 4.0, 100_000.0, &[]))
        .collect();
    let mut v = view_of(&agents);
    v.set_role_weight("gold", 2.0).unwrap();
    let mut reqs = Vec::new();
    for i in 0..20 {
        for role in ["bronze", "gold"] {
            let mut r = req(&format!("{role}-{i}"), &format!("/{role}"), 1.0, 1.0);
            r.role = role.into();
            r.framework_id = format!("fw-{role}");
            reqs.push(r);
        }
    }
    let d = place(&mut v, &reqs);
    let count = |role: &str| {
        d.iter()
            .filter(|d| matches!(d, Decision::Placed(p) if p.task_id.starts_with(role)))
            .count()
    };
    assert_eq!(count("gold"), 8, "weight 2 gets twice the share");
    assert_eq!(count("bronze"), 4);
    // The first decisions alternate so that gold stays at about twice bronze.
    let first: Vec<_> = d[..6]
        .iter()
        .map(|d| d.task_id().split('-').next().unwrap().to_string())
        .collect();
    assert_eq!(
        first,
        vec!["bronze", "gold", "gold", "bronze", "gold", "gold"]
    );
    let roles = v.role_allocations();
    let gold = roles.iter().find(|r| r.name == "gold").unwrap();
    assert_eq!(gold.allocated.cpus, 8.0);
    assert_eq!(gold.weight, 2.0);
}

#[test]
fn frameworks_inside_a_role_share_by_drf() {
    let mut v = view_of(&[agent("a1", 4.0, 100_000.0, &[])]);
    let mut reqs = Vec::new();
    for i in 0..4 {
        let mut big = req(&format!("big-{i}"), "/big", 2.0, 1.0);
        big.framework_id = "f-big".into();
        reqs.push(big);
    }
    for i in 0..4 {
        let mut small = req(&format!("small-{i}"), "/small", 1.0, 1.0);
        small.framework_id = "f-small".into();
        reqs.push(small);
    }
    let d = place(&mut v, &reqs);
    let order: Vec<_> = d
        .iter()
        .filter(|d| matches!(d, Decision::Placed(_)))
        .map(|d| d.task_id().to_string())
        .collect();
    assert_eq!(order, vec!["big-0", "small-0", "small-1"], "{order:?}");
}

#[test]
fn inactive_and_removed_agents_get_no_tasks() {
    let mut v = view_of(&[agent("a1", 4.0, 4096.0, &[]), agent("a2", 4.0, 4096.0, &[])]);
    let d = place(
        &mut v,
        &[req("t1", "/a", 1.0, 64.0), req("t2", "/a", 1.0, 64.0)],
    );
    assert!(d.iter().all(|d| matches!(d, Decision::Placed(_))));
    v.set_agent_active("a1", false).unwrap();
    assert_eq!(v.cluster_total().cpus, 4.0);
    for i in 0..3 {
        let d = place(&mut v, &[req(&format!("x{i}"), "/x", 0.5, 64.0)]);
        assert_eq!(placed(&d[0]).agent_id, "a2");
    }
    let gone = v.remove_agent("a2").unwrap();
    assert_eq!(gone.len(), 4);
    let d = place(&mut v, &[req("y", "/y", 0.5, 64.0)]);
    match unplaced(&d[0]) {
        UnplacedReason::NoAgents {
            inactive_agents,
            message,
        } => {
            assert_eq!(*inactive_agents, 1);
            assert!(message.contains("no active agent"));
        }
        other => panic!("{other:?}"),
    }
    v.set_agent_active("a1", true).unwrap();
    placed(&place(&mut v, &[req("z", "/z", 0.5, 64.0)])[0]);
}

#[test]
fn unplaced_reason_names_the_scarce_resource() {
    let mut v = view_of(&[agent("a1", 4.0, 512.0, &[]), agent("a2", 0.5, 4096.0, &[])]);
    let reason = unplaced(&place(&mut v, &[req("t", "/t", 1.0, 1024.0)])[0]).clone();
    assert_eq!(declined(&reason, RejectReason::InsufficientCpus), 1);
    assert_eq!(declined(&reason, RejectReason::InsufficientMemory), 1);
    assert_eq!(
        reason.message(),
        "task 't': none of 2 active agents fits: 1 lack cpus, 1 lack mem"
    );
    match &reason {
        UnplacedReason::NoFit { reject_summary, .. } => {
            let processed: Vec<_> = reject_summary.iter().map(|s| s.processed).collect();
            assert_eq!(processed, vec![2, 2, 2, 2, 1, 0, 0, 0]);
        }
        _ => unreachable!(),
    }
}

#[test]
fn same_seed_same_decisions_and_snapshots_round_trip() {
    let agents: Vec<_> = (0..20)
        .map(|i| {
            agent(
                &format!("a{i}"),
                4.0,
                4096.0,
                &[("rack", &format!("r{}", i % 4))],
            )
        })
        .collect();
    let reqs: Vec<_> = (0..50)
        .map(|i| {
            with(
                req(&format!("t{i}"), &format!("/g{}", i % 5), 0.3, 100.0),
                "rack",
                Operator::GroupBy,
                None,
            )
        })
        .collect();
    let run = |seed| {
        let mut v = ClusterView::new(seed);
        for a in &agents {
            v.upsert_agent(a).unwrap();
        }
        let d = place(&mut v, &reqs);
        (d, v)
    };
    let (d1, v1) = run(3);
    let (d2, _) = run(3);
    assert_eq!(d1, d2);
    let snap = v1.snapshot();
    let json = serde_json::to_string(&snap).unwrap();
    let back: ViewSnapshot = serde_json::from_str(&json).unwrap();
    let v3 = ClusterView::from_snapshot(&back).unwrap();
    assert_eq!(v3.task_count(), 50);
    for id in v1.agent_ids() {
        assert_eq!(v1.agent_summary(&id), v3.agent_summary(&id));
    }
    let json = serde_json::to_value(&d1[0]).unwrap();
    assert_eq!(json["outcome"], "placed");
}

#[test]
fn reregistration_keeps_tasks_and_their_ports() {
    let mut v = view_of(&[agent("a1", 4.0, 4096.0, &[("rack", "r1")])]);
    let mut r = with(
        req("t1", "/a", 1.0, 64.0),
        "rack",
        Operator::MaxPer,
        Some("1"),
    );
    r.ports = vec![0];
    let p = placed(&place(&mut v, &[r])[0]).clone();
    assert_eq!(p.ports, vec![31000]);
    // The agent comes back with another rack and more cpus.
    let mut a = agent("a1", 8.0, 4096.0, &[("rack", "r2")]);
    a.ports = vec![(31000, 31001)];
    v.upsert_agent(&a).unwrap();
    let s = v.agent_summary("a1").unwrap();
    assert_eq!(s.unreserved_available.cpus, 7.0);
    assert_eq!(s.free_ports, vec![(31001, 31001)]);
    // MAX_PER counts follow the new attribute.
    let r = with(
        req("t2", "/a", 1.0, 64.0),
        "rack",
        Operator::MaxPer,
        Some("1"),
    );
    unplaced(&place(&mut v, &[r])[0]);
}

#[test]
fn port_set_operations() {
    let mut s = PortSet::from_ranges(&[(10, 12), (13, 15), (20, 20), (5, 3)]);
    assert_eq!(s.ranges(), &[(10, 15), (20, 20)]);
    assert_eq!(s.len(), 7);
    assert!(s.take(12));
    assert!(!s.take(12));
    assert_eq!(s.ranges(), &[(10, 11), (13, 15), (20, 20)]);
    assert!(s.give(12));
    assert!(!s.give(12));
    assert_eq!(s.ranges(), &[(10, 15), (20, 20)]);
    assert_eq!(s.allocate(&[0, 20, 0]), Some(vec![10, 20, 11]));
    assert_eq!(s.allocate(&[0, 0, 0, 0, 0]), None);
    assert_eq!(s.len(), 4);
    let mut full = PortSet::from_ranges(&[(65535, 65535)]);
    assert_eq!(full.take_lowest(), Some(65535));
    assert!(full.give(65535));
}

#[test]
fn recovered_tasks_count_for_constraints_and_bad_ones_are_refused() {
    let mut v = view_of(&three_racks());
    let running = |id: &str, agent: &str, ports: Vec<u16>| RunningTask {
        task_id: id.into(),
        group: "/app".into(),
        role: "*".into(),
        framework_id: "marathon".into(),
        agent_id: agent.into(),
        ports,
        allocations: vec![RoleResources {
            role: "*".into(),
            resources: Resources::new(1.0, 64.0, 0.0, 0.0),
        }],
    };
    v.record_running(&running("r1", "a1", vec![31000])).unwrap();
    v.record_running(&running("r2", "a2", vec![])).unwrap();
    assert!(matches!(
        v.record_running(&running("r1", "a3", vec![])),
        Err(ViewError::DuplicateTask(_))
    ));
    assert!(matches!(
        v.record_running(&running("r3", "nope", vec![])),
        Err(ViewError::UnknownAgent(_))
    ));
    assert!(matches!(
        v.record_running(&running("r4", "a1", vec![31000])),
        Err(ViewError::PortUnavailable { port: 31000, .. })
    ));
    let mut other_pool = running("r5", "a3", vec![]);
    other_pool.allocations[0].role = "prod".into();
    assert_eq!(
        v.record_running(&other_pool).unwrap_err().to_string(),
        "task 'r5': resources reserved for role 'prod' cannot be used by role '*'"
    );
    assert_eq!(v.task_count(), 2);
    assert_eq!(
        v.agent_summary("a1").unwrap().unreserved_available.cpus,
        3.0
    );
    // a1 and a2 (rack r1) already hold /app: UNIQUE rack leaves r2 and r10.
    let reqs: Vec<_> = (0..3)
        .map(|i| {
            with(
                req(&format!("n{i}"), "/app", 0.1, 32.0),
                "@hostname",
                Operator::Unique,
                None,
            )
        })
        .collect();
    let d = place(&mut v, &reqs);
    let mut got: Vec<_> = d[..2].iter().map(|d| placed(d).agent_id.clone()).collect();
    got.sort();
    assert_eq!(got, vec!["a3", "a4"]);
    unplaced(&d[2]);
}

#[test]
fn group_by_counts_agents_without_the_attribute_as_a_group() {
    // Marathon groups tasks by Option(value): tasks on agents without the attribute form a
    // group too, and agents without it are never chosen for GROUP_BY.
    let mut v = view_of(&[
        agent("z1", 4.0, 4096.0, &[("zone", "a")]),
        agent("z2", 4.0, 4096.0, &[("zone", "b")]),
        agent("none", 8.0, 8192.0, &[]),
    ]);
    let d = place(&mut v, &[req("free", "/g", 0.1, 32.0)]);
    assert_eq!(placed(&d[0]).agent_id, "none");
    let reqs: Vec<_> = (0..4)
        .map(|i| {
            with(
                req(&format!("g{i}"), "/g", 0.1, 32.0),
                "zone",
                Operator::GroupBy,
                Some("3"),
            )
        })
        .collect();
    let d = place(&mut v, &reqs);
    let agents: Vec<_> = d.iter().map(|d| placed(d).agent_id.clone()).collect();
    assert!(!agents.contains(&"none".to_string()));
    let a = agents.iter().filter(|x| *x == "z1").count();
    assert_eq!(a, 2, "{agents:?}");
}

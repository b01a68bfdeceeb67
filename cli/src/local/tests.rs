use super::spec::*;
use super::*;
use std::path::Path;

fn parse(y: &str) -> Result<ClusterSpec, SpecError> {
    ClusterSpec::parse(y, Path::new("config.yaml"))
}

#[test]
fn defaults_give_a_master_and_two_agents_with_disjoint_ports() {
    let plan = ClusterSpec::default().plan(Path::new("/d/local")).unwrap();
    assert_eq!(plan.name, "local");
    assert_eq!(plan.dir, Path::new("/d/local/local"));
    assert_eq!(plan.master_listen.to_string(), "127.0.0.1:5050");
    assert_eq!(plan.master_data_dir, Path::new("/d/local/local/master"));
    assert_eq!(plan.agents.len(), 2);
    assert_eq!(plan.agents[0].listen.to_string(), "127.0.0.1:5051");
    assert_eq!(plan.agents[1].listen.to_string(), "127.0.0.1:5052");
    assert_eq!(plan.agents[0].ports, (31000, 31999));
    assert_eq!(plan.agents[1].ports, (32000, 32999));
    assert_eq!(plan.agents[1].work_dir, Path::new("/d/local/local/agent-1"));
    assert_eq!(plan.agents[0].resources_arg(), "ports:[31000-31999]");
}

#[test]
fn the_documented_example_parses() {
    let plan = parse(EXAMPLE).unwrap().plan(Path::new("/d")).unwrap();
    assert_eq!(plan.name, "demo");
    assert_eq!(plan.agents.len(), 3);
    assert_eq!(plan.agents[1].listen.to_string(), "127.0.0.1:6051");
    assert_eq!(plan.agents[1].ports, (40000, 40099));
    assert_eq!(
        plan.agents[1].resources_arg(),
        "cpus:1;mem:1024;ports:[40000-40099]"
    );
    assert_eq!(plan.agents[0].attributes.as_deref(), Some("rack:r1;zone:a"));
    assert_eq!(plan.agents[2].attributes.as_deref(), Some("rack:r1"));
    assert_eq!(plan.agents[2].listen.to_string(), "127.0.0.1:5053");
    assert_eq!(plan.agent_heartbeat_secs, Some(20));
}

#[test]
fn unknown_fields_are_an_error_naming_the_field() {
    let e = parse("name: x\nmaster:\n  listn: 127.0.0.1:1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("listn"), "{e}");
    assert!(e.contains("config.yaml"), "{e}");
    let e = parse("agent_count: 3\n").unwrap_err().to_string();
    assert!(e.contains("agent_count"), "{e}");
    let e = parse("agents:\n  nodes:\n    - cpu: 2\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("cpu"), "{e}");
}

#[test]
fn bad_values_are_refused_with_the_field() {
    let bad = [
        ("master:\n  listen: localhost:5050\n", "master.listen"),
        ("master:\n  listen: 127.0.0.1:0\n", "master.listen"),
        ("agents:\n  count: 0\n", "agents.count"),
        ("agents:\n  count: 1\n  nodes: [{}, {}]\n", "agents.nodes"),
        ("agents:\n  first_port: 5050\n", "uses the master's port"),
        ("agents:\n  ports_per_agent: 0\n", "ports_per_agent"),
        ("agents:\n  ports_start: 65000\n", "65535"),
        (
            "agents:\n  count: 2\n  nodes: [{ports: 32500-32600}]\n",
            "overlapping",
        ),
        ("agents:\n  nodes: [{ports: 9-1}]\n", "port range"),
        ("name: ../evil\n", "name"),
        ("timeouts:\n  startup_secs: 0\n", "startup_secs"),
    ];
    for (y, want) in bad {
        let r = parse(y).and_then(|s| s.plan(Path::new("/d")).map(|_| ()));
        let e = match r {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{y:?} was accepted"),
        };
        assert!(e.contains(want), "{y:?}: {e}");
    }
}

#[test]
fn an_empty_file_means_defaults() {
    assert_eq!(parse("").unwrap(), ClusterSpec::default());
}

#[test]
fn proc_stat_parsing_survives_odd_command_names() {
    let line = "1234 (we ird) name)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615";
    let s = procs::parse_stat(line).unwrap();
    assert_eq!(s.state, 'S');
    assert_eq!(s.ppid, 1);
    assert_eq!(s.session, 1234);
    assert_eq!(s.start_time, 98765);
    assert!(procs::parse_stat("garbage").is_none());
}

#[test]
fn a_recorded_pid_with_another_start_time_is_not_ours() {
    let me = procs::stat(std::process::id() as i32).unwrap();
    let rec = ProcRecord {
        pid: std::process::id() as i32,
        start_time: me.start_time,
        log: "x".into(),
    };
    assert!(rec.alive());
    let reused = ProcRecord {
        start_time: me.start_time + 1,
        ..rec
    };
    assert!(!reused.alive());
}

#[test]
fn detached_processes_are_stopped_with_their_children() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("x.log");
    // A shell that ignores SIGTERM and has a child: needs the SIGKILL path and the family walk.
    let rec = procs::spawn_detached(
        Path::new("/bin/sh"),
        &[
            "-c".into(),
            "trap '' TERM; sleep 300 & echo started; wait".into(),
        ],
        &log,
    )
    .unwrap();
    // Stops the shell and its child even when an assertion below fails.
    struct Guard(ProcRecord);
    impl Drop for Guard {
        fn drop(&mut self) {
            procs::stop_all(&[&self.0], &[], Duration::from_millis(10));
        }
    }
    let _guard = Guard(rec.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while procs::family(&[&rec], &[]).len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let family = procs::family(&[&rec], &[]);
    assert!(family.len() >= 2, "{family:?}");
    assert_eq!(
        procs::stat(rec.pid).unwrap().session,
        rec.pid,
        "own session"
    );
    let left = procs::stop_all(&[&rec], &[], Duration::from_millis(300));
    assert!(left.is_empty(), "{left:?}");
    assert!(family.iter().all(|p| !p.alive()), "{family:?}");
    assert!(std::fs::read_to_string(&log).unwrap().contains("started"));
}

#[test]
fn state_records_round_trip() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("c/cluster.json");
    assert_eq!(State::load(&p).unwrap(), None);
    let s = State {
        name: "x".into(),
        url: "http://127.0.0.1:1".into(),
        agents: vec![ProcRecord {
            pid: 5,
            start_time: 9,
            log: "l".into(),
        }],
        ..Default::default()
    };
    s.save(&p).unwrap();
    assert_eq!(State::load(&p).unwrap(), Some(s));
    std::fs::write(&p, "{").unwrap();
    assert!(State::load(&p).unwrap_err().to_string().contains("damaged"));
}

#[test]
fn active_agents_are_counted() {
    let v = serde_json::json!({"slaves": [{"active": true}, {"active": false}, {}]});
    assert_eq!(active_agents(&v), 2);
    assert_eq!(active_agents(&serde_json::json!({})), 0);
}

#[test]
fn the_documented_example_is_the_one_in_docs() {
    let doc = include_str!("../../../docs/cluster-config.md");
    assert!(
        doc.contains(EXAMPLE),
        "docs/cluster-config.md and spec::EXAMPLE differ"
    );
}

#[test]
fn the_bootstrap_admin_password_is_read_from_the_masters_line() {
    let log = "INFO starting\ncreated user 'admin' with password Xy7-pq_Z9 (shown only this once)\nINFO up\n";
    assert_eq!(
        bootstrap_credentials(log),
        Some(("admin".to_string(), "Xy7-pq_Z9".to_string()))
    );
    let log = "2026 INFO dcos_master: created user 'ops' with password `s3cr3t`\n";
    assert_eq!(
        bootstrap_credentials(log),
        Some(("ops".to_string(), "s3cr3t".to_string()))
    );
    assert_eq!(bootstrap_credentials("nothing here\n"), None);
    assert_eq!(
        bootstrap_credentials("created user 'a' with password \n"),
        None
    );
}

//! `dcos cluster setup|list|attach|rename|remove` and the checks `dcos cluster up|down` make
//! before starting anything, on the real binary with a temp DCOS_DIR.

mod cli_support;

use cli_support::*;
use serde_json::Value;

fn identity_server(id: &'static str, version: &'static str) -> FixedServer {
    FixedServer::start(move |_m, path| match path {
        "/metadata" => (
            200,
            format!(r#"{{"CLUSTER_ID":"{id}","PUBLIC_IPV4":"127.0.0.1"}}"#),
        ),
        "/dcos-metadata/dcos-version.json" => (200, format!(r#"{{"version":"{version}"}}"#)),
        _ => (404, r#"{"message":"not found"}"#.into()),
    })
}

fn list_json(env: &Env) -> Vec<Value> {
    serde_json::from_str::<Value>(&env.ok(&["cluster", "list", "--json"]))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn setup_list_attach_rename_remove() {
    let a = identity_server("1111-aaaa", "0.1.0");
    let b = identity_server("2222-bbbb", "0.2.0");
    let env = Env::new();
    let out = env.ok(&["cluster", "setup", &a.url, "--name", "alpha"]);
    assert!(out.contains("alpha") && out.contains("1111-aaaa"), "{out}");
    env.ok(&["cluster", "setup", &b.url, "--name", "beta"]);
    let list = list_json(&env);
    assert_eq!(list.len(), 2);
    let beta = list.iter().find(|c| c["name"] == "beta").unwrap();
    assert_eq!(beta["attached"], true, "the last setup is attached");
    assert_eq!(beta["cluster_id"], "2222-bbbb");
    assert_eq!(beta["status"], "AVAILABLE");
    assert_eq!(beta["version"], "0.2.0");
    assert_eq!(beta["url"], b.url.as_str());

    env.ok(&["cluster", "attach", "alpha"]);
    assert_eq!(
        env.ok(&["config", "show", "core.dcos_url"]),
        format!("{}\n", a.url)
    );
    let table = env.ok(&["cluster", "list"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("NAME") && header.contains("STATUS") && header.contains("URL"),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("alpha*")), "{table}");

    // Same name twice is refused; rename; attach by id prefix.
    let e = env.fails(&["cluster", "rename", "alpha", "beta"]);
    assert!(e.contains("already exists"), "{e}");
    env.ok(&["cluster", "rename", "alpha", "gamma"]);
    env.ok(&["cluster", "attach", "2222"]);
    let list = list_json(&env);
    assert!(list
        .iter()
        .any(|c| c["name"] == "gamma" && c["attached"] == false));
    let e = env.fails(&["cluster", "attach", "delta"]);
    assert!(e.contains("no cluster is named `delta`"), "{e}");

    // A stopped cluster shows UNAVAILABLE.
    drop(a);
    let list = list_json(&env);
    assert_eq!(
        list.iter().find(|c| c["name"] == "gamma").unwrap()["status"],
        "UNAVAILABLE"
    );

    env.ok(&["cluster", "remove", "gamma"]);
    assert_eq!(list_json(&env).len(), 1);
    env.ok(&["cluster", "remove", "--all"]);
    assert!(list_json(&env).is_empty());
}

#[test]
fn setup_of_something_that_is_not_a_cluster_fails_and_writes_nothing() {
    let not_dcos = FixedServer::start(|_m, _p| (200, r#"{"hello":"world"}"#.into()));
    let env = Env::new();
    let e = env.fails(&["cluster", "setup", &not_dcos.url]);
    assert!(e.contains("no CLUSTER_ID"), "{e}");
    let e = env.fails(&[
        "cluster",
        "setup",
        &format!("http://127.0.0.1:{}", free_port()),
    ]);
    assert!(e.contains("cannot reach the cluster"), "{e}");
    let e = env.fails(&["cluster", "setup", "ftp://x"]);
    assert!(e.contains("not an http"), "{e}");
    assert!(list_json(&env).is_empty());
}

#[test]
fn cluster_up_reports_an_unknown_config_field() {
    let env = Env::new();
    let cfg = env.tmp.path().join("config.yaml");
    std::fs::write(&cfg, "name: t\nagents:\n  count: 1\n  cpus: 2\n").unwrap();
    let e = env.fails(&["cluster", "up", "--config", cfg.to_str().unwrap()]);
    assert!(e.contains("unknown field `cpus`"), "{e}");
    assert!(e.contains("config.yaml"), "{e}");
    assert!(
        !env.dcos_dir().join("local/t").exists(),
        "nothing may be created"
    );
}

#[test]
fn cluster_up_reports_a_port_in_use() {
    let env = Env::new();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let cfg = env.tmp.path().join("config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "name: t\ndir: {}\nmaster:\n  listen: 127.0.0.1:{port}\nagents:\n  first_port: {}\n",
            env.tmp.path().join("c").display(),
            free_port()
        ),
    )
    .unwrap();
    let e = env.fails(&["cluster", "up", "--config", cfg.to_str().unwrap()]);
    assert!(
        e.contains(&format!("127.0.0.1:{port} (the master) is already in use")),
        "{e}"
    );
    assert!(e.contains("master.listen"), "{e}");
    assert!(!env.tmp.path().join("c").exists(), "nothing may be created");
}

#[test]
fn cluster_down_without_a_local_cluster_says_so() {
    let env = Env::new();
    let e = env.fails(&["cluster", "down"]);
    assert_eq!(
        e,
        "dcos: there is no local cluster to stop; `dcos cluster up` starts one"
    );
    let e = env.fails(&["cluster", "down", "--name", "nope"]);
    assert!(e.contains("no local cluster named `nope`"), "{e}");
}

#[test]
fn cluster_up_help_documents_the_config_file() {
    let env = Env::new();
    let help = env.ok(&["cluster", "up", "--help"]);
    for field in [
        "listen:",
        "data_dir:",
        "agents:",
        "count:",
        "resources:",
        "attributes:",
        "agent_heartbeat_secs:",
    ] {
        assert!(help.contains(field), "{field} missing from\n{help}");
    }
}

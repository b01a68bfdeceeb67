//! Failures reach the user as one line: unreachable cluster, HTTP errors with the server's
//! message, invalid JSON, clap usage errors (exit 2).

mod cli_support;

use cli_support::*;

#[test]
fn an_unreachable_cluster_is_named_with_what_to_do() {
    let env = Env::new();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    env.ok(&["config", "set", "core.dcos_url", &url]);
    for args in [
        &["node", "list"][..],
        &["task", "list"],
        &["service", "list"],
    ] {
        let e = env.fails(args);
        assert_eq!(
            e,
            format!("dcos: cannot reach the cluster at {url}: connection refused; is it running? `dcos cluster up` starts a local one"),
            "{args:?}"
        );
    }
}

#[test]
fn dcos_url_overrides_the_attached_cluster() {
    let env = Env::new();
    env.ok(&["config", "set", "core.dcos_url", "http://10.1.2.3:5050"]);
    let url = format!("http://127.0.0.1:{}", free_port());
    let o = env
        .cmd(&["node", "list"])
        .env("DCOS_URL", &url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains(&format!("cannot reach the cluster at {url}")),
        "{err}"
    );
}

#[test]
fn http_errors_carry_the_servers_message_and_token() {
    let server = FixedServer::start(|_m, path| match path {
        "/mesos/master/state.json" => (503, r#"{"message":"the store is recovering"}"#.into()),
        "/mesos/master/slaves" => (200, "this is not json".into()),
        _ => (404, r#"{"message":"no such route"}"#.into()),
    });
    let env = Env::new();
    env.ok(&["config", "set", "core.dcos_url", &server.url]);
    let e = env.fails(&["task", "list"]);
    assert_eq!(
        e,
        "dcos: GET /mesos/master/state.json failed: 503: the store is recovering"
    );
    let e = env.fails(&["node", "list"]);
    assert!(e.contains("invalid JSON"), "{e}");
}

#[test]
fn a_401_says_to_log_in() {
    let server = FixedServer::start(|_m, _p| {
        (
            401,
            r#"{"title":"Unauthorized","message":"token missing"}"#.into(),
        )
    });
    let env = Env::new();
    env.ok(&["config", "set", "core.dcos_url", &server.url]);
    let e = env.fails(&["service", "list"]);
    assert!(e.contains("401") && e.contains("token missing"), "{e}");
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    let o = env.run(&["node", "log"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o, env.tmp.path()));
    let o = env.run(&["cluster", "up", "--agents", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o, env.tmp.path()));
}

//! `dcos config set|show|unset` on the real binary with a temp DCOS_DIR.

mod cli_support;

use cli_support::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn set_show_unset_round_trip() {
    let env = Env::new();
    env.ok(&["config", "set", "core.dcos_url", "http://10.1.2.3:5050/"]);
    assert_eq!(
        env.ok(&["config", "show", "core.dcos_url"]),
        "http://10.1.2.3:5050\n"
    );
    env.ok(&["config", "set", "core.timeout", "7"]);
    env.ok(&["config", "set", "core.dcos_acs_token", "s3cret"]);
    let all = env.ok(&["config", "show"]);
    assert!(all.contains("core.dcos_url"), "{all}");
    assert!(all.contains("core.timeout"), "{all}");
    assert!(!all.contains("s3cret"), "token shown in the listing: {all}");
    assert_eq!(
        env.ok(&["config", "show", "core.dcos_acs_token"]),
        "s3cret\n"
    );
    env.ok(&["config", "unset", "core.timeout"]);
    let e = env.fails(&["config", "show", "core.timeout"]);
    assert!(e.contains("core.timeout is not set"), "{e}");

    // One cluster folder, attached, private.
    let clusters: Vec<_> = std::fs::read_dir(env.dcos_dir().join("clusters"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(clusters.len(), 1);
    let dir = clusters[0].path();
    assert!(dir.join("attached").exists());
    let toml = std::fs::read_to_string(dir.join("dcos.toml")).unwrap();
    assert!(
        toml.contains("[core]") && toml.contains("dcos_url = \"http://10.1.2.3:5050\""),
        "{toml}"
    );
    let mode = std::fs::metadata(dir.join("dcos.toml"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn unknown_keys_and_bad_values_are_errors_that_change_nothing() {
    let env = Env::new();
    env.ok(&["config", "set", "core.dcos_url", "http://10.1.2.3:5050"]);
    let e = env.fails(&["config", "set", "core.dcos_ulr", "http://x"]);
    assert!(e.contains("unknown config key `core.dcos_ulr`"), "{e}");
    assert!(e.contains("core.dcos_url"), "valid keys named: {e}");
    let e = env.fails(&["config", "set", "core.dcos_url", "not a url"]);
    assert!(e.contains("invalid value for core.dcos_url"), "{e}");
    let e = env.fails(&["config", "set", "core.timeout", "-3"]);
    assert!(e.contains("core.timeout"), "{e}");
    assert_eq!(
        env.ok(&["config", "show", "core.dcos_url"]),
        "http://10.1.2.3:5050\n"
    );
    let e = env.fails(&["config", "unset", "core.ssl_verify"]);
    assert!(e.contains("not set"), "{e}");
}

#[test]
fn without_a_cluster_config_commands_say_how_to_get_one() {
    let env = Env::new();
    for args in [
        &["config", "show"][..],
        &["config", "set", "core.timeout", "5"],
        &["node", "list"],
        &["task", "list"],
        &["service", "list"],
        &["task", "log", "x"],
    ] {
        let e = env.fails(args);
        assert_eq!(
            e, "dcos: no cluster is attached: run `dcos cluster up` or `dcos cluster setup URL`",
            "{args:?}"
        );
    }
}

#[test]
fn dcos_dir_is_honoured() {
    let env = Env::new();
    env.ok(&["config", "set", "core.dcos_url", "http://10.9.9.9:1"]);
    assert!(env.dcos_dir().join("clusters").is_dir());
    assert!(
        !env.tmp.path().join(".dcos").exists(),
        "wrote to HOME instead of DCOS_DIR"
    );
}

use super::*;
use std::os::unix::fs::PermissionsExt;

fn dir() -> (tempfile::TempDir, DcosDir) {
    let t = tempfile::tempdir().unwrap();
    let d = DcosDir {
        root: t.path().join("dcos"),
    };
    (t, d)
}

fn cfg(url: &str, name: &str) -> ClusterConfig {
    let mut c = ClusterConfig::default();
    c.set("core.dcos_url", url).unwrap();
    c.set("cluster.name", name).unwrap();
    c
}

#[test]
fn set_get_unset_round_trip_through_toml() {
    let mut c = ClusterConfig::default();
    c.set("core.dcos_url", "http://10.0.0.1:5050/").unwrap();
    c.set("core.timeout", "12").unwrap();
    c.set("core.ssl_verify", "FALSE").unwrap();
    let text = c.to_toml();
    assert!(text.contains("[core]"), "{text}");
    assert!(text.contains("timeout = 12"), "{text}");
    let back = ClusterConfig::parse(&text, Path::new("x")).unwrap();
    assert_eq!(
        back.get("core.dcos_url").unwrap().as_deref(),
        Some("http://10.0.0.1:5050")
    );
    assert_eq!(back.get("core.timeout").unwrap().as_deref(), Some("12"));
    assert_eq!(
        back.get("core.ssl_verify").unwrap().as_deref(),
        Some("false")
    );
    let mut back = back;
    back.unset("core.timeout").unwrap();
    assert_eq!(back.get("core.timeout").unwrap(), None);
    assert!(matches!(
        back.unset("core.timeout"),
        Err(ConfigError::NotSet { .. })
    ));
}

#[test]
fn unknown_keys_name_the_valid_ones() {
    let mut c = ClusterConfig::default();
    let e = c.set("core.dcos_ur", "http://x").unwrap_err().to_string();
    assert!(e.contains("core.dcos_ur"), "{e}");
    assert!(e.contains("core.dcos_url, core.dcos_acs_token"), "{e}");
    assert!(c.get("nonsense").is_err());
}

#[test]
fn bad_values_are_refused_and_change_nothing() {
    let mut c = cfg("http://a:1", "a");
    for (k, v) in [
        ("core.dcos_url", "ftp://x"),
        ("core.dcos_url", "not a url"),
        ("core.timeout", "0"),
        ("core.timeout", "soon"),
        ("core.ssl_verify", "/no/such/ca.pem"),
    ] {
        let before = c.clone();
        assert!(c.set(k, v).is_err(), "{k}={v} accepted");
        assert_eq!(c, before);
    }
}

#[test]
fn unknown_sections_survive_a_rewrite() {
    let c = ClusterConfig::parse(
        "[core]\ndcos_url = \"http://a\"\n[marathon]\nurl = \"x\"\n",
        Path::new("x"),
    )
    .unwrap();
    assert!(c.to_toml().contains("[marathon]"));
}

#[test]
fn broken_toml_names_the_file() {
    let e = ClusterConfig::parse("[core\n", Path::new("/x/dcos.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/x/dcos.toml"), "{e}");
}

#[test]
fn files_are_private_and_attach_is_exclusive() {
    let (_t, d) = dir();
    let a = d.save_cluster("id-a", cfg("http://a:1", "alpha")).unwrap();
    d.save_cluster("id-b", cfg("http://b:1", "beta")).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&a.dir.join("dcos.toml")), 0o600);
    assert_eq!(mode(&a.dir), 0o700);
    assert_eq!(mode(&d.root), 0o700);
    assert!(d.attached().unwrap().is_none());
    d.attach("id-a").unwrap();
    d.attach("id-b").unwrap();
    let list = d.list().unwrap();
    assert_eq!(list.iter().filter(|c| c.attached).count(), 1);
    assert_eq!(d.attached().unwrap().unwrap().id, "id-b");
    assert_eq!(mode(&d.clusters_dir().join("id-b/attached")), 0o600);
}

#[test]
fn find_by_id_name_or_unique_prefix() {
    let (_t, d) = dir();
    d.save_cluster("abc-123", cfg("http://a:1", "alpha"))
        .unwrap();
    d.save_cluster("abd-456", cfg("http://b:1", "beta"))
        .unwrap();
    assert_eq!(d.find("alpha").unwrap().id, "abc-123");
    assert_eq!(d.find("abd-456").unwrap().id, "abd-456");
    assert_eq!(d.find("abc").unwrap().id, "abc-123");
    assert!(matches!(d.find("ab"), Err(ConfigError::Ambiguous { .. })));
    assert!(matches!(d.find("gamma"), Err(ConfigError::NotFound(_))));
    d.remove("abc-123").unwrap();
    assert!(d.find("alpha").is_err());
}

#[test]
fn target_needs_an_attached_cluster_or_dcos_url() {
    let (_t, d) = dir();
    // The process environment is shared by tests: only this test reads these variables.
    std::env::remove_var("DCOS_URL");
    std::env::remove_var("DCOS_ACS_TOKEN");
    assert!(matches!(Target::resolve(&d), Err(ConfigError::NotAttached)));
    let mut c = cfg("http://a:1", "alpha");
    c.set("core.dcos_acs_token", "secret").unwrap();
    c.set("core.timeout", "7").unwrap();
    d.save_cluster("id-a", c).unwrap();
    d.attach("id-a").unwrap();
    let t = Target::resolve(&d).unwrap();
    assert_eq!(t.url, "http://a:1");
    assert_eq!(t.token.as_deref(), Some("secret"));
    assert_eq!(t.timeout, Duration::from_secs(7));
    // DCOS_URL naming another cluster does not get this cluster's token.
    std::env::set_var("DCOS_URL", "http://other:2");
    let t = Target::resolve(&d).unwrap();
    assert_eq!((t.url.as_str(), t.token), ("http://other:2", None));
    std::env::set_var("DCOS_ACS_TOKEN", "envtoken");
    assert_eq!(
        Target::resolve(&d).unwrap().token.as_deref(),
        Some("envtoken")
    );
    std::env::remove_var("DCOS_URL");
    std::env::remove_var("DCOS_ACS_TOKEN");
}

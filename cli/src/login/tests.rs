use super::*;

fn providers() -> Map<String, Value> {
    serde_json::from_value(json!({
        "dcos-services": {"authentication-type": "dcos-uid-servicekey"},
        "dcos-users": {"authentication-type": "dcos-uid-password"},
        "oidc": {"authentication-type": "oidc-implicit-flow"},
    }))
    .unwrap()
}

#[test]
fn the_provider_of_the_login_type_is_chosen_unless_one_is_named() {
    let p = providers();
    assert_eq!(choose(&p, None, UID_PASSWORD).unwrap(), "dcos-users");
    assert_eq!(
        choose(&p, Some("dcos-users"), UID_PASSWORD).unwrap(),
        "dcos-users"
    );
    assert_eq!(choose(&p, None, UID_SERVICEKEY).unwrap(), "dcos-services");
    let e = choose(&p, Some("oidc"), UID_PASSWORD)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("oidc-implicit-flow") && e.contains("--provider"),
        "{e}"
    );
    let e = choose(&p, Some("dcos-users"), UID_SERVICEKEY)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dcos-uid-servicekey"), "{e}");
    let e = choose(&p, Some("nope"), UID_PASSWORD)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no login provider `nope`"), "{e}");
    let mut only_keys = p.clone();
    only_keys.remove("dcos-users");
    assert!(matches!(
        choose(&only_keys, None, UID_PASSWORD),
        Err(LoginError::NoProvider(UID_PASSWORD))
    ));
}

#[test]
fn password_sources() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pw");
    std::fs::write(&f, "s3cret pw\nsecond line\n").unwrap();
    let o = LoginOptions {
        password_file: Some(f.clone()),
        ..Default::default()
    };
    assert_eq!(password(&o, "u").unwrap(), "s3cret pw");
    std::fs::write(&f, "\n").unwrap();
    assert!(password(&o, "u").unwrap_err().to_string().contains("empty"));
    let o = LoginOptions {
        password_env: Some("DCOS_CLI_TEST_SURELY_UNSET_VAR".into()),
        ..Default::default()
    };
    let e = password(&o, "u").unwrap_err().to_string();
    assert!(e.contains("DCOS_CLI_TEST_SURELY_UNSET_VAR"), "{e}");
}

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn selector_terms() {
    let l = labels(&[("env", "prod"), ("tier", "web"), ("a,b", "c")]);
    let ok = |s: &str| LabelSelector::parse(s).unwrap().matches(&l);
    assert!(ok("env"));
    assert!(!ok("missing"));
    assert!(ok("env==prod"));
    assert!(!ok("env==dev"));
    assert!(ok("env!=dev"));
    assert!(ok("missing!=x"));
    assert!(ok("tier in (web, api)"));
    assert!(!ok("tier in (api)"));
    assert!(ok("tier notin (api,db)"));
    assert!(ok("missing notin (x)"));
    assert!(ok("env==prod, tier in (web)"));
    assert!(!ok("env==prod,tier==api"));
    assert!(ok("a\\,b==c"), "escaped comma in a key");
}

#[test]
fn bad_selectors_are_rejected() {
    for bad in [
        "",
        "env==prod,",
        "tier in (web",
        "tier in ()",
        "has space",
        "==x",
        "a in (x,)",
    ] {
        let e = LabelSelector::parse(bad).unwrap_err();
        assert_eq!(e.to_string(), format!("Can not parse label selector {bad}"));
    }
}

#[test]
fn app_filters() {
    let mut app = AppDefinition::new("/Prod/Web", "python3 -m http.server");
    app.labels = labels(&[("env", "prod")]);
    assert!(AppFilter::new(Some("http.server"), None, None)
        .unwrap()
        .matches(&app));
    assert!(!AppFilter::new(Some("nginx"), None, None)
        .unwrap()
        .matches(&app));
    assert!(AppFilter::new(None, Some("PROD/w"), None)
        .unwrap()
        .matches(&app));
    assert!(AppFilter::new(None, None, Some("env==prod"))
        .unwrap()
        .matches(&app));
    assert!(!AppFilter::new(None, None, Some("env==dev"))
        .unwrap()
        .matches(&app));
    assert!(AppFilter::new(None, None, Some("env in (")).is_err());
}

#[test]
fn embeds() {
    let e = Embed::parse(["apps.tasks", "apps.counts", "app.deployments"]).unwrap();
    assert!(e.tasks && e.counts && e.deployments && !e.readiness);
    let e = Embed::parse(["apps.failures"]).unwrap();
    assert!(e.tasks && e.last_task_failure);
    assert!(Embed::parse(["apps.bogus"]).is_err());
    let e = Embed::parse(["group.groups", "group.apps", "group.apps.tasks"]).unwrap();
    assert!(e.tasks && !e.counts);
}

#[test]
fn escapes_before_multibyte_characters_do_not_panic() {
    let l = labels(&[("é", "ü")]);
    assert!(LabelSelector::parse("\\é==ü").unwrap().matches(&l));
    assert!(LabelSelector::parse("x\\").is_err(), "a dangling escape");
}

proptest::proptest! {
    #[test]
    fn any_selector_string_parses_or_errors(s in "[a-zé\\\\(), =!in]{0,30}") {
        let _ = LabelSelector::parse(&s);
    }
}

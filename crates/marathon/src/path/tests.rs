use super::*;

#[test]
fn parses_absolute_and_relative_ids() {
    let p = PathId::parse("/prod//db/");
    assert!(p.is_absolute());
    assert_eq!(p.segments(), &["prod".to_string(), "db".to_string()]);
    assert_eq!(p.to_string(), "/prod/db");
    let r = PathId::parse("db/mysql");
    assert!(!r.is_absolute());
    assert_eq!(r.to_string(), "db/mysql");
    assert!(PathId::parse("/").is_root());
}

#[test]
fn resolves_relative_ids_against_the_parent_group() {
    let base = PathId::parse("/prod/backend");
    assert_eq!(
        PathId::parse("db").canonical(&base).to_string(),
        "/prod/backend/db"
    );
    assert_eq!(
        PathId::parse("../frontend/web")
            .canonical(&base)
            .to_string(),
        "/prod/frontend/web"
    );
    assert_eq!(
        PathId::parse("./x").canonical(&base).to_string(),
        "/prod/backend/x"
    );
    assert_eq!(
        PathId::parse("/abs/app").canonical(&base).to_string(),
        "/abs/app"
    );
    assert_eq!(
        PathId::parse("../../../../x").canonical(&base).to_string(),
        "/x"
    );
}

#[test]
fn segment_rules_follow_marathon() {
    for ok in ["a", "a1", "my-app", "a.b", "app.v2-x", "0", ".", ".."] {
        assert!(segment_is_valid(ok), "{ok} should be valid");
    }
    for bad in ["A", "-a", "a-", "a_b", "a..b", "a b", "", "ä", "a."] {
        assert!(!segment_is_valid(bad), "{bad} should be invalid");
    }
}

#[test]
fn app_id_rules_report_marathon_messages() {
    let errs = PathId::parse("/group/Bad_Name").validate_app_id();
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0].to_string(),
        format!("must fully match regular expression '{SEGMENT_PATTERN}'")
    );
    let errs = PathId::parse("/my/tasks").validate_app_id();
    assert_eq!(
        errs[0].to_string(),
        "must not end with any of the following reserved keywords: restart, tasks, versions"
    );
    assert_eq!(PathId::parse("/").validate_app_id(), vec![PathError::Empty]);
    assert!(PathId::parse("/ok/app").validate_app_id().is_empty());
    // a reserved word is fine in the middle
    assert!(PathId::parse("/tasks/app").validate_app_id().is_empty());
}

#[test]
fn child_of_checks_direct_parenthood() {
    let parent = PathId::parse("/prod");
    assert!(PathId::parse("/prod/app").check_child_of(&parent).is_ok());
    assert!(PathId::parse("app").check_child_of(&parent).is_ok());
    let err = PathId::parse("/other/app")
        .check_child_of(&parent)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Identifier is not child of /prod. Hint: use relative paths."
    );
    assert!(PathId::parse("/prod/a/b").check_child_of(&parent).is_err());
}

#[test]
fn helpers_for_task_ids_and_hostnames() {
    let p = PathId::parse("/foo/bar");
    assert_eq!(p.safe_path(), "foo_bar");
    assert_eq!(p.to_hostname(), "bar.foo");
    assert_eq!(p.parent().to_string(), "/foo");
    assert_eq!(p.ancestors(), vec![PathId::parse("/foo"), PathId::root()]);
    assert!(p.starts_with(&PathId::parse("/foo")));
    assert!(!PathId::parse("/foobar").starts_with(&PathId::parse("/foo")));
    assert_eq!(PathId::root().child("a/b").to_string(), "/a/b");
}

#[test]
fn serializes_as_a_string() {
    let p: PathId = serde_json::from_str("\"/a/b\"").unwrap();
    assert_eq!(serde_json::to_string(&p).unwrap(), "\"/a/b\"");
}

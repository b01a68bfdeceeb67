//! Folder rules, tera packages and their trip through an index, and bad input, on small
//! repositories written into temp dirs.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use universe::{IndexVersion, LoadError, RenderRequest, Repository, TemplateKind};

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
}

fn pkg_dir(repo: &Path, name: &str, release: u32) -> PathBuf {
    repo.join("packages")
        .join(name[..1].to_uppercase())
        .join(name)
        .join(release.to_string())
}

fn package_json(name: &str, pv: &str) -> String {
    json!({"packagingVersion": pv, "name": name, "version": "1.0", "maintainer": "m@example.com",
           "description": "d", "tags": ["t"]})
    .to_string()
}

const CONFIG: &str = r#"{"type": "object", "properties": {"service": {"type": "object", "properties": {
    "name": {"type": "string", "default": "web"}, "args": {"type": "array", "default": ["-a", "b c"]}}}}}"#;

const TERA: &str = r#"{
  "id": {{ service.name | json }},
  "args": {{ service.args | json }},
  "env": { {% for a in service.args %}"ARG{{ loop.index }}": {{ a | json }}{% if not loop.last %}, {% endif %}{% endfor %} },
  "labels": {"IMAGE": {{ resource.assets.container.docker.web | json }}}
}"#;

fn tera_repo(root: &Path) -> PathBuf {
    let repo = root.join("repo");
    let d = pkg_dir(&repo, "web", 3);
    write(&d, "package.json", &package_json("web", "4.0"));
    write(&d, "config.json", CONFIG);
    write(
        &d,
        "resource.json",
        r#"{"assets": {"container": {"docker": {"web": "nginx:1.27"}}}}"#,
    );
    write(&d, "marathon.json.tera", TERA);
    repo
}

fn problems(repo: &Path) -> Vec<String> {
    universe::validate_dir(repo)
        .unwrap()
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn tera_package_renders_with_the_json_filter_and_hostile_strings() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tera_repo(tmp.path());
    assert!(problems(&repo).is_empty(), "{:?}", problems(&repo));
    let repo = Repository::load_dir(&repo).unwrap();
    let pkg = repo.resolve("web", None).unwrap();
    assert_eq!(pkg.template.as_ref().unwrap().kind, TemplateKind::Tera);
    let hostile = "a\"b\\c\n}{{";
    let opts = json!({"service": {"name": hostile}});
    let req = RenderRequest {
        options: Some(&opts),
        app_id: None,
        source_uri: "file:///r",
    };
    let app = universe::render(pkg, &req).unwrap().app;
    assert_eq!(app["id"], hostile);
    assert_eq!(app["args"], json!(["-a", "b c"]));
    assert_eq!(app["env"], json!({"ARG1": "-a", "ARG2": "b c"}));
    assert_eq!(app["labels"]["IMAGE"], "nginx:1.27");
    assert_eq!(app["labels"]["DCOS_PACKAGE_SOURCE"], "file:///r");
}

#[test]
fn mustache_string_options_cannot_break_the_json() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let d = pkg_dir(&repo, "plain", 0);
    write(&d, "package.json", &package_json("plain", "3.0"));
    write(&d, "config.json", CONFIG);
    write(
        &d,
        "marathon.json.mustache",
        r#"{"id": "{{service.name}}", "args": {{service.args}}}"#,
    );
    let repo = Repository::load_dir(&repo).unwrap();
    let hostile = "x\"}, \"evil\": \"1\\";
    let opts = json!({"service": {"name": hostile}});
    let req = RenderRequest {
        options: Some(&opts),
        app_id: Some("/mine"),
        source_uri: "u",
    };
    let app = universe::render(repo.resolve("plain", None).unwrap(), &req)
        .unwrap()
        .app;
    assert_eq!(app["id"], "/mine");
    assert!(app.get("evil").is_none());
    assert_eq!(app["args"], json!(["-a", "b c"]));
}

#[test]
fn tera_templates_travel_in_a_schema_valid_index() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repository::load_dir(&tera_repo(tmp.path())).unwrap();
    for v in IndexVersion::ALL {
        let doc = repo.to_index(v, None);
        assert!(
            universe::index::validate_index(&doc, v, "x").is_empty(),
            "{v:?}"
        );
        let back = Repository::from_index(&doc).unwrap();
        let pkg = back.resolve("web", None).unwrap();
        assert_eq!(pkg.template.as_ref().unwrap().kind, TemplateKind::Tera);
        assert_eq!(pkg.template.as_ref().unwrap().source, TERA);
        let req = RenderRequest::default();
        assert_eq!(
            universe::render_template(
                pkg,
                &universe::options::resolve("web", pkg.config.as_ref(), None).unwrap()
            )
            .unwrap()["id"],
            "web"
        );
        let _ = req;
    }
    let b64 = repo.to_index(IndexVersion::V5, None)["packages"][0]["marathon"]
        ["v2AppMustacheTemplate"]
        .clone();
    use base64::Engine;
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(text.starts_with(universe::TERA_MARKER));
}

#[test]
fn packaging_rules_are_enforced() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    // 4.0 with command.json.
    let a = pkg_dir(&repo, "alpha", 0);
    write(&a, "package.json", &package_json("alpha", "4.0"));
    write(&a, "command.json", r#"{"pip": ["x"]}"#);
    // 2.0 without a template.
    let b = pkg_dir(&repo, "beta", 0);
    write(&b, "package.json", &package_json("beta", "2.0"));
    // Both template kinds.
    let c = pkg_dir(&repo, "gamma", 1);
    write(&c, "package.json", &package_json("gamma", "3.0"));
    write(&c, "marathon.json.mustache", "{}");
    write(&c, "marathon.json.tera", "{}");
    // Broken tera, config that is not a schema, unknown packaging version, wrong letter.
    let d = pkg_dir(&repo, "delta", 0);
    write(&d, "package.json", &package_json("delta", "4.0"));
    write(&d, "marathon.json.tera", "{{ oops ");
    write(&d, "config.json", r#"{"type": 5}"#);
    let e = pkg_dir(&repo, "eps", 0);
    write(&e, "package.json", &package_json("eps", "9.0"));
    write(
        &repo.join("packages/X/zeta/0"),
        "package.json",
        &package_json("zeta", "4.0"),
    );
    let p = problems(&repo);
    let has = |needle: &str| p.iter().any(|l| l.contains(needle));
    assert!(
        has("alpha/0/command.json: command.json is not allowed from packaging 4.0"),
        "{p:#?}"
    );
    assert!(
        has("beta/0/marathon.json.mustache: missing: packaging 2.0 requires"),
        "{p:#?}"
    );
    assert!(has("gamma/1/marathon.json.tera: both"), "{p:#?}");
    assert!(
        has("delta/0/marathon.json.tera: template does not parse"),
        "{p:#?}"
    );
    assert!(has("delta/0/config.json"), "{p:#?}");
    assert!(
        has("eps/0/package.json: at /packagingVersion: unknown packaging version \"9.0\""),
        "{p:#?}"
    );
    assert!(
        has("X/zeta: package \"zeta\" is in letter folder X"),
        "{p:#?}"
    );
    assert!(p.iter().all(|l| !l.contains('\n')));
    // Loading for use refuses the repository with the first problem and a count.
    let err = Repository::load_dir(&repo).unwrap_err();
    assert!(
        matches!(&err, LoadError::Invalid(v) if v.len() >= 6),
        "{err}"
    );
    assert!(err.to_string().contains("more problems"), "{err}");
}

#[test]
fn options_without_config_json_are_not_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let d = pkg_dir(&repo, "bare", 0);
    write(&d, "package.json", &package_json("bare", "4.0"));
    write(&d, "marathon.json.mustache", r#"{"id": "bare"}"#);
    let repo = Repository::load_dir(&repo).unwrap();
    let pkg = repo.resolve("bare", None).unwrap();
    let opts = json!({"x": 1});
    let err = universe::render(
        pkg,
        &RenderRequest {
            options: Some(&opts),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("options not allowed"), "{err}");
    let ok = universe::render(pkg, &RenderRequest::default()).unwrap();
    assert_eq!(ok.app["id"], "bare");
    assert_eq!(ok.resolved_options, json!({}));
}

#[test]
fn rendered_output_must_be_an_object_with_string_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    for (name, tpl) in [
        ("arr", "[1]"),
        ("lab", r#"{"labels": {"A": 1}}"#),
        ("bad", r#"{"id": }"#),
    ] {
        let d = pkg_dir(&repo, name, 0);
        write(&d, "package.json", &package_json(name, "4.0"));
        write(&d, "marathon.json.mustache", tpl);
    }
    let repo_v = Repository::load_dir(&repo).unwrap();
    let msg = |n: &str| {
        universe::render(repo_v.resolve(n, None).unwrap(), &RenderRequest::default())
            .unwrap_err()
            .to_string()
    };
    assert!(msg("arr").contains("not an object"));
    assert!(msg("lab").contains("label \"A\""));
    assert!(msg("bad").contains("invalid JSON"));
    // validate reports the same, naming the template.
    let p = problems(&repo);
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(
        p.iter()
            .all(|l| l.contains("marathon.json.mustache: does not render with default options")),
        "{p:#?}"
    );
}

#[test]
fn index_documents_load_and_bad_ones_are_refused() {
    assert!(matches!(
        Repository::from_index_json(b"{"),
        Err(LoadError::Index(_))
    ));
    assert!(matches!(
        Repository::from_index_json(b"[]"),
        Err(LoadError::Index(_))
    ));
    let err = Repository::from_index(&json!({"packages": [{"name": "x"}]}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/packages/0/releaseVersion"), "{err}");
    let empty = Repository::from_index(&json!({"packages": []})).unwrap();
    assert!(empty.packages().is_empty());
    let err = empty.resolve("x", None).unwrap_err().to_string();
    assert!(err.contains("no packages"), "{err}");
    let _: Value = empty.to_index(IndexVersion::V3, Some("1.8"));
}

#[test]
fn build_refuses_a_package_the_index_schema_rejects_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let d = pkg_dir(&repo, "extra", 0);
    let mut pj: Value = serde_json::from_str(&package_json("extra", "4.0")).unwrap();
    pj["bogus"] = json!(true);
    write(&d, "package.json", &pj.to_string());
    write(&d, "marathon.json.mustache", r#"{"id": "x"}"#);
    // Loading for use does not check schemas; build does.
    let loaded = Repository::load_dir(&repo).unwrap();
    let out = tmp.path().join("out");
    let err = universe::index::build(&loaded, &out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("universe.json") && err.contains("/packages/0") && err.contains("bogus"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "files left behind in {}",
        out.display()
    );
}

#[test]
fn load_path_reads_folders_build_dirs_and_index_files() {
    let tmp = tempfile::tempdir().unwrap();
    let repo_dir = tera_repo(tmp.path());
    let from_dir = Repository::load_path(&repo_dir).unwrap();
    let out = tmp.path().join("out");
    universe::index::build(&from_dir, &out).unwrap();
    assert_eq!(Repository::load_path(&out).unwrap().packages().len(), 1);
    assert_eq!(
        Repository::load_path(&out.join("repo-up-to-1.12.json"))
            .unwrap()
            .packages()
            .len(),
        1
    );
    // A 2.0 package with a command from a legacy v3 index document.
    let legacy = tmp.path().join("legacy.json");
    let entry = json!({"packagingVersion": "2.0", "name": "old", "version": "0.1", "releaseVersion": 7,
        "maintainer": "m", "description": "d", "tags": [], "command": {"pip": ["old-cli==0.1"]},
        "marathon": {"v2AppMustacheTemplate": "eyJpZCI6ICJvbGQifQ=="}});
    std::fs::write(&legacy, json!({"packages": [entry]}).to_string()).unwrap();
    let repo = Repository::load_path(&legacy).unwrap();
    let old = repo.resolve("old", None).unwrap();
    assert_eq!(
        (old.release_version, old.command.clone()),
        (7, Some(json!({"pip": ["old-cli==0.1"]})))
    );
    assert_eq!(
        universe::render(old, &RenderRequest::default())
            .unwrap()
            .app["id"],
        "old"
    );
    // Broken index files name the file.
    std::fs::write(&legacy, "{").unwrap();
    let err = Repository::load_path(&legacy).unwrap_err().to_string();
    assert!(
        err.contains("legacy.json") && err.contains("malformed JSON"),
        "{err}"
    );
    std::fs::write(
        &legacy,
        r#"{"packages": [{"name": "x", "releaseVersion": 1}]}"#,
    )
    .unwrap();
    let err = Repository::load_path(&legacy).unwrap_err().to_string();
    assert!(
        err.contains("legacy.json: at /packages/0/packagingVersion"),
        "{err}"
    );
}

//! The library against real Universe packages (shared/universe-sample): validation, rendering
//! with default options against the expected apps, index build and index round trip.

use std::path::PathBuf;

use serde_json::Value;
use universe::{index, IndexVersion, RenderRequest, Repository};

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/universe-sample")
}

fn expected_files() -> Vec<(String, u64, Value)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(sample().join("expected")).unwrap() {
        let path = e.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (name, release) = stem.rsplit_once('-').unwrap();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        out.push((name.to_string(), release.parse::<u64>().unwrap(), value));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    assert!(
        out.len() >= 19,
        "expected files missing in {}",
        sample().display()
    );
    out
}

/// Paths where two JSON values differ, with both sides.
fn diff(path: &str, got: &Value, want: &Value, out: &mut Vec<String>) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, gv) in g {
                match w.get(k) {
                    Some(wv) => diff(&format!("{path}/{k}"), gv, wv, out),
                    None => out.push(format!("{path}/{k}: unexpected {gv}")),
                }
            }
            for k in w.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{path}/{k}: missing, want {}", w[k]));
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                diff(&format!("{path}/{i}"), gv, wv, out);
            }
        }
        _ if got != want => out.push(format!("{path}: got {got}, want {want}")),
        _ => {}
    }
}

fn check_renders(repo: &Repository, how: &str) {
    let mut failures = Vec::new();
    for (name, release, expected) in expected_files() {
        let Some(pkg) = repo
            .versions(&name)
            .into_iter()
            .find(|p| p.release_version == release)
        else {
            failures.push(format!("{name}-{release}: not in the repository"));
            continue;
        };
        // The template's own output (what the expected files hold), then the full render.
        let resolved = universe::options::resolve(&pkg.name, pkg.config.as_ref(), None).unwrap();
        match universe::render_template(pkg, &resolved) {
            Ok(app) => {
                let got = Value::Object(app);
                let req = RenderRequest {
                    options: None,
                    app_id: None,
                    source_uri: "https://example.test/repo",
                };
                let full = universe::render(pkg, &req).unwrap().app;
                assert_eq!(full["labels"]["DCOS_PACKAGE_NAME"], name.as_str());
                assert_eq!(full["labels"]["DCOS_PACKAGE_OPTIONS"], "e30=");
                let def = full["labels"]["DCOS_PACKAGE_DEFINITION"].as_str().unwrap();
                assert_eq!(
                    universe::decode_package_definition_label(def).unwrap(),
                    pkg.to_index_entry()
                );
                if got != expected {
                    let mut diffs = Vec::new();
                    diff("", &got, &expected, &mut diffs);
                    failures.push(format!(
                        "{name}-{release}: rendered app differs:\n  {}",
                        diffs.join("\n  ")
                    ));
                }
            }
            Err(e) => failures.push(format!("{name}-{release}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{how}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sample_repo_validates_without_problems() {
    let report = universe::validate_dir(&sample().join("repo")).unwrap();
    let lines: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert!(lines.is_empty(), "problems:\n{}", lines.join("\n"));
    assert_eq!(report.versions, 19);
    assert_eq!(report.packages, 16);
}

#[test]
fn every_expected_app_is_reproduced_from_the_folder() {
    let repo = Repository::load_dir(&sample().join("repo")).unwrap();
    check_renders(&repo, "from folder");
}

#[test]
fn every_expected_app_is_reproduced_from_the_v5_index() {
    let repo = Repository::load_dir(&sample().join("repo")).unwrap();
    let doc = repo.to_index(IndexVersion::V5, None);
    let from_index = Repository::from_index_json(doc.to_string().as_bytes()).unwrap();
    assert_eq!(from_index.packages().len(), 19);
    check_renders(&from_index, "from index");
}

#[test]
fn built_index_files_validate_against_the_index_schemas() {
    let repo = Repository::load_dir(&sample().join("repo")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let written = index::build(&repo, out.path()).unwrap();
    assert_eq!(written.len(), 2 + index::DCOS_RELEASES.len());
    for path in &written {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let ct = std::fs::read_to_string(path.with_extension("content_type")).unwrap();
        let version = IndexVersion::parse(ct.rsplit('=').next().unwrap()).unwrap();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let problems = index::validate_index(&doc, version, &file);
        assert!(problems.is_empty(), "{file}: {problems:?}");
        // Every file loads back as a repository.
        Repository::from_index(&doc).unwrap();
    }
    let universe: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("universe.json")).unwrap())
            .unwrap();
    assert_eq!(universe["packages"].as_array().unwrap().len(), 19);
    // 1.8: only packages without minDcosReleaseVersion or with one <= 1.8, all as packaging <= 3.0.
    let v18: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("repo-up-to-1.8.json")).unwrap(),
    )
    .unwrap();
    for p in v18["packages"].as_array().unwrap() {
        let pv = p["packagingVersion"].as_str().unwrap();
        assert!(pv == "2.0" || pv == "3.0", "{pv}");
        if let Some(min) = p.get("minDcosReleaseVersion").and_then(Value::as_str) {
            assert!(
                index::compare_releases(min, "1.8").is_le(),
                "{} needs {min}",
                p["name"]
            );
        }
    }
    let hello = universe["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hello-world")
        .unwrap();
    assert_eq!(hello["minDcosReleaseVersion"], "1.11");
    assert!(!v18["packages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "hello-world"));
}

#[test]
fn resolve_latest_and_named_versions() {
    let repo = Repository::load_dir(&sample().join("repo")).unwrap();
    assert_eq!(repo.resolve("kafka", None).unwrap().release_version, 1200);
    let old = repo.resolve("kafka", None).unwrap().version.clone();
    assert_eq!(
        repo.resolve("kafka", Some(&old)).unwrap().release_version,
        1200
    );
    let err = repo
        .resolve("kafka", Some("0.0.0-nope"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("available versions") && err.contains(&old),
        "{err}"
    );
    let err = repo.resolve("nope", None).unwrap_err().to_string();
    assert!(err.contains("jenkins") && err.contains("kafka"), "{err}");
    let hits: Vec<&str> = repo
        .search(Some("kaf*"))
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(hits, ["kafka"]);
}

//! `dcos universe validate|render|build|serve`, run as the real binary, each test in its own
//! temp dir. Failure messages show stdout, stderr and the dir.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

fn sample_repo() -> PathBuf {
    shared().join("universe-sample/repo")
}

struct Run {
    out: Output,
    dir: PathBuf,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn show(&self) -> String {
        format!(
            "exit {:?} in {}\n--- stdout\n{}\n--- stderr\n{}",
            self.out.status.code(),
            self.dir.display(),
            self.stdout(),
            self.stderr()
        )
    }
    fn ok(self) -> Run {
        assert!(
            self.out.status.success(),
            "expected success: {}",
            self.show()
        );
        self
    }
    /// Fails with exit 1, one stderr line, containing every `needles`.
    fn fails_with(self, needles: &[&str]) -> Run {
        assert_eq!(
            self.out.status.code(),
            Some(1),
            "expected exit 1: {}",
            self.show()
        );
        let err = self.stderr();
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "expected one stderr line: {}",
            self.show()
        );
        assert!(!err.contains("panicked"), "panic: {}", self.show());
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n:?}: {}", self.show());
        }
        self
    }
}

fn dcos(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_dcos"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        out,
        dir: dir.to_path_buf(),
    }
}

/// Copies the sample repo's packages into `dir/repo` (writable).
fn copy_sample(dir: &Path) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.path().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), &target).unwrap();
                let mut perm = std::fs::metadata(&target).unwrap().permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                perm.set_readonly(false);
                std::fs::set_permissions(&target, perm).unwrap();
            }
        }
    }
    let repo = dir.join("repo");
    copy(&sample_repo().join("packages"), &repo.join("packages"));
    repo
}

/// A minimal valid package `name` at `release` in `repo`.
fn write_package(repo: &Path, name: &str, release: u32, template: &str) -> PathBuf {
    let dir = repo
        .join("packages")
        .join(name[..1].to_uppercase())
        .join(name)
        .join(release.to_string());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        format!(
            r#"{{"packagingVersion": "4.0", "name": "{name}", "version": "1.{release}.0", "maintainer": "m@example.com",
               "description": "test package", "tags": ["test"]}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"type": "object", "properties": {"service": {"type": "object", "properties": {
             "name": {"type": "string", "default": "svc"}, "cpus": {"type": "number", "default": 0.5}}}}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("marathon.json.mustache"), template).unwrap();
    dir
}

const GOOD_TEMPLATE: &str =
    r#"{"id": "{{service.name}}", "cpus": {{service.cpus}}, "labels": {"A": "b"}}"#;

#[test]
fn validate_sample_repo_reports_no_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let run = dcos(
        tmp.path(),
        &["universe", "validate", sample_repo().to_str().unwrap()],
    )
    .ok();
    assert_eq!(
        run.stdout().trim(),
        "16 packages, 19 versions: OK",
        "{}",
        run.show()
    );
    // The packages/ folder itself works too.
    dcos(
        tmp.path(),
        &[
            "universe",
            "validate",
            sample_repo().join("packages").to_str().unwrap(),
        ],
    )
    .ok();
}

/// The rendered app less the DCOS_PACKAGE_* labels the package service adds (a template's own
/// label of the same name, kept in `expected`, is kept).
fn strip_service_labels(mut app: Value, expected: &Value) -> Value {
    let own = expected.get("labels").cloned().unwrap_or(Value::Null);
    if let Some(labels) = app.get_mut("labels").and_then(Value::as_object_mut) {
        for k in [
            "DCOS_PACKAGE_NAME",
            "DCOS_PACKAGE_VERSION",
            "DCOS_PACKAGE_SOURCE",
            "DCOS_PACKAGE_OPTIONS",
            "DCOS_PACKAGE_DEFINITION",
        ] {
            if own.get(k).is_none() {
                labels.remove(k);
            }
        }
        if labels.is_empty() && expected.get("labels").is_none() {
            app.as_object_mut().unwrap().remove("labels");
        }
    }
    app
}

#[test]
fn render_reproduces_every_expected_app() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for e in std::fs::read_dir(shared().join("universe-sample/expected")).unwrap() {
        let path = e.unwrap().path();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (name, release) = stem.rsplit_once('-').unwrap();
        // Find the version string of that release.
        let pkg_json = sample_repo()
            .join("packages")
            .join(name[..1].to_uppercase())
            .join(name)
            .join(release)
            .join("package.json");
        let pkg: Value = serde_json::from_str(&std::fs::read_to_string(pkg_json).unwrap()).unwrap();
        let version = pkg["version"].as_str().unwrap();
        let run = dcos(
            tmp.path(),
            &[
                "universe",
                "render",
                sample_repo().to_str().unwrap(),
                name,
                "--package-version",
                version,
            ],
        );
        n += 1;
        if !run.out.status.success() {
            failures.push(format!("{stem}: {}", run.show()));
            continue;
        }
        let app: Value = serde_json::from_str(&run.stdout()).unwrap();
        assert_eq!(app["labels"]["DCOS_PACKAGE_NAME"], name, "{stem}");
        assert_eq!(app["labels"]["DCOS_PACKAGE_OPTIONS"], "e30=", "{stem}");
        assert!(
            app["labels"]["DCOS_PACKAGE_SOURCE"]
                .as_str()
                .unwrap()
                .starts_with("file:///"),
            "{stem}"
        );
        if strip_service_labels(app, &expected) != expected {
            failures.push(format!("{stem}: output differs from {}", path.display()));
        }
    }
    assert!(n >= 19, "only {n} expected files");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn render_with_options_and_app_id() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    write_package(&repo, "demo", 0, GOOD_TEMPLATE);
    std::fs::write(tmp.path().join("opts.json"), r#"{"service": {"cpus": 2}}"#).unwrap();
    let run = dcos(
        tmp.path(),
        &[
            "universe",
            "render",
            "repo",
            "demo",
            "--options",
            "opts.json",
            "--app-id",
            "/team/demo",
        ],
    )
    .ok();
    let app: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(app["id"], "/team/demo", "{}", run.show());
    assert_eq!(app["cpus"], 2, "{}", run.show());
    assert_eq!(app["labels"]["A"], "b");
    // base64 of the compact user options only.
    assert_eq!(
        app["labels"]["DCOS_PACKAGE_OPTIONS"],
        "eyJzZXJ2aWNlIjp7ImNwdXMiOjJ9fQ=="
    );
}

#[test]
fn bad_input_gives_one_clear_line_and_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let good = write_package(&repo, "demo", 0, GOOD_TEMPLATE);

    // Repo path that does not exist.
    dcos(tmp.path(), &["universe", "render", "nowhere", "demo"])
        .fails_with(&["nowhere", "no such file"]);
    dcos(tmp.path(), &["universe", "validate", "nowhere"]).fails_with(&["nowhere", "no such file"]);

    // Unknown package, unknown version: errors name what exists.
    dcos(tmp.path(), &["universe", "render", "repo", "nope"])
        .fails_with(&["\"nope\" not found", "demo"]);
    dcos(
        tmp.path(),
        &[
            "universe",
            "render",
            "repo",
            "demo",
            "--package-version",
            "9",
        ],
    )
    .fails_with(&["no version \"9\"", "1.0.0"]);

    // Options of the wrong type.
    std::fs::write(
        tmp.path().join("bad.json"),
        r#"{"service": {"cpus": "lots"}}"#,
    )
    .unwrap();
    dcos(
        tmp.path(),
        &[
            "universe",
            "render",
            "repo",
            "demo",
            "--options",
            "bad.json",
        ],
    )
    .fails_with(&["service.cpus", "bad.json"]);
    // Malformed options file.
    std::fs::write(tmp.path().join("broken.json"), r#"{"service": "#).unwrap();
    dcos(
        tmp.path(),
        &[
            "universe",
            "render",
            "repo",
            "demo",
            "--options",
            "broken.json",
        ],
    )
    .fails_with(&["broken.json", "malformed JSON"]);

    // Malformed package JSON: render and validate name the file.
    std::fs::write(good.join("config.json"), "{ not json").unwrap();
    dcos(tmp.path(), &["universe", "render", "repo", "demo"]).fails_with(&[
        "config.json",
        "malformed JSON",
        "line 1",
    ]);
    let run = dcos(tmp.path(), &["universe", "validate", "repo"]);
    assert_eq!(run.out.status.code(), Some(1), "{}", run.show());
    assert!(
        run.stdout().contains("config.json: malformed JSON"),
        "{}",
        run.show()
    );
}

#[test]
fn unclosed_section_is_reported_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    write_package(
        &repo,
        "demo",
        0,
        "{\n  \"id\": \"x\",\n  {{#service.name}}\n  \"cpus\": 1\n}",
    );
    dcos(tmp.path(), &["universe", "render", "repo", "demo"]).fails_with(&[
        "marathon.json.mustache",
        "line 3",
        "unclosed section `service.name`",
    ]);
    let run = dcos(tmp.path(), &["universe", "validate", "repo"]);
    assert_eq!(run.out.status.code(), Some(1), "{}", run.show());
    assert!(run.stdout().contains("unclosed section"), "{}", run.show());
}

#[test]
fn folder_name_must_equal_package_name() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let dir = write_package(&repo, "demo", 0, GOOD_TEMPLATE);
    let text = std::fs::read_to_string(dir.join("package.json"))
        .unwrap()
        .replace("\"demo\"", "\"dummy\"");
    std::fs::write(dir.join("package.json"), text).unwrap();
    dcos(tmp.path(), &["universe", "render", "repo", "demo"]).fails_with(&[
        "package.json",
        "/name",
        "\"dummy\"",
        "\"demo\"",
    ]);
    let run = dcos(tmp.path(), &["universe", "validate", "repo"]);
    assert_eq!(run.out.status.code(), Some(1), "{}", run.show());
    assert_eq!(run.stdout().lines().count(), 1, "{}", run.show());
    assert!(
        run.stdout().contains("differs from the folder name"),
        "{}",
        run.show()
    );
}

#[test]
fn validate_lists_every_problem_one_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = copy_sample(tmp.path());
    // Three independent problems in three packages.
    let kafka = repo.join("packages/K/kafka/1200/package.json");
    let text = std::fs::read_to_string(&kafka).unwrap().replacen(
        "\"tags\"",
        "\"bogusField\": 1, \"tags\"",
        1,
    );
    std::fs::write(&kafka, text).unwrap();
    std::fs::write(repo.join("packages/J/jenkins/0/resource.json"), "[").unwrap();
    std::fs::create_dir_all(repo.join("packages/R/redis/latest")).unwrap();
    let run = dcos(tmp.path(), &["universe", "validate", "repo"]);
    assert_eq!(run.out.status.code(), Some(1), "{}", run.show());
    let out = run.stdout();
    assert_eq!(out.lines().count(), 3, "{}", run.show());
    assert!(
        out.contains("kafka/1200/package.json: at /: Additional properties")
            && out.contains("bogusField"),
        "{}",
        run.show()
    );
    assert!(
        out.contains("jenkins/0/resource.json: malformed JSON"),
        "{}",
        run.show()
    );
    assert!(
        out.contains("redis/latest: release folder \"latest\""),
        "{}",
        run.show()
    );
    assert!(run.stderr().contains("3 problems"), "{}", run.show());
}

#[test]
fn build_writes_schema_valid_index_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run = dcos(
        tmp.path(),
        &[
            "universe",
            "build",
            sample_repo().to_str().unwrap(),
            "-o",
            "out",
        ],
    )
    .ok();
    assert!(run.stdout().contains("19 versions"), "{}", run.show());
    let out = tmp.path().join("out");
    for f in [
        "universe.json",
        "repo-up-to-1.8.json",
        "repo-up-to-1.10.json",
        "repo-up-to-1.12.json",
        "repo-up-to-2.0.json",
    ] {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(f)).unwrap()).unwrap();
        assert!(doc["packages"].is_array(), "{f}: {}", run.show());
    }
    assert_eq!(
        std::fs::read_to_string(out.join("universe.content_type")).unwrap(),
        "application/vnd.dcos.universe.repo+json;charset=utf-8;version=v5"
    );
    // The built dir renders like the folder.
    let run = dcos(tmp.path(), &["universe", "render", "out", "hello-world"]).ok();
    let app: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(app["id"], "hello-world", "{}", run.show());
}

/// Kills the server when the test ends, pass or fail.
struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let ct = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    // Bodies are small enough to come unchunked or in one chunk; strip chunk framing if any.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        out
    } else {
        body.to_string()
    };
    (status, ct, body)
}

#[test]
fn serve_negotiates_the_index_version() {
    let tmp = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_dcos"))
        .args([
            "universe",
            "serve",
            sample_repo().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/repo"),
        "first line: {line:?}"
    );
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/repo")
        .to_string();

    let media =
        |v: &str| format!("application/vnd.dcos.universe.repo+json;charset=utf-8;version={v}");
    let (status, ct, body) = http_get(&addr, "/repo", &[("Accept", &media("v4"))]);
    assert_eq!((status, ct.as_str()), (200, media("v4").as_str()));
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert!(doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["packagingVersion"] != "5.0"));

    // No Accept: v5, every package.
    let (status, ct, body) = http_get(&addr, "/repo", &[]);
    assert_eq!((status, ct.as_str()), (200, media("v5").as_str()));
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["packages"].as_array().unwrap().len(), 19);

    // A DC/OS 1.9 user agent with v3: only packages allowed on 1.9.
    let (_, ct, body) = http_get(
        &addr,
        "/repo",
        &[("Accept", &media("v3")), ("User-Agent", "dcos/1.9.4")],
    );
    assert_eq!(ct, media("v3"));
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert!(!doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "hello-world"));

    let (status, ct, _) = http_get(&addr, "/repo-up-to-1.10.json", &[]);
    assert_eq!((status, ct.as_str()), (200, media("v4").as_str()));
    let (status, _, body) = http_get(&addr, "/nope", &[]);
    assert_eq!(status, 404);
    assert!(body.contains("message"));
}

#[test]
fn serve_a_build_directory() {
    let tmp = tempfile::tempdir().unwrap();
    dcos(
        tmp.path(),
        &[
            "universe",
            "build",
            sample_repo().to_str().unwrap(),
            "-o",
            "out",
        ],
    )
    .ok();
    let child = Command::new(env!("CARGO_BIN_EXE_dcos"))
        .args(["universe", "serve", "out", "--listen", "127.0.0.1:0"])
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("19 versions"), "first line: {line:?}");
    let addr = line
        .split_whitespace()
        .last()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches("/repo")
        .to_string();
    let (status, ct, body) = http_get(&addr, "/universe.json", &[]);
    assert_eq!(status, 200);
    assert_eq!(
        ct,
        "application/vnd.dcos.universe.repo+json;charset=utf-8;version=v5"
    );
    let served: Value = serde_json::from_str(&body).unwrap();
    let built: Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("out/universe.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(served, built);
}

//! The project's own Universe repository (`universe/repo`): every package version validates,
//! renders with its default options to a Marathon app a scheduler would accept, carries what the
//! package service shows (description, tags, notes, icons), and behaves as documented when
//! options change. hello-world is also started for real from its rendered command.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use universe::{
    render, validate_dir, Package, RenderError, RenderRequest, Repository, TemplateKind,
};

const SOURCE: &str = "https://universe.dcos-rs.invalid/repo";

fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("repo")
}

fn repo() -> Repository {
    match Repository::load_dir(&repo_dir()) {
        Ok(r) => r,
        Err(e) => panic!("universe/repo does not load: {e}"),
    }
}

fn latest<'a>(repo: &'a Repository, name: &str) -> &'a Package {
    match repo.resolve(name, None) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn render_with(pkg: &Package, options: Option<&Value>) -> Result<Value, RenderError> {
    render(
        pkg,
        &RenderRequest {
            options,
            app_id: None,
            source_uri: SOURCE,
        },
    )
    .map(|r| r.app)
}

fn render_ok(pkg: &Package, options: Option<&Value>) -> Value {
    match render_with(pkg, options) {
        Ok(app) => app,
        Err(e) => panic!(
            "{} {} does not render with {options:?}: {e}",
            pkg.name, pkg.version
        ),
    }
}

fn what(pkg: &Package) -> String {
    format!(
        "{} {} (release {})",
        pkg.name, pkg.version, pkg.release_version
    )
}

/// Marathon's rule for each path segment of an app id.
fn valid_app_id(id: &str) -> bool {
    let seg = regex::Regex::new(
        r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$",
    )
    .expect("constant regex");
    let trimmed = id.strip_prefix('/').unwrap_or(id);
    !trimmed.is_empty() && trimmed.split('/').all(|s| seg.is_match(s))
}

#[test]
fn own_repository_validates_without_a_single_problem() {
    let report = match validate_dir(&repo_dir()) {
        Ok(r) => r,
        Err(e) => panic!("universe/repo cannot be validated: {e}"),
    };
    let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        problems.is_empty(),
        "problems in universe/repo:\n{}",
        problems.join("\n")
    );
    assert!(
        report.packages >= 9,
        "expected at least 9 packages, found {}",
        report.packages
    );
    assert!(
        report.versions >= 13,
        "expected at least 13 package versions, found {}",
        report.versions
    );
}

#[test]
fn the_promised_packages_are_there() {
    let repo = repo();
    let names = repo.names();
    for name in [
        "hello-world",
        "jenkins",
        "kafka",
        "spark",
        "nginx",
        "redis",
        "postgresql",
        "static-site",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "package {name} missing; the repo has {names:?}"
        );
    }
    for name in ["kafka", "spark"] {
        let versions = repo.versions(name);
        assert!(
            versions.len() >= 2,
            "{name} should have several versions, has {}",
            versions.len()
        );
    }
}

#[test]
fn every_version_renders_with_default_options_to_a_sane_marathon_app() {
    let repo = repo();
    for pkg in repo.packages() {
        let app = render_ok(pkg, None);
        let who = what(pkg);
        let id = app["id"].as_str().unwrap_or_default();
        assert!(
            valid_app_id(id),
            "{who}: id {id:?} is not a Marathon app id"
        );
        let cpus = app["cpus"].as_f64().unwrap_or(-1.0);
        assert!(cpus > 0.0 && cpus <= 8.0, "{who}: cpus {cpus}");
        let mem = app["mem"].as_f64().unwrap_or(-1.0);
        assert!((16.0..=16384.0).contains(&mem), "{who}: mem {mem}");
        let instances = app["instances"].as_u64().unwrap_or(0);
        assert!(instances >= 1, "{who}: instances {:?}", app["instances"]);
        assert!(
            app.get("cmd").is_some() || app.get("args").is_some() || app.get("container").is_some(),
            "{who}: nothing to run"
        );
        assert!(
            !(app.get("cmd").is_some() && app.get("args").is_some()),
            "{who}: both cmd and args"
        );
        assert_eq!(
            app["labels"]["DCOS_PACKAGE_NAME"],
            json!(pkg.name),
            "{who}: package labels"
        );

        // Ports: host networking uses portDefinitions, bridge uses container.portMappings.
        let bridge = app["networks"]
            .as_array()
            .is_some_and(|n| n.iter().any(|m| m["mode"] == "container/bridge"));
        let ports = if bridge {
            assert!(
                app.get("portDefinitions").is_none(),
                "{who}: portDefinitions with bridge networking"
            );
            app["container"]["portMappings"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        } else {
            assert!(
                app["container"].get("portMappings").is_none(),
                "{who}: portMappings with host networking"
            );
            app["portDefinitions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        let checks = app["healthChecks"].as_array().cloned().unwrap_or_default();
        assert!(!checks.is_empty(), "{who}: no health check");
        for check in &checks {
            let index = check["portIndex"].as_u64().unwrap_or(0) as usize;
            assert!(
                index < ports.len(),
                "{who}: health check portIndex {index} but {} ports",
                ports.len()
            );
            let protocol = check["protocol"].as_str().unwrap_or("HTTP");
            assert!(
                ["HTTP", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_TCP"].contains(&protocol),
                "{who}: {protocol}"
            );
        }
        for key in ["minimumHealthCapacity", "maximumOverCapacity"] {
            if let Some(v) = app["upgradeStrategy"].get(key) {
                let v = v.as_f64().unwrap_or(-1.0);
                assert!((0.0..=1.0).contains(&v), "{who}: upgradeStrategy.{key} {v}");
            }
        }
        if let Some(env) = app.get("env").and_then(Value::as_object) {
            for (k, v) in env {
                assert!(v.is_string(), "{who}: env {k} is not a string: {v}");
            }
        }

        // Image packages run their resource.json image as a DOCKER container.
        let images: Vec<Value> = pkg
            .resource
            .as_ref()
            .and_then(|r| r.pointer("/assets/container/docker"))
            .and_then(Value::as_object)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        if images.is_empty() {
            assert!(
                app.get("container").is_none(),
                "{who}: container without an image asset"
            );
        } else {
            assert_eq!(app["container"]["type"], "DOCKER", "{who}: container type");
            assert!(
                images.contains(&app["container"]["docker"]["image"]),
                "{who}: image not from resource.json"
            );
        }
    }
}

#[test]
fn every_package_has_description_tags_notes_licenses_and_icons() {
    let repo = repo();
    for pkg in repo.packages() {
        let who = what(pkg);
        assert!(pkg.description.len() >= 60, "{who}: description too short");
        assert!(pkg.tags.len() >= 3, "{who}: needs tags");
        for notes in [
            &pkg.pre_install_notes,
            &pkg.post_install_notes,
            &pkg.post_uninstall_notes,
        ] {
            assert!(
                notes.as_deref().is_some_and(|n| n.len() >= 20),
                "{who}: missing notes"
            );
        }
        assert!(
            pkg.metadata
                .get("licenses")
                .and_then(Value::as_array)
                .is_some_and(|l| !l.is_empty()),
            "{who}: no licenses"
        );
        for key in ["icon-small", "icon-medium", "icon-large"] {
            let icon = pkg
                .images()
                .and_then(|i| i.get(key))
                .and_then(Value::as_str)
                .unwrap_or_default();
            assert!(
                icon.starts_with("https://") || icon.starts_with("data:image/"),
                "{who}: {key} is {icon:?}"
            );
        }
        assert!(pkg.config.is_some(), "{who}: no config.json");
        assert!(pkg.template.is_some(), "{who}: no Marathon template");
    }
}

#[test]
fn multi_version_packages_declare_their_upgrade_paths() {
    let repo = repo();
    for name in repo.names() {
        let versions = repo.versions(&name);
        if versions.len() < 2 {
            continue;
        }
        let newest = versions
            .iter()
            .max_by_key(|p| p.release_version)
            .expect("non-empty");
        let list = |pkg: &Package, key: &str| -> Vec<String> {
            pkg.metadata
                .get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        for older in versions
            .iter()
            .filter(|p| p.release_version < newest.release_version)
        {
            assert!(
                list(newest, "upgradesFrom").contains(&older.version),
                "{name}: {} should list {} in upgradesFrom",
                newest.version,
                older.version
            );
            assert!(
                list(newest, "downgradesTo").contains(&older.version),
                "{name}: {} should list {} in downgradesTo",
                newest.version,
                older.version
            );
        }
    }
    // Resolution picks the highest release.
    assert_eq!(latest(&repo, "kafka").version, "1.1.0-3.8.1");
    assert_eq!(latest(&repo, "spark").version, "1.1.0-3.5.3");
    let old = repo
        .resolve("kafka", Some("1.0.0-3.7.2"))
        .expect("kafka 1.0.0-3.7.2");
    assert_eq!(
        render_ok(old, None)["container"]["docker"]["image"],
        "apache/kafka:3.7.2"
    );
}

#[test]
fn tera_packages_render_loops_maps_and_hostile_strings() {
    let repo = repo();
    let tera: Vec<&Package> = repo
        .packages()
        .iter()
        .filter(|p| {
            p.template
                .as_ref()
                .is_some_and(|t| t.kind == TemplateKind::Tera)
        })
        .collect();
    assert!(!tera.is_empty(), "no package ships marathon.json.tera");

    let site = latest(&repo, "static-site");
    assert_eq!(
        site.template.as_ref().map(|t| t.kind),
        Some(TemplateKind::Tera)
    );
    let title = "Quote \" backslash \\ newline \n brace {{ x }} tag </script>";
    let options = json!({
        "service": {"name": "web/docs", "labels": {"team": "docs", "tier": "front \"end\""}},
        "site": {
            "archive_urls": ["https://example.org/a.tar.gz", "https://example.org/b.zip"],
            "title": title,
            "port": 8080
        },
        "placement": {"constraints": [["hostname", "UNIQUE"], ["zone", "LIKE", "eu-.*"]]}
    });
    let app = render_ok(site, Some(&options));
    assert_eq!(app["id"], "web/docs");
    assert_eq!(
        app["env"]["SITE_TITLE"], title,
        "the title must arrive unchanged"
    );
    let uris: Vec<&str> = app["fetch"]
        .as_array()
        .map(|f| f.iter().filter_map(|e| e["uri"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        uris,
        ["https://example.org/a.tar.gz", "https://example.org/b.zip"]
    );
    assert_eq!(app["labels"]["team"], "docs");
    assert_eq!(app["labels"]["tier"], "front \"end\"");
    assert_eq!(app["constraints"], options["placement"]["constraints"]);
    assert_eq!(app["portDefinitions"][0]["port"], 8080);
    assert_eq!(app["requirePorts"], true);

    // Defaults: no archives, any port.
    let app = render_ok(site, None);
    assert_eq!(app["fetch"], json!([]));
    assert_eq!(app["requirePorts"], false);

    // prometheus builds its configuration (JSON, which is YAML) from the scrape jobs.
    let prom = latest(&repo, "prometheus");
    let jobs = json!({"prometheus": {"scrape_jobs": [
        {"job_name": "dcos-master", "targets": ["10.0.0.1:5050", "10.0.0.2:5050"], "scrape_interval": "10s"},
        {"job_name": "self", "targets": ["localhost:9090"], "metrics_path": "/metrics", "scheme": "http"}
    ]}});
    let app = render_ok(prom, Some(&jobs));
    let config: Value =
        serde_json::from_str(app["env"]["PROMETHEUS_CONFIG"].as_str().unwrap_or_default())
            .expect("PROMETHEUS_CONFIG is JSON");
    assert_eq!(
        config["scrape_configs"][0]["static_configs"][0]["targets"],
        json!(["10.0.0.1:5050", "10.0.0.2:5050"])
    );
    assert_eq!(
        config["scrape_configs"][0]["metrics_path"], "/metrics",
        "default metrics_path"
    );
    assert_eq!(config["scrape_configs"][0]["scrape_interval"], "10s");
    assert!(config["scrape_configs"][1].get("scrape_interval").is_none());
}

/// Every free-form string option (no pattern, no enum) set to quotes, backslashes, newlines and
/// mustache/tera syntax must still render to valid JSON and arrive unchanged somewhere.
#[test]
fn free_form_string_options_cannot_break_the_rendered_json() {
    fn string_paths(schema: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, p) in props {
                path.push(k.clone());
                if p["type"] == "string" && p.get("pattern").is_none() && p.get("enum").is_none() {
                    out.push(path.clone());
                }
                string_paths(p, path, out);
                path.pop();
            }
        }
    }
    fn contains_string(v: &Value, needle: &str) -> bool {
        match v {
            Value::String(s) => s.contains(needle),
            Value::Array(a) => a.iter().any(|x| contains_string(x, needle)),
            Value::Object(o) => o.values().any(|x| contains_string(x, needle)),
            _ => false,
        }
    }
    let hostile = "a\"b\\c\nd {{e}} {% f %} </g>";
    let repo = repo();
    let mut tried = 0;
    for pkg in repo.packages() {
        let Some(config) = &pkg.config else { continue };
        let mut paths = Vec::new();
        string_paths(config, &mut Vec::new(), &mut paths);
        for path in paths {
            let mut options = json!({});
            let mut cur = &mut options;
            for (i, k) in path.iter().enumerate() {
                let next = if i + 1 == path.len() {
                    json!(hostile)
                } else {
                    json!({})
                };
                cur = cur
                    .as_object_mut()
                    .expect("object")
                    .entry(k.clone())
                    .or_insert(next);
            }
            let app = match render_with(pkg, Some(&options)) {
                Ok(app) => app,
                Err(e) => panic!(
                    "{}: option {} with quotes and backslashes: {e}",
                    what(pkg),
                    path.join(".")
                ),
            };
            assert!(
                contains_string(&app, hostile),
                "{}: option {} did not arrive unchanged in the app",
                what(pkg),
                path.join(".")
            );
            tried += 1;
        }
    }
    assert!(tried >= 10, "only {tried} free-form string options found");
}

#[test]
fn options_change_the_rendered_app_and_bad_options_are_refused_by_path() {
    let repo = repo();
    let kafka = latest(&repo, "kafka");
    let app = render_ok(
        kafka,
        Some(&json!({"brokers": {"count": 3, "hosts": "a1 a2 a3", "heap_mb": 2048}})),
    );
    assert_eq!(app["instances"], 3);
    assert_eq!(app["env"]["KAFKA_BROKER_HOSTS"], "a1 a2 a3");
    assert_eq!(app["env"]["KAFKA_HEAP_OPTS"], "-Xms2048m -Xmx2048m");
    assert_eq!(app["constraints"], json!([["hostname", "UNIQUE"]]));
    // A cluster needs the same fixed ports on every broker; a single broker takes any ports.
    let ports = |app: &Value| -> Vec<u64> {
        app["portDefinitions"]
            .as_array()
            .map(|p| p.iter().filter_map(|d| d["port"].as_u64()).collect())
            .unwrap_or_default()
    };
    assert_eq!(ports(&app), [9092, 9093]);
    assert_eq!(app["requirePorts"], true);
    let single = render_ok(kafka, None);
    assert_eq!(ports(&single), [0, 0]);
    assert_eq!(single["requirePorts"], false);
    assert_eq!(single["instances"], 1);

    let jenkins = latest(&repo, "jenkins");
    let app = render_ok(jenkins, None);
    assert_eq!(
        app["container"]["docker"]["image"],
        "jenkins/jenkins:lts-jdk17"
    );
    assert_eq!(app["container"]["volumes"], json!([]));
    assert!(
        app.get("cmd").is_none(),
        "without plugins the image's own entrypoint runs"
    );
    let ports: Vec<u64> = app["container"]["portMappings"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|p| p["containerPort"].as_u64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ports, [8080, 50000]);
    assert_eq!(app["healthChecks"][0]["path"], "/login");
    let app = render_ok(
        jenkins,
        Some(&json!({"storage": {"host_volume": "/mnt/ci"}, "service": {"name": "ci/jenkins"}})),
    );
    assert_eq!(
        app["container"]["volumes"][0]["hostPath"],
        "/mnt/ci/ci/jenkins"
    );
    let app = render_ok(
        jenkins,
        Some(&json!({"storage": {"persistent": true}, "jenkins": {"plugins": "git:latest"}})),
    );
    assert_eq!(app["container"]["volumes"][0]["persistent"]["size"], 4096);
    assert_eq!(
        app["unreachableStrategy"], "disabled",
        "resident tasks must not be replaced elsewhere"
    );
    assert!(app["residency"].is_object());
    assert!(app["cmd"]
        .as_str()
        .is_some_and(|c| c.contains("jenkins-plugin-cli")));
    let app = render_ok(jenkins, Some(&json!({"jenkins": {"setup_wizard": false}})));
    assert!(app["env"]["JAVA_OPTS"]
        .as_str()
        .is_some_and(|o| o.contains("runSetupWizard=false")));

    let nginx = latest(&repo, "nginx");
    let app = render_ok(
        nginx,
        Some(&json!({"nginx": {"content_host_path": "/srv/www", "config_host_path": "/srv/conf"}})),
    );
    assert_eq!(
        app["container"]["volumes"].as_array().map(Vec::len),
        Some(2)
    );

    let refused = [
        (
            "kafka",
            json!({"kafka": {"cluster_id": "not-a-cluster-id"}}),
            "cluster_id",
        ),
        ("kafka", json!({"brokers": {"count": 0}}), "count"),
        (
            "hello-world",
            json!({"service": {"name": "Bad Name!"}}),
            "name",
        ),
        ("spark", json!({"worker": {"memory": "lots"}}), "memory"),
        (
            "redis",
            json!({"redis": {"maxmemory_policy": "forget-everything"}}),
            "maxmemory_policy",
        ),
        ("hello-world", json!({"service": {"cpus": "many"}}), "cpus"),
        (
            "static-site",
            json!({"site": {"document_root": "../etc"}}),
            "document_root",
        ),
        (
            "nginx",
            json!({"nginx": {"unknown_option": 1}}),
            "unknown_option",
        ),
    ];
    for (name, options, path) in refused {
        match render_with(latest(&repo, name), Some(&options)) {
            Ok(_) => panic!("{name} accepted bad options {options}"),
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(path),
                    "{name}: error for {options} does not name {path}: {msg}"
                );
            }
        }
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// hello-world needs no image: its rendered command, run the way an agent runs a process app
/// (`sh -c` in the sandbox with PORT0 and HOST set), serves the page and its health check path.
#[test]
fn hello_world_serves_its_page_from_its_rendered_command() {
    if !on_path("busybox") && !on_path("python3") {
        eprintln!("skipped: neither busybox nor python3 is installed to serve hello-world");
        return;
    }
    let repo = repo();
    for pkg in repo.versions("hello-world") {
        let message = "Hi <there> & \"you\" 100%";
        let app = render_ok(pkg, Some(&json!({"hello": {"message": message}})));
        assert!(
            app.get("container").is_none(),
            "hello-world must not need an image"
        );
        let cmd = app["cmd"]
            .as_str()
            .expect("hello-world has a cmd")
            .to_string();
        assert!(cmd.contains("busybox httpd"));
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let sandbox = tempfile::tempdir().expect("tempdir");
        let mut command = Command::new("sh");
        command.arg("-c").arg(&cmd).current_dir(sandbox.path());
        command
            .env("PORT0", port.to_string())
            .env("PORTS", port.to_string())
            .env("HOST", "127.0.0.1");
        command
            .env("MESOS_TASK_ID", "hello-world.test-task")
            .env("MARATHON_APP_ID", "/hello-world");
        for (k, v) in app["env"].as_object().into_iter().flatten() {
            command.env(k, v.as_str().unwrap_or_default());
        }
        command.stdout(Stdio::null()).stderr(Stdio::null());
        let _server = KillOnDrop(command.spawn().expect("sh runs"));
        let health = app["healthChecks"][0]["path"]
            .as_str()
            .unwrap_or("/")
            .to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut answer = None;
        while Instant::now() < deadline {
            if let Some(a) = http_get(port, &health).filter(|(s, _)| *s == 200) {
                answer = Some(a);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            answer.is_some(),
            "{}: health check path {health} never answered 200",
            what(pkg)
        );
        let (status, page) = http_get(port, "/").expect("page answers");
        assert_eq!(status, 200, "{}", what(pkg));
        assert!(
            page.contains("Hi &lt;there&gt; &amp; \"you\" 100%"),
            "{}: page is {page}",
            what(pkg)
        );
        assert!(
            page.contains("hello-world.test-task"),
            "{}: page names its task: {page}",
            what(pkg)
        );
    }
}

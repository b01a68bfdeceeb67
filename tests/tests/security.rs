//! Security on by default, end to end on real `dcosd` processes: the master's whole route
//! table refuses requests without a valid token (missing, malformed, expired, wrongly signed)
//! and serves them with one; DC/OS's login flow with DC/OS's field names; agents with a wrong
//! join token are refused; the bootstrap password is never logged or returned; TLS with the
//! pinned CA works through `dcos cluster setup --ca-certs` and a wrong CA is refused.

use dcos_e2e::{dcos_bin, dcosd_bin, unique_cgroup_name, wait_until, Cluster, MasterProc, Proc};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Reachable without a token (DC/OS's public routes).
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/ping"),
    ("GET", "/metadata"),
    ("GET", "/dcos-metadata/dcos-version.json"),
    ("GET", "/acs/api/v1/auth/providers"),
];

/// Every other route the master serves (crates/master/src/http/mod.rs, the IAM routes of
/// dcos-auth, the Marathon routes of crates/master/src/marathon/api.rs) plus an unknown path
/// (the fallback is protected too). `{agent}` is replaced by a registered agent's id.
const PROTECTED: &[(&str, &str)] = &[
    ("GET", "/internal/v1/tasks"),
    ("POST", "/internal/v1/tasks"),
    ("GET", "/internal/v1/tasks/t1"),
    ("DELETE", "/internal/v1/tasks/t1"),
    ("GET", "/metrics"),
    ("GET", "/mesos/files/read.json?path=/master/log&offset=-1"),
    ("GET", "/files/read.json?path=/master/log&offset=-1"),
    ("GET", "/mesos/master/state"),
    ("GET", "/mesos/master/state.json"),
    ("GET", "/mesos/master/slaves"),
    ("GET", "/mesos/master/state-summary"),
    ("GET", "/master/state"),
    ("GET", "/master/state.json"),
    ("GET", "/master/slaves"),
    ("GET", "/master/state-summary"),
    ("GET", "/agent/{agent}/state.json"),
    ("GET", "/slave/{agent}/state.json"),
    ("GET", "/slave/{agent}/files/browse.json?path=/"),
    ("GET", "/acs/api/v1/users"),
    ("GET", "/acs/api/v1/users/admin"),
    ("PUT", "/acs/api/v1/users/bob"),
    ("PATCH", "/acs/api/v1/users/bob"),
    ("DELETE", "/acs/api/v1/users/bob"),
    ("GET", "/pkgpanda/active.buildinfo.full.json"),
    ("GET", "/no/such/route"),
    ("POST", "/no/such/route"),
];

/// Marathon's routes, served under each of `/marathon` and `/service/marathon`.
const MARATHON: &[(&str, &str)] = &[
    ("GET", "/ping"),
    ("GET", "/v2/info"),
    ("GET", "/v2/leader"),
    ("GET", "/v2/apps"),
    ("POST", "/v2/apps"),
    ("GET", "/v2/apps/sec/app"),
    ("PUT", "/v2/apps/sec/app"),
    ("DELETE", "/v2/apps/sec/app"),
    ("GET", "/v2/tasks"),
    ("POST", "/v2/tasks/delete"),
    ("GET", "/v2/deployments"),
    ("DELETE", "/v2/deployments/d1"),
    ("GET", "/v2/groups"),
    ("POST", "/v2/groups"),
    ("GET", "/v2/groups/sec"),
    ("GET", "/v2/events"),
    ("GET", "/v2/queue"),
    ("DELETE", "/v2/queue/sec/app/delay"),
];

fn protected() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = PROTECTED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    for prefix in ["/marathon", "/service/marathon"] {
        out.extend(
            MARATHON
                .iter()
                .map(|(m, p)| (m.to_string(), format!("{prefix}{p}"))),
        );
    }
    out
}

/// The route patterns of the master's route table files, literal (`.route("/x", ..)`) and
/// formatted over a prefix loop (`for p in ["/a", "/b"] { .route(&format!("{p}/x"), ..) }`),
/// so a new route cannot be added without this test covering it.
fn route_patterns() -> Vec<String> {
    let mut out = Vec::new();
    for file in [
        "crates/master/src/http/mod.rs",
        "crates/master/src/marathon/api.rs",
    ] {
        let path = format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"));
        let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // Prefix loops `for NAME in ["...", "..."]`, with where they start.
        let mut loops: Vec<(usize, String, Vec<String>)> = Vec::new();
        for (at, _) in src.match_indices("for ") {
            let part = &src[at + 4..];
            let Some((name, rest)) = part.split_once(" in [") else {
                continue;
            };
            let Some((list, _)) = rest.split_once(']') else {
                continue;
            };
            let items: Vec<String> = list
                .split(',')
                .map(|i| i.trim().trim_matches('"').to_string())
                .filter(|i| i.starts_with('/'))
                .collect();
            if !items.is_empty() && !name.contains(char::is_whitespace) {
                loops.push((at, name.to_string(), items));
            }
        }
        for (at, _) in src.match_indices(".route(") {
            let part = src[at + 7..].trim_start();
            if let Some(lit) = part.strip_prefix('"') {
                if let Some(end) = lit.find('"') {
                    out.push(lit[..end].replace("{{", "{").replace("}}", "}"));
                }
            } else if let Some(f) = part.strip_prefix("&format!(\"") {
                let Some(end) = f.find('"') else { continue };
                let fmt = &f[..end];
                let (var, rest) = fmt
                    .strip_prefix('{')
                    .and_then(|x| x.split_once('}'))
                    .unwrap_or_else(|| panic!("{file}: unexpected route format {fmt}"));
                // The nearest loop over that name before this route.
                let prefixes = &loops
                    .iter()
                    .rev()
                    .find(|(pos, n, _)| *pos < at && n == var)
                    .unwrap_or_else(|| panic!("{file}: no prefix loop for {{{var}}}"))
                    .2;
                for p in prefixes {
                    out.push(format!("{p}{}", rest.replace("{{", "{").replace("}}", "}")));
                }
            }
        }
    }
    assert!(out.len() > 20, "the route scan found too little: {out:?}");
    out
}

/// Whether a test path matches an axum route pattern (`{x}` one segment, `{*x}` the rest).
fn matches(pattern: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let pat: Vec<&str> = pattern.split('/').collect();
    let seg: Vec<&str> = path.split('/').collect();
    for (i, q) in pat.iter().enumerate() {
        if q.starts_with("{*") {
            return seg.len() > i;
        }
        match seg.get(i) {
            Some(s) if q.starts_with('{') || s == q => {}
            _ => return false,
        }
    }
    seg.len() == pat.len()
}

fn covered(pattern: &str) -> bool {
    PUBLIC
        .iter()
        .map(|(_, p)| p.to_string())
        .chain(protected().into_iter().map(|(_, p)| p))
        .any(|p| matches(pattern, &p))
}

fn call(http: &Client, c: &Cluster, method: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = http
        .request(m, c.url(path))
        .header("content-type", "application/json")
        .body("{}");
    if let Some(a) = auth {
        r = r.header("Authorization", a);
    }
    let r = r.send().unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let s = r.status().as_u16();
    // A success body may be an endless event stream: only error bodies are read.
    let body = if s >= 400 {
        r.text().unwrap_or_default()
    } else {
        String::new()
    };
    (s, body)
}

#[test]
fn every_route_but_the_public_ones_needs_a_valid_token() {
    for r in route_patterns() {
        assert!(
            r.starts_with("/internal/v1/agents/") || covered(&r),
            "route {r} of the master's route table is not in this test's table"
        );
    }
    let c = Cluster::start(1, &[]);
    let agent = c.active_agents().pop().expect("one agent");
    let plain = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let store = dcos_auth::SqliteAccountStore::open(&c.master.data_dir.join("master.sqlite"))
        .expect("the master's store");
    let auth = dcos_auth::AuthState::open(store, dcos_auth::AuthConfig::new("unused"))
        .expect("the master's signing key")
        .state;
    let mut refused = dcos_auth::testing::refused_authorizations(&auth, "admin");
    refused.push(("no header", String::new()));
    refused.push(("token of a deleted user", {
        let (s, _) = c.send(
            "PUT",
            "/acs/api/v1/users/gone",
            r#"{"password":"gone-pass-1234"}"#,
        );
        assert_eq!(s, 201);
        let t = dcos_e2e::login(&c.master.url, "gone", "gone-pass-1234").expect("login as gone");
        assert_eq!(c.send("DELETE", "/acs/api/v1/users/gone", "").0, 204);
        format!("token={t}")
    }));
    let names: Vec<&str> = refused.iter().map(|(n, _)| *n).collect();
    for want in ["expired", "signed by another key", "garbage", "alg none"] {
        assert!(names.contains(&want), "{names:?}");
    }
    let good = format!("token={}", c.token);
    let bearer = format!("Bearer {}", c.token);
    for (method, path) in protected() {
        let (method, path) = (method.as_str(), path.replace("{agent}", &agent));
        for (what, header) in &refused {
            let auth = (!header.is_empty()).then_some(header.as_str());
            let (s, body) = call(&plain, &c, method, &path, auth);
            assert_eq!(s, 401, "{method} {path} with {what}: {s} {body}");
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            assert!(
                v["message"].is_string(),
                "{method} {path} with {what}: {body}"
            );
        }
        for header in [&good, &bearer] {
            let (s, body) = call(&plain, &c, method, &path, Some(header));
            assert_ne!(s, 401, "{method} {path} with a valid token: {body}");
        }
    }
    for (method, path) in PUBLIC {
        let (s, body) = call(&plain, &c, method, path, None);
        assert_eq!(s, 200, "{method} {path} is public: {body}");
    }
    // The agent protocol takes the join token, not a user token.
    let (s, _) = call(
        &plain,
        &c,
        "POST",
        "/internal/v1/agents/register",
        Some(&good),
    );
    assert_eq!(s, 401, "a user token is no join token");
}

#[test]
fn a_login_token_expires_after_its_lifetime() {
    let c = Cluster::start(0, &["--token-lifetime-secs", "1"]);
    let plain = Client::new();
    let good = format!("token={}", c.token);
    assert_eq!(
        call(&plain, &c, "GET", "/mesos/master/slaves", Some(&good)).0,
        200
    );
    std::thread::sleep(Duration::from_millis(2200));
    let (s, body) = call(&plain, &c, "GET", "/mesos/master/slaves", Some(&good));
    assert_eq!(s, 401, "{body}");
    assert!(body.contains("expired"), "{body}");
}

#[test]
fn the_dcos_cli_login_flow_answers_with_dcos_field_names() {
    let c = Cluster::start(0, &[]);
    let plain = Client::new();
    let get = |path: &str| -> Value {
        let r = plain.get(c.url(path)).send().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.json().unwrap()
    };
    let meta = get("/metadata");
    assert!(
        meta["CLUSTER_ID"].is_string() && meta["PUBLIC_IPV4"].is_string(),
        "{meta}"
    );
    let v = get("/dcos-metadata/dcos-version.json");
    for k in ["version", "dcos-image-commit", "bootstrap-id"] {
        assert!(v[k].is_string(), "{k}: {v}");
    }
    let p = get("/acs/api/v1/auth/providers");
    let users = &p["dcos-users"];
    assert_eq!(users["authentication-type"], "dcos-uid-password", "{p}");
    assert_eq!(
        users["client-method"],
        "dcos-usercredential-post-receive-authtoken"
    );
    assert!(users["config"]["start_flow_url"].is_string() && users["description"].is_string());
    assert_eq!(
        p["dcos-services"]["authentication-type"],
        "dcos-uid-servicekey"
    );

    // A protected route without a token: 401 with DC/OS's challenge.
    let r = plain.get(c.url("/mesos/master/state.json")).send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["www-authenticate"], "acsjwt");

    let pw = c
        .master
        .admin_password
        .clone()
        .expect("the printed password");
    let r = plain
        .post(c.url("/acs/api/v1/auth/login"))
        .json(&json!({"uid": "admin", "password": pw}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let token = r.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = plain
        .head(c.url("/pkgpanda/active.buildinfo.full.json"))
        .header("Authorization", format!("token={token}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "the DC/OS CLI's token probe");
    let r = plain
        .get(c.url("/mesos/master/state-summary"))
        .header("Authorization", format!("token={token}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    let r = plain
        .post(c.url("/acs/api/v1/auth/login"))
        .json(&json!({"uid": "admin", "password": "wrong-password"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: Value = r.json().unwrap();
    assert!(
        v["message"].as_str().unwrap_or("").contains("invalid"),
        "{v}"
    );
    assert!(v.get("token").is_none());

    // Repeated failures are slowed down: 429 with Retry-After, even for the right password.
    let mut throttled = None;
    for _ in 0..10 {
        let r = plain
            .post(c.url("/acs/api/v1/auth/login"))
            .json(&json!({"uid": "admin", "password": "still-wrong"}))
            .send()
            .unwrap();
        if r.status().as_u16() == 429 {
            throttled = Some(r);
            break;
        }
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = throttled.expect("failed logins are throttled");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1, "{wait}");
    let r = plain
        .post(c.url("/acs/api/v1/auth/login"))
        .json(&json!({"uid": "admin", "password": pw}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429, "blocked while throttled");
}

#[test]
fn an_agent_with_a_wrong_join_token_is_refused_and_logged() {
    let c = Cluster::start(0, &[]);
    let wd = c.dir.path().join("intruder");
    std::fs::create_dir_all(&wd).unwrap();
    let cgroup = unique_cgroup_name();
    let mut cmd = Command::new(dcosd_bin());
    cmd.args([
        "agent",
        "--master",
        &c.master.url,
        "--listen",
        "127.0.0.1:0",
    ])
    .args([
        "--join-token",
        "not-the-cluster-token",
        "--cgroups-root",
        &cgroup,
    ])
    .arg("--work-dir")
    .arg(&wd);
    let mut a = Proc::spawn(
        "intruder",
        cmd,
        wd.join("agent.stdout"),
        wd.join("agent.log"),
    );
    a.owned_dir = Some(wd.clone());
    let _cg = CgroupGuard(cgroup);
    let log = c.master.data_dir.join("master.log");
    wait_until(
        Duration::from_secs(20),
        "the refusal in the master's log",
        || {
            std::fs::read_to_string(&log)
                .ok()
                .filter(|l| l.contains("wrong cluster join token"))
        },
    );
    assert!(
        c.active_agents().is_empty(),
        "the agent must not be admitted"
    );
    assert!(c.state()["slaves"].as_array().is_none_or(|s| s.is_empty()));
    a.kill9();
}

/// Removes a test agent's cgroups when the test ends.
struct CgroupGuard(String);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        dcos_e2e::remove_cgroups(&self.0);
    }
}

#[test]
fn the_password_is_never_logged_or_returned() {
    let c = Cluster::start(0, &[]);
    let pw = c
        .master
        .admin_password
        .clone()
        .expect("printed once on stdout");
    let stdout = std::fs::read_to_string(&c.master.proc.stdout).unwrap();
    assert_eq!(
        stdout.matches(&pw).count(),
        1,
        "the password is printed exactly once: {stdout}"
    );
    assert!(stdout.contains(&format!(
        "created user 'admin' with password {pw} (shown only this once)"
    )));
    // A failed login with the password typed as the uid, a good login, user listings.
    let _ = c.post_json(
        "/acs/api/v1/auth/login",
        &json!({"uid": pw, "password": "x"}),
    );
    let (s, v) = c.post_json(
        "/acs/api/v1/auth/login",
        &json!({"uid": "admin", "password": pw}),
    );
    assert_eq!(s, 200);
    assert!(!v.to_string().contains(&pw));
    for path in ["/acs/api/v1/users", "/acs/api/v1/users/admin"] {
        let (s, v) = c.get(path);
        assert_eq!(s, 200);
        let text = v.to_string();
        assert!(
            !text.contains(&pw) && !text.contains("argon2"),
            "{path}: {text}"
        );
    }
    let log = std::fs::read_to_string(c.master.data_dir.join("master.log")).unwrap();
    assert!(!log.contains(&pw), "the master's log holds the password");
    let served = c
        .get("/mesos/files/read.json?path=/master/log&offset=0&length=10000000")
        .1;
    assert!(!served.to_string().contains(&pw));

    // After a restart the password is not printed again, and still works.
    let mut c = c;
    c.master.restart();
    let stdout = std::fs::read_to_string(&c.master.proc.stdout).unwrap();
    assert!(
        !stdout.contains(&pw) && !stdout.contains("created user"),
        "{stdout}"
    );
    dcos_e2e::login(&c.master.url, "admin", &pw).expect("the same password after a restart");

    // --bootstrap-password-file: the password goes to that file (0600) and nowhere else.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("admin-password");
    let m = MasterProc::start(
        &dir.path().join("m"),
        "127.0.0.1:0",
        &[
            "--bootstrap-password-file".to_string(),
            f.display().to_string(),
        ],
    );
    let pw2 = std::fs::read_to_string(&f).unwrap().trim().to_string();
    assert!(pw2.len() >= 16, "{pw2}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&f).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let out = std::fs::read_to_string(&m.proc.stdout).unwrap();
    let err = std::fs::read_to_string(&m.proc.stderr).unwrap();
    assert!(!out.contains(&pw2) && !err.contains(&pw2), "{out}\n{err}");
    assert!(
        out.contains(&f.display().to_string()),
        "says where the password is: {out}"
    );
    dcos_e2e::login(&m.url, "admin", &pw2).expect("login with the file's password");
}

#[test]
fn tls_with_the_pinned_ca_works_and_a_wrong_ca_is_refused() {
    let c = Cluster::start(1, &["--tls"]);
    assert!(
        c.master.url.starts_with("https://127.0.0.1:"),
        "{}",
        c.master.url
    );
    let ca = c.master.data_dir.join("tls").join("ca.crt");
    let pw = c.master.admin_password.clone().unwrap();
    let stdout = std::fs::read_to_string(&c.master.proc.stdout).unwrap();
    let fp = stdout
        .lines()
        .find_map(|l| l.split("SHA-256 ").nth(1))
        .map(|s| s.trim_end_matches(')').trim().to_string())
        .expect("the CA fingerprint is printed");

    let dcos = |dir: &std::path::Path, args: &[&str]| {
        Command::new(dcos_bin())
            .args(args)
            .env("DCOS_DIR", dir)
            .env("DCOS_TEST_PW", &pw)
            .env_remove("DCOS_URL")
            .env_remove("DCOS_ACS_TOKEN")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let tmp = tempfile::tempdir().unwrap();
    let login = ["--username", "admin", "--password-env", "DCOS_TEST_PW"];
    let mut args = vec!["cluster", "setup", c.master.url.as_str()];
    args.extend(login);
    let ca_s = ca.display().to_string();
    let mut pinned = args.clone();
    pinned.extend(["--ca-certs", ca_s.as_str()]);
    let o = dcos(&tmp.path().join("a"), &pinned);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = dcos(&tmp.path().join("a"), &["node", "list", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&c.active_agents()[0]));

    // Downloaded CA, no terminal: refused with the fingerprint the master printed.
    let o = dcos(&tmp.path().join("b"), &args);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&fp),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut nocheck = args.clone();
    nocheck.push("--no-check");
    let o = dcos(&tmp.path().join("b"), &nocheck);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&fp));

    // Another cluster's CA: the TLS connection is refused, nothing is configured.
    let other = tempfile::tempdir().unwrap();
    let m = dcos_auth::tls::ensure_ca_and_cert(other.path(), &[]).unwrap();
    let wrong = other.path().join("other-ca.crt");
    std::fs::write(&wrong, &m.ca_pem).unwrap();
    let wrong_s = wrong.display().to_string();
    let mut bad = args.clone();
    bad.extend(["--ca-certs", wrong_s.as_str()]);
    let o = dcos(&tmp.path().join("c"), &bad);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("TLS"), "{err}");
    assert!(!tmp.path().join("c").join("clusters").exists());
    let client = Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(m.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    assert!(
        client.get(c.url("/ping")).send().is_err(),
        "a wrong CA must fail the handshake"
    );
    // Plain http to the https port gets nothing useful.
    let http_url = c.master.url.replacen("https://", "http://", 1);
    let r = Client::new().get(format!("{http_url}/ping")).send();
    assert!(r.map(|r| r.status().as_u16() != 200).unwrap_or(true));
}

#[test]
fn given_certificates_are_served_and_their_ca_published() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("given");
    let m = dcos_auth::tls::ensure_ca_and_cert(&tls, &[]).unwrap();
    let arg = |f: &str| tls.join(f).display().to_string();
    let master = MasterProc::start(
        &dir.path().join("m"),
        "127.0.0.1:0",
        &[
            "--tls-cert".to_string(),
            arg("server.crt"),
            "--tls-key".to_string(),
            arg("server.key"),
            "--tls-ca".to_string(),
            arg("ca.crt"),
        ],
    );
    assert!(master.url.starts_with("https://"), "{}", master.url);
    let pinned = dcos_e2e::client_for(Some(&tls.join("ca.crt")), None);
    let r = pinned
        .get(format!("{}/ca/dcos-ca.crt", master.url))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().unwrap().trim(), m.ca_pem.trim());
    let token = dcos_e2e::login_with(
        &pinned,
        &master.url,
        "admin",
        master.admin_password.as_deref().unwrap(),
    )
    .expect("login over https");
    let r = pinned
        .get(format!("{}/mesos/master/state-summary", master.url))
        .header("Authorization", format!("token={token}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The system roots do not know this CA.
    assert!(Client::new()
        .get(format!("{}/ping", master.url))
        .send()
        .is_err());
}

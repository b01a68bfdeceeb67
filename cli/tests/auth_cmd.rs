//! `dcos cluster setup` with a login, `dcos auth login|logout|list-providers`, token handling
//! and CA pinning, on the real binary with a temp DCOS_DIR against a real `dcos-auth` layer
//! (the master's login routes and middleware) in front of a small cluster entry point, over
//! http and https.

mod cli_support;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use axum::routing::get;
use axum::{Json, Router};
use cli_support::*;
use serde_json::{json, Value};

const CLUSTER_ID: &str = "5e1f0c1e-aaaa-bbbb-cccc-0123456789ab";

/// A cluster entry point: public metadata, one protected Mesos route, the auth layer.
struct AuthCluster {
    url: String,
    password: String,
    ca_fingerprint: Option<String>,
    ca_file: Option<PathBuf>,
    tmp: tempfile::TempDir,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for AuthCluster {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl AuthCluster {
    fn start(tls: bool) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let store = dcos_auth::SqliteAccountStore::open(&tmp.path().join("auth.sqlite")).unwrap();
        let opened =
            dcos_auth::AuthState::open(store, dcos_auth::AuthConfig::new("join-token")).unwrap();
        let password = opened.bootstrap_password.clone().unwrap();
        let app = Router::new()
            .route(
                "/metadata",
                get(|| async {
                    Json(json!({"CLUSTER_ID": CLUSTER_ID, "PUBLIC_IPV4": "127.0.0.1"}))
                }),
            )
            .route(
                "/dcos-metadata/dcos-version.json",
                get(|| async { Json(json!({"version": "0.1.0-test"})) }),
            )
            .route(
                "/mesos/master/slaves",
                get(|| async { Json(json!({"slaves": [{"id": "agent-1", "hostname": "h1"}]})) }),
            );
        let app = dcos_auth::protect(app, &opened.state);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let (url, ca_fingerprint, ca_file) = if tls {
            let m = dcos_auth::tls::ensure_ca_and_cert(&tmp.path().join("tls"), &[]).unwrap();
            let app = app.merge(m.ca_router());
            let cfg = m.server_config().unwrap();
            rt.spawn(dcos_auth::tls::serve_tls(listener, app, cfg));
            let ca_file = tmp.path().join("ca-copy.crt");
            std::fs::write(&ca_file, &m.ca_pem).unwrap();
            (
                format!("https://127.0.0.1:{port}"),
                Some(m.ca_fingerprint_sha256.clone()),
                Some(ca_file),
            )
        } else {
            rt.spawn(async move {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .await
            });
            (format!("http://127.0.0.1:{port}"), None, None)
        };
        let pw_file = tmp.path().join("pw");
        std::fs::write(&pw_file, format!("{password}\n")).unwrap();
        Self {
            url,
            password,
            ca_fingerprint,
            ca_file,
            tmp,
            rt: Some(rt),
        }
    }

    fn password_file(&self) -> String {
        self.tmp.path().join("pw").display().to_string()
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn cluster_dir(env: &Env) -> PathBuf {
    env.dcos_dir().join("clusters").join(CLUSTER_ID)
}

fn toml_of(env: &Env) -> String {
    std::fs::read_to_string(cluster_dir(env).join("dcos.toml")).unwrap_or_default()
}

/// Runs and asserts success; checks the password appears in neither output stream.
fn ok_secret(env: &Env, c: &AuthCluster, mut cmd: std::process::Command) -> String {
    let o = cmd.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{}", show(&o, env.tmp.path()));
    assert!(
        !all.contains(&c.password),
        "the password was printed: {all}"
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn setup_logs_in_stores_the_token_privately_and_logout_removes_it() {
    let c = AuthCluster::start(false);
    let env = Env::new();

    // Without credentials and without a terminal: one clear line, nothing written.
    let e = env.fails(&["cluster", "setup", &c.url]);
    assert!(e.contains("--username"), "{e}");
    let e = env.fails(&["cluster", "setup", &c.url, "--username", "admin"]);
    assert!(
        e.contains("--password-env VAR or --password-file FILE"),
        "{e}"
    );
    // A wrong password is refused by the cluster; nothing written.
    let o = env
        .cmd(&[
            "cluster",
            "setup",
            &c.url,
            "--username",
            "admin",
            "--password-env",
            "PW",
        ])
        .env("PW", "not-the-password")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", show(&o, env.tmp.path()));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("login refused") && err.contains("invalid"),
        "{err}"
    );
    assert!(
        !cluster_dir(&env).exists(),
        "a failed setup wrote {:?}",
        cluster_dir(&env)
    );

    // The right password from a file: logged in, token in dcos.toml, 0600 in a 0700 folder.
    let out = ok_secret(
        &env,
        &c,
        env.cmd(&[
            "cluster",
            "setup",
            &c.url,
            "--name",
            "sec",
            "--username",
            "admin",
            "--password-file",
            &c.password_file(),
        ]),
    );
    assert!(out.contains("Login successful!"), "{out}");
    let toml_path = cluster_dir(&env).join("dcos.toml");
    assert_eq!(mode(&toml_path), 0o600);
    assert_eq!(mode(&cluster_dir(&env)), 0o700);
    let toml = toml_of(&env);
    assert!(toml.contains("dcos_acs_token"), "{toml}");
    assert!(
        !toml.contains(&c.password),
        "the password was stored: {toml}"
    );
    let token = env.ok(&["config", "show", "core.dcos_acs_token"]);
    assert!(token.trim().split('.').count() == 3, "a JWT: {token}");
    // The whole-config table masks the token.
    let shown = env.ok(&["config", "show"]);
    assert!(
        !shown.contains(token.trim()) && shown.contains("********"),
        "{shown}"
    );

    // The token opens protected routes.
    let list: Value = serde_json::from_str(&env.ok(&["cluster", "list", "--json"])).unwrap();
    assert_eq!(list[0]["status"], "AVAILABLE", "{list}");
    let nodes = env.ok(&["node", "list", "--json"]);
    assert!(nodes.contains("agent-1"), "{nodes}");

    // Logout removes the token; protected routes then say how to log in.
    let out = env.ok(&["auth", "logout"]);
    assert!(out.contains("Logged out"), "{out}");
    assert!(
        !toml_of(&env).contains("dcos_acs_token"),
        "{}",
        toml_of(&env)
    );
    let e = env.fails(&["node", "list", "--json"]);
    assert!(
        e.contains("authentication failed or expired: run `dcos auth login`"),
        "{e}"
    );
    let list: Value = serde_json::from_str(&env.ok(&["cluster", "list", "--json"])).unwrap();
    assert_eq!(list[0]["status"], "UNAUTHENTICATED", "{list}");
    let out = env.ok(&["auth", "logout"]);
    assert!(out.contains("no stored token"), "{out}");

    // DCOS_ACS_TOKEN overrides the (missing or stored) token.
    let o = env
        .cmd(&["node", "list", "--json"])
        .env("DCOS_ACS_TOKEN", token.trim())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o, env.tmp.path()));

    // `dcos auth login` with the password in an environment variable.
    let mut cmd = env.cmd(&[
        "auth",
        "login",
        "--username",
        "admin",
        "--password-env",
        "DCOS_TEST_PW",
    ]);
    cmd.env("DCOS_TEST_PW", &c.password);
    let out = ok_secret(&env, &c, cmd);
    assert!(out.contains("Login successful!"), "{out}");
    assert_eq!(mode(&toml_path), 0o600);
    env.ok(&["node", "list", "--json"]);
    // A bad DCOS_ACS_TOKEN wins over the stored good one, and is refused.
    let o = env
        .cmd(&["node", "list", "--json"])
        .env("DCOS_ACS_TOKEN", "not-a-token")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("run `dcos auth login`"),
        "{}",
        show(&o, env.tmp.path())
    );
}

#[test]
fn list_providers_shows_the_dcos_provider_types() {
    let c = AuthCluster::start(false);
    let env = Env::new();
    let table = env.ok(&["auth", "list-providers", &c.url]);
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("PROVIDER ID") && header.contains("AUTHENTICATION TYPE"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("dcos-users") && l.contains("dcos-uid-password")),
        "{table}"
    );
    let v: Value =
        serde_json::from_str(&env.ok(&["auth", "list-providers", "--json", &c.url])).unwrap();
    assert_eq!(v["dcos-users"]["authentication-type"], "dcos-uid-password");
    assert_eq!(
        v["dcos-users"]["client-method"],
        "dcos-usercredential-post-receive-authtoken"
    );
    // No provider of that name: one line naming the way to see them.
    let o = env
        .cmd(&[
            "cluster",
            "setup",
            &c.url,
            "--username",
            "admin",
            "--password-env",
            "PW",
            "--provider",
            "ldap",
        ])
        .env("PW", "x")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no login provider `ldap`"),
        "{}",
        show(&o, env.tmp.path())
    );
}

#[test]
fn https_setup_pins_the_cluster_ca() {
    let c = AuthCluster::start(true);
    let fp = c.ca_fingerprint.clone().unwrap();
    let env = Env::new();
    let login = ["--username", "admin", "--password-file"];

    // No terminal to confirm the downloaded CA on: refused, the fingerprint shown.
    let mut args = vec!["cluster", "setup", &c.url];
    let pwf = c.password_file();
    args.extend(login);
    args.push(&pwf);
    let e = env.fails(&args);
    assert!(e.contains(&fp) && e.contains("--no-check"), "{e}");
    assert!(!cluster_dir(&env).exists());

    // --no-check: downloaded, stored next to dcos.toml, pinned.
    let mut a = args.clone();
    a.push("--no-check");
    let out = ok_secret(&env, &c, env.cmd(&a));
    assert!(
        out.contains(&fp) && out.contains("Login successful!"),
        "{out}"
    );
    let pinned = cluster_dir(&env).join("dcos_ca.crt");
    assert_eq!(mode(&pinned), 0o600);
    assert_eq!(
        env.ok(&["config", "show", "core.ssl_verify"]).trim(),
        pinned.display().to_string()
    );
    env.ok(&["node", "list", "--json"]);

    // --ca-certs with the right CA works; with another CA the TLS connection is refused.
    let env2 = Env::new();
    let ca = c.ca_file.clone().unwrap();
    let mut a = args.clone();
    a.extend(["--ca-certs", ca.to_str().unwrap()]);
    ok_secret(&env2, &c, env2.cmd(&a));
    env2.ok(&["node", "list", "--json"]);

    let other = tempfile::tempdir().unwrap();
    let m = dcos_auth::tls::ensure_ca_and_cert(other.path(), &[]).unwrap();
    let wrong = other.path().join("wrong-ca.crt");
    std::fs::write(&wrong, &m.ca_pem).unwrap();
    let env3 = Env::new();
    let mut a = args.clone();
    a.extend(["--ca-certs", wrong.to_str().unwrap()]);
    let e = env3.fails(&a);
    assert!(e.contains("TLS") || e.contains("certificate"), "{e}");
    assert!(!cluster_dir(&env3).exists());
    // A stored config whose pinned CA is replaced by another one stops working.
    std::fs::copy(&wrong, &pinned).unwrap();
    let e = env.fails(&["node", "list", "--json"]);
    assert!(e.contains("TLS") || e.contains("certificate"), "{e}");

    // --ca-certs must be a PEM certificate.
    let junk = other.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let mut a = args.clone();
    a.extend(["--ca-certs", junk.to_str().unwrap()]);
    let e = env3.fails(&a);
    assert!(e.contains("no PEM certificate"), "{e}");
}

#[test]
fn a_service_account_logs_in_with_its_private_key() {
    let c = AuthCluster::start(false);
    let env = Env::new();
    env.ok(&[
        "cluster",
        "setup",
        &c.url,
        "--username",
        "admin",
        "--password-file",
        &c.password_file(),
    ]);
    // Create the service account with the admin's token.
    let (private, public) = dcos_auth::tokens::generate_rsa_pem(2048).unwrap();
    let admin = env.ok(&["config", "show", "core.dcos_acs_token"]);
    let r = reqwest::blocking::Client::new()
        .put(format!("{}/acs/api/v1/users/svc-1", c.url))
        .header("Authorization", format!("token={}", admin.trim()))
        .json(&json!({"description": "a service", "public_key": public}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{:?}", r.text());
    let key = c.tmp.path().join("svc.pem");
    std::fs::write(&key, &private).unwrap();
    let key_s = key.display().to_string();

    let out = env.ok(&[
        "auth",
        "login",
        "--username",
        "svc-1",
        "--private-key",
        &key_s,
    ]);
    assert!(out.contains("Login successful!"), "{out}");
    let token = env.ok(&["config", "show", "core.dcos_acs_token"]);
    assert_ne!(
        token.trim(),
        admin.trim(),
        "a new token for the service account"
    );
    env.ok(&["node", "list", "--json"]);

    // Another key is refused; a file that is no key is named.
    let (other, _) = dcos_auth::tokens::generate_rsa_pem(2048).unwrap();
    let bad = c.tmp.path().join("other.pem");
    std::fs::write(&bad, other).unwrap();
    let e = env.fails(&[
        "auth",
        "login",
        "--username",
        "svc-1",
        "--private-key",
        bad.to_str().unwrap(),
    ]);
    assert!(e.contains("login refused"), "{e}");
    let junk = c.tmp.path().join("junk.pem");
    std::fs::write(&junk, "not a key").unwrap();
    let e = env.fails(&[
        "auth",
        "login",
        "--username",
        "svc-1",
        "--private-key",
        junk.to_str().unwrap(),
    ]);
    assert!(e.contains("not an RSA private key"), "{e}");
}

/// Kills the process (the pty's `script` and the CLI in it) when the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `buf` holds `needle` (or panics after 20 s with what it holds).
fn wait_for(buf: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let text = String::from_utf8_lossy(&buf.lock().unwrap()).into_owned();
        if text.contains(needle) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} in the terminal output: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// On a terminal (a pty from util-linux `script`), setup asks for the username and the
/// password, and the password is not echoed.
#[test]
fn on_a_terminal_setup_prompts_and_never_echoes_the_password() {
    use std::io::Write;
    let c = AuthCluster::start(false);
    let env = Env::new();
    let Some((mut child, out)) = in_pty(&env, &format!("cluster setup {}", c.url)) else {
        return;
    };
    let mut stdin = child.0.stdin.take().unwrap();
    wait_for(&out, "Username");
    stdin.write_all(b"admin\r").unwrap();
    wait_for(&out, "password");
    stdin
        .write_all(format!("{}\r", c.password).as_bytes())
        .unwrap();
    wait_for(&out, "is set up and attached");
    drop(stdin);
    let _ = child.0.wait();
    let text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    assert!(text.contains("Login successful!"), "{text}");
    assert!(
        !text.contains(&c.password),
        "the password was echoed: {text}"
    );
    assert!(toml_of(&env).contains("dcos_acs_token"));
}

/// Runs `dcos ARGS` in a pty (util-linux `script`); returns the child and its growing output.
fn in_pty(
    env: &Env,
    args: &str,
) -> Option<(KillOnDrop, std::sync::Arc<std::sync::Mutex<Vec<u8>>>)> {
    use std::io::Read;
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` is not installed");
        return None;
    }
    let cmdline = format!("{} {args}", env!("CARGO_BIN_EXE_dcos"));
    let mut child = KillOnDrop(
        std::process::Command::new("script")
            .args(["-qec", &cmdline, "/dev/null"])
            .env("DCOS_DIR", env.dcos_dir())
            .env("TERM", "xterm")
            .env_remove("DCOS_URL")
            .env_remove("DCOS_ACS_TOKEN")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut stdout = child.0.stdout.take().unwrap();
    let o2 = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            o2.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    Some((child, out))
}

/// On a terminal, a downloaded CA is shown by its fingerprint and pinned only when confirmed.
#[test]
fn on_a_terminal_the_downloaded_ca_is_confirmed_by_its_fingerprint() {
    use std::io::Write;
    let c = AuthCluster::start(true);
    let fp = c.ca_fingerprint.clone().unwrap();
    let env = Env::new();
    let args = format!(
        "cluster setup {} --username admin --password-file {}",
        c.url,
        c.password_file()
    );
    // Declined: nothing is written.
    let Some((mut child, out)) = in_pty(&env, &args) else {
        return;
    };
    wait_for(&out, "Trust this CA certificate?");
    assert!(String::from_utf8_lossy(&out.lock().unwrap()).contains(&fp));
    child.0.stdin.take().unwrap().write_all(b"n").unwrap();
    wait_for(&out, "was not trusted");
    let _ = child.0.wait();
    assert!(!cluster_dir(&env).exists());
    // Confirmed: pinned and logged in.
    let Some((mut child, out)) = in_pty(&env, &args) else {
        return;
    };
    wait_for(&out, "Trust this CA certificate?");
    let mut stdin = child.0.stdin.take().unwrap();
    stdin.write_all(b"y").unwrap();
    wait_for(&out, "is set up and attached");
    drop(stdin);
    let _ = child.0.wait();
    assert!(cluster_dir(&env).join("dcos_ca.crt").is_file());
    env.ok(&["node", "list", "--json"]);
}

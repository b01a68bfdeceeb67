//! `dcos cluster up` with security on: the CLI logs itself in, the bootstrap admin's password
//! lands only in `<cluster dir>/admin-password` (0600, never in a log), another CLI config logs
//! in with that file, and a stale token makes the CLI say how to log in again.

use dcos_e2e::{dcos_bin, dcosd_bin};
use serde_json::Value;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Up {
    tmp: tempfile::TempDir,
    name: String,
}

impl Up {
    fn dir(&self, which: &str) -> PathBuf {
        self.tmp.path().join(which)
    }

    fn run(&self, dcos_dir: &str, args: &[&str]) -> Output {
        Command::new(dcos_bin())
            .args(args)
            .env("DCOS_DIR", self.dir(dcos_dir))
            .env("DCOSD_BIN", dcosd_bin())
            .env_remove("DCOS_URL")
            .env_remove("DCOS_ACS_TOKEN")
            .stdin(Stdio::null())
            .output()
            .expect("run dcos")
    }

    fn ok(&self, dcos_dir: &str, args: &[&str]) -> String {
        let o = self.run(dcos_dir, args);
        assert!(
            o.status.success(),
            "dcos {args:?}: {:?}\n{}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.run("cli", &["cluster", "down", "--yes", "--name", &self.name]);
        dcos_e2e::kill_processes_under(self.tmp.path());
    }
}

fn free_ports(n: usize) -> Vec<u16> {
    let ls: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn cluster_up_logs_in_and_keeps_the_admin_password_out_of_the_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let cluster = tmp.path().join("cluster");
    let yaml = format!(
        "name: sec-up\ndir: {}\nmaster:\n  listen: 127.0.0.1:{}\nagents:\n  count: 1\n  \
         ports_start: {}\n  ports_per_agent: 20\n  nodes:\n    - listen: 127.0.0.1:{}\n\
         timeouts:\n  startup_secs: 60\n  stop_grace_secs: 5\n",
        cluster.display(),
        ports[0],
        24000 + (std::process::id() % 200) * 20,
        ports[1]
    );
    let cfg = tmp.path().join("config.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let up = Up {
        tmp,
        name: "sec-up".into(),
    };
    let url = format!("http://127.0.0.1:{}", ports[0]);

    let out = up.ok("cli", &["cluster", "up", "--config", cfg.to_str().unwrap()]);
    let pw_file = cluster.join("admin-password");
    assert!(
        out.contains(&pw_file.display().to_string()),
        "says where the password is: {out}"
    );
    assert_eq!(mode(&pw_file), 0o600);
    let pw = std::fs::read_to_string(&pw_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(pw.len() >= 16);
    assert!(!out.contains(&pw), "the password is not printed: {out}");

    // The CLI is logged in.
    let nodes: Value = serde_json::from_str(&up.ok("cli", &["node", "list", "--json"])).unwrap();
    assert_eq!(nodes.as_array().map(Vec::len), Some(1), "{nodes}");
    let list: Value = serde_json::from_str(&up.ok("cli", &["cluster", "list", "--json"])).unwrap();
    assert_eq!(list[0]["status"], "AVAILABLE", "{list}");

    // No log of the cluster holds the password.
    for e in std::fs::read_dir(cluster.join("logs")).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        assert!(
            !text.contains(&pw),
            "{} holds the password",
            e.path().display()
        );
    }

    // A second CLI config logs in with the password file.
    let pwf = pw_file.display().to_string();
    let out = up.ok(
        "other",
        &[
            "cluster",
            "setup",
            &url,
            "--username",
            "admin",
            "--password-file",
            &pwf,
        ],
    );
    assert!(out.contains("Login successful!"), "{out}");
    up.ok("other", &["node", "list", "--json"]);

    // A wrong token: one line saying how to log in again; `dcos auth login` fixes it.
    up.ok(
        "other",
        &["config", "set", "core.dcos_acs_token", "not-a-token"],
    );
    let o = up.run("other", &["node", "list", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("run `dcos auth login`"), "{err}");
    up.ok(
        "other",
        &[
            "auth",
            "login",
            "--username",
            "admin",
            "--password-file",
            &pwf,
        ],
    );
    up.ok("other", &["node", "list", "--json"]);

    // `down` removes the password file with the rest.
    up.ok("cli", &["cluster", "down", "--yes", "--name", "sec-up"]);
    assert!(!pw_file.exists());
}

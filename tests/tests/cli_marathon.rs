//! End to end with the real `dcos` CLI against a local cluster (`dcos cluster up`, free ports,
//! temp dirs): `dcos marathon app add` deploys examples/sleep.json, the app shows in
//! `app list`, its deployment finishes, its task runs, `app update instances=2` scales it,
//! `app remove` removes it; an invalid app gives exit 1 and one line naming the problem.

use dcos_e2e::{dcos_bin, dcosd_bin, wait_until};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Distinct free ports (all bound at once, then released).
fn free_ports(n: usize) -> Vec<u16> {
    let ls: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

struct LocalCluster {
    tmp: tempfile::TempDir,
    name: String,
    config: PathBuf,
    url: String,
}

impl LocalCluster {
    fn new(name: &str, agents: usize) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let ports = free_ports(agents + 1);
        let mut yaml = format!(
            "name: {name}\ndir: {}\nmaster:\n  listen: 127.0.0.1:{}\nagents:\n  count: {agents}\n  \
             ports_start: {}\n  ports_per_agent: 50\n  nodes:\n",
            tmp.path().join("cluster").display(),
            ports[0],
            20000 + (std::process::id() % 200) * 100,
        );
        for (i, p) in ports[1..].iter().enumerate() {
            yaml.push_str(&format!(
                "    - listen: 127.0.0.1:{p}\n      attributes: region:e2e;zone:z-{i}\n"
            ));
        }
        yaml.push_str("timeouts:\n  startup_secs: 60\n  stop_grace_secs: 5\n");
        let config = tmp.path().join("config.yaml");
        std::fs::write(&config, yaml).unwrap();
        Self {
            name: name.into(),
            config,
            url: format!("http://127.0.0.1:{}", ports[0]),
            tmp,
        }
    }

    fn dcos_dir(&self) -> PathBuf {
        self.tmp.path().join("dcos")
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new(dcos_bin())
            .args(args)
            .env("DCOS_DIR", self.dcos_dir())
            .env("DCOSD_BIN", dcosd_bin())
            .env_remove("DCOS_URL")
            .env_remove("DCOS_ACS_TOKEN")
            .stdin(Stdio::null())
            .output()
            .expect("run dcos")
    }

    fn show(&self, args: &[&str], o: &Output) -> String {
        format!(
            "dcos {args:?} exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- temp dir {}\n--- logs\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            self.tmp.path().display(),
            self.logs()
        )
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        if let Ok(rd) = std::fs::read_dir(self.tmp.path().join("cluster/logs")) {
            for e in rd.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                s.push_str(&format!("== {}\n", e.path().display()));
                for l in tail.into_iter().rev() {
                    s.push_str(l);
                    s.push('\n');
                }
            }
        }
        s
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert!(o.status.success(), "{}", self.show(args, &o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn record(&self) -> Value {
        let p = self
            .dcos_dir()
            .join("local")
            .join(&self.name)
            .join("cluster.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_default()).unwrap_or(Value::Null)
    }

    /// Pids (with start times) the CLI recorded for the master and agents.
    fn recorded_pids(&self) -> Vec<(i32, u64)> {
        let r = self.record();
        let mut out = Vec::new();
        for p in r["agents"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(std::iter::once(&r["master"]))
        {
            if let (Some(pid), Some(st)) = (p["pid"].as_i64(), p["start_time"].as_u64()) {
                out.push((pid as i32, st));
            }
        }
        out
    }
}

impl Drop for LocalCluster {
    /// Whatever happened, nothing started by the test survives it.
    fn drop(&mut self) {
        let pids = self.recorded_pids();
        let _ = self.cmd(&["cluster", "down", "--yes", "--name", &self.name]);
        for (pid, st) in pids {
            if alive(pid, st) {
                // SAFETY: kill(2) on a pid verified by its start time.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        dcos_e2e::kill_processes_under(self.tmp.path());
    }
}

/// Fields of /proc/<pid>/stat after the command name: (state, start time).
fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.first()?.chars().next()?, f.get(19)?.parse().ok()?))
}

/// Alive and not a zombie (an exited process waiting for its reaper is gone for us).
fn alive(pid: i32, start_time: u64) -> bool {
    matches!(proc_stat(pid), Some((s, st)) if st == start_time && s != 'Z' && s != 'X')
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn marathon_app_lifecycle_through_the_cli() {
    let c = LocalCluster::new("e2e-marathon", 1);
    let cfg = c.config.to_str().unwrap().to_string();
    let out = c.ok(&["cluster", "up", "--config", &cfg]);
    assert!(out.contains(&format!("Entry point: {}", c.url)), "{out}");

    let pong = c.ok(&["marathon", "ping"]);
    assert!(pong.contains("pong"), "{pong}");
    let about = json(&c.ok(&["marathon", "about"]));
    assert!(about.is_object(), "{about}");

    let sleep = examples().join("sleep.json");
    let out = c.ok(&["marathon", "app", "add", sleep.to_str().unwrap()]);
    assert!(out.contains("Created app /sleep"), "{out}");
    assert!(out.contains("Created deployment "), "{out}");

    let list = c.ok(&["marathon", "app", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("CMD"),
        "{list}"
    );
    assert!(lines.iter().any(|l| l.starts_with("/sleep ")), "{list}");

    wait_until(Duration::from_secs(60), "the deployment to finish", || {
        let deps = json(&c.ok(&["marathon", "deployment", "list", "--json"]));
        deps.as_array().is_some_and(|d| d.is_empty()).then_some(())
    });
    let out = c.ok(&["marathon", "deployment", "list"]);
    assert!(out.contains("There are no deployments"), "{out}");

    let task = wait_until(Duration::from_secs(60), "a running task", || {
        let out = c.ok(&["marathon", "task", "list", "/sleep"]);
        out.lines()
            .find(|l| l.starts_with("/sleep") && l.contains("TASK_RUNNING"))
            .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
    });
    let shown = json(&c.ok(&["marathon", "task", "show", &task]));
    assert_eq!(shown["appId"], "/sleep", "{shown}");

    let out = c.ok(&[
        "marathon",
        "app",
        "update",
        "/sleep",
        "instances=2",
        "--wait",
    ]);
    assert!(out.contains("has finished"), "{out}");
    let app = json(&c.ok(&["marathon", "app", "show", "/sleep"]));
    assert_eq!(app["instances"], 2, "{app}");
    let tasks = json(&c.ok(&["marathon", "task", "list", "--json"]));
    assert_eq!(tasks.as_array().map(Vec::len), Some(2), "{tasks}");
    let versions = json(&c.ok(&["marathon", "app", "version", "list", "/sleep"]));
    assert!(
        versions.as_array().is_some_and(|v| v.len() >= 2),
        "{versions}"
    );

    c.ok(&["marathon", "app", "remove", "/sleep"]);
    wait_until(Duration::from_secs(60), "the app to be gone", || {
        let apps = json(&c.ok(&["marathon", "app", "list", "--json"]));
        apps.as_array().is_some_and(|a| a.is_empty()).then_some(())
    });

    // An unknown app and an invalid definition: exit 1, one line, nothing deployed.
    let o = c.cmd(&["marathon", "app", "show", "/nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", c.show(&[], &o));
    let bad = c.tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"id": "/bad", "cmd": "sleep 1", "cpus": -1, "instances": -2}"#,
    )
    .unwrap();
    let args = ["marathon", "app", "add", bad.to_str().unwrap()];
    let o = c.cmd(&args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{}", c.show(&args, &o));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("dcos: ") && err.contains("/cpus"), "{err}");
    let notjson = c.tmp.path().join("notjson.json");
    std::fs::write(&notjson, "{ nope").unwrap();
    let o = c.cmd(&["marathon", "app", "add", notjson.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not valid JSON"), "{err}");
    let apps = json(&c.ok(&["marathon", "app", "list", "--json"]));
    assert_eq!(apps, Value::Array(vec![]), "nothing deployed");
}

#[test]
fn marathon_restart_stop_start_kill_and_deployments() {
    let c = LocalCluster::new("e2e-marathon-ops", 1);
    let cfg = c.config.to_str().unwrap().to_string();
    c.ok(&["cluster", "up", "--config", &cfg]);
    let sleep = examples().join("sleep.json");
    let out = c.ok(&["marathon", "app", "add", sleep.to_str().unwrap(), "--wait"]);
    assert!(out.contains("has finished"), "{out}");
    let running = |n: usize| {
        wait_until(
            Duration::from_secs(60),
            &format!("{n} running tasks"),
            || {
                let t = json(&c.ok(&["marathon", "task", "list", "--json"]));
                let ids: Vec<String> = t
                    .as_array()?
                    .iter()
                    .filter(|t| t["state"] == "TASK_RUNNING")
                    .filter_map(|t| t["id"].as_str().map(str::to_string))
                    .collect();
                (ids.len() == n).then_some(ids)
            },
        )
    };
    let first = running(1);

    // restart replaces the task; deployment watch follows the restart to its end.
    let out = c.ok(&["marathon", "app", "restart", "sleep"]);
    let dep = out.trim().rsplit(' ').next().unwrap_or("").to_string();
    assert!(!dep.is_empty(), "{out}");
    let out = c.ok(&["marathon", "deployment", "watch", &dep]);
    assert!(out.contains("has finished"), "{out}");
    let second = running(1);
    assert_ne!(first, second, "restart replaced the task");

    // task kill: the app starts a replacement; with --scale it does not.
    let out = c.ok(&["marathon", "task", "kill", &second[0]]);
    assert!(out.contains("Killed") && out.contains(&second[0]), "{out}");
    let third = wait_until(Duration::from_secs(60), "a replacement", || {
        let ids = running(1);
        (ids != second).then_some(ids)
    });
    let out = c.ok(&["marathon", "task", "stop", &third[0]]);
    assert!(out.contains(&third[0]), "{out}");

    // stop scales to 0, start scales back, start again is refused.
    c.ok(&["marathon", "app", "stop", "/sleep"]);
    running(0);
    c.ok(&["marathon", "app", "start", "/sleep", "2"]);
    running(2);
    let o = c.cmd(&["marathon", "app", "start", "/sleep"]);
    assert_eq!(o.status.code(), Some(1), "{}", c.show(&[], &o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already started"));

    // app kill --scale leaves no task and instances 0.
    let out = c.ok(&["marathon", "app", "kill", "/sleep", "--scale"]);
    assert!(
        out.contains("Created deployment") || out.contains("Killed"),
        "{out}"
    );
    running(0);
    let app = json(&c.ok(&["marathon", "app", "show", "/sleep"]));
    assert_eq!(app["instances"], 0, "{app}");

    let o = c.cmd(&["marathon", "deployment", "rollback", "no-such-deployment"]);
    assert_eq!(o.status.code(), Some(1), "{}", c.show(&[], &o));
}

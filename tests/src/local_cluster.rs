//! A local cluster started by the real CLI (`dcos cluster up --config` with free ports in a temp
//! dir, its own DCOS_DIR), for end-to-end tests of CLI commands; dropping it runs
//! `dcos cluster down` and kills whatever it recorded, so nothing survives a failed test.

use crate::{dcos_bin, dcosd_bin};
use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
/// Distinct free ports (all bound at once, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let ls: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

pub struct LocalCluster {
    pub tmp: tempfile::TempDir,
    pub name: String,
    pub config: PathBuf,
    pub url: String,
}

impl LocalCluster {
    pub fn new(name: &str, agents: usize) -> Self {
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

    pub fn dcos_dir(&self) -> PathBuf {
        self.tmp.path().join("dcos")
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
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

    pub fn show(&self, args: &[&str], o: &Output) -> String {
        format!(
            "dcos {args:?} exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- temp dir {}\n--- logs\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            self.tmp.path().display(),
            self.logs()
        )
    }

    pub fn logs(&self) -> String {
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

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert!(o.status.success(), "{}", self.show(args, &o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn record(&self) -> Value {
        let p = self
            .dcos_dir()
            .join("local")
            .join(&self.name)
            .join("cluster.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_default()).unwrap_or(Value::Null)
    }

    /// Pids (with start times) the CLI recorded for the master and agents.
    pub fn recorded_pids(&self) -> Vec<(i32, u64)> {
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
        crate::kill_processes_under(self.tmp.path());
    }
}

/// Fields of /proc/<pid>/stat after the command name: (state, start time).
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.first()?.chars().next()?, f.get(19)?.parse().ok()?))
}

/// Alive and not a zombie (an exited process waiting for its reaper is gone for us).
pub fn alive(pid: i32, start_time: u64) -> bool {
    matches!(proc_stat(pid), Some((s, st)) if st == start_time && s != 'Z' && s != 'X')
}

//! Harness for end-to-end tests: locate the built binaries, make temp dirs, start real
//! `dcosd` processes and stop them (also when a test fails).
//!
//! Every process is started in its own process group and killed with its group when its guard
//! drops; agents' leftover task processes (anything whose command line names the agent's work
//! dir) are killed too. When a test panics, the guards print the processes' logs to stderr.
//!
//! Authentication is on: [`MasterProc::start`] reads the bootstrap admin's password from the
//! master's stdout (`created user 'admin' with password PW ...`), and [`Cluster`] logs in as
//! admin so its `http` client sends `Authorization: token=<token>` on every request. A master
//! started with `--tls` is reached over https trusting its CA (`<data dir>/tls/ca.crt`).

pub mod local_cluster;

use reqwest::blocking::Client;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Finds a binary: `$ENV` if set, else next to the test executable (`target/<profile>/NAME`).
fn find_bin(env: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test-exe> -> target/<profile>/<name>
    let mut candidates = Vec::new();
    if let Some(deps) = exe.parent() {
        candidates.push(deps.join(name));
        if let Some(profile) = deps.parent() {
            candidates.push(profile.join(name));
        }
    }
    for c in &candidates {
        if c.is_file() {
            return c.clone();
        }
    }
    panic!(
        "{name} binary not found (looked at {candidates:?}); run `cargo build --workspace` first \
         or set {env}"
    );
}

/// The `dcosd` binary (env DCOSD_BIN overrides).
pub fn dcosd_bin() -> PathBuf {
    find_bin("DCOSD_BIN", "dcosd")
}

/// The `dcos` CLI binary (env DCOS_BIN overrides).
pub fn dcos_bin() -> PathBuf {
    find_bin("DCOS_BIN", "dcos")
}

/// Polls `f` until it returns Some, or panics after `timeout` naming `what`.
pub fn wait_until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read_file(p: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(p) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

/// A child process in its own process group, killed (with its group) on drop.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// Extra directory whose processes are killed on drop (an agent's work dir).
    pub owned_dir: Option<PathBuf>,
}

impl Proc {
    /// Spawns `cmd` with stdout/stderr to the given files.
    pub fn spawn(name: &str, mut cmd: Command, stdout: PathBuf, stderr: PathBuf) -> Proc {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(&stdout).expect("create stdout log");
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr)
            .expect("create stderr log");
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .env(
                "DCOS_LOG",
                std::env::var("DCOS_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1")
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            name: name.to_string(),
            child: Some(child),
            stdout,
            stderr,
            owned_dir: None,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    pub fn signal(&self, sig: i32) {
        let pid = self.pid();
        if pid > 0 {
            // SAFETY: kill(2) on a pid we started.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL to the process and its group, then reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id() as i32;
            // SAFETY: kill(2) on the process group we created.
            unsafe {
                libc::kill(-pid, libc::SIGCONT);
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
            let _ = c.wait();
        }
    }

    pub fn logs(&self) -> String {
        format!(
            "----- {} stdout ({}) -----\n{}\n----- {} stderr ({}) -----\n{}",
            self.name,
            self.stdout.display(),
            read_file(&self.stdout),
            self.name,
            self.stderr.display(),
            read_file(&self.stderr)
        )
    }
}

/// Kills every process whose command line mentions `dir` (task supervisors of an agent).
pub fn kill_processes_under(dir: &Path) {
    let needle = dir.display().to_string();
    if needle.len() < 8 {
        return;
    }
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return;
    };
    let me = std::process::id() as i32;
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cwd = std::fs::read_link(e.path().join("cwd")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(&needle) || cwd.starts_with(dir) {
            // SAFETY: kill(2) on a process started for this test's own temp dir.
            unsafe {
                libc::kill(pid, libc::SIGCONT);
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        self.kill9();
        if let Some(d) = &self.owned_dir {
            kill_processes_under(d);
        }
    }
}

/// A running master.
pub struct MasterProc {
    pub proc: Proc,
    pub url: String,
    /// The bootstrap admin's password, printed on the master's first start.
    pub admin_password: Option<String>,
    pub data_dir: PathBuf,
    pub extra_args: Vec<String>,
    pub listen: String,
}

impl MasterProc {
    /// Starts `dcosd master --data-dir D --listen ADDR EXTRA...` and waits for its URL line.
    pub fn start(data_dir: &Path, listen: &str, extra_args: &[String]) -> MasterProc {
        std::fs::create_dir_all(data_dir).expect("create master data dir");
        let mut cmd = Command::new(dcosd_bin());
        cmd.arg("master")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(listen)
            .args(extra_args);
        let proc = Proc::spawn(
            "master",
            cmd,
            data_dir.join("master.stdout"),
            data_dir.join("master.log"),
        );
        let mut m = MasterProc {
            proc,
            url: String::new(),
            admin_password: None,
            data_dir: data_dir.to_path_buf(),
            extra_args: extra_args.to_vec(),
            listen: listen.to_string(),
        };
        let stdout = m.proc.stdout.clone();
        let url = wait_until(Duration::from_secs(30), "the master's URL line", || {
            if !m.proc.is_running() {
                panic!("the master exited early:\n{}", m.proc.logs());
            }
            read_file(&stdout)
                .lines()
                .find_map(|l| l.strip_prefix("dcosd master listening on "))
                .map(|u| u.trim().to_string())
        });
        m.url = url;
        // Printed before the URL line, on the first start only.
        m.admin_password = bootstrap_password(&read_file(&stdout));
        m
    }

    /// The master's CA certificate when it serves https (`--tls`).
    pub fn ca_file(&self) -> Option<PathBuf> {
        let f = self.data_dir.join("tls").join("ca.crt");
        (self.url.starts_with("https://") && f.is_file()).then_some(f)
    }

    /// A client for this master (trusting its CA when it serves https), without a token.
    pub fn client(&self) -> Client {
        client_for(self.ca_file().as_deref(), None)
    }

    /// Logs in as the bootstrap admin; panics (with the master's logs) when that fails.
    pub fn login(&self) -> String {
        let pw = self
            .admin_password
            .clone()
            .unwrap_or_else(|| panic!("no bootstrap password was printed\n{}", self.proc.logs()));
        login_with(&self.client(), &self.url, "admin", &pw)
            .unwrap_or_else(|e| panic!("login as admin: {e}\n{}", self.proc.logs()))
    }

    /// `kill -9` of the master (and its group).
    pub fn kill9(&mut self) {
        self.proc.kill9();
    }

    /// Starts the master again on the same data dir and the same address.
    pub fn restart(&mut self) {
        self.proc.kill9();
        let listen = self
            .url
            .strip_prefix("http://")
            .or_else(|| self.url.strip_prefix("https://"))
            .unwrap_or(&self.listen)
            .to_string();
        let mut new = MasterProc::start(&self.data_dir, &listen, &self.extra_args);
        // The password is printed once only; keep the one of the first start.
        if new.admin_password.is_none() {
            new.admin_password = self.admin_password.take();
        }
        *self = new;
    }

    pub fn join_token(&self) -> String {
        read_file(&self.data_dir.join("join-token"))
            .trim()
            .to_string()
    }
}

/// The password of the master's one-time line `created user 'admin' with password PW ...`.
pub fn bootstrap_password(stdout: &str) -> Option<String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("created user 'admin' with password "))?;
    let pw = line
        .strip_prefix("created user 'admin' with password ")?
        .split_whitespace()
        .next()?;
    Some(pw.to_string())
}

/// A blocking client with a 20 s timeout, trusting only `ca` when given, sending
/// `Authorization: token=<token>` when given.
pub fn client_for(ca: Option<&Path>, token: Option<&str>) -> Client {
    let mut b = Client::builder().timeout(Duration::from_secs(20));
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).expect("read the master's CA");
        b = b
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("a PEM CA"));
    }
    if let Some(t) = token {
        let mut h = reqwest::header::HeaderMap::new();
        let mut v = reqwest::header::HeaderValue::from_str(&format!("token={t}"))
            .expect("a token is header-safe");
        v.set_sensitive(true);
        h.insert(reqwest::header::AUTHORIZATION, v);
        b = b.default_headers(h);
    }
    b.build().expect("http client")
}

/// `POST /acs/api/v1/auth/login {uid, password}` with `client`; the token, or why not.
pub fn login_with(client: &Client, url: &str, uid: &str, password: &str) -> Result<String, String> {
    let r = client
        .post(format!("{url}/acs/api/v1/auth/login"))
        .json(&serde_json::json!({ "uid": uid, "password": password }))
        .send()
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let v: Value = r.json().unwrap_or(Value::Null);
    match v["token"].as_str() {
        Some(t) if status.is_success() => Ok(t.to_string()),
        _ => Err(format!("{status}: {v}")),
    }
}

/// [`login_with`] over plain http (or https trusted by the system).
pub fn login(url: &str, uid: &str, password: &str) -> Result<String, String> {
    login_with(&client_for(None, None), url, uid, password)
}

/// A running agent.
pub struct AgentProc {
    /// The agent's --cgroups-root (relative to this test process's cgroup), removed on drop.
    pub cgroup: Option<String>,
    pub proc: Proc,
    pub work_dir: PathBuf,
    pub args: Vec<String>,
}

impl AgentProc {
    /// Starts `dcosd agent` with its own work dir; `extra` adds flags such as --resources.
    pub fn start(master: &MasterProc, work_dir: &Path, extra: &[String]) -> AgentProc {
        std::fs::create_dir_all(work_dir).expect("create agent work dir");
        let mut args = vec![
            "agent".to_string(),
            "--master".into(),
            master.url.clone(),
            "--work-dir".into(),
            work_dir.display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--join-token-file".into(),
            master.data_dir.join("join-token").display().to_string(),
        ];
        if let Some(ca) = master.ca_file() {
            args.push("--master-ca".into());
            args.push(ca.display().to_string());
        }
        if !extra.iter().any(|a| a == "--cgroups-root") {
            args.push("--cgroups-root".into());
            args.push(unique_cgroup_name());
        }
        args.extend(extra.iter().cloned());
        Self::spawn(work_dir, args)
    }

    fn spawn(work_dir: &Path, args: Vec<String>) -> AgentProc {
        let mut cmd = Command::new(dcosd_bin());
        cmd.args(&args);
        let name = format!("agent {}", work_dir.display());
        let mut proc = Proc::spawn(
            &name,
            cmd,
            work_dir.join("agent.stdout"),
            work_dir.join("agent.log"),
        );
        proc.owned_dir = Some(work_dir.to_path_buf());
        let cgroup = args
            .iter()
            .position(|a| a == "--cgroups-root")
            .and_then(|i| args.get(i + 1))
            .cloned();
        AgentProc {
            cgroup,
            proc,
            work_dir: work_dir.to_path_buf(),
            args,
        }
    }

    /// `kill -9` of the agent and a start with the same flags and work dir (it keeps its agent
    /// id; its tasks' supervisors live on and are recovered).
    pub fn restart(&mut self) {
        // The new process takes over the cgroup and the running tasks: the old guard must not
        // clean them up.
        self.cgroup = None;
        self.proc.owned_dir = None;
        self.proc.kill9();
        let new = AgentProc::spawn(&self.work_dir, self.args.clone());
        *self = new;
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        self.proc.kill9();
        if let Some(d) = &self.proc.owned_dir {
            kill_processes_under(d);
        }
        if let Some(name) = &self.cgroup {
            remove_cgroups(name);
        }
    }
}

/// A cgroup name no other test process uses.
pub fn unique_cgroup_name() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "dcos-e2e-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Removes the cgroup `name` (relative to this process's cgroups) and everything under it, in
/// every hierarchy, best effort (processes in it must be dead already).
pub fn remove_cgroups(name: &str) {
    if name.is_empty() || name.contains("..") {
        return;
    }
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => continue,
        };
        let mount = if ctrls.is_empty() {
            if Path::new("/sys/fs/cgroup/unified").is_dir() {
                PathBuf::from("/sys/fs/cgroup/unified")
            } else {
                PathBuf::from("/sys/fs/cgroup")
            }
        } else {
            let first = ctrls
                .split(',')
                .find(|c| !c.starts_with("name="))
                .unwrap_or(ctrls);
            let p = PathBuf::from("/sys/fs/cgroup").join(ctrls);
            if p.is_dir() {
                p
            } else {
                PathBuf::from("/sys/fs/cgroup").join(first)
            }
        };
        let base = if name.starts_with('/') {
            mount.join(name.trim_start_matches('/'))
        } else {
            mount.join(path.trim_start_matches('/')).join(name)
        };
        rmdir_tree(&base, 0);
    }
}

fn rmdir_tree(dir: &Path, depth: u32) {
    if depth > 8 || !dir.is_dir() {
        return;
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                rmdir_tree(&e.path(), depth + 1);
            }
        }
    }
    for _ in 0..20 {
        if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A whole local cluster in a temp dir: one master, N agents.
pub struct Cluster {
    // Field order = drop order: agents first, then the master, then the temp dir.
    pub agents: Vec<AgentProc>,
    pub master: MasterProc,
    /// Sends the admin's token on every request.
    pub http: Client,
    /// The admin's token (`Authorization: token=<token>`).
    pub token: String,
    pub dir: tempfile::TempDir,
}

/// Agent flags for agent number `i`: 2 cpus, 1 GiB, a distinct 100-port range, rack attribute.
pub fn agent_flags(i: usize) -> Vec<String> {
    let base = 31000 + (i as u32) * 100;
    vec![
        "--resources".into(),
        format!("cpus:2;mem:1024;disk:1024;ports:[{base}-{}]", base + 99),
        "--attributes".into(),
        format!("rack:r{i}"),
    ]
}

impl Cluster {
    /// Starts a master with `master_args` (timeouts ...) and `agents` agents, and waits until
    /// all agents are registered.
    pub fn start(agents: usize, master_args: &[&str]) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("dcos-e2e-")
            .tempdir()
            .expect("temp dir");
        let args: Vec<String> = master_args.iter().map(|s| s.to_string()).collect();
        let master = MasterProc::start(&dir.path().join("master"), "127.0.0.1:0", &args);
        let token = master.login();
        let http = client_for(master.ca_file().as_deref(), Some(&token));
        let mut c = Cluster {
            agents: Vec::new(),
            master,
            http,
            token,
            dir,
        };
        for i in 0..agents {
            c.add_agent(&agent_flags(i));
        }
        c.wait_agents(agents);
        c
    }

    /// Starts one more agent with the given flags (not waiting for registration).
    pub fn add_agent(&mut self, flags: &[String]) -> usize {
        let i = self.agents.len();
        let wd = self.dir.path().join(format!("agent{i}"));
        self.agents.push(AgentProc::start(&self.master, &wd, flags));
        i
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.master.url, path)
    }

    /// GET a JSON document; panics on transport errors, returns (status, body).
    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let s = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        (
            s,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Sends `body` (raw text) with the given method and JSON content type.
    pub fn send(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = self
            .http
            .request(m, self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let s = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        (
            s,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send("POST", path, &body.to_string())
    }

    /// `/mesos/master/state.json`.
    pub fn state(&self) -> Value {
        let (s, v) = self.get("/mesos/master/state.json");
        assert_eq!(s, 200, "state.json: {v}");
        v
    }

    /// Ids of the active agents in state.json.
    pub fn active_agents(&self) -> Vec<String> {
        self.state()["slaves"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|s| s["active"] == Value::Bool(true))
                    .filter_map(|s| s["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until `n` agents are active.
    pub fn wait_agents(&mut self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ids = match self.http.get(self.url("/mesos/master/state.json")).send() {
                Ok(_) => self.active_agents(),
                Err(_) => Vec::new(),
            };
            if ids.len() >= n {
                return ids;
            }
            for a in &mut self.agents {
                if !a.proc.is_running() {
                    panic!("an agent exited:\n{}", a.proc.logs());
                }
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {n} agents to register (have {ids:?})");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Launches a task through the operator API; returns its JSON (201 expected).
    pub fn launch(&self, body: &Value) -> Value {
        let (s, v) = self.post_json("/internal/v1/tasks", body);
        assert_eq!(s, 201, "launch {body}: {v}");
        v
    }

    /// The task's current JSON from the operator API.
    pub fn task(&self, id: &str) -> Value {
        let (s, v) = self.get(&format!("/internal/v1/tasks/{id}"));
        assert_eq!(s, 200, "task {id}: {v}");
        v
    }

    /// Waits until the task is in `state` (e.g. "TASK_RUNNING"); returns its JSON.
    pub fn wait_task_state(&self, id: &str, state: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.task(id);
            if last["state"] == state {
                return last;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for task {id} to be {state}; last: {last}"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The task as it appears in state.json (searching tasks, unreachable and completed).
    pub fn state_task(&self, id: &str) -> Option<Value> {
        let st = self.state();
        for f in st["frameworks"].as_array()? {
            for key in ["tasks", "unreachable_tasks", "completed_tasks"] {
                if let Some(t) = f[key]
                    .as_array()
                    .and_then(|ts| ts.iter().find(|t| t["id"] == id))
                {
                    return Some(t.clone());
                }
            }
        }
        None
    }

    /// Prints every process's logs (call before a failing assertion for context).
    pub fn dump_logs(&self) {
        eprintln!("{}", self.master.proc.logs());
        for a in &self.agents {
            eprintln!("{}", a.proc.logs());
        }
    }
}

//! Local clusters: `dcos cluster up` starts a master and N agents of `dcosd` on this machine as
//! background processes described by one `config.yaml` (see [`spec`]), waits until every agent
//! is registered, and attaches the CLI to it; `dcos cluster down` stops them all and removes
//! their state. Each cluster is recorded in `<DCOS_DIR>/local/<name>/cluster.json` (pids with
//! start times, logs, the folders it created).

pub mod procs;
pub mod spec;

#[cfg(test)]
mod tests;

use std::fs;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{ConfigError, DcosDir, SslVerify, Target};
use crate::http::{Client, HttpError};
use crate::progress::Progress;
use crate::setup::{SetupError, SetupOptions};
use procs::ProcRecord;
use spec::{ClusterSpec, Plan, SpecError};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("config.yaml: {0}")]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the cluster started but the CLI could not be attached: {0}")]
    Setup(#[from] SetupError),
    #[error("cannot find the `dcosd` binary (looked in DCOSD_BIN, next to {exe} and on PATH); build it with `cargo build -p dcos-server` or set DCOSD_BIN to its path")]
    NoDcosd { exe: String },
    #[error("{addr} ({what}) is already in use; stop what listens there or set {field} in a config.yaml (`dcos cluster up --config FILE`)")]
    PortInUse {
        addr: SocketAddr,
        what: String,
        field: String,
    },
    #[error("cannot listen on {addr} ({what}): {source}; choose another address with {field} in config.yaml")]
    Bind {
        addr: SocketAddr,
        what: String,
        field: String,
        source: std::io::Error,
    },
    #[error("cannot start {what} ({program}): {source}")]
    Spawn {
        what: String,
        program: String,
        source: std::io::Error,
    },
    #[error("{what} exited during startup: {tail}; full log: {log}")]
    Exited {
        what: String,
        tail: String,
        log: String,
    },
    #[error("{what} within {secs} s; see the logs in {logs}, or raise timeouts.startup_secs in config.yaml")]
    StartTimeout {
        what: String,
        secs: u64,
        logs: String,
    },
    #[error("local cluster `{name}` is only partly running; run `dcos cluster down --name {name} --keep-data` and then `dcos cluster up` again")]
    PartlyRunning { name: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged ({message}); stop its processes by hand and remove the folder")]
    StateFile { path: PathBuf, message: String },
    #[error("there is no local cluster named `{0}`; `dcos cluster up --name {0}` starts one")]
    NotFound(String),
    #[error("there is no local cluster to stop; `dcos cluster up` starts one")]
    NoneExists,
    #[error("several local clusters exist ({0}); choose one with --name")]
    Several(String),
    #[error("processes {0} did not stop even after SIGKILL; check them with `ps`")]
    StillAlive(String),
    #[error("the master requires a login and no bootstrap admin password was found in {log} or the cluster folder's admin-password file; log in with `dcos auth login` or set core.dcos_acs_token")]
    NoCredentials { log: String },
    #[error("stopping `{0}` was not confirmed; nothing changed (pass --yes to skip the question)")]
    NotConfirmed(String),
}

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> LocalError + 'a {
    move |source| LocalError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The record of one local cluster, rewritten after every process it starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub name: String,
    pub dir: PathBuf,
    pub url: String,
    pub cluster_id: Option<String>,
    pub master: Option<ProcRecord>,
    pub agents: Vec<ProcRecord>,
    /// Folders `dcos cluster up` created (and so `down` may remove), never pre-existing ones.
    pub created_dirs: Vec<PathBuf>,
    pub stop_grace_secs: u64,
    /// `IP:PORT` each agent listens on, in the order of `agents`.
    #[serde(default)]
    pub agent_listen: Vec<String>,
    /// Each agent's work dir (sandboxes), in the order of `agents`.
    #[serde(default)]
    pub agent_work_dirs: Vec<PathBuf>,
    /// The CLI's token for this cluster when the master requires authentication (the record
    /// is 0600 in a 0700 folder, like dcos.toml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl State {
    pub fn load(path: &Path) -> Result<Option<Self>, LocalError> {
        match fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| LocalError::StateFile {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("read", path)(e)),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), LocalError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        crate::config::write_private_file(path, text.as_bytes())?;
        Ok(())
    }

    /// Folders whose appearance in a `dcosd` command line marks a process of this cluster
    /// (e.g. `dcosd supervise --spec <agent work dir>/...`, which outlives its agent).
    pub fn markers(&self) -> Vec<String> {
        let mut m: Vec<String> = self
            .created_dirs
            .iter()
            .chain(&self.agent_work_dirs)
            .map(|d| d.display().to_string())
            .collect();
        m.retain(|d| d.len() > 1);
        m
    }

    /// Agents first, then the master: the order they are stopped in.
    pub fn procs(&self) -> Vec<&ProcRecord> {
        self.agents.iter().chain(self.master.iter()).collect()
    }
}

fn registry(dir: &DcosDir, name: &str) -> PathBuf {
    dir.local_dir().join(name).join("cluster.json")
}

/// The URL clients use for a listen address (an unspecified IP means this host).
pub fn url_for(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        match addr.ip() {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        }
    };
    format!("http://{ip}:{}", addr.port())
}

/// Finds `dcosd`: DCOSD_BIN, then next to this executable, then on PATH.
pub fn find_dcosd() -> Result<PathBuf, LocalError> {
    let is_exe = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if let Some(p) = std::env::var_os("DCOSD_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if is_exe(&p) {
            return Ok(p);
        }
    }
    let exe = std::env::current_exe().ok();
    if let Some(dir) = exe.as_ref().and_then(|e| e.parent()) {
        let p = dir.join("dcosd");
        if is_exe(&p) {
            return Ok(p);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let p = d.join("dcosd");
            if is_exe(&p) {
                return Ok(p);
            }
        }
    }
    Err(LocalError::NoDcosd {
        exe: exe
            .map(|e| e.display().to_string())
            .unwrap_or_else(|| "dcos".into()),
    })
}

fn check_free(addr: SocketAddr, what: &str, field: &str) -> Result<(), LocalError> {
    match TcpListener::bind(addr) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AddrInUse => Err(LocalError::PortInUse {
            addr,
            what: what.into(),
            field: field.into(),
        }),
        Err(source) => Err(LocalError::Bind {
            addr,
            what: what.into(),
            field: field.into(),
            source,
        }),
    }
}

/// The log file of the local cluster's agent listening on `port`, when `url` is the entry
/// point of a local cluster of this machine.
pub fn local_agent_log(url: &str, port: u16) -> Option<PathBuf> {
    let dir = DcosDir::from_env().ok()?;
    for e in fs::read_dir(dir.local_dir()).ok()?.flatten() {
        let Ok(Some(s)) = State::load(&e.path().join("cluster.json")) else {
            continue;
        };
        if s.url != url.trim_end_matches('/') {
            continue;
        }
        let i = s
            .agent_listen
            .iter()
            .position(|l| l.parse::<SocketAddr>().is_ok_and(|a| a.port() == port))?;
        return s.agents.get(i).map(|a| a.log.clone());
    }
    None
}

/// Options of `dcos cluster up`.
pub struct UpOptions {
    pub config: Option<PathBuf>,
    pub agents: Option<u32>,
    pub name: Option<String>,
}

/// What `up` did.
pub struct UpOutcome {
    pub name: String,
    pub url: String,
    pub agents: usize,
    pub dir: PathBuf,
    pub already_running: bool,
    /// The file holding the bootstrap admin's password, when the cluster requires a login.
    pub admin_password: Option<PathBuf>,
}

pub fn load_spec(config: Option<&Path>) -> Result<ClusterSpec, LocalError> {
    Ok(match config {
        Some(p) => ClusterSpec::load(p)?,
        None => ClusterSpec::default(),
    })
}

pub fn up(opts: UpOptions) -> Result<UpOutcome, LocalError> {
    let dcos_dir = DcosDir::from_env()?;
    let mut spec = load_spec(opts.config.as_deref())?;
    if let Some(n) = opts.name {
        spec.name = Some(n);
    }
    if let Some(a) = opts.agents {
        spec.agents.count = Some(a);
    }
    let plan = spec.plan(&dcos_dir.local_dir())?;
    let reg = registry(&dcos_dir, &plan.name);
    let prev = State::load(&reg)?;
    let progress = Progress::new();

    if let Some(prev) = &prev {
        let procs = prev.procs();
        let alive = procs.iter().filter(|p| p.alive()).count();
        if alive > 0 && alive == procs.len() {
            // Already up: make sure the CLI points at it, and say so.
            let mut prev = prev.clone();
            let master_log = prev.dir.join("logs").join("master.log");
            authed_slaves(&mut prev, &master_log)?;
            attach_cli(&dcos_dir, &prev, &progress)?;
            prev.save(&reg)?;
            return Ok(UpOutcome {
                name: prev.name.clone(),
                url: prev.url.clone(),
                agents: prev.agents.len(),
                dir: prev.dir.clone(),
                already_running: true,
                admin_password: admin_password_file(&prev),
            });
        }
        if alive > 0 {
            return Err(LocalError::PartlyRunning {
                name: prev.name.clone(),
            });
        }
    }

    check_free(plan.master_listen, "the master", "master.listen")?;
    for a in &plan.agents {
        check_free(
            a.listen,
            &format!("agent {}", a.index),
            &format!("agents.nodes[{}].listen", a.index),
        )?;
    }
    let dcosd = find_dcosd()?;

    // Folders: remember the ones we create so `down` removes only those.
    let mut created: Vec<PathBuf> = prev
        .as_ref()
        .map(|p| p.created_dirs.clone())
        .unwrap_or_default();
    let logs = plan.dir.join("logs");
    let reg_dir = reg
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| plan.dir.clone());
    for d in [&reg_dir, &plan.dir, &plan.master_data_dir]
        .into_iter()
        .chain(plan.agents.iter().map(|a| &a.work_dir))
    {
        if !d.exists() {
            fs::create_dir_all(d).map_err(io_err("create", d))?;
            if !created.contains(d) {
                created.push(d.clone());
            }
        }
    }
    // Logs may hold the bootstrap admin password: private.
    if !logs.exists() && !created.contains(&logs) {
        created.push(logs.clone());
    }
    crate::config::create_private_dir(&logs)?;
    let mut state = State {
        name: plan.name.clone(),
        dir: plan.dir.clone(),
        url: url_for(plan.master_listen),
        cluster_id: None,
        master: None,
        agents: Vec::new(),
        created_dirs: created,
        stop_grace_secs: plan.stop_grace.as_secs(),
        agent_listen: Vec::new(),
        agent_work_dirs: Vec::new(),
        token: prev.as_ref().and_then(|p| p.token.clone()),
    };
    state.save(&reg)?;

    match start(&plan, &dcosd, &logs, &mut state, &reg, &progress) {
        Ok(()) => {}
        Err(e) => {
            // Leave nothing running; keep the logs (and the record) for `dcos cluster down`.
            progress.step("startup failed, stopping what was started");
            procs::stop_all(&state.procs(), &state.markers(), Duration::from_secs(2));
            let _ = state.save(&reg);
            return Err(e);
        }
    }
    state.cluster_id = Some(attach_cli(&dcos_dir, &state, &progress)?);
    state.save(&reg)?;
    progress.finish();
    Ok(UpOutcome {
        admin_password: admin_password_file(&state),
        name: plan.name,
        url: state.url,
        agents: plan.agents.len(),
        dir: plan.dir,
        already_running: false,
    })
}

/// The admin password file of a cluster that required a login.
fn admin_password_file(state: &State) -> Option<PathBuf> {
    let f = state.dir.join(ADMIN_PASSWORD_FILE);
    (state.token.is_some() && f.is_file()).then_some(f)
}

fn local_client(url: &str, token: Option<String>) -> Result<Client, HttpError> {
    Client::new(&Target {
        url: url.to_string(),
        token,
        ssl_verify: SslVerify::Yes,
        timeout: Duration::from_secs(5),
    })
}

/// Starts the master, waits for it, starts the agents, waits for all to register.
fn start(
    plan: &Plan,
    dcosd: &Path,
    logs: &Path,
    state: &mut State,
    reg: &Path,
    progress: &Progress,
) -> Result<(), LocalError> {
    let deadline = Instant::now() + plan.startup;
    let secs = plan.startup.as_secs();
    let logs_s = logs.display().to_string();

    progress.step(&format!("starting the master on {}", plan.master_listen));
    let mut args = vec![
        "master".to_string(),
        "--data-dir".into(),
        plan.master_data_dir.display().to_string(),
        "--listen".into(),
        plan.master_listen.to_string(),
        "--log-file".into(),
        logs.join("master.log").display().to_string(),
        // The bootstrap admin's password goes to this 0600 file, never into the log.
        "--bootstrap-password-file".into(),
        plan.dir.join(ADMIN_PASSWORD_FILE).display().to_string(),
    ];
    if let Some(hb) = plan.agent_heartbeat_secs {
        args.push("--agent-timeout-secs".into());
        args.push(hb.to_string());
    }
    let master_log = logs.join("master.log");
    let master =
        procs::spawn_detached(dcosd, &args, &master_log).map_err(|source| LocalError::Spawn {
            what: "the master".into(),
            program: dcosd.display().to_string(),
            source,
        })?;
    state.master = Some(master.clone());
    state.save(reg)?;

    let public = local_client(&state.url, None)?;
    progress.step(&format!("waiting for the master at {}", state.url));
    loop {
        if public
            .get_json("/dcos-metadata/dcos-version.json", &[])
            .is_ok()
        {
            break;
        }
        procs::reap(master.pid);
        if !master.alive() {
            return Err(exited("the master", &master_log));
        }
        if Instant::now() >= deadline {
            return Err(LocalError::StartTimeout {
                what: format!("the master did not answer at {}", state.url),
                secs,
                logs: logs_s,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Log in when the master requires it (authentication on by default).
    authed_slaves(state, &master_log)?;
    state.save(reg)?;
    let client = local_client(&state.url, state.token.clone())?;
    let token_file = plan.master_data_dir.join("join-token");
    progress.line(&format!("master is up at {}", state.url));

    for a in &plan.agents {
        progress.step(&format!("starting agent {} on {}", a.index, a.listen));
        let mut args = vec![
            "agent".to_string(),
            "--master".into(),
            state.url.clone(),
            "--work-dir".into(),
            a.work_dir.display().to_string(),
            "--listen".into(),
            a.listen.to_string(),
            "--resources".into(),
            a.resources_arg(),
        ];
        if token_file.exists() {
            args.push("--join-token-file".into());
            args.push(token_file.display().to_string());
        }
        if let Some(attrs) = a.attributes.as_deref().filter(|s| !s.trim().is_empty()) {
            args.push("--attributes".into());
            args.push(attrs.to_string());
        }
        let log = logs.join(format!("agent-{}.log", a.index));
        // The agent serves its own log (stderr goes there) for `dcos node log --mesos-id`.
        args.push("--log-file".into());
        args.push(log.display().to_string());
        let rec =
            procs::spawn_detached(dcosd, &args, &log).map_err(|source| LocalError::Spawn {
                what: format!("agent {}", a.index),
                program: dcosd.display().to_string(),
                source,
            })?;
        state.agents.push(rec);
        state.agent_listen.push(a.listen.to_string());
        state.agent_work_dirs.push(a.work_dir.clone());
        state.save(reg)?;
    }

    let n = plan.agents.len();
    loop {
        let registered = client
            .get_json("/mesos/master/slaves", &[])
            .map(|v| active_agents(&v))
            .unwrap_or(0);
        progress.step(&format!("waiting for agents to register: {registered}/{n}"));
        if registered >= n {
            progress.line(&format!("{n} agents registered"));
            return Ok(());
        }
        for (i, a) in state.agents.iter().enumerate() {
            procs::reap(a.pid);
            if !a.alive() {
                return Err(exited(&format!("agent {i}"), &a.log));
            }
        }
        procs::reap(master.pid);
        if !master.alive() {
            return Err(exited("the master", &master_log));
        }
        if Instant::now() >= deadline {
            return Err(LocalError::StartTimeout {
                what: format!("only {registered} of {n} agents registered"),
                secs,
                logs: logs_s,
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Where a local cluster keeps its bootstrap admin's password (mode 0600).
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

/// The bootstrap admin's `(uid, password)`: from `<cluster dir>/admin-password` (written by
/// the master, or by an earlier `up`), else from the master's one-time line in its output,
/// which is then kept in that file (0600) for later logins.
fn bootstrap_login(state: &State, master_log: &Path) -> Result<(String, String), LocalError> {
    let file = state.dir.join(ADMIN_PASSWORD_FILE);
    if let Ok(text) = fs::read_to_string(&file) {
        if let Some(pw) = text.lines().next().map(str::trim).filter(|p| !p.is_empty()) {
            return Ok((BOOTSTRAP_UID.to_string(), pw.to_string()));
        }
    }
    let text = fs::read_to_string(master_log).unwrap_or_default();
    let (uid, pw) = bootstrap_credentials(&text).ok_or_else(|| LocalError::NoCredentials {
        log: master_log.display().to_string(),
    })?;
    if uid == BOOTSTRAP_UID {
        crate::config::write_private_file(&file, format!("{pw}\n").as_bytes())?;
    }
    Ok((uid, pw))
}

/// The account the master creates on its first start.
pub const BOOTSTRAP_UID: &str = "admin";

/// `/mesos/master/slaves` with the cluster's token; on 401 logs in as the bootstrap admin
/// (see [`bootstrap_login`]) and keeps the token in `state`.
fn authed_slaves(state: &mut State, master_log: &Path) -> Result<Value, LocalError> {
    let client = local_client(&state.url, state.token.clone())?;
    match client.get_json("/mesos/master/slaves", &[]) {
        Err(e) if e.status() == Some(401) => {
            let (uid, password) = bootstrap_login(state, master_log)?;
            let public = local_client(&state.url, None)?;
            let body = serde_json::json!({ "uid": uid, "password": password });
            drop(password);
            let answer = public.post_json("/acs/api/v1/auth/login", &body)?;
            let token = answer
                .get("token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| LocalError::NoCredentials {
                    log: master_log.display().to_string(),
                })?;
            state.token = Some(token.to_string());
            Ok(local_client(&state.url, state.token.clone())?
                .get_json("/mesos/master/slaves", &[])?)
        }
        other => Ok(other?),
    }
}

/// The bootstrap admin's `(uid, password)` from the master's one-time line
/// `created user 'admin' with password PW ...` (the last such line of its log).
pub fn bootstrap_credentials(log: &str) -> Option<(String, String)> {
    let line = log.lines().rev().find(|l| l.contains(" with password "))?;
    let uid = line
        .split_once("user '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(u, _)| u.to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "admin".to_string());
    let after = line.split_once(" with password ")?.1;
    let pw = after.split_whitespace().next()?;
    let pw = pw.trim_matches(|c| c == '\'' || c == '"' || c == '`');
    (!pw.is_empty()).then(|| (uid, pw.to_string()))
}

fn exited(what: &str, log: &Path) -> LocalError {
    LocalError::Exited {
        what: what.into(),
        tail: procs::log_tail(log, 3),
        log: log.display().to_string(),
    }
}

/// Active agents in a `/mesos/master/slaves` answer.
pub fn active_agents(v: &Value) -> usize {
    v.get("slaves")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .filter(|a| a.get("active").and_then(Value::as_bool).unwrap_or(true))
                .count()
        })
        .unwrap_or(0)
}

/// Writes the CLI config for the local cluster and attaches it.
fn attach_cli(
    dcos_dir: &DcosDir,
    state: &State,
    progress: &Progress,
) -> Result<String, LocalError> {
    let (entry, _) = crate::setup::setup(
        dcos_dir,
        SetupOptions {
            url: &state.url,
            name: None,
            ssl_verify: SslVerify::Yes,
            token: state.token.clone(),
        },
    )?;
    let mut entry = entry;
    // A stale entry of an earlier local cluster at this URL (another cluster id, e.g. after
    // its data was removed) goes; entries of other clusters are left alone.
    for other in dcos_dir.list()? {
        if other.id != entry.id && other.config.url().as_deref() == Some(state.url.as_str()) {
            dcos_dir.remove(&other.id)?;
        }
    }
    entry.config.set("cluster.name", &state.name)?;
    entry.save()?;
    progress.line(&format!(
        "CLI attached to cluster `{}` ({})",
        state.name, entry.id
    ));
    Ok(entry.id)
}

/// Options of `dcos cluster down`.
pub struct DownOptions {
    pub name: Option<String>,
    pub config: Option<PathBuf>,
    pub keep_data: bool,
}

pub struct DownOutcome {
    pub name: String,
    pub stopped: usize,
    pub removed: Vec<PathBuf>,
}

/// The local cluster `down` applies to: named, or the only one, or the attached one.
fn choose(dcos_dir: &DcosDir, name: Option<String>) -> Result<(PathBuf, State), LocalError> {
    if let Some(n) = name {
        spec::check_name(&n)?;
        let reg = registry(dcos_dir, &n);
        return match State::load(&reg)? {
            Some(s) => Ok((reg, s)),
            None => Err(LocalError::NotFound(n)),
        };
    }
    let mut found = Vec::new();
    if let Ok(rd) = fs::read_dir(dcos_dir.local_dir()) {
        for e in rd.flatten() {
            let reg = e.path().join("cluster.json");
            if let Some(s) = State::load(&reg)? {
                found.push((reg, s));
            }
        }
    }
    if found.len() > 1 {
        let attached = dcos_dir.attached()?.map(|c| c.name());
        if let Some(pos) = found
            .iter()
            .position(|(_, s)| Some(&s.name) == attached.as_ref())
        {
            return Ok(found.swap_remove(pos));
        }
        let mut names: Vec<_> = found.iter().map(|(_, s)| s.name.clone()).collect();
        names.sort();
        return Err(LocalError::Several(names.join(", ")));
    }
    found.pop().ok_or(LocalError::NoneExists)
}

pub fn down(opts: DownOptions, confirm: impl Fn(&str) -> bool) -> Result<DownOutcome, LocalError> {
    let dcos_dir = DcosDir::from_env()?;
    let name = match (&opts.name, &opts.config) {
        (Some(n), _) => Some(n.clone()),
        (None, Some(c)) => Some(ClusterSpec::load(c)?.name()?),
        (None, None) => None,
    };
    let (reg, state) = choose(&dcos_dir, name)?;
    if !opts.keep_data {
        let q = format!(
            "Stop local cluster `{}` and delete its data in {}?",
            state.name,
            state.dir.display()
        );
        if !confirm(&q) {
            return Err(LocalError::NotConfirmed(state.name));
        }
    }
    let running = state.procs().iter().filter(|p| p.alive()).count();
    let progress = Progress::new();
    if running > 0 {
        progress.step(&format!("stopping {running} processes of `{}`", state.name));
    }
    let left = procs::stop_all(
        &state.procs(),
        &state.markers(),
        Duration::from_secs(state.stop_grace_secs),
    );
    progress.finish();
    if !left.is_empty() {
        let pids: Vec<String> = left.iter().map(|p| p.to_string()).collect();
        return Err(LocalError::StillAlive(pids.join(", ")));
    }
    // The CLI config entry of this cluster goes; the CLI is no longer attached to it.
    for c in dcos_dir.list()? {
        let same_id = state.cluster_id.as_deref() == Some(c.id.as_str());
        if same_id
            || (c.name() == state.name && c.config.url().as_deref() == Some(state.url.as_str()))
        {
            dcos_dir.remove(&c.id)?;
        }
    }
    let mut removed = Vec::new();
    if !opts.keep_data {
        let pw = state.dir.join(ADMIN_PASSWORD_FILE);
        match fs::remove_file(&pw) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(io_err("remove", &pw)(e)),
            _ => {}
        }
        // Deepest first; the record itself last.
        let mut dirs = state.created_dirs.clone();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            match fs::remove_dir_all(&d) {
                Ok(()) => removed.push(d),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &d)(e)),
            }
        }
        if let Some(reg_dir) = reg.parent() {
            if let Err(e) = fs::remove_dir_all(reg_dir) {
                if e.kind() != ErrorKind::NotFound {
                    return Err(io_err("remove", reg_dir)(e));
                }
            }
        }
    } else {
        let mut kept = state.clone();
        kept.cluster_id = None;
        kept.save(&reg)?;
    }
    Ok(DownOutcome {
        name: state.name,
        stopped: running,
        removed,
    })
}

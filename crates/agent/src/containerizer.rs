//! The process containerizer, agent side: turns a launch into a sandbox, a launch spec and a
//! `dcosd supervise` process; follows each task until its supervisor writes the exit status
//! and turns that into the final status update (FINISHED, FAILED with the reason, KILLED);
//! kills tasks (SIGTERM to the supervisor, which escalates to SIGKILL after the grace period);
//! and after an agent restart re-attaches to the supervisors still running.

use crate::agent::{Agent, AgentError, TaskRecord};
use crate::cgroups::{self, HostFs};
use crate::sandbox::{self, ExitStatus, KillRequest, PidInfo, Sandbox, SupervisorSpec};
use dcos_schemas::agent::LaunchTask;
use dcos_schemas::task::TaskState;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

pub const REASON_MEMORY: &str = "REASON_CONTAINER_LIMITATION_MEMORY";
pub const REASON_COMMAND_FAILED: &str = "REASON_COMMAND_EXECUTOR_FAILED";
pub const REASON_LAUNCH_FAILED: &str = "REASON_CONTAINER_LAUNCH_FAILED";
pub const REASON_EXECUTOR_TERMINATED: &str = "REASON_EXECUTOR_TERMINATED";
pub const REASON_AGENT_RESTARTED: &str = "REASON_AGENT_RESTARTED";
pub const REASON_KILLED_DURING_LAUNCH: &str = "REASON_TASK_KILLED_DURING_LAUNCH";
pub const REASON_FETCH_FAILED: &str = "REASON_CONTAINER_LAUNCH_FAILED";

#[cfg(test)]
mod tests;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("invalid launch: {0}")]
    Invalid(String),
    #[error("the agent is not registered with a master yet; retry shortly")]
    NotRegistered,
    #[error(transparent)]
    Agent(#[from] AgentError),
}

/// Ids become directory names: letters, digits and `._-:@+`, 1 to 255 characters.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:@+".contains(c))
}

/// Checks a launch before anything is created.
pub fn validate(t: &LaunchTask) -> Result<(), LaunchError> {
    let bad = |m: String| Err(LaunchError::Invalid(m));
    if !valid_id(&t.task_id) {
        return bad(format!(
            "task_id `{}` must be 1-255 characters of letters, digits and ._-:@+",
            t.task_id
        ));
    }
    if !valid_id(&t.framework_id) {
        return bad(format!(
            "framework_id `{}` must be 1-255 characters of letters, digits and ._-:@+",
            t.framework_id
        ));
    }
    let c = &t.command;
    let has_cmd = if c.shell {
        c.value.as_deref().is_some_and(|v| !v.trim().is_empty())
    } else {
        c.value.as_deref().is_some_and(|v| !v.is_empty()) || !c.arguments.is_empty()
    };
    let has_image = t.container.as_ref().is_some_and(container_image);
    if !has_cmd && !has_image {
        return bad("command needs a value (shell) or arguments".into());
    }
    let strings = c
        .value
        .iter()
        .chain(c.arguments.iter())
        .chain(c.env.keys())
        .chain(c.env.values())
        .chain(c.user.iter());
    for s in strings {
        if s.contains('\0') {
            return bad("command strings must not contain NUL bytes".into());
        }
    }
    if c.env.keys().any(|k| k.is_empty() || k.contains('=')) {
        return bad("environment variable names must be non-empty and without `=`".into());
    }
    let r = &t.resources;
    for (name, v) in [
        ("cpus", r.cpus),
        ("mem", r.mem),
        ("disk", r.disk),
        ("gpus", r.gpus),
    ] {
        if !v.is_finite() || v < 0.0 {
            return bad(format!("resources.{name} must be a number >= 0"));
        }
    }
    if !t.kill_grace_period_secs.is_finite() || t.kill_grace_period_secs < 0.0 {
        return bad("kill_grace_period_secs must be >= 0".into());
    }
    if let Err(e) = crate::fetch::parse(&t.fetch) {
        return bad(e.to_string());
    }
    Ok(())
}

/// Whether a Marathon `container` JSON asks for an image.
fn container_image(c: &serde_json::Value) -> bool {
    ["docker", "mesos", "appc"]
        .iter()
        .any(|k| c.get(k).and_then(|d| d.get("image")).is_some())
}

/// Accepts a launch: `Ok(false)` when the task id is already known (a no-op).
pub fn launch(agent: &Arc<Agent>, t: LaunchTask) -> Result<bool, LaunchError> {
    validate(&t)?;
    let agent_id = agent.agent_id().ok_or(LaunchError::NotRegistered)?;
    let run_id = uuid::Uuid::new_v4().to_string();
    let sandbox = Sandbox::path_for(
        agent.work_dir(),
        &agent_id,
        &t.framework_id,
        &t.task_id,
        &run_id,
    );
    let task_id = t.task_id.clone();
    let rec = TaskRecord {
        launch: t,
        agent_id,
        run_id,
        sandbox,
        state: TaskState::Staging,
        statuses: Vec::new(),
        kill_requested: false,
        launched_at: sandbox::now_secs(),
        healthy: None,
    };
    if !agent.insert_new(rec)? {
        return Ok(false);
    }
    let a = agent.clone();
    tokio::spawn(async move { start(a, task_id).await });
    Ok(true)
}

fn fail(agent: &Agent, task_id: &str, state: TaskState, msg: String, reason: &str) {
    if let Err(e) = agent.update(task_id, state, Some(msg), Some(reason)) {
        tracing::error!("task {task_id}: cannot record its state: {e}");
    }
}

/// The task's environment: defaults, then the command's env, then the Mesos/Marathon variables.
pub fn task_env(agent: &Agent, rec: &TaskRecord) -> BTreeMap<String, String> {
    let t = &rec.launch;
    let mut env = BTreeMap::new();
    env.insert("PATH".to_string(), DEFAULT_PATH.to_string());
    env.insert("HOME".to_string(), rec.sandbox.display().to_string());
    for (k, v) in &t.command.env {
        env.insert(k.clone(), v.clone());
    }
    let sb = rec.sandbox.display().to_string();
    env.insert("MESOS_SANDBOX".into(), sb.clone());
    env.insert("MESOS_DIRECTORY".into(), sb);
    env.insert("MESOS_TASK_ID".into(), t.task_id.clone());
    env.insert("MESOS_FRAMEWORK_ID".into(), t.framework_id.clone());
    env.insert("MESOS_AGENT_ID".into(), rec.agent_id.clone());
    env.insert("MESOS_SLAVE_ID".into(), rec.agent_id.clone());
    env.insert("HOST".into(), agent.cfg.hostname.clone());
    let ports: Vec<String> = t.resources.ports.iter().map(u16::to_string).collect();
    for (i, p) in ports.iter().enumerate() {
        env.insert(format!("PORT{i}"), p.clone());
    }
    if let Some(p) = ports.first() {
        env.insert("PORT".into(), p.clone());
    }
    env.insert("PORTS".into(), ports.join(","));
    env
}

/// Brings a new task from STAGING to RUNNING, then follows it.
async fn start(agent: Arc<Agent>, task_id: String) {
    let Some(rec) = agent.task(&task_id) else {
        return;
    };
    if rec.kill_requested {
        fail(
            &agent,
            &task_id,
            TaskState::Killed,
            "Task killed before it was started".into(),
            REASON_KILLED_DURING_LAUNCH,
        );
        return;
    }
    if rec.launch.container.as_ref().is_some_and(container_image) {
        fail(
            &agent,
            &task_id,
            TaskState::Failed,
            "Containers from images are not supported by this agent yet; run the task without \
             an image"
                .into(),
            REASON_LAUNCH_FAILED,
        );
        return;
    }
    let sb = Sandbox::new(rec.sandbox.clone());
    let spec = SupervisorSpec {
        task_id: task_id.clone(),
        framework_id: rec.launch.framework_id.clone(),
        agent_id: rec.agent_id.clone(),
        sandbox: rec.sandbox.clone(),
        command: rec.launch.command.clone(),
        env: task_env(&agent, &rec),
        mem_mb: rec.launch.resources.mem,
        cpus: rec.launch.resources.cpus,
        cgroup: agent
            .cfg
            .cgroups
            .as_ref()
            .map(|l| l.task(&rec.agent_id, &task_id)),
        kill_grace_secs: rec.launch.kill_grace_period_secs,
    };
    let prepared = sb
        .create()
        .and_then(|_| sb.write(sandbox::SPEC_FILE, &spec));
    if let Err(e) = prepared {
        fail(
            &agent,
            &task_id,
            TaskState::Failed,
            format!("Cannot create the sandbox: {e}"),
            REASON_LAUNCH_FAILED,
        );
        return;
    }
    if !rec.launch.fetch.is_empty() {
        let fetched = match crate::fetch::parse(&rec.launch.fetch) {
            Ok(uris) => {
                let client = reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .timeout(Duration::from_secs(1800))
                    .build()
                    .unwrap_or_default();
                crate::fetch::fetch_all(&client, &uris, &rec.sandbox).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = fetched {
            fail(
                &agent,
                &task_id,
                TaskState::Failed,
                e.to_string(),
                REASON_FETCH_FAILED,
            );
            return;
        }
    }
    if let Some(runs) = rec.sandbox.parent() {
        let latest = runs.join("latest");
        let _ = std::fs::remove_file(&latest);
        let _ = std::os::unix::fs::symlink(&rec.run_id, &latest);
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(sb.file(sandbox::SUPERVISOR_LOG));
    let spawned = log.map_err(|e| e.to_string()).and_then(|log| {
        tokio::process::Command::new(&agent.cfg.supervisor_exe)
            .arg("supervise")
            .arg("--spec")
            .arg(sb.file(sandbox::SPEC_FILE))
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| e.to_string())
    });
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            fail(
                &agent,
                &task_id,
                TaskState::Failed,
                format!("Cannot start the task supervisor: {e}"),
                REASON_LAUNCH_FAILED,
            );
            return;
        }
    };
    let _ = agent.update(&task_id, TaskState::Starting, None, None);
    if let Some(out) = child.stdout.take() {
        let mut lines = BufReader::new(out).lines();
        let started = tokio::time::timeout(Duration::from_secs(120), lines.next_line()).await;
        if let Ok(Ok(Some(line))) = started {
            if line.starts_with("started ") {
                let _ = agent.update(&task_id, TaskState::Running, None, None);
            }
        }
    }
    if agent.task(&task_id).is_some_and(|r| r.kill_requested) {
        signal_supervisor(&sb);
    }
    watch(agent, task_id, Some(child)).await;
}

/// Follows a task until its exit status appears (or its supervisor vanishes).
pub async fn watch(agent: Arc<Agent>, task_id: String, mut child: Option<tokio::process::Child>) {
    let Some(rec) = agent.task(&task_id) else {
        return;
    };
    let sb = Sandbox::new(rec.sandbox.clone());
    if rec.state == TaskState::Running && !sb.file(sandbox::EXIT_FILE).exists() {
        crate::health::start(&agent, &task_id);
    }
    loop {
        match sb.read::<ExitStatus>(sandbox::EXIT_FILE) {
            Ok(Some(exit)) => {
                if let Some(mut c) = child.take() {
                    let _ = c.wait().await;
                }
                return finish(&agent, &task_id, &exit);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("task {task_id}: {e}"),
        }
        match child.as_mut() {
            Some(c) => {
                tokio::select! {
                    _ = c.wait() => {
                        child = None;
                        if !sb.file(sandbox::EXIT_FILE).exists() {
                            return supervisor_died(&agent, &rec).await;
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            None => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let alive = sb
                    .read::<PidInfo>(sandbox::PID_FILE)
                    .ok()
                    .flatten()
                    .is_some_and(|p| sandbox::supervisor_alive(&p));
                if !alive && !sb.file(sandbox::EXIT_FILE).exists() {
                    return supervisor_died(&agent, &rec).await;
                }
            }
        }
    }
}

/// Turns an exit status into the task's final state.
pub fn final_state(
    rec: &TaskRecord,
    exit: &ExitStatus,
) -> (TaskState, String, Option<&'static str>) {
    let killed = exit.killed || rec.kill_requested;
    if let Some(e) = &exit.error {
        return (
            TaskState::Failed,
            format!("Cannot start the task: {e}"),
            Some(REASON_LAUNCH_FAILED),
        );
    }
    if exit.oom_killed && !(killed && exit.code == Some(0)) {
        return (
            TaskState::Failed,
            format!(
                "Memory limit exceeded: task used more than {} MB",
                rec.launch.resources.mem.max(cgroups::MIN_MEM_MB)
            ),
            Some(REASON_MEMORY),
        );
    }
    let how = match (exit.code, exit.signal) {
        (Some(c), _) => format!("Command exited with status {c}"),
        (None, Some(s)) => format!("Command terminated with signal {}", signal_name(s)),
        (None, None) => "Command ended".to_string(),
    };
    if killed {
        (TaskState::Killed, how, None)
    } else if exit.code == Some(0) {
        (TaskState::Finished, how, None)
    } else {
        (TaskState::Failed, how, Some(REASON_COMMAND_FAILED))
    }
}

fn finish(agent: &Agent, task_id: &str, exit: &ExitStatus) {
    let Some(rec) = agent.task(task_id) else {
        return;
    };
    let (state, msg, reason) = final_state(&rec, exit);
    match reason {
        Some(r) => fail(agent, task_id, state, msg, r),
        None => {
            if let Err(e) = agent.update(task_id, state, Some(msg), None) {
                tracing::error!("task {task_id}: cannot record its state: {e}");
            }
        }
    }
}

/// The supervisor ended without an exit status (killed, or the host rebooted).
async fn supervisor_died(agent: &Agent, rec: &TaskRecord) {
    let sb = Sandbox::new(rec.sandbox.clone());
    let last_log = std::fs::read_to_string(sb.file(sandbox::SUPERVISOR_LOG))
        .ok()
        .and_then(|l| l.lines().last().map(str::to_string))
        .filter(|l| !l.trim().is_empty());
    if let Ok(Some(spec)) = sb.read::<SupervisorSpec>(sandbox::SPEC_FILE) {
        if let Some(cg) = spec.cgroup {
            let _ = tokio::task::spawn_blocking(move || {
                cgroups::driver(cg.version, Arc::new(HostFs)).destroy(&cg)
            })
            .await;
        }
    }
    let msg = match last_log {
        Some(l) => format!("The task's supervisor exited unexpectedly: {l}"),
        None => "The task's supervisor exited unexpectedly".to_string(),
    };
    let (state, msg) = if rec.kill_requested {
        (TaskState::Killed, msg)
    } else {
        (TaskState::Failed, msg)
    };
    fail(
        agent,
        &rec.launch.task_id,
        state,
        msg,
        REASON_EXECUTOR_TERMINATED,
    );
}

/// What a kill request found.
#[derive(Debug, PartialEq, Eq)]
pub enum KillOutcome {
    Unknown,
    AlreadyTerminal,
    Requested,
}

/// Asks the task's supervisor to stop the task: SIGTERM now, SIGKILL after `grace`.
pub fn kill(agent: &Agent, task_id: &str, grace: Option<f64>) -> KillOutcome {
    let Some(before) = agent.task(task_id) else {
        return KillOutcome::Unknown;
    };
    if before.state.is_terminal() {
        return KillOutcome::AlreadyTerminal;
    }
    let grace = grace
        .filter(|g| g.is_finite() && *g >= 0.0)
        .unwrap_or(before.launch.kill_grace_period_secs);
    agent.modify(task_id, |r| r.kill_requested = true);
    let sb = Sandbox::new(before.sandbox.clone());
    if sb.dir.exists() {
        if let Err(e) = sb.write(sandbox::KILL_FILE, &KillRequest { grace_secs: grace }) {
            tracing::warn!("task {task_id}: {e}");
        }
        signal_supervisor(&sb);
    }
    tracing::info!("killing task {task_id} (grace period {grace} s)");
    KillOutcome::Requested
}

/// Sends SIGTERM to the sandbox's supervisor if it is the one that wrote the pid file.
fn signal_supervisor(sb: &Sandbox) {
    if let Ok(Some(info)) = sb.read::<PidInfo>(sandbox::PID_FILE) {
        if sandbox::supervisor_alive(&info) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(info.supervisor_pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
}

/// After an agent restart: re-attach to running supervisors, report the tasks that ended
/// while the agent was away.
pub fn recover(agent: &Arc<Agent>) {
    let mut live = std::collections::HashSet::new();
    for rec in agent.all_tasks() {
        if rec.state.is_terminal() {
            continue;
        }
        let task_id = rec.launch.task_id.clone();
        let sb = Sandbox::new(rec.sandbox.clone());
        let pid = sb.read::<PidInfo>(sandbox::PID_FILE).ok().flatten();
        let has_exit = sb.file(sandbox::EXIT_FILE).exists();
        if has_exit || pid.is_some_and(|p| sandbox::supervisor_alive(&p)) {
            live.insert(cgroups::sanitize(&task_id));
            if !has_exit && rec.state != TaskState::Running {
                let _ = agent.update(&task_id, TaskState::Running, None, None);
            }
            tracing::info!("recovered task {task_id}");
            let a = agent.clone();
            tokio::spawn(async move { watch(a, task_id, None).await });
        } else if pid.is_none() {
            fail(
                agent,
                &task_id,
                TaskState::Failed,
                "The agent restarted before the task was started".into(),
                REASON_AGENT_RESTARTED,
            );
        } else {
            let a = agent.clone();
            tokio::spawn(async move { supervisor_died(&a, &rec).await });
        }
    }
    sweep_stale_cgroups(agent, &live);
    // And again now and then, for supervisors killed while this agent runs.
    let a = agent.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(600)).await;
            let live = a
                .all_tasks()
                .iter()
                .filter(|r| !r.state.is_terminal())
                .map(|r| cgroups::sanitize(&r.launch.task_id))
                .collect();
            sweep_stale_cgroups(&a, &live);
        }
    });
}

/// Task cgroups of other agents are removed when they are empty and older than this (they
/// were left by supervisors that were SIGKILLed; a younger one may be being set up).
const STALE_CGROUP_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes task cgroups that no running supervisor owns (left behind when a supervisor was
/// SIGKILLed): this agent's own ones not in `live`, and other agents' empty ones older than a
/// minute. A cgroup that still has processes cannot be removed and is left alone.
pub fn sweep_stale_cgroups(agent: &Agent, live: &std::collections::HashSet<String>) {
    let Some(layout) = &agent.cfg.cgroups else {
        return;
    };
    let own = agent.agent_id().map(|id| cgroups::sanitize(&id));
    let bases = std::iter::once(&layout.memory_base).chain(layout.cpu_base.iter());
    for base in bases {
        let Ok(agents) = std::fs::read_dir(base) else {
            continue;
        };
        for agent_dir in agents.flatten() {
            let mine = own.as_deref() == Some(&*agent_dir.file_name().to_string_lossy());
            if !agent_dir.path().is_dir() {
                continue;
            }
            let Ok(tasks) = std::fs::read_dir(agent_dir.path()) else {
                continue;
            };
            for t in tasks.flatten() {
                let p = t.path();
                if !p.is_dir() {
                    continue;
                }
                let name = t.file_name().to_string_lossy().into_owned();
                let remove = if mine {
                    !live.contains(&name)
                } else {
                    let empty = std::fs::read_to_string(p.join("cgroup.procs"))
                        .is_ok_and(|s| s.trim().is_empty());
                    let old = std::fs::metadata(&p)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| m.elapsed().ok())
                        .is_some_and(|age| age > STALE_CGROUP_AGE);
                    empty && old
                };
                if remove && std::fs::remove_dir(&p).is_ok() {
                    tracing::info!("removed the stale cgroup {}", p.display());
                }
            }
            if !mine {
                let _ = std::fs::remove_dir(agent_dir.path());
            }
        }
    }
}

/// Human name of a signal, as `strsignal` words it for the common ones.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGTERM => "Terminated".into(),
        libc::SIGKILL => "Killed".into(),
        libc::SIGINT => "Interrupt".into(),
        libc::SIGSEGV => "Segmentation fault".into(),
        libc::SIGABRT => "Aborted".into(),
        libc::SIGHUP => "Hangup".into(),
        libc::SIGQUIT => "Quit".into(),
        libc::SIGBUS => "Bus error".into(),
        libc::SIGPIPE => "Broken pipe".into(),
        _ => nix::sys::signal::Signal::try_from(sig)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {sig}")),
    }
}

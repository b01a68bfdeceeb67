//! The per-task supervisor, `dcosd supervise --spec <sandbox>/.spec.json`: a small synchronous
//! process the agent starts for each task (a re-exec of its own binary, never a fork of the
//! threaded agent). It leaves the agent's session (so it outlives an agent restart), creates
//! the task's cgroups, unshares pid and mount namespaces and forks the task's init (pid 1 of
//! the new namespace, which mounts a fresh `/proc`, forwards signals to the task and reaps
//! orphans). The task itself runs as pid 2 with its stdout and stderr in the sandbox. On a kill
//! request (SIGTERM to the supervisor) the task gets SIGTERM, then SIGKILL after the grace
//! period. When the task ends the supervisor writes `.exit_status.json` (code or signal, OOM
//! kill, killed) and removes the cgroups.

use crate::cgroups::{self, CgroupDriver, HostFs, Limits};
use crate::namespaces;
use crate::sandbox::{self, ExitStatus, KillRequest, PidInfo, Sandbox, SupervisorSpec};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error(transparent)]
    Sandbox(#[from] sandbox::SandboxError),
    #[error("the launch spec {0} does not exist")]
    NoSpec(PathBuf),
    #[error("cannot set up the task's cgroups: {0}")]
    Cgroup(#[from] cgroups::CgroupError),
    #[error(transparent)]
    Namespace(#[from] namespaces::NamespaceError),
    #[error("user `{0}` does not exist on this agent")]
    NoUser(String),
    #[error("the command contains a NUL byte")]
    Nul,
    #[error("the task has no command to run (neither a shell command nor arguments)")]
    NoCommand,
    #[error("{0}: {1}")]
    Sys(&'static str, nix::Error),
}

fn sys(what: &'static str) -> impl FnOnce(nix::Error) -> SupervisorError {
    move |e| SupervisorError::Sys(what, e)
}

/// Signals the task's init forwards to the task.
const FORWARDED: [Signal; 6] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Runs the supervisor for the spec at `spec_path` until the task ends.
pub fn supervise(spec_path: &Path) -> Result<(), SupervisorError> {
    let spec: SupervisorSpec =
        sandbox::read_json(spec_path)?.ok_or_else(|| SupervisorError::NoSpec(spec_path.into()))?;
    let sb = Sandbox::new(spec.sandbox.clone());
    let _ = nix::sys::prctl::set_name(c"dcos-supervise");
    // Own session: no terminal, not in the agent's process group, survives the agent.
    let _ = nix::unistd::setsid();
    // SAFETY: setting dispositions to SIG_IGN installs no handler code.
    unsafe {
        let _ = nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigIgn);
        let _ = nix::sys::signal::signal(Signal::SIGHUP, nix::sys::signal::SigHandler::SigIgn);
    }
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGCHLD] {
        mask.add(s);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None).map_err(sys("block signals"))?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(sys("signalfd"))?;

    let driver: Option<(Box<dyn CgroupDriver>, &cgroups::TaskCgroup)> =
        spec.cgroup.as_ref().map(|cg| {
            let d = cgroups::driver(cg.version, Arc::new(HostFs));
            (d, cg)
        });
    let limits = Limits {
        mem_mb: spec.mem_mb,
        cpus: spec.cpus,
    };
    let mut status = match &driver {
        Some((d, cg)) => match d.create(cg, &limits) {
            Ok(()) => run_task(&spec, &sb, &sfd, Some((d.as_ref(), cg))),
            Err(e) => Err(e.into()),
        },
        None => run_task(&spec, &sb, &sfd, None),
    }
    .unwrap_or_else(|e| ExitStatus {
        error: Some(e.to_string()),
        ..ExitStatus::default()
    });
    if let Some((d, cg)) = &driver {
        if d.oom_kills(cg).unwrap_or(0) > 0 {
            status.oom_killed = true;
        }
    }
    status.finished_at = sandbox::now_secs();
    sb.write(sandbox::EXIT_FILE, &status)?;
    if let Some((d, cg)) = &driver {
        if let Err(e) = d.destroy(cg) {
            eprintln!("dcosd supervise: {e}");
        }
    }
    Ok(())
}

/// Forks the init, waits for the task, handles kill requests; returns how the task ended.
fn run_task(
    spec: &SupervisorSpec,
    sb: &Sandbox,
    sfd: &SignalFd,
    cgroup: Option<(&dyn CgroupDriver, &cgroups::TaskCgroup)>,
) -> Result<ExitStatus, SupervisorError> {
    // Everything that can fail because of the request is checked before anything runs.
    let plan = ExecPlan::new(spec)?;
    let me = std::process::id() as i32;
    let my_start = sandbox::process_start_time(me).unwrap_or(0);
    namespaces::unshare_pid()?;
    let (go_rd, go_wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
    let (st_rd, st_wr) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
            .map_err(sys("pipe"))?;
    // SAFETY: the supervisor is single-threaded, so the child may allocate and run Rust code.
    let init = match unsafe { fork() }.map_err(sys("fork"))? {
        ForkResult::Child => {
            drop(go_wr);
            drop(st_rd);
            init_main(&plan, go_rd, st_wr)
        }
        ForkResult::Parent { child } => child,
    };
    drop(go_rd);
    drop(st_wr);
    if let Some((d, cg)) = cgroup {
        if let Err(e) = d.add_process(cg, init.as_raw()) {
            let _ = kill(init, Signal::SIGKILL);
            let _ = waitpid(init, None);
            return Err(e.into());
        }
    }
    nix::unistd::write(&go_wr, b"g").map_err(sys("start the task"))?;
    drop(go_wr);
    sb.write(
        sandbox::PID_FILE,
        &PidInfo {
            supervisor_pid: me,
            supervisor_start: my_start,
            init_pid: init.as_raw(),
        },
    )?;
    // Tell the agent (if it still listens) that the task runs, then let go of its pipe.
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "started {}", init.as_raw());
        let _ = out.flush();
        if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
            let _ = nix::unistd::dup2(null.as_raw_fd(), 1);
        }
    }

    let mut killed = false;
    let mut deadline: Option<Instant> = None;
    let wait = loop {
        match waitpid(init, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(ws @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => break ws,
            Ok(_) => {}
            Err(e) => return Err(SupervisorError::Sys("wait for the task", e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = kill(init, Signal::SIGKILL);
            deadline = None;
        }
        let timeout = match deadline {
            Some(d) => PollTimeout::try_from(d.saturating_duration_since(Instant::now()))
                .unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        };
        let mut fds = [PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => return Err(SupervisorError::Sys("poll", e)),
        }
        while let Ok(Some(si)) = sfd.read_signal() {
            let signo = si.ssi_signo as i32;
            if signo == libc::SIGTERM || signo == libc::SIGINT {
                killed = true;
                let grace = sb
                    .read::<KillRequest>(sandbox::KILL_FILE)
                    .ok()
                    .flatten()
                    .map(|k| k.grace_secs)
                    .unwrap_or(spec.kill_grace_secs);
                let grace = Duration::from_secs_f64(grace.clamp(0.0, 86_400.0));
                let new = Instant::now() + grace;
                if grace.is_zero() {
                    let _ = kill(init, Signal::SIGKILL);
                } else {
                    let _ = kill(init, Signal::SIGTERM);
                    deadline = Some(deadline.map_or(new, |d| d.min(new)));
                }
            }
        }
    };
    let mut status = ExitStatus {
        killed,
        ..ExitStatus::default()
    };
    // The init reports the task's own status; without a report, the init itself was killed.
    let mut buf = [0u8; 512];
    let n = nix::unistd::read(st_rd.as_raw_fd(), &mut buf).unwrap_or(0);
    let report = String::from_utf8_lossy(&buf[..n]).trim().to_string();
    if let Some(c) = report.strip_prefix("exit ") {
        status.code = c.parse().ok();
    } else if let Some(s) = report.strip_prefix("signal ") {
        status.signal = s.parse().ok();
    } else if let Some(e) = report.strip_prefix("error ") {
        status.error = Some(e.to_string());
    } else {
        match wait {
            WaitStatus::Exited(_, c) => status.code = Some(c),
            WaitStatus::Signaled(_, s, _) => status.signal = Some(s as i32),
            _ => {}
        }
    }
    Ok(status)
}

/// Everything the task's exec needs, prepared before forking.
struct ExecPlan {
    program: CString,
    argv: Vec<CString>,
    env: Vec<(String, String)>,
    sandbox: PathBuf,
    user: Option<nix::unistd::User>,
}

impl ExecPlan {
    fn new(spec: &SupervisorSpec) -> Result<ExecPlan, SupervisorError> {
        let c = |s: &str| CString::new(s).map_err(|_| SupervisorError::Nul);
        let cmd = &spec.command;
        let (program, argv) = if cmd.shell {
            let v = cmd.value.as_deref().ok_or(SupervisorError::NoCommand)?;
            (c("/bin/sh")?, vec![c("sh")?, c("-c")?, c(v)?])
        } else {
            let program = match (&cmd.value, cmd.arguments.first()) {
                (Some(v), _) if !v.is_empty() => v.clone(),
                (_, Some(a)) => a.clone(),
                _ => return Err(SupervisorError::NoCommand),
            };
            let mut argv: Vec<CString> = cmd
                .arguments
                .iter()
                .map(|a| c(a))
                .collect::<Result<_, _>>()?;
            if argv.is_empty() {
                argv.push(c(&program)?);
            }
            (c(&program)?, argv)
        };
        for (k, v) in &spec.env {
            if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                return Err(SupervisorError::Nul);
            }
        }
        let user = match &cmd.user {
            Some(u) => Some(
                nix::unistd::User::from_name(u)
                    .ok()
                    .flatten()
                    .ok_or_else(|| SupervisorError::NoUser(u.clone()))?,
            ),
            None => None,
        };
        if let Some(u) = &user {
            for f in ["stdout", "stderr"] {
                let _ = nix::unistd::chown(&spec.sandbox.join(f), Some(u.uid), Some(u.gid));
            }
            let _ = nix::unistd::chown(&spec.sandbox, Some(u.uid), Some(u.gid));
        }
        Ok(ExecPlan {
            program,
            argv,
            env: spec
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            sandbox: spec.sandbox.clone(),
            user,
        })
    }
}

/// The task's init: pid 1 of the new pid namespace.
fn init_main(plan: &ExecPlan, go: OwnedFd, report: OwnedFd) -> ! {
    let fail = |msg: String| -> ! {
        let _ = nix::unistd::write(&report, format!("error {msg}\n").as_bytes());
        // SAFETY: _exit is async-signal-safe and skips the parent's atexit handlers.
        unsafe { libc::_exit(1) }
    };
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    let mut b = [0u8; 1];
    if !matches!(nix::unistd::read(go.as_raw_fd(), &mut b), Ok(1)) {
        unsafe { libc::_exit(1) }
    }
    drop(go);
    if let Err(e) = namespaces::private_mounts_with_proc() {
        fail(e.to_string());
    }
    let _ = nix::sys::prctl::set_name(c"dcos-init");
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    for s in FORWARDED {
        mask.add(s);
    }
    if let Err(e) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None) {
        fail(format!("cannot block signals: {e}"));
    }
    let sfd = match SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC) {
        Ok(s) => s,
        Err(e) => fail(format!("signalfd: {e}")),
    };
    // SAFETY: single-threaded process.
    let task = match unsafe { fork() } {
        Ok(ForkResult::Child) => exec_task(plan),
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => fail(format!("cannot fork the task: {e}")),
    };
    loop {
        let Ok(Some(si)) = sfd.read_signal() else {
            continue;
        };
        let signo = si.ssi_signo as i32;
        if signo != libc::SIGCHLD {
            if let Ok(sig) = Signal::try_from(signo) {
                // The whole process group of the task, then the task itself if it left it.
                let _ = kill(Pid::from_raw(-task.as_raw()), sig);
                let _ = kill(task, sig);
            }
            continue;
        }
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == task => {
                    let _ = nix::unistd::write(&report, format!("exit {code}\n").as_bytes());
                    unsafe { libc::_exit(0) }
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == task => {
                    let _ =
                        nix::unistd::write(&report, format!("signal {}\n", sig as i32).as_bytes());
                    unsafe { libc::_exit(0) }
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

/// The task itself: stdio to the sandbox, its environment and user, then exec.
fn exec_task(plan: &ExecPlan) -> ! {
    use nix::sys::signal::{signal, SigHandler};
    // SAFETY: restoring default dispositions; no handler code is installed.
    unsafe {
        let _ = signal(Signal::SIGPIPE, SigHandler::SigDfl);
        let _ = signal(Signal::SIGHUP, SigHandler::SigDfl);
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    let _ = nix::unistd::setsid();
    let open = |name: &str, write: bool| {
        std::fs::OpenOptions::new()
            .read(!write)
            .append(write)
            .create(write)
            .open(if name == "/dev/null" {
                PathBuf::from(name)
            } else {
                plan.sandbox.join(name)
            })
    };
    for (fd, name, write) in [
        (0, "/dev/null", false),
        (1, "stdout", true),
        (2, "stderr", true),
    ] {
        match open(name, write) {
            Ok(f) => {
                let _ = nix::unistd::dup2(f.as_raw_fd(), fd);
            }
            Err(_) => unsafe { libc::_exit(126) },
        }
    }
    let die = |what: String| -> ! {
        eprintln!("dcos: {what}");
        unsafe { libc::_exit(127) }
    };
    if let Err(e) = nix::unistd::chdir(&plan.sandbox) {
        die(format!("cannot enter the sandbox: {e}"));
    }
    if let Some(u) = &plan.user {
        let name = CString::new(u.name.as_str()).unwrap_or_default();
        if let Err(e) = nix::unistd::initgroups(&name, u.gid)
            .and_then(|_| nix::unistd::setgid(u.gid))
            .and_then(|_| nix::unistd::setuid(u.uid))
        {
            die(format!("cannot switch to user {}: {e}", u.name));
        }
    }
    // SAFETY: single-threaded child right before exec; nothing else reads the environment.
    unsafe {
        libc::clearenv();
    }
    for (k, v) in &plan.env {
        std::env::set_var(k, v);
    }
    let e = nix::unistd::execvp(&plan.program, &plan.argv).unwrap_err();
    die(format!(
        "cannot run {}: {e}",
        plan.program.to_string_lossy()
    ))
}

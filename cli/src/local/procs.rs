//! Background processes of a local cluster: started detached (own session, output to a log
//! file), identified by pid plus start time (so a reused pid is never signalled), and stopped
//! with SIGTERM, a grace period, then SIGKILL for them and everything they started.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A process we started, as recorded in the cluster's state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcRecord {
    pub pid: i32,
    /// Kernel start time (clock ticks since boot) from /proc/<pid>/stat.
    pub start_time: u64,
    pub log: PathBuf,
}

/// What /proc says about a process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcStat {
    pub state: char,
    pub ppid: i32,
    pub session: i32,
    pub start_time: u64,
}

pub fn stat(pid: i32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses /proc/<pid>/stat; the command name may contain spaces and parentheses.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state); field n is f[n - 3].
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        session: f.get(3)?.parse().ok()?,
        start_time: f.get(19)?.parse().ok()?,
    })
}

impl ProcRecord {
    /// True while the recorded process (not a later one with the same pid) lives.
    pub fn alive(&self) -> bool {
        matches!(stat(self.pid), Some(s) if s.start_time == self.start_time && s.state != 'Z' && s.state != 'X')
    }
}

/// Starts `program args` in its own session with stdin from /dev/null and stdout/stderr
/// appended to `log`; the process outlives this one.
pub fn spawn_detached(program: &Path, args: &[String], log: &Path) -> std::io::Result<ProcRecord> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir)?;
    }
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log)?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    // The child is not waited for here: once this process exits, init adopts it. Until then a
    // finished child stays a zombie, which `alive` reports as gone.
    std::mem::forget(child);
    let start_time = stat(pid).map(|s| s.start_time).unwrap_or(0);
    Ok(ProcRecord {
        pid,
        start_time,
        log: log.to_path_buf(),
    })
}

/// Reaps `pid` if it is our own child that has exited (no-op otherwise).
pub fn reap(pid: i32) {
    // SAFETY: waitpid with WNOHANG on a specific pid has no memory effects.
    unsafe {
        let mut status = 0;
        libc::waitpid(pid, &mut status, libc::WNOHANG);
    }
}

fn signal(pid: i32, sig: i32) {
    if pid > 1 {
        // SAFETY: kill(2) on a positive pid we verified by start time.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// The arguments of a process (empty when unreadable).
fn cmdline(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A `dcosd` process (by argv[0] or the `supervise` role) whose arguments mention a marker.
fn is_marked(pid: i32, markers: &[String]) -> bool {
    if markers.is_empty() {
        return false;
    }
    let args = cmdline(pid);
    let dcosd = args.first().is_some_and(|a0| a0.ends_with("dcosd"))
        || args.get(1).is_some_and(|a1| a1 == "supervise");
    // A folder matches itself and paths below it, not a sibling sharing its prefix.
    let mentions = |a: &str, m: &str| {
        a.match_indices(m).any(|(i, _)| {
            let rest = &a[i + m.len()..];
            rest.is_empty() || rest.starts_with('/')
        })
    };
    dcosd && args.iter().any(|a| markers.iter().any(|m| mentions(a, m)))
}

/// Every process that descends from `roots`, shares a session led by one of them, or is a
/// `dcosd` process whose arguments mention one of `markers` (and their descendants).
pub fn family(roots: &[&ProcRecord], markers: &[String]) -> Vec<ProcRecord> {
    let all: Vec<(i32, ProcStat)> = match fs::read_dir("/proc") {
        Ok(rd) => rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|pid| stat(pid).map(|s| (pid, s)))
            .collect(),
        Err(_) => Vec::new(),
    };
    let live_roots: Vec<i32> = roots.iter().filter(|r| r.alive()).map(|r| r.pid).collect();
    let mut set: BTreeSet<i32> = live_roots.iter().copied().collect();
    let me = std::process::id() as i32;
    for (pid, s) in &all {
        if live_roots.contains(&s.session) || (*pid != me && is_marked(*pid, markers)) {
            set.insert(*pid);
        }
    }
    loop {
        let before = set.len();
        for (pid, s) in &all {
            if set.contains(&s.ppid) {
                set.insert(*pid);
            }
        }
        if set.len() == before {
            break;
        }
    }
    all.iter()
        .filter(|(pid, _)| set.contains(pid) && *pid != std::process::id() as i32)
        .map(|(pid, s)| ProcRecord {
            pid: *pid,
            start_time: s.start_time,
            log: PathBuf::new(),
        })
        .collect()
}

/// Stops `procs` in order with SIGTERM, waits up to `grace` for them, then SIGKILLs them and
/// all processes they started. Returns the pids that still live afterwards (should be none).
pub fn stop_all(procs: &[&ProcRecord], markers: &[String], grace: Duration) -> Vec<i32> {
    let everyone = family(procs, markers);
    for p in procs {
        if p.alive() {
            signal(p.pid, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && procs.iter().any(|p| p.alive()) {
        for p in procs {
            reap(p.pid);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Whatever is left of them and their children (tasks, supervisors), and anything new in
    // their sessions, is killed.
    let mut targets = everyone;
    targets.extend(family(procs, markers));
    for p in &targets {
        if p.alive() {
            signal(p.pid, libc::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for p in &targets {
            reap(p.pid);
        }
        let left: Vec<i32> = targets
            .iter()
            .filter(|p| p.alive())
            .map(|p| p.pid)
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last `n` lines of a log file, for error messages.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

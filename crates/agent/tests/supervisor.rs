//! Runs the real task supervisor (`dcosd supervise`, built by `cargo build -p dcos-server`)
//! on commands in temp sandboxes: namespaces, stdout/stderr capture, exit codes, cgroup limits,
//! the kernel's OOM kill, and SIGTERM -> SIGKILL escalation. Needs root (namespaces, cgroups).

use dcos_agent::cgroups::{HostFs, Layout};
use dcos_agent::sandbox::{self, ExitStatus, KillRequest, Sandbox, SupervisorSpec};
use dcos_schemas::agent::CommandInfo;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn dcosd() -> PathBuf {
    if let Some(p) = std::env::var_os("DCOSD_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> -> target/<profile>/dcosd
    let p = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("dcosd"))
        .expect("target dir");
    assert!(
        p.is_file(),
        "{} not found: build it with `cargo build -p dcos-server` or set DCOSD_BIN",
        p.display()
    );
    p
}

/// One supervised task; on drop it is killed and its cgroups removed, even when a test fails.
struct Run {
    _dir: tempfile::TempDir,
    sb: Sandbox,
    child: Option<Child>,
    layout: Option<Layout>,
}

fn layout(root: &str) -> Option<Layout> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    Layout::detect(&HostFs, Path::new("/sys/fs/cgroup"), &own, root)
}

impl Run {
    fn start(cmd: &str, mem_mb: f64, grace: f64) -> Run {
        Run::start_with(
            CommandInfo {
                value: Some(cmd.to_string()),
                shell: true,
                arguments: vec![],
                env: BTreeMap::new(),
                user: None,
            },
            mem_mb,
            grace,
        )
    }

    fn start_with(command: CommandInfo, mem_mb: f64, grace: f64) -> Run {
        let dir = tempfile::tempdir().expect("temp dir");
        let sb = Sandbox::new(dir.path().join("sandbox"));
        sb.create().expect("sandbox");
        // A cgroup root of our own per test, so parallel tests and leftovers never mix.
        let root = format!("dcos-test-{}", uuid::Uuid::new_v4().simple());
        let layout = layout(&root);
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), "/usr/sbin:/usr/bin:/sbin:/bin".into());
        env.insert("MESOS_TASK_ID".into(), "t1".into());
        let spec = SupervisorSpec {
            task_id: "t1".into(),
            framework_id: "fw".into(),
            agent_id: "a1".into(),
            sandbox: sb.dir.clone(),
            command,
            env,
            mem_mb,
            cpus: 0.5,
            cgroup: layout.as_ref().map(|l| l.task("a1", "t1")),
            kill_grace_secs: grace,
        };
        sb.write(sandbox::SPEC_FILE, &spec).expect("spec");
        let child = Command::new(dcosd())
            .arg("supervise")
            .arg("--spec")
            .arg(sb.file(sandbox::SPEC_FILE))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dcosd supervise");
        Run {
            _dir: dir,
            sb,
            child: Some(child),
            layout,
        }
    }

    /// Waits for the supervisor's "started" line.
    fn wait_started(&mut self) {
        let out = self
            .child
            .as_mut()
            .and_then(|c| c.stdout.take())
            .expect("stdout");
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).expect("read");
        assert!(line.starts_with("started "), "supervisor said {line:?}");
    }

    fn kill(&self, grace: f64) {
        self.sb
            .write(sandbox::KILL_FILE, &KillRequest { grace_secs: grace })
            .expect("kill file");
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on the supervisor this test started.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
        }
    }

    /// Waits for the supervisor and returns the exit status it wrote.
    fn wait(&mut self) -> ExitStatus {
        if let Some(mut c) = self.child.take() {
            let st = c.wait().expect("wait");
            assert!(st.success(), "supervisor failed: {st}");
        }
        self.sb
            .read::<ExitStatus>(sandbox::EXIT_FILE)
            .expect("exit status readable")
            .expect("exit status written")
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.sb.file(name)).unwrap_or_default()
    }

    /// The per-test cgroup roots, which must be gone once the task ended.
    fn cgroup_bases(&self) -> Vec<PathBuf> {
        self.layout
            .iter()
            .flat_map(|l| std::iter::once(l.memory_base.clone()).chain(l.cpu_base.clone()))
            .collect()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = self
                .sb
                .write(sandbox::KILL_FILE, &KillRequest { grace_secs: 0.0 });
            // SAFETY: kill(2) on the supervisor this test started.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let _ = c.wait();
        }
        // Whatever is left (a supervisor that crashed): remove bottom-up.
        for base in self.cgroup_bases() {
            for d in [base.join("a1/t1"), base.join("a1"), base.clone()] {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
}

#[test]
fn task_sees_only_its_own_processes_and_its_output_is_captured() {
    let mut r = Run::start(
        "echo task=$MESOS_TASK_ID; ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; echo; \
         cat /proc/1/comm; echo oops >&2; exit 3",
        64.0,
        1.0,
    );
    let st = r.wait();
    assert_eq!(st.code, Some(3), "{st:?}");
    assert!(!st.oom_killed && !st.killed);
    let out = r.file("stdout");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("task=t1"));
    let pids: Vec<u32> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().expect("pid"))
        .collect();
    // pid 1 is the task's init, then the shell and its pipeline: nothing of the host.
    assert_eq!(pids.first(), Some(&1), "{out}");
    assert!(pids.len() <= 6 && pids.iter().all(|p| *p < 50), "{out}");
    assert_eq!(lines.next(), Some("dcos-init"));
    assert_eq!(r.file("stderr").trim(), "oops");
    for b in r.cgroup_bases() {
        assert!(!b.exists(), "{} left behind", b.display());
    }
}

#[test]
fn the_hosts_proc_is_untouched() {
    // The task's /proc is private to its mount namespace.
    let mut r = Run::start("test -d /proc/1 && sleep 0.2", 64.0, 1.0);
    assert_eq!(r.wait().code, Some(0));
    let host_pid1 = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
    assert_ne!(host_pid1.trim(), "dcos-init");
    let me = std::process::id();
    assert!(Path::new(&format!("/proc/{me}")).exists());
}

#[test]
fn cgroup_limits_are_set_from_the_resources() {
    if layout("dcos").is_none() {
        eprintln!("no memory cgroup controller here; skipping");
        return;
    }
    let mut r = Run::start(
        "m=$(grep -E '^[0-9]+:memory:' /proc/self/cgroup | cut -d: -f3); \
         cat /sys/fs/cgroup/memory$m/memory.limit_in_bytes 2>/dev/null || \
         cat /sys/fs/cgroup$(grep '^0::' /proc/self/cgroup | cut -d: -f3)/memory.max",
        96.0,
        1.0,
    );
    assert_eq!(r.wait().code, Some(0));
    assert_eq!(r.file("stdout").trim(), (96u64 * 1024 * 1024).to_string());
}

#[test]
fn a_memory_hog_is_killed_by_the_kernel_and_reported_as_oom() {
    if layout("dcos").is_none() {
        eprintln!("no memory cgroup controller here; skipping");
        return;
    }
    let mut r = Run::start(
        "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived",
        32.0,
        1.0,
    );
    let st = r.wait();
    assert!(st.oom_killed, "{st:?}");
    assert_eq!(st.signal, Some(libc::SIGKILL), "{st:?}");
    assert!(!r.file("stdout").contains("survived"));
    for b in r.cgroup_bases() {
        assert!(!b.exists(), "{} left behind", b.display());
    }
}

#[test]
fn sigterm_is_escalated_to_sigkill_after_the_grace_period() {
    let mut r = Run::start(
        "trap 'echo got-term' TERM; echo ready; while true; do sleep 0.05; done",
        64.0,
        30.0,
    );
    r.wait_started();
    // Wait until the shell has installed its trap.
    for _ in 0..100 {
        if r.file("stdout").contains("ready") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    r.kill(0.5);
    let st = r.wait();
    assert!(st.killed, "{st:?}");
    assert_eq!(st.signal, Some(libc::SIGKILL), "{st:?}");
    assert!(
        r.file("stdout").contains("got-term"),
        "the task never saw SIGTERM"
    );
}

#[test]
fn a_task_that_honours_sigterm_ends_with_it() {
    let mut r = Run::start("exec sleep 100", 64.0, 30.0);
    r.wait_started();
    // The pid file identifies the live supervisor as the host sees it (what the agent checks
    // before it signals it, also after an agent restart).
    let info: sandbox::PidInfo =
        r.sb.read(sandbox::PID_FILE)
            .expect("pid file")
            .expect("written");
    assert!(sandbox::supervisor_alive(&info), "{info:?}");
    assert_eq!(
        info.supervisor_pid,
        r.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    );
    r.kill(30.0);
    let st = r.wait();
    assert!(st.killed, "{st:?}");
    assert_eq!(st.signal, Some(libc::SIGTERM), "{st:?}");
}

#[test]
fn args_are_executed_without_a_shell() {
    let mut r = Run::start_with(
        CommandInfo {
            value: None,
            shell: false,
            arguments: vec!["echo".into(), "$HOME".into(), "a b".into()],
            env: BTreeMap::new(),
            user: None,
        },
        64.0,
        1.0,
    );
    assert_eq!(r.wait().code, Some(0));
    assert_eq!(r.file("stdout"), "$HOME a b\n");
}

#[test]
fn an_unknown_user_or_program_is_reported_not_run() {
    let mut r = Run::start_with(
        CommandInfo {
            value: Some("true".into()),
            shell: true,
            arguments: vec![],
            env: BTreeMap::new(),
            user: Some("no-such-user-xyz".into()),
        },
        64.0,
        1.0,
    );
    let st = r.wait();
    assert!(
        st.error
            .as_deref()
            .unwrap_or("")
            .contains("no-such-user-xyz"),
        "{st:?}"
    );
    let mut r = Run::start_with(
        CommandInfo {
            value: None,
            shell: false,
            arguments: vec!["/nonexistent/prog".into()],
            env: BTreeMap::new(),
            user: None,
        },
        64.0,
        1.0,
    );
    assert_eq!(r.wait().code, Some(127));
    assert!(r.file("stderr").contains("/nonexistent/prog"));
}

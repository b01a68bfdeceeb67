//! Task start latency of the process containerizer: runs N sequential `/bin/true` tasks through
//! the real supervisor (`dcosd supervise`: cgroups v1/v2 with memory and cpu limits, new pid and
//! mount namespaces, a fresh /proc, sandbox stdout/stderr) and prints the time from spawning
//! the supervisor to the task running ("started" line) and to the exit status being written
//! with the cgroups removed. Compare: runc 1.1 ran 100 `/bin/true` containers in 2.8-3.0 s on
//! these machines. Run: `cargo build -p dcos-server && cargo bench -p dcos-agent --bench
//! supervisor_start` (env DCOSD_BIN picks the binary, N the task count).

use dcos_agent::cgroups::{HostFs, Layout};
use dcos_agent::sandbox::{self, ExitStatus, Sandbox, SupervisorSpec};
use dcos_schemas::agent::CommandInfo;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn dcosd() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DCOSD_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?;
    // The most recently built one (a stale release binary would measure old code).
    ["release", "debug"]
        .iter()
        .map(|p| target.join(p).join("dcosd"))
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let Some(bin) = dcosd() else {
        eprintln!("dcosd not found: run `cargo build -p dcos-server` first or set DCOSD_BIN");
        std::process::exit(1);
    };
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().expect("temp dir");
    let root = format!("dcos-bench-{}", std::process::id());
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let layout = Layout::detect(&HostFs, Path::new("/sys/fs/cgroup"), &own, &root);
    let mut to_running = Vec::with_capacity(n);
    let mut to_exit = Vec::with_capacity(n);
    let all = Instant::now();
    for i in 0..n {
        let sb = Sandbox::new(dir.path().join(format!("run{i}")));
        sb.create().expect("sandbox");
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), "/usr/bin:/bin".to_string());
        let spec = SupervisorSpec {
            task_id: format!("t{i}"),
            framework_id: "bench".into(),
            agent_id: "a".into(),
            sandbox: sb.dir.clone(),
            command: CommandInfo {
                value: None,
                shell: false,
                arguments: vec!["/bin/true".into()],
                env: BTreeMap::new(),
                user: None,
            },
            env,
            mem_mb: 64.0,
            cpus: 0.1,
            cgroup: layout.as_ref().map(|l| l.task("a", &format!("t{i}"))),
            kill_grace_secs: 1.0,
        };
        sb.write(sandbox::SPEC_FILE, &spec).expect("spec");
        let t0 = Instant::now();
        let mut child = Command::new(&bin)
            .arg("supervise")
            .arg("--spec")
            .arg(sb.file(sandbox::SPEC_FILE))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn supervisor");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        to_running.push(t0.elapsed());
        let _ = child.wait();
        to_exit.push(t0.elapsed());
        let st: Option<ExitStatus> = sb.read(sandbox::EXIT_FILE).ok().flatten();
        if st.as_ref().and_then(|s| s.code) != Some(0) {
            eprintln!("task {i} did not succeed: {st:?}");
            std::process::exit(1);
        }
    }
    let total = all.elapsed();
    if let Some(l) = &layout {
        let _ = std::fs::remove_dir(l.memory_base.join("a"));
        let _ = std::fs::remove_dir(&l.memory_base);
        if let Some(c) = &l.cpu_base {
            let _ = std::fs::remove_dir(c.join("a"));
            let _ = std::fs::remove_dir(c);
        }
    }
    to_running.sort();
    to_exit.sort();
    println!("binary: {}", bin.display());
    println!(
        "cgroups: {}",
        layout.map_or("none".to_string(), |l| format!("{:?}", l.version))
    );
    println!(
        "{n} sequential /bin/true tasks: total {:.2} s ({:.1} ms each)",
        total.as_secs_f64(),
        total.as_secs_f64() * 1000.0 / n as f64
    );
    println!(
        "spawn -> running: median {:.1} ms, p99 {:.1} ms",
        pct(&to_running, 0.5).as_secs_f64() * 1000.0,
        pct(&to_running, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "spawn -> exit status written, cgroups removed: median {:.1} ms, p99 {:.1} ms",
        pct(&to_exit, 0.5).as_secs_f64() * 1000.0,
        pct(&to_exit, 0.99).as_secs_f64() * 1000.0
    );
}

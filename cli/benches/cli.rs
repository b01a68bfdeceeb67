//! CLI figures (a program, not a test): cold start of `dcos --version`, and, when a `dcosd`
//! binary is found (DCOSD_BIN, or next to `dcos`), the time `dcos cluster up --agents 2` takes
//! to a cluster with every agent registered, read commands against it, and `dcos cluster down`.
//!
//! Run: `cargo build --release -p dcos-server && cargo bench -p dcos-cli --bench cli`

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn dcos() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dcos"))
}

fn dcosd() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DCOSD_BIN") {
        return Some(PathBuf::from(p));
    }
    let p = dcos().parent()?.join("dcosd");
    p.is_file().then_some(p)
}

fn run(dir: &Path, args: &[&str]) -> Duration {
    let t = Instant::now();
    let o = Command::new(dcos())
        .args(args)
        .env("DCOS_DIR", dir)
        .env_remove("DCOS_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run dcos");
    let d = t.elapsed();
    if !o.status.success() {
        eprintln!(
            "dcos {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::process::exit(1);
    }
    d
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let med = v[v.len() / 2];
    let p90 = v[(v.len() * 9 / 10).min(v.len() - 1)];
    println!(
        "{name:<34} median {:>7.1} ms   p90 {:>7.1} ms   ({} runs)",
        ms(med),
        ms(p90),
        v.len()
    );
}

/// Largest resident set of any waited-for child so far, in MiB.
fn children_max_rss_mib() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru.ru_maxrss as f64 / 1024.0
    }
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("dcos");

    let runs: Vec<Duration> = (0..30).map(|_| run(&dir, &["--version"])).collect();
    summary("dcos --version", runs);
    println!(
        "{:<34} {:.1} MiB",
        "peak RSS of dcos --version",
        children_max_rss_mib()
    );

    let Some(dcosd) = dcosd() else {
        println!("(no dcosd next to {}; build it with `cargo build --release -p dcos-server` for the cluster figures)", dcos().display());
        return;
    };
    let ports: Vec<u16> = {
        let ls: Vec<TcpListener> = (0..3)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
    };
    let cfg = tmp.path().join("config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "name: bench\ndir: {}\nmaster:\n  listen: 127.0.0.1:{}\nagents:\n  count: 2\n  ports_start: 45000\n  ports_per_agent: 100\n  nodes:\n    - listen: 127.0.0.1:{}\n    - listen: 127.0.0.1:{}\n",
            tmp.path().join("c").display(),
            ports[0],
            ports[1],
            ports[2]
        ),
    )
    .unwrap();
    std::env::set_var("DCOSD_BIN", &dcosd);
    let cfg_s = cfg.to_string_lossy().to_string();
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    for _ in 0..5 {
        ups.push(run(&dir, &["cluster", "up", "--config", &cfg_s]));
        downs.push(run(&dir, &["cluster", "down", "--yes"]));
    }
    summary("cluster up --agents 2 (to ready)", ups);
    summary("cluster down (and remove state)", downs);
    run(&dir, &["cluster", "up", "--config", &cfg_s]);
    for args in [
        &["node", "list"][..],
        &["task", "list"],
        &["service", "list"],
        &["cluster", "list"],
    ] {
        let v: Vec<Duration> = (0..20).map(|_| run(&dir, args)).collect();
        summary(&format!("dcos {}", args.join(" ")), v);
    }
    println!(
        "{:<34} {:.1} MiB",
        "peak RSS of any dcos command",
        children_max_rss_mib()
    );
    run(&dir, &["cluster", "down", "--yes"]);
}

//! Benchmark: a generated repository of >= 1,000 package versions (the real sample packages
//! cloned under new names), then
//! - renders per second with default options (library, in process),
//! - `dcos universe build` wall time and peak memory on it (the real binary, release build if
//!   present, else debug; the in-process library build is printed too),
//! - cold start of `dcos --version` (median of 21 runs).
//!
//! Run: `cargo build --release -p dcos-cli && cargo bench -p dcos-universe --bench render`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use universe::{RenderRequest, Repository};

const COPIES: usize = 55;

fn sample_packages() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/universe-sample/repo/packages")
}

/// Clones every sample package version `COPIES` times as `<name>-c<i>` (same letter folder).
fn generate(root: &Path) -> usize {
    let mut versions = 0;
    for letter in std::fs::read_dir(sample_packages()).expect("sample repo") {
        let letter = letter.expect("entry").path();
        for pkg in std::fs::read_dir(&letter).expect("letter dir") {
            let pkg = pkg.expect("entry").path();
            let name = pkg
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            for rel in std::fs::read_dir(&pkg).expect("package dir") {
                let rel = rel.expect("entry").path();
                for i in 0..COPIES {
                    let new_name = format!("{name}-c{i}");
                    let dest = root
                        .join("packages")
                        .join(letter.file_name().expect("letter"))
                        .join(&new_name)
                        .join(rel.file_name().expect("release"));
                    std::fs::create_dir_all(&dest).expect("mkdir");
                    for f in std::fs::read_dir(&rel).expect("release dir") {
                        let f = f.expect("entry").path();
                        let file = f.file_name().expect("file").to_owned();
                        if file == "package.json" {
                            let mut pj: Value =
                                serde_json::from_str(&std::fs::read_to_string(&f).expect("read"))
                                    .expect("json");
                            pj["name"] = Value::String(new_name.clone());
                            std::fs::write(
                                dest.join(file),
                                serde_json::to_string_pretty(&pj).expect("json"),
                            )
                            .expect("write");
                        } else {
                            std::fs::copy(&f, dest.join(file)).expect("copy");
                        }
                    }
                    versions += 1;
                }
            }
        }
    }
    versions
}

fn dcos_binary() -> Option<(PathBuf, &'static str)> {
    // target/<profile>/deps/render-xxxx -> target/
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?.to_path_buf();
    for profile in ["release", "debug"] {
        let p = target.join(profile).join("dcos");
        if p.is_file() {
            return Some((p, profile));
        }
    }
    None
}

/// Runs a command, returning wall time and the child's peak RSS in MB (from wait4).
fn timed(cmd: &mut Command) -> (Duration, f64, bool) {
    let start = Instant::now();
    // Reaped below with wait4 (which also reports the child's resource usage).
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid pointers.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (elapsed, usage.ru_maxrss as f64 / 1024.0, ok)
}

/// This process's resident memory in MB.
fn rss_mb() -> f64 {
    proc_status_mb("VmRSS:")
}

/// This process's peak resident memory so far, in MB.
fn peak_mb() -> f64 {
    proc_status_mb("VmHWM:")
}

fn proc_status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo_dir = tmp.path().join("repo");
    let t = Instant::now();
    let versions = generate(&repo_dir);
    println!(
        "generated {versions} package versions in {:.2?} at {}",
        t.elapsed(),
        repo_dir.display()
    );
    assert!(versions >= 1000);

    // The real binary first, while this process is small: a child's peak RSS as reported by
    // wait4 starts from the parent's at fork.
    // CLI build, real binary.
    match dcos_binary() {
        Some((bin, profile)) => {
            let out = tmp.path().join("out-cli");
            let (elapsed, rss, ok) = timed(
                Command::new(&bin)
                    .args(["universe", "build"])
                    .arg(&repo_dir)
                    .arg("-o")
                    .arg(&out),
            );
            assert!(ok, "dcos universe build failed");
            println!(
                "dcos universe build ({profile} binary {}): {:.2} s, peak RSS {rss:.0} MB for {versions} versions",
                bin.display(),
                elapsed.as_secs_f64()
            );

            let mut runs: Vec<Duration> = (0..21)
                .map(|_| {
                    let (d, _, ok) = timed(Command::new(&bin).arg("--version"));
                    assert!(ok);
                    d
                })
                .collect();
            runs.sort();
            println!(
                "dcos --version cold start ({profile}): median {:.2} ms (min {:.2} ms, max {:.2} ms, 21 runs)",
                runs[10].as_secs_f64() * 1000.0,
                runs[0].as_secs_f64() * 1000.0,
                runs[20].as_secs_f64() * 1000.0
            );
        }
        None => println!(
            "dcos binary not built: run `cargo build --release -p dcos-cli` for the CLI figures"
        ),
    }

    let t = Instant::now();
    let repo = Repository::load_dir(&repo_dir).expect("load generated repo");
    println!(
        "load_dir: {:.2?}, process RSS after load {:.0} MB (peak {:.0} MB)",
        t.elapsed(),
        rss_mb(),
        peak_mb()
    );

    // Library build (in process).
    let out_lib = tmp.path().join("out-lib");
    let t = Instant::now();
    universe::index::build(&repo, &out_lib).expect("build");
    let lib_build = t.elapsed();
    println!(
        "library index::build (loaded repo): {lib_build:.2?}, process peak RSS {:.0} MB",
        peak_mb()
    );

    // Renders per second, default options, DCOS_PACKAGE_* labels included.
    let renderable: Vec<_> = repo
        .packages()
        .iter()
        .filter(|p| p.template.is_some())
        .collect();
    let req = RenderRequest {
        options: None,
        app_id: None,
        source_uri: "https://example.test/repo",
    };
    let passes = 3;
    let t = Instant::now();
    let mut n = 0usize;
    for _ in 0..passes {
        for p in &renderable {
            universe::render(p, &req).expect("render");
            n += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let rps = n as f64 / secs;
    println!(
        "render: {n} renders in {secs:.2} s = {rps:.0} renders/s ({:.2} ms each; config schema compiled per render; parsed template and definition label cached on a package's first render), process peak RSS {:.0} MB",
        1000.0 * secs / n as f64,
        peak_mb()
    );

    println!("reference: public Universe generator 31.8 s / 283 MB for 1,235 versions; python DC/OS CLI 298 ms cold start");
}

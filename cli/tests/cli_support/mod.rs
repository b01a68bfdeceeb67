//! Shared by the CLI's integration tests: run the real `dcos` binary with its own temp
//! DCOS_DIR, and a small HTTP server answering fixed documents (a stand-in cluster entry point
//! for error paths that a real master cannot be made to produce on demand).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Env {
    pub tmp: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn dcos_dir(&self) -> PathBuf {
        self.tmp.path().join("dcos")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dcos"));
        c.args(args)
            .env("DCOS_DIR", self.dcos_dir())
            .env("HOME", self.tmp.path())
            .env_remove("DCOS_URL")
            .env_remove("DCOS_ACS_TOKEN")
            .env_remove("DCOSD_BIN")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run dcos")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "dcos {args:?} failed\n{}",
            show(&o, self.tmp.path())
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs and asserts exit code 1 with one `dcos: ...` line on stderr; returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "dcos {args:?} should exit 1\n{}",
            show(&o, self.tmp.path())
        );
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "one error line expected\n{}",
            show(&o, self.tmp.path())
        );
        assert!(lines[0].starts_with("dcos: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        lines[0].to_string()
    }
}

pub fn show(o: &Output, dir: &Path) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- temp dir: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        dir.display()
    )
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Answers each request with `route(method, path_and_query) -> (status, json body)`.
pub struct FixedServer {
    pub url: String,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl FixedServer {
    pub fn start(route: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                if s2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let _ = handle(c, &route);
                }
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            stop,
            port,
        }
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn handle(c: TcpStream, route: &impl Fn(&str, &str) -> (u16, String)) -> std::io::Result<()> {
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(c.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        if h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let (status, body) = route(method, path);
    let mut c = c;
    write!(
        c,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    c.flush()
}

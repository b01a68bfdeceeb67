//! The master: the cluster's single HTTP entry point, its durable store (embedded SQLite), the
//! agent registry with heartbeat-based health, placement through the allocation core, the task
//! lifecycle, and the interface internal frameworks (app and job schedulers) plug into.
//!
//! Layout: [`store`] (SQLite behind typed records), [`model`] (the records), [`core`] (state
//! machine: commit, then apply), `registry` and `tasks` (agent and task logic on the core),
//! [`placement`], [`frameworks`] (internal framework interface), [`master`] (async shell),
//! [`state_json`] (Mesos documents), [`http`] (the route table).

pub mod core;
pub mod frameworks;
pub mod http;
pub mod marathon;
pub mod master;
pub mod model;
pub mod placement;
mod registry;
pub mod state_json;
pub mod store;
mod tasks;
#[cfg(test)]
mod tests;

pub use crate::core::{Core, CoreConfig, CoreError};
pub use crate::master::Master;

use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;

/// Flags of `dcosd master`.
#[derive(Debug, Clone, clap::Args)]
pub struct MasterArgs {
    /// Directory for the embedded store and the master's state.
    #[arg(long, default_value = "/var/lib/dcos/master")]
    pub data_dir: PathBuf,
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, default_value = "0.0.0.0:5050")]
    pub listen: String,
    /// Seconds without a heartbeat after which an agent is unreachable and its tasks
    /// TASK_UNREACHABLE.
    #[arg(long, default_value_t = 15.0)]
    pub agent_timeout_secs: f64,
    /// Seconds an agent stays unreachable before its tasks become TASK_LOST.
    #[arg(long, default_value_t = 60.0)]
    pub unreachable_to_lost_secs: f64,
    /// Heartbeat interval the master asks agents to use (milliseconds).
    #[arg(long, default_value_t = 2000)]
    pub heartbeat_interval_ms: u64,
    /// The master's log file, served at /mesos/files/read.json?path=/master/log
    /// (default <data-dir>/master.log; point the process's stderr there).
    #[arg(long)]
    pub log_file: Option<PathBuf>,
    /// Lifetime of the login tokens the master issues, in seconds (DC/OS: 5 days).
    #[arg(long, default_value_t = 432_000, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub token_lifetime_secs: u64,
    /// On the first start, write the bootstrap admin's password to FILE (mode 0600) instead of
    /// printing it on stdout.
    #[arg(long, value_name = "FILE")]
    pub bootstrap_password_file: Option<PathBuf>,
    /// Serve HTTPS only: a cluster CA and a server certificate are generated into
    /// <data-dir>/tls on the first start (or given with --tls-cert/--tls-key); the CA is served
    /// at /ca/dcos-ca.crt and its SHA-256 fingerprint printed at start.
    #[arg(long)]
    pub tls: bool,
    /// Extra DNS name or IP for the generated server certificate (repeatable; localhost,
    /// 127.0.0.1 and the listen IP are always included).
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_names: Vec<String>,
    /// Serve this certificate chain (PEM, leaf first) instead of a generated one (implies --tls).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The CA certificate (PEM) to publish at /ca/dcos-ca.crt with --tls-cert (default: the
    /// chain's last certificate).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_ca: Option<PathBuf>,
}

fn secs(name: &str, v: f64) -> anyhow::Result<Duration> {
    if !v.is_finite() || v <= 0.0 || v > 86_400.0 * 365.0 {
        anyhow::bail!("--{name} must be a number of seconds > 0, got {v}");
    }
    Ok(Duration::from_secs_f64(v))
}

/// Writes `contents` to `path` with mode 0600 (replacing it atomically).
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

pub async fn run(args: MasterArgs) -> anyhow::Result<()> {
    let cfg = CoreConfig {
        agent_timeout: secs("agent-timeout-secs", args.agent_timeout_secs)?,
        unreachable_to_lost: secs("unreachable-to-lost-secs", args.unreachable_to_lost_secs)?,
        heartbeat_interval: Duration::from_millis(args.heartbeat_interval_ms.clamp(50, 600_000)),
    };
    let started = std::time::Instant::now();
    let log_file = args
        .log_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join("master.log"));
    let master = Master::open(args.data_dir.clone(), log_file, cfg)
        .with_context(|| format!("opening the master's store in {}", args.data_dir.display()))?;
    let token = master.core().join_token.clone();
    write_private(&args.data_dir.join("join-token"), &token)
        .with_context(|| format!("writing {}/join-token", args.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; pick a free address with --listen",
                args.listen
            )
        })?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let tls = tls_material(&args, addr)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{addr}");
    if let Ok(mut u) = master.url.lock() {
        *u = url.clone();
    }
    std::fs::write(args.data_dir.join("master.url"), format!("{url}\n"))
        .with_context(|| format!("writing {}/master.url", args.data_dir.display()))?;
    {
        let c = master.core();
        tracing::info!(
            agents = c.agents().count(),
            tasks = c.tasks().count(),
            recovery_ms = started.elapsed().as_millis() as u64,
            "master state recovered"
        );
    }
    master.spawn_health_clock();
    let app = http::router(master.clone());
    // Authentication on by default: ONE middleware around the whole route table (dcos-auth).
    let store = dcos_auth::SqliteAccountStore::open(&args.data_dir.join("master.sqlite"))
        .context("opening the auth tables")?;
    let mut auth_cfg = dcos_auth::AuthConfig::new(token.clone());
    auth_cfg.token_lifetime = Duration::from_secs(args.token_lifetime_secs);
    let opened =
        dcos_auth::AuthState::open(store, auth_cfg).context("initialising authentication")?;
    if let Some(pw) = &opened.bootstrap_password {
        announce_bootstrap_password(pw, args.bootstrap_password_file.as_deref());
    }
    let app = dcos_auth::protect(app, &opened.state);
    use std::io::Write;
    match tls {
        Some(tls) => {
            let app = app.merge(tls.ca_router());
            let config = tls.server_config().context("TLS configuration")?;
            println!(
                "cluster CA certificate: {} (SHA-256 {})",
                url.clone() + dcos_auth::CA_CERT_PATH,
                tls.ca_fingerprint_sha256
            );
            println!("dcosd master listening on {url}");
            let _ = std::io::stdout().flush();
            dcos_auth::tls::serve_tls_with_shutdown(listener, app, config, shutdown_signal())
                .await
                .context("serving HTTPS")?;
        }
        None => {
            println!("dcosd master listening on {url}");
            let _ = std::io::stdout().flush();
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving HTTP")?;
        }
    }
    Ok(())
}

/// Shows the bootstrap admin's password once: on stdout, or (with
/// `--bootstrap-password-file`) in that file only. Never in the log (stderr).
fn announce_bootstrap_password(pw: &str, file: Option<&std::path::Path>) {
    if let Some(f) = file {
        match write_private(f, &format!("{pw}\n")) {
            Ok(()) => {
                println!(
                    "created user 'admin'; its password is in {} (mode 0600)",
                    f.display()
                );
                return;
            }
            Err(e) => tracing::error!(
                "cannot write the bootstrap password to {}: {e}; printing it on stdout instead",
                f.display()
            ),
        }
    }
    println!("created user 'admin' with password {pw} (shown only this once)");
}

/// The TLS material for `--tls` (generated into <data-dir>/tls) or `--tls-cert/--tls-key`.
fn tls_material(
    args: &MasterArgs,
    addr: std::net::SocketAddr,
) -> anyhow::Result<Option<dcos_auth::tls::TlsMaterial>> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        // TlsError names the file and the cause; no second copy of the cause from a chain.
        return dcos_auth::tls::load_given(cert, key, args.tls_ca.as_deref())
            .map(Some)
            .map_err(|e| anyhow::anyhow!("--tls-cert/--tls-key/--tls-ca: {e}"));
    }
    if !args.tls {
        return Ok(None);
    }
    let mut names = args.tls_names.clone();
    if !addr.ip().is_unspecified() {
        names.push(addr.ip().to_string());
    }
    let dir = args.data_dir.join("tls");
    dcos_auth::tls::ensure_ca_and_cert(&dir, &names)
        .map(Some)
        .with_context(|| {
            format!(
                "creating the cluster CA and server certificate in {}",
                dir.display()
            )
        })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("master shutting down");
}

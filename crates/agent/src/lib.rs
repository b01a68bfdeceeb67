//! The agent: registers with the master, offers its resources, and runs the tasks the master
//! sends it. Each task runs in a sandbox directory under the work dir, supervised by a separate
//! `dcosd supervise` process that puts it in its own pid and mount namespaces and in cgroups
//! with its memory and cpu limits. Status updates are journaled on disk and resent until the
//! master acknowledges them; tasks keep running across an agent restart and are recovered from
//! the work dir. The agent also serves the Mesos-compatible `/state.json` and files API.

pub mod agent;
pub mod cgroups;
pub mod containerizer;
pub mod fetch;
pub mod files_api;
pub mod health;
pub mod http;
pub mod mesos_state;
pub mod namespaces;
pub mod registration;
pub mod resources;
pub mod sandbox;
pub mod status_journal;
pub mod supervisor;

use anyhow::Context;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// Flags of `dcosd agent`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "\
RESOURCES (--resources), Mesos syntax: name:value pairs separated by ';'
  cpus:2;mem:2048;disk:10000;gpus:0;ports:[31000-32000,33000-33100]
  mem and disk are in MB; ports are inclusive ranges in brackets; a `(*)` role suffix is
  accepted (cpus(*):2). Names not given keep the detected value: cpus = number of cpus,
  mem = total memory minus 1 GB (half when under 2 GB), disk = size of the work dir's file
  system minus 5 GB (half when under 10 GB), ports = [31000-32000].
ATTRIBUTES (--attributes): name:value pairs separated by ';', e.g. rack:a;zone:z1")]
pub struct AgentArgs {
    /// The master's URL, e.g. http://10.0.0.1:5050
    #[arg(long)]
    pub master: String,
    /// Directory for sandboxes and the agent's state.
    #[arg(long, default_value = "/var/lib/dcos/agent")]
    pub work_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, default_value = "0.0.0.0:5051")]
    pub listen: String,
    /// IP the master uses to reach this agent (default: the listen IP, or the local IP on the
    /// route to the master when listening on 0.0.0.0).
    #[arg(long)]
    pub advertise_ip: Option<IpAddr>,
    /// The cluster join token.
    #[arg(
        long,
        env = "DCOS_JOIN_TOKEN",
        hide_env_values = true,
        conflicts_with = "join_token_file"
    )]
    pub join_token: Option<String>,
    /// File holding the cluster join token.
    #[arg(long)]
    pub join_token_file: Option<PathBuf>,
    /// PEM CA certificate(s) to trust for an https --master (only these: the cluster CA at
    /// <master data dir>/tls/ca.crt, also served at /ca/dcos-ca.crt).
    #[arg(long, value_name = "FILE")]
    pub master_ca: Option<PathBuf>,
    /// Resources to offer instead of the detected ones (see RESOURCES below).
    #[arg(long)]
    pub resources: Option<String>,
    /// Attributes of this agent, e.g. "rack:a;zone:z1".
    #[arg(long)]
    pub attributes: Option<String>,
    /// Host name reported to the master (default: the system's host name).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Heartbeat interval; default: the one the master asks for.
    #[arg(long)]
    pub heartbeat_interval_ms: Option<u64>,
    /// Name of the cgroup that holds the tasks' cgroups: relative to the agent's own cgroup,
    /// or to the hierarchy root when it starts with '/'.
    #[arg(long, default_value = "dcos")]
    pub cgroups_root: String,
    /// The agent's log file, served by the files API as path=/slave/log (Mesos's name) for
    /// `dcos node log --mesos-id`; point the process's stderr there.
    #[arg(long)]
    pub log_file: Option<PathBuf>,
}

/// Resolves the IP the master can reach us on: the UDP "connect" trick picks the local
/// address of the route to the master.
async fn route_ip(master: &str) -> Option<IpAddr> {
    let u = reqwest::Url::parse(master).ok()?;
    let host = u
        .host_str()?
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let port = u.port_or_known_default().unwrap_or(80);
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()?
        .next()?;
    let bind: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let sock = tokio::net::UdpSocket::bind(bind).await.ok()?;
    sock.connect(addr).await.ok()?;
    Some(sock.local_addr().ok()?.ip())
}

pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    let master = reqwest::Url::parse(&args.master)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .with_context(|| {
            format!(
                "--master `{}` is not an http(s) URL like http://10.0.0.1:5050",
                args.master
            )
        })?
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let overrides = match &args.resources {
        Some(s) => resources::parse_resources(s).context("--resources")?,
        None => Default::default(),
    };
    let attributes = match &args.attributes {
        Some(s) => resources::parse_attributes(s).context("--attributes")?,
        None => Default::default(),
    };
    let join_token = match (&args.join_token, &args.join_token_file) {
        (Some(t), _) => Some(t.trim().to_string()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read --join-token-file {}", f.display()))?
                .trim()
                .to_string(),
        ),
        (None, None) => None,
    }
    .filter(|t| !t.is_empty());
    let master_ca_pem = match &args.master_ca {
        Some(f) => {
            let pem = std::fs::read(f)
                .with_context(|| format!("cannot read --master-ca {}", f.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .unwrap_or_default();
            anyhow::ensure!(
                !certs.is_empty(),
                "--master-ca {} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the cluster CA, e.g. <master data dir>/tls/ca.crt",
                f.display()
            );
            Some(pem)
        }
        None => None,
    };
    let listen: SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "--listen `{}` is not an address like 0.0.0.0:5051",
            args.listen
        )
    })?;
    std::fs::create_dir_all(&args.work_dir)
        .with_context(|| format!("cannot create --work-dir {}", args.work_dir.display()))?;
    let work_dir = args
        .work_dir
        .canonicalize()
        .with_context(|| format!("cannot resolve --work-dir {}", args.work_dir.display()))?;
    std::fs::create_dir_all(work_dir.join("slaves")).context("cannot create the sandboxes dir")?;
    let resources = resources::detect(&work_dir, overrides);
    let hostname = match args.hostname.clone() {
        Some(h) => h,
        None => nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into()),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let advertise_ip = match args.advertise_ip {
        Some(ip) => ip,
        None if !bound.ip().is_unspecified() => bound.ip(),
        None => route_ip(&master)
            .await
            .unwrap_or(IpAddr::from([127, 0, 0, 1])),
    };
    let host_port = match advertise_ip {
        IpAddr::V6(v6) => format!("[{v6}]:{}", bound.port()),
        IpAddr::V4(v4) => format!("{v4}:{}", bound.port()),
    };
    let proc_self = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let layout = cgroups::Layout::detect(
        &cgroups::HostFs,
        std::path::Path::new("/sys/fs/cgroup"),
        &proc_self,
        &args.cgroups_root,
    )
    .map(|l| l.usable(&cgroups::HostFs, std::path::Path::new("/sys/fs/cgroup")));
    match &layout {
        Some(l) => tracing::info!(
            "cgroups {:?}: task cgroups under {}",
            l.version,
            l.memory_base.display()
        ),
        None => tracing::warn!("no usable memory cgroup controller: tasks run without limits"),
    }
    if join_token.is_none() {
        tracing::warn!("no join token given: this agent's API is open to anyone who reaches it");
    }
    let cfg = agent::Config {
        master,
        work_dir,
        hostname,
        endpoint: format!("http://{host_port}"),
        advertise_ip: advertise_ip.to_string(),
        port: bound.port(),
        resources,
        attributes,
        join_token,
        master_ca_pem,
        heartbeat_interval_ms: args.heartbeat_interval_ms,
        cgroups: layout,
        log_file: args.log_file.clone(),
        // Resolved by the kernel at exec time, so it works even when the file was replaced.
        supervisor_exe: if std::path::Path::new("/proc/self/exe").exists() {
            PathBuf::from("/proc/self/exe")
        } else {
            std::env::current_exe().context("cannot find the agent's own binary")?
        },
    };
    let agent = agent::Agent::open(cfg).context("cannot open the agent's state")?;
    containerizer::recover(&agent);
    println!("dcosd agent listening on http://{host_port}");
    tokio::spawn(registration::master_link(agent.clone()));
    tokio::spawn(registration::status_sender(agent.clone()));
    let app = http::router(agent.clone());
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal());
    server.await.context("the agent's HTTP server failed")?;
    tracing::info!("agent stopping; its tasks keep running and are recovered on restart");
    Ok(())
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Flags of the hidden `dcosd supervise` role: the per-task supervisor process the agent starts
/// (a re-exec of the same binary), which sets up namespaces and cgroups, runs the task and
/// records its exit status in the sandbox.
#[derive(Debug, Clone, clap::Args)]
pub struct SuperviseArgs {
    /// Path of the task's launch spec (JSON) in its sandbox.
    #[arg(long)]
    pub spec: PathBuf,
}

/// Entry point of `dcosd supervise`; synchronous on purpose (runs before any runtime exists).
pub fn supervise(args: SuperviseArgs) -> anyhow::Result<()> {
    supervisor::supervise(&args.spec)?;
    Ok(())
}

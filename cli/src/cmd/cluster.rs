//! `dcos cluster ...`: start and stop local clusters (`up`, `down`), connect to clusters
//! (`setup`), and choose among the configured ones (`list`, `attach`, `remove`, `rename`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use serde_json::{json, Value};

use crate::config::{DcosDir, SslVerify, Target};
use crate::http::Client;
use crate::local::{self, DownOptions, UpOptions};
use crate::login::LoginOptions;
use crate::output::{print, print_json, Table};
use crate::prompt::confirm;
use crate::setup::{setup_cluster, ClusterSetup, SetupError, TlsChoice};

const UP_HELP: &str =
    "Starts a master and N agents of `dcosd` on this machine in the background, waits until \
     every agent is registered, writes the CLI configuration for the cluster and attaches it, \
     then prints the entry point URL. Running it again while the cluster runs changes nothing.\n\n\
     `dcosd` is looked for in DCOSD_BIN, next to `dcos`, then on PATH.\n\n\
     --config FILE is a YAML file describing the cluster; every field is optional and unknown \
     fields are an error. Defaults: name `local`, folder ~/.dcos/local/<name>, master on \
     127.0.0.1:5050, agents on 127.0.0.1:5051.., host ports 31000-31999, 32000-32999, ...\n\n\
     Example config.yaml:\n\n";

const SETUP_HELP: &str =
    "Connects the CLI to a running cluster: reads its identity (/metadata), logs in \
     (POST /acs/api/v1/auth/login; asks for the username and password on a terminal, the \
     password never echoed), writes ~/.dcos/clusters/<cluster id>/dcos.toml (mode 0600) with \
     the URL and the token, and attaches it.\n\n\
     For an https URL the server's certificate must be trusted: by the system's roots, by \
     --ca-certs FILE (pinned: only that CA is trusted), or else the cluster's own CA is \
     downloaded from /ca/dcos-ca.crt, its SHA-256 fingerprint shown for you to confirm (compare \
     it with the one `dcosd master --tls` printed), stored as dcos_ca.crt next to dcos.toml and \
     pinned. Without a terminal to confirm on, pass --ca-certs FILE or --no-check (insecure).";

/// The login flags shared by `dcos cluster setup` and `dcos auth login`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LoginArgs {
    /// The user to log in as (asked on a terminal when not given).
    #[arg(long)]
    pub username: Option<String>,
    /// Name of the environment variable holding the password.
    #[arg(long, value_name = "VAR", conflicts_with = "password_file")]
    pub password_env: Option<String>,
    /// File whose first line is the password.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Log in as a service account (--username) with this RSA private key (PEM).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["password_env", "password_file"])]
    pub private_key: Option<PathBuf>,
    /// The login provider to use (default: the cluster's dcos-uid-password provider).
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,
}

impl LoginArgs {
    pub fn options(self) -> LoginOptions {
        LoginOptions {
            username: self.username,
            password_env: self.password_env,
            password_file: self.password_file,
            private_key: self.private_key,
            provider: self.provider,
        }
    }
}

#[derive(Subcommand)]
pub enum Args {
    /// Start a whole local cluster (a master and N agents) in the background and attach the CLI.
    #[command(long_about = format!("{UP_HELP}{}", local::spec::EXAMPLE))]
    Up {
        /// Number of agents (default 2, or agents.count of --config).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
        agents: Option<u32>,
        /// config.yaml describing the cluster (addresses, agents, resources, folders, timeouts).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Cluster name (default `local`, or `name` of --config).
        #[arg(long)]
        name: Option<String>,
    },
    /// Stop a local cluster started by `dcos cluster up` and remove its state.
    Down {
        /// Which local cluster (default: the only one, or the attached one).
        #[arg(long)]
        name: Option<String>,
        /// Take the name from this config.yaml.
        #[arg(long, value_name = "FILE", conflicts_with = "name")]
        config: Option<PathBuf>,
        /// Keep the data (store, sandboxes, logs) so a later `dcos cluster up` resumes it.
        #[arg(long)]
        keep_data: bool,
        /// Do not ask before deleting data.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Connect the CLI to a running cluster by URL, log in and attach it.
    #[command(long_about = SETUP_HELP)]
    Setup {
        /// The cluster's entry point, e.g. http://10.0.0.1:5050
        url: String,
        /// Name for the cluster in `dcos cluster list` (default: its host and port).
        #[arg(long)]
        name: Option<String>,
        /// Do not verify the server's TLS certificate (insecure).
        #[arg(long, conflicts_with = "ca_certs")]
        insecure: bool,
        /// Verify the server's TLS certificate against this CA bundle (PEM).
        #[arg(long, value_name = "FILE")]
        ca_certs: Option<PathBuf>,
        /// Trust the CA certificate downloaded from an https cluster without asking to confirm
        /// its fingerprint (insecure).
        #[arg(long, conflicts_with_all = ["insecure", "ca_certs"])]
        no_check: bool,
        #[command(flatten)]
        login: LoginArgs,
    },
    /// List the configured clusters; `*` marks the attached one.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Only the attached cluster.
        #[arg(long)]
        attached: bool,
    },
    /// Make a configured cluster the one the CLI talks to.
    Attach {
        /// Cluster name or id.
        cluster: String,
    },
    /// Remove clusters from the CLI configuration (the clusters keep running).
    Remove {
        /// Cluster name or id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        cluster: Option<String>,
        /// Remove every configured cluster.
        #[arg(long)]
        all: bool,
        /// Do not ask before removing all.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Rename a configured cluster.
    Rename {
        /// Cluster name or id.
        cluster: String,
        /// The new name.
        new_name: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args {
        Args::Up {
            agents,
            config,
            name,
        } => {
            let out = local::up(UpOptions {
                config,
                agents,
                name,
            })?;
            if out.already_running {
                print(&format!(
                    "Cluster `{}` is already running at {} ({} agents); the CLI is attached to it.\n",
                    out.name, out.url, out.agents
                ));
            } else {
                print(&format!(
                    "Cluster `{}` is running: a master and {} agents (state in {}).\n\
                     Entry point: {}\n\
                     The CLI is attached to it: try `dcos node list`. Stop it with `dcos cluster down`.\n",
                    out.name,
                    out.agents,
                    out.dir.display(),
                    out.url
                ));
            }
            if let Some(f) = &out.admin_password {
                print(&format!(
                    "The password of the cluster's `admin` user is in {} (mode 0600); log another CLI in with `dcos cluster setup {} --username admin --password-file {}`.\n",
                    f.display(),
                    out.url,
                    f.display()
                ));
            }
            Ok(())
        }
        Args::Down {
            name,
            config,
            keep_data,
            yes,
        } => {
            let out = local::down(
                DownOptions {
                    name,
                    config,
                    keep_data,
                },
                |q| yes || confirm(q),
            )?;
            let data = if keep_data {
                "data kept; `dcos cluster up` resumes it".to_string()
            } else {
                format!("{} folders removed", out.removed.len())
            };
            print(&format!(
                "Cluster `{}` is down: {} processes stopped, {data}.\n",
                out.name, out.stopped
            ));
            Ok(())
        }
        Args::Setup {
            url,
            name,
            insecure,
            ca_certs,
            no_check,
            login,
        } => {
            let dir = DcosDir::from_env()?;
            if let Some(n) = &name {
                local::spec::check_name(n)?;
            }
            let tls = match (insecure, ca_certs) {
                (true, _) => TlsChoice::Insecure,
                (false, Some(p)) => TlsChoice::CaCerts(p),
                (false, None) => TlsChoice::Default,
            };
            let done = setup_cluster(
                &dir,
                ClusterSetup {
                    url: &url,
                    name: name.as_deref(),
                    tls,
                    no_check,
                    login: login.options(),
                },
                confirm_ca,
            )?;
            if let Some(fps) = &done.pinned {
                print(&format!(
                    "Pinned the cluster's CA certificate (SHA-256 {}).\n",
                    fps.join(", ")
                ));
            }
            if done.logged_in {
                print("Login successful!\n");
            }
            print(&format!(
                "Cluster `{}` ({}{}) is set up and attached.\n",
                done.entry.name(),
                done.entry.id,
                done.ident
                    .version
                    .map(|v| format!(", version {v}"))
                    .unwrap_or_default()
            ));
            Ok(())
        }
        Args::List { json, attached } => list(json, attached),
        Args::Attach { cluster } => {
            let dir = DcosDir::from_env()?;
            let c = dir.find(&cluster)?;
            dir.attach(&c.id)?;
            print(&format!("Attached to cluster `{}` ({}).\n", c.name(), c.id));
            Ok(())
        }
        Args::Remove { cluster, all, yes } => {
            let dir = DcosDir::from_env()?;
            if all {
                let list = dir.list()?;
                if list.is_empty() {
                    print("No clusters are configured.\n");
                    return Ok(());
                }
                let q = format!(
                    "Remove all {} clusters from the CLI configuration?",
                    list.len()
                );
                anyhow::ensure!(yes || confirm(&q), "removing all clusters was not confirmed; nothing changed (pass --yes to skip the question)");
                for c in &list {
                    dir.remove(&c.id)?;
                }
                print(&format!("Removed {} clusters.\n", list.len()));
            } else {
                let query = cluster.unwrap_or_default();
                let c = dir.find(&query)?;
                dir.remove(&c.id)?;
                print(&format!("Removed cluster `{}` ({}).\n", c.name(), c.id));
            }
            Ok(())
        }
        Args::Rename { cluster, new_name } => {
            let dir = DcosDir::from_env()?;
            local::spec::check_name(&new_name)?;
            let mut c = dir.find(&cluster)?;
            if dir
                .list()?
                .iter()
                .any(|o| o.id != c.id && o.name() == new_name)
            {
                return Err(crate::config::ConfigError::NameTaken(new_name).into());
            }
            let old = c.name();
            c.config.set("cluster.name", &new_name)?;
            c.save()?;
            print(&format!("Renamed cluster `{old}` to `{new_name}`.\n"));
            Ok(())
        }
    }
}

/// Where the DC/OS CLI checks that a token is accepted (200 or 403: accepted).
const TOKEN_PROBE: &str = "/pkgpanda/active.buildinfo.full.json";

/// Asks on the terminal whether to trust a downloaded CA certificate.
fn confirm_ca(fingerprints: &[String]) -> Result<bool, SetupError> {
    use std::io::IsTerminal;
    let fp = fingerprints.join(", ");
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(SetupError::CaNoTerminal { fingerprint: fp });
    }
    crate::output::note(&format!(
        "The cluster's CA certificate has the SHA-256 fingerprint\n  {fp}\nCompare it with the one the master printed (or `dcosd master --tls` shows)."
    ));
    Ok(dialoguer::Confirm::new()
        .with_prompt("Trust this CA certificate?")
        .default(false)
        .interact()
        .unwrap_or(false))
}

/// Probes every cluster (in parallel, short timeout) for `dcos cluster list`.
fn list(json: bool, only_attached: bool) -> anyhow::Result<()> {
    let dir = DcosDir::from_env()?;
    let mut clusters = dir.list()?;
    if only_attached {
        clusters.retain(|c| c.attached);
        if clusters.is_empty() {
            return Err(crate::config::ConfigError::NotAttached.into());
        }
    }
    let probes: Vec<(String, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = clusters
            .iter()
            .map(|c| {
                s.spawn(move || {
                    let Some(url) = c.config.url() else {
                        return ("UNCONFIGURED".to_string(), None);
                    };
                    let target = Target {
                        url,
                        token: c.config.get("core.dcos_acs_token").ok().flatten(),
                        ssl_verify: SslVerify::parse(
                            c.config.get("core.ssl_verify").ok().flatten().as_deref(),
                        ),
                        timeout: Duration::from_secs(3),
                    };
                    let client = match Client::new(&target) {
                        Ok(c) => c,
                        Err(_) => return ("UNAVAILABLE".to_string(), None),
                    };
                    match client.get_json("/dcos-metadata/dcos-version.json", &[]) {
                        Ok(v) => {
                            let version =
                                v.get("version").and_then(Value::as_str).map(String::from);
                            // The DC/OS CLI's token probe: 401 means the token is missing,
                            // invalid or expired (404: the cluster has no authentication).
                            match client.get_json(TOKEN_PROBE, &[]) {
                                Err(e) if e.status() == Some(401) => {
                                    ("UNAUTHENTICATED".to_string(), version)
                                }
                                _ => ("AVAILABLE".to_string(), version),
                            }
                        }
                        Err(e) if e.status() == Some(401) => ("UNAUTHENTICATED".to_string(), None),
                        Err(_) => ("UNAVAILABLE".to_string(), None),
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(("UNAVAILABLE".to_string(), None)))
            .collect()
    });
    if json {
        let arr: Vec<Value> = clusters
            .iter()
            .zip(&probes)
            .map(|(c, (status, version))| {
                json!({
                    "attached": c.attached,
                    "cluster_id": c.id,
                    "name": c.name(),
                    "status": status,
                    "url": c.config.url(),
                    "version": version,
                })
            })
            .collect();
        print_json(&Value::Array(arr));
        return Ok(());
    }
    if clusters.is_empty() {
        crate::output::note("No clusters are configured; `dcos cluster up` starts a local one, `dcos cluster setup URL` adds one.");
        return Ok(());
    }
    let mut t = Table::new(&["NAME", "ID", "STATUS", "VERSION", "URL"]);
    for (c, (status, version)) in clusters.iter().zip(&probes) {
        let name = if c.attached {
            format!("{}*", c.name())
        } else {
            c.name()
        };
        t.row([
            name,
            c.id.clone(),
            status.clone(),
            version.clone().unwrap_or_else(|| "N/A".into()),
            c.config.url().unwrap_or_default(),
        ]);
    }
    print(&t.render());
    Ok(())
}

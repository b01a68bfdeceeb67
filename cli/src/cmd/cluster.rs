//! `dcos cluster ...`: start and stop local clusters (`up`, `down`), connect to clusters
//! (`setup`), and choose among the configured ones (`list`, `attach`, `remove`, `rename`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use serde_json::{json, Value};

use crate::config::{DcosDir, SslVerify, Target};
use crate::http::Client;
use crate::local::{self, DownOptions, UpOptions};
use crate::output::{print, print_json, Table};
use crate::prompt::confirm;
use crate::setup::{setup, SetupOptions};

const UP_HELP: &str =
    "Starts a master and N agents of `dcosd` on this machine in the background, waits until \
     every agent is registered, writes the CLI configuration for the cluster and attaches it, \
     then prints the entry point URL. Running it again while the cluster runs changes nothing.\n\n\
     `dcosd` is looked for in DCOSD_BIN, next to `dcos`, then on PATH.\n\n\
     --config FILE is a YAML file describing the cluster; every field is optional and unknown \
     fields are an error. Defaults: name `local`, folder ~/.dcos/local/<name>, master on \
     127.0.0.1:5050, agents on 127.0.0.1:5051.., host ports 31000-31999, 32000-32999, ...\n\n\
     Example config.yaml:\n\n";

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
    /// Connect the CLI to a running cluster by URL and attach it.
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
        /// Do not ask to confirm the cluster's CA certificate.
        #[arg(long)]
        no_check: bool,
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
            no_check: _,
        } => {
            let dir = DcosDir::from_env()?;
            if let Some(n) = &name {
                local::spec::check_name(n)?;
            }
            let ssl_verify = match (insecure, ca_certs) {
                (true, _) => SslVerify::No,
                (false, Some(p)) => {
                    anyhow::ensure!(
                        p.is_file(),
                        "--ca-certs {} is not a file; give the path of a PEM CA bundle",
                        p.display()
                    );
                    SslVerify::CaBundle(p)
                }
                (false, None) => SslVerify::Yes,
            };
            let (entry, ident) = setup(
                &dir,
                SetupOptions {
                    url: &url,
                    name: name.as_deref(),
                    ssl_verify,
                    token: None,
                },
            )?;
            print(&format!(
                "Cluster `{}` ({}{}) is set up and attached.\n",
                entry.name(),
                entry.id,
                ident
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
                    match Client::new(&target)
                        .and_then(|cl| cl.get_json("/dcos-metadata/dcos-version.json", &[]))
                    {
                        Ok(v) => (
                            "AVAILABLE".to_string(),
                            v.get("version").and_then(Value::as_str).map(String::from),
                        ),
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

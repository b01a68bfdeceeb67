//! `dcos config set|show|unset`: the attached cluster's `dcos.toml`, keys in dotted form.

use clap::Subcommand;

use crate::config::{ClusterConfig, ConfigError, DcosDir, KEYS};
use crate::output::{print, Table};

#[derive(Subcommand)]
pub enum Args {
    /// Set a key of the attached cluster's configuration (e.g. core.dcos_url URL).
    #[command(after_help = keys_help())]
    Set {
        /// Dotted key, e.g. core.dcos_url
        key: String,
        /// The new value (checked for the key: a URL, true/false/CA file, seconds, ...)
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Show every set key, or the value of one key.
    #[command(after_help = keys_help())]
    Show {
        /// Dotted key, e.g. core.dcos_url
        key: Option<String>,
    },
    /// Remove a key from the attached cluster's configuration.
    #[command(after_help = keys_help())]
    Unset {
        /// Dotted key, e.g. core.dcos_acs_token
        key: String,
    },
}

fn keys_help() -> String {
    let mut s = String::from("Keys:\n");
    for (k, what) in KEYS {
        s.push_str(&format!("  {k:<20} {what}\n"));
    }
    s
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = DcosDir::from_env()?;
    match args {
        Args::Set { key, value } => {
            match dir.attached()? {
                Some(mut c) => {
                    c.config.set(&key, &value)?;
                    c.save()?;
                }
                None if key == "core.dcos_url" => {
                    // No cluster yet: this URL starts a new configuration entry, attached.
                    let mut cfg = ClusterConfig::default();
                    cfg.set(&key, &value)?;
                    let id = new_cluster_id();
                    let entry = dir.save_cluster(&id, cfg)?;
                    dir.attach(&entry.id)?;
                    crate::output::note(&format!(
                        "No cluster was attached: created and attached cluster {id}; `dcos cluster setup URL` names it after the cluster's own id."
                    ));
                }
                None => {
                    // Still check the key, so a typo is reported as such.
                    ClusterConfig::default().set(&key, &value)?;
                    return Err(ConfigError::NotAttached.into());
                }
            }
            Ok(())
        }
        Args::Show { key } => {
            let c = dir.require_attached()?;
            match key {
                Some(k) => match c.config.get(&k)? {
                    Some(v) => print(&format!("{v}\n")),
                    None => return Err(ConfigError::NotSet { key: k }.into()),
                },
                None => {
                    let mut t = Table::new(&["PROPERTY", "VALUE"]);
                    for (k, v) in c.config.entries() {
                        let v = if k == "core.dcos_acs_token" {
                            "*".repeat(8)
                        } else {
                            v
                        };
                        t.row([k.to_string(), v]);
                    }
                    print(&t.render());
                }
            }
            Ok(())
        }
        Args::Unset { key } => {
            let mut c = dir.require_attached()?;
            c.config.unset(&key)?;
            c.save()?;
            Ok(())
        }
    }
}

/// A random id for a cluster configured by URL only (uuid v4, like DC/OS cluster ids).
fn new_cluster_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

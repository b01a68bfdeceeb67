//! `dcos auth ...`: log in to the attached cluster (`login`), forget its token (`logout`), and
//! show how the cluster lets users log in (`list-providers`).

use clap::Subcommand;
use serde_json::Value;

use crate::cmd::cluster::LoginArgs;
use crate::config::{ConfigError, DcosDir, SslVerify, Target};
use crate::http::Client;
use crate::login::{self, provider_type};
use crate::output::{note, print, print_json, Table};

#[derive(Subcommand)]
pub enum Args {
    /// Log in to the attached cluster and store the token in its dcos.toml (mode 0600).
    Login {
        #[command(flatten)]
        login: LoginArgs,
    },
    /// Remove the attached cluster's token from the CLI configuration.
    Logout,
    /// List the cluster's login providers.
    ListProviders {
        /// Print the providers' JSON document.
        #[arg(long)]
        json: bool,
        /// Ask this cluster instead of the attached one.
        url: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
enum AuthCmdError {
    #[error("DCOS_URL ({env}) names another cluster than the attached one ({attached}); unset DCOS_URL, or set the cluster up with `dcos cluster setup {env}`")]
    OtherUrl { env: String, attached: String },
}

/// The attached cluster's entry, refusing a DCOS_URL that points elsewhere (the token would
/// be stored for the wrong cluster).
fn attached(dir: &DcosDir) -> anyhow::Result<crate::config::ClusterEntry> {
    let entry = dir.require_attached()?;
    let url = entry.config.url().ok_or_else(|| ConfigError::NotSet {
        key: "core.dcos_url".into(),
    })?;
    if let Some(env) = std::env::var("DCOS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        let env = crate::config::normalize_url(&env).unwrap_or(env);
        if env != url {
            return Err(AuthCmdError::OtherUrl { env, attached: url }.into());
        }
    }
    Ok(entry)
}

fn ssl_verify(entry: &crate::config::ClusterEntry) -> SslVerify {
    SslVerify::parse(
        entry
            .config
            .get("core.ssl_verify")
            .ok()
            .flatten()
            .as_deref(),
    )
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = DcosDir::from_env()?;
    match args {
        Args::Login { login } => {
            let mut entry = attached(&dir)?;
            let target = Target {
                url: entry.config.url().unwrap_or_default(),
                token: None,
                ssl_verify: ssl_verify(&entry),
                timeout: std::time::Duration::from_secs(30),
            };
            let client = Client::new(&target)?;
            match login::login(&client, &login.options())? {
                Some(token) => {
                    entry.config.set("core.dcos_acs_token", &token)?;
                    entry.save()?;
                    print("Login successful!\n");
                }
                None => note(&format!(
                    "The cluster at {} has no authentication; there is nothing to log in to.",
                    target.url
                )),
            }
            Ok(())
        }
        Args::Logout => {
            let mut entry = dir.require_attached()?;
            match entry.config.unset("core.dcos_acs_token") {
                Ok(()) => {
                    entry.save()?;
                    print(&format!(
                        "Logged out of cluster `{}`: its token is removed.\n",
                        entry.name()
                    ));
                }
                Err(ConfigError::NotSet { .. }) => print(&format!(
                    "Cluster `{}` has no stored token; nothing to do.\n",
                    entry.name()
                )),
                Err(e) => return Err(e.into()),
            }
            Ok(())
        }
        Args::ListProviders { json, url } => {
            let target = match url {
                Some(u) => Target {
                    url: crate::config::normalize_url(&u).map_err(|message| {
                        ConfigError::InvalidValue {
                            key: "URL".into(),
                            message,
                        }
                    })?,
                    token: None,
                    ssl_verify: SslVerify::Yes,
                    timeout: std::time::Duration::from_secs(30),
                },
                None => Target::resolve(&dir)?,
            };
            let client = Client::new(&target)?;
            let Some(providers) = login::providers(&client)? else {
                anyhow::bail!(
                    "the cluster at {} has no login providers (it has no authentication)",
                    target.url
                );
            };
            if json {
                print_json(&Value::Object(providers));
                return Ok(());
            }
            let mut t = Table::new(&["PROVIDER ID", "AUTHENTICATION TYPE", "DESCRIPTION"]);
            for (id, p) in &providers {
                t.row([
                    id.clone(),
                    provider_type(p),
                    p.get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                ]);
            }
            print(&t.render());
            Ok(())
        }
    }
}

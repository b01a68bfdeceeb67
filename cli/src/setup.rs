//! Connecting the CLI to a cluster: read its identity (`/metadata`, `/dcos-metadata/
//! dcos-version.json`), write `clusters/<CLUSTER_ID>/dcos.toml` and attach it.

use std::time::Duration;

use serde_json::Value;

use crate::config::{normalize_url, ClusterEntry, ConfigError, DcosDir, SslVerify, Target};
use crate::http::{Client, HttpError};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{url}/metadata has no CLUSTER_ID; is {url} a dcos-rs or DC/OS cluster?")]
    NoClusterId { url: String },
}

/// What the cluster says about itself.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cluster_id: String,
    pub version: Option<String>,
}

pub fn identify(client: &Client) -> Result<Identity, SetupError> {
    let meta = client.get_json("/metadata", &[])?;
    let cluster_id = meta
        .get("CLUSTER_ID")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && !s.contains(['/', '\\']) && *s != "." && *s != "..")
        .ok_or_else(|| SetupError::NoClusterId {
            url: client.base_url().to_string(),
        })?
        .to_string();
    let version = client
        .get_json("/dcos-metadata/dcos-version.json", &[])
        .ok()
        .and_then(|v| v.get("version").and_then(Value::as_str).map(String::from));
    Ok(Identity {
        cluster_id,
        version,
    })
}

/// Options of a setup.
pub struct SetupOptions<'a> {
    pub url: &'a str,
    pub name: Option<&'a str>,
    pub ssl_verify: SslVerify,
    pub token: Option<String>,
}

/// Identifies the cluster at `url`, writes its config (keeping an existing token when none is
/// given) and attaches it. Returns the entry.
pub fn setup(dir: &DcosDir, opts: SetupOptions) -> Result<(ClusterEntry, Identity), SetupError> {
    let url = normalize_url(opts.url).map_err(|message| ConfigError::InvalidValue {
        key: "URL".into(),
        message,
    })?;
    let target = Target {
        url: url.clone(),
        token: opts.token.clone(),
        ssl_verify: opts.ssl_verify.clone(),
        timeout: Duration::from_secs(10),
    };
    let client = Client::new(&target)?;
    let ident = identify(&client)?;
    let existing = dir.list()?.into_iter().find(|c| c.id == ident.cluster_id);
    let mut config = existing.map(|c| c.config).unwrap_or_default();
    let name = match opts.name {
        Some(n) => n.to_string(),
        None => config.name().unwrap_or_else(|| default_name(&url)),
    };
    // Another cluster entry with the same name would make the name ambiguous.
    if opts.name.is_some()
        && dir
            .list()?
            .iter()
            .any(|c| c.id != ident.cluster_id && c.name() == name)
    {
        return Err(ConfigError::NameTaken(name).into());
    }
    config.set("core.dcos_url", &url)?;
    config.set("cluster.name", &name)?;
    match &opts.ssl_verify {
        SslVerify::Yes => {
            let _ = config.unset("core.ssl_verify");
        }
        SslVerify::No => config.set("core.ssl_verify", "false")?,
        SslVerify::CaBundle(p) => config.set("core.ssl_verify", &p.display().to_string())?,
    }
    if let Some(t) = &opts.token {
        config.set("core.dcos_acs_token", t)?;
    }
    let entry = dir.save_cluster(&ident.cluster_id, config)?;
    dir.attach(&entry.id)?;
    let entry = ClusterEntry {
        attached: true,
        ..entry
    };
    Ok((entry, ident))
}

/// A cluster's default name: its host (and port).
fn default_name(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| url.to_string())
}

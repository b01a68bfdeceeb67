//! Connecting the CLI to a cluster, as `dcos cluster setup URL` does in DC/OS: settle how to
//! trust an https cluster (system roots, `--ca-certs`, `--insecure`, or its own CA downloaded,
//! confirmed by fingerprint and pinned), read its identity (`/metadata`,
//! `/dcos-metadata/dcos-version.json`), log in (see [`crate::login`]), then write
//! `clusters/<CLUSTER_ID>/dcos.toml` (and `dcos_ca.crt`) and attach it. Nothing is written
//! before every step has succeeded.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::ca::{CaBundle, CaError, CA_FILE};
use crate::config::{normalize_url, ClusterEntry, ConfigError, DcosDir, SslVerify, Target};
use crate::http::{Client, HttpError};
use crate::login::{LoginError, LoginOptions};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{url}/metadata has no CLUSTER_ID; is {url} a dcos-rs or DC/OS cluster?")]
    NoClusterId { url: String },
    #[error(transparent)]
    Ca(#[from] CaError),
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error("the cluster's CA certificate (SHA-256 {fingerprint}) was not trusted; nothing changed. Verify it out of band and pass --ca-certs FILE, or --no-check (insecure)")]
    CaNotTrusted { fingerprint: String },
    #[error("cannot ask to confirm the cluster's CA certificate (SHA-256 {fingerprint}): stdin is not a terminal; check the fingerprint and pass --ca-certs FILE, or --no-check (insecure)")]
    CaNoTerminal { fingerprint: String },
}

/// How to trust an https cluster.
#[derive(Debug, Clone)]
pub enum TlsChoice {
    /// System roots; if the cluster is not trusted by them, download its CA and confirm it.
    Default,
    /// Do not verify certificates (`--insecure`).
    Insecure,
    /// Pin the CA bundle of this file (`--ca-certs`).
    CaCerts(PathBuf),
}

/// `dcos cluster setup` options.
pub struct ClusterSetup<'a> {
    pub url: &'a str,
    pub name: Option<&'a str>,
    pub tls: TlsChoice,
    /// Trust a downloaded CA without asking (`--no-check`).
    pub no_check: bool,
    pub login: LoginOptions,
}

/// What `dcos cluster setup` did.
pub struct SetupDone {
    pub entry: ClusterEntry,
    pub ident: Identity,
    /// Whether a token was obtained (false: the cluster has no authentication).
    pub logged_in: bool,
    /// Fingerprints of the CA pinned from the cluster or --ca-certs.
    pub pinned: Option<Vec<String>>,
}

/// The whole setup flow. `confirm_ca(fingerprints)` asks the user to trust a downloaded CA
/// (it is not called with `no_check`); `Err` when it cannot ask.
pub fn setup_cluster(
    dir: &DcosDir,
    req: ClusterSetup,
    confirm_ca: impl Fn(&[String]) -> Result<bool, SetupError>,
) -> Result<SetupDone, SetupError> {
    let url = normalize_url(req.url).map_err(|message| ConfigError::InvalidValue {
        key: "URL".into(),
        message,
    })?;
    let target = |ssl_verify: SslVerify| Target {
        url: url.clone(),
        token: None,
        ssl_verify,
        timeout: Duration::from_secs(10),
    };
    let https = url.starts_with("https:");
    let bundle = match &req.tls {
        TlsChoice::Insecure => None,
        TlsChoice::CaCerts(p) => Some(CaBundle::read(p)?),
        TlsChoice::Default if !https => None,
        TlsChoice::Default => {
            match Client::new(&target(SslVerify::Yes))?.get_json("/metadata", &[]) {
                Ok(_) => None,
                Err(HttpError::Tls { .. }) => {
                    let b = crate::ca::fetch_unverified(&url)?;
                    let fps = b.fingerprints();
                    if !req.no_check && !confirm_ca(&fps)? {
                        return Err(SetupError::CaNotTrusted {
                            fingerprint: fps.join(", "),
                        });
                    }
                    Some(b)
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let ssl_verify = match (&req.tls, &bundle) {
        (TlsChoice::Insecure, _) => SslVerify::No,
        (_, Some(b)) => SslVerify::Pem(b.pem.clone()),
        _ => SslVerify::Yes,
    };
    let client = Client::new(&target(ssl_verify.clone()))?;
    let ident = identify(&client)?;
    if let Some(n) = req.name {
        check_name_free(dir, &ident, n)?;
    }
    let token = crate::login::login(&client, &req.login)?;
    let ssl_verify = match &bundle {
        Some(b) => {
            let path = dir.clusters_dir().join(&ident.cluster_id).join(CA_FILE);
            crate::config::write_private_file(&path, b.pem.as_bytes())?;
            SslVerify::CaBundle(path)
        }
        None => ssl_verify,
    };
    let logged_in = token.is_some();
    let entry = save(
        dir,
        &ident,
        SetupOptions {
            url: &url,
            name: req.name,
            ssl_verify,
            token,
        },
    )?;
    Ok(SetupDone {
        entry,
        ident,
        logged_in,
        pinned: bundle.map(|b| b.fingerprints()),
    })
}

/// Another cluster entry with the same name would make the name ambiguous.
fn check_name_free(dir: &DcosDir, ident: &Identity, name: &str) -> Result<(), ConfigError> {
    if dir
        .list()?
        .iter()
        .any(|c| c.id != ident.cluster_id && c.name() == name)
    {
        return Err(ConfigError::NameTaken(name.to_string()));
    }
    Ok(())
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
    let entry = save(dir, &ident, SetupOptions { url: &url, ..opts })?;
    Ok((entry, ident))
}

/// Writes the config of the identified cluster (keeping an existing token when none is given)
/// and attaches it.
fn save(dir: &DcosDir, ident: &Identity, opts: SetupOptions) -> Result<ClusterEntry, SetupError> {
    let url = opts.url.to_string();
    let existing = dir.list()?.into_iter().find(|c| c.id == ident.cluster_id);
    let mut config = existing.map(|c| c.config).unwrap_or_default();
    let name = match opts.name {
        Some(n) => n.to_string(),
        None => config.name().unwrap_or_else(|| default_name(&url)),
    };
    if opts.name.is_some() {
        check_name_free(dir, ident, &name)?;
    }
    config.set("core.dcos_url", &url)?;
    config.set("cluster.name", &name)?;
    match &opts.ssl_verify {
        SslVerify::Yes => {
            let _ = config.unset("core.ssl_verify");
        }
        SslVerify::No => config.set("core.ssl_verify", "false")?,
        SslVerify::CaBundle(p) => config.set("core.ssl_verify", &p.display().to_string())?,
        SslVerify::Pem(_) => {
            return Err(ConfigError::InvalidValue {
                key: "core.ssl_verify".into(),
                message: "a CA held in memory cannot be stored; write it to a file first".into(),
            }
            .into())
        }
    }
    if let Some(t) = &opts.token {
        config.set("core.dcos_acs_token", t)?;
    }
    let entry = dir.save_cluster(&ident.cluster_id, config)?;
    dir.attach(&entry.id)?;
    Ok(ClusterEntry {
        attached: true,
        ..entry
    })
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

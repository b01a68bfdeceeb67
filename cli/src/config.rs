//! The CLI's configuration: one folder per cluster under `~/.dcos/clusters/<cluster-id>/`
//! holding `dcos.toml` (sections `[core]` and `[cluster]`) and, for the cluster in use, an empty
//! `attached` file. `DCOS_DIR` replaces `~/.dcos`; `DCOS_URL` and `DCOS_ACS_TOKEN` override the
//! attached cluster's URL and token. Files are written 0600, folders 0700.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[cfg(test)]
mod tests;

/// The keys `dcos config set|show|unset` accept, with what each holds.
pub const KEYS: &[(&str, &str)] = &[
    (
        "core.dcos_url",
        "the cluster's entry point URL, e.g. http://127.0.0.1:5050",
    ),
    (
        "core.dcos_acs_token",
        "the authentication token sent as `Authorization: token=...`",
    ),
    (
        "core.ssl_verify",
        "`true`, `false`, or the path of a CA bundle for https",
    ),
    (
        "core.timeout",
        "HTTP request timeout in seconds (default 30)",
    ),
    (
        "cluster.name",
        "the cluster's name shown by `dcos cluster list`",
    ),
];

/// Default HTTP timeout when `core.timeout` is not set.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot find the home directory; set DCOS_DIR to the folder for the CLI's configuration"
    )]
    NoHome,
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML ({message}); fix or remove the file")]
    Parse { path: PathBuf, message: String },
    #[error("no cluster is attached: run `dcos cluster up` or `dcos cluster setup URL`")]
    NotAttached,
    #[error("unknown config key `{key}`; valid keys: {valid}")]
    UnknownKey { key: String, valid: String },
    #[error("invalid value for {key}: {message}")]
    InvalidValue { key: String, message: String },
    #[error("{key} is not set; set it with `dcos config set {key} VALUE`")]
    NotSet { key: String },
    #[error("no cluster is named `{0}` or has that id; `dcos cluster list` shows the clusters")]
    NotFound(String),
    #[error("several clusters match `{query}` ({ids}); use the cluster id instead")]
    Ambiguous { query: String, ids: String },
    #[error("a cluster named `{0}` already exists; choose another name or remove it with `dcos cluster remove {0}`")]
    NameTaken(String),
}

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> ConfigError + 'a {
    move |source| ConfigError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` and its missing parents with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), ConfigError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err("create", dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err("chmod", dir))
}

/// Writes `contents` to `path` atomically (temp file + rename) with mode 0600.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), ConfigError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ConfigError::Io {
            action: "write",
            path: path.to_path_buf(),
            source: e,
        }
    })
}

/// The contents of one cluster's `dcos.toml`, kept as a TOML table so keys this version does
/// not know (written by a newer CLI) survive a rewrite.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterConfig {
    table: toml::Table,
}

impl ClusterConfig {
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.message().to_string(),
            })?;
        Ok(Self { table })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(&self.table).unwrap_or_default()
    }

    /// Checks `key` is one of [`KEYS`] and splits it into section and name.
    fn split_key(key: &str) -> Result<(&str, &str), ConfigError> {
        if KEYS.iter().any(|(k, _)| *k == key) {
            if let Some((section, name)) = key.split_once('.') {
                return Ok((section, name));
            }
        }
        Err(ConfigError::UnknownKey {
            key: key.to_string(),
            valid: KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
        })
    }

    /// The value of `key` as text, or None when unset.
    pub fn get(&self, key: &str) -> Result<Option<String>, ConfigError> {
        let (section, name) = Self::split_key(key)?;
        Ok(self
            .table
            .get(section)
            .and_then(|s| s.as_table())
            .and_then(|s| s.get(name))
            .map(|v| match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            }))
    }

    /// Validates and sets `key`; the stored type follows the key (timeout is an integer).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let (section, name) = Self::split_key(key)?;
        let invalid = |message: String| ConfigError::InvalidValue {
            key: key.to_string(),
            message,
        };
        let value = match key {
            "core.dcos_url" => toml::Value::String(normalize_url(value).map_err(invalid)?),
            "core.ssl_verify" => {
                let v = value.trim();
                if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
                    toml::Value::String(v.to_ascii_lowercase())
                } else if Path::new(v).is_file() {
                    toml::Value::String(v.to_string())
                } else {
                    return Err(invalid(format!(
                        "`{v}` is neither true, false nor an existing CA bundle file"
                    )));
                }
            }
            "core.timeout" => match value.trim().parse::<u32>() {
                Ok(n) if n > 0 => toml::Value::Integer(i64::from(n)),
                _ => {
                    return Err(invalid(format!(
                        "`{value}` is not a positive number of seconds"
                    )))
                }
            },
            _ => {
                if value.is_empty() {
                    return Err(invalid("the value is empty".into()));
                }
                toml::Value::String(value.to_string())
            }
        };
        let sec = self
            .table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !sec.is_table() {
            *sec = toml::Value::Table(toml::Table::new());
        }
        if let Some(t) = sec.as_table_mut() {
            t.insert(name.to_string(), value);
        }
        Ok(())
    }

    /// Removes `key`; an error when it was not set.
    pub fn unset(&mut self, key: &str) -> Result<(), ConfigError> {
        let (section, name) = Self::split_key(key)?;
        let removed = self
            .table
            .get_mut(section)
            .and_then(|s| s.as_table_mut())
            .and_then(|s| s.remove(name));
        if removed.is_none() {
            return Err(ConfigError::NotSet {
                key: key.to_string(),
            });
        }
        Ok(())
    }

    /// Every known key that is set, in [`KEYS`] order.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        KEYS.iter()
            .filter_map(|(k, _)| self.get(k).ok().flatten().map(|v| (*k, v)))
            .collect()
    }

    pub fn name(&self) -> Option<String> {
        self.get("cluster.name").ok().flatten()
    }

    pub fn url(&self) -> Option<String> {
        self.get("core.dcos_url").ok().flatten()
    }
}

/// Checks a cluster URL and removes trailing slashes.
pub fn normalize_url(value: &str) -> Result<String, String> {
    let v = value.trim().trim_end_matches('/');
    match reqwest::Url::parse(v) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
            Ok(v.to_string())
        }
        Ok(_) => Err(format!("`{value}` is not an http:// or https:// URL")),
        Err(e) => Err(format!("`{value}` is not a URL ({e})")),
    }
}

/// One cluster known to the CLI.
#[derive(Debug, Clone)]
pub struct ClusterEntry {
    pub id: String,
    pub dir: PathBuf,
    pub config: ClusterConfig,
    pub attached: bool,
}

impl ClusterEntry {
    pub fn name(&self) -> String {
        self.config.name().unwrap_or_else(|| self.id.clone())
    }

    pub fn save(&self) -> Result<(), ConfigError> {
        write_private_file(
            &self.dir.join("dcos.toml"),
            self.config.to_toml().as_bytes(),
        )
    }
}

/// The CLI's configuration folder (`DCOS_DIR` or `~/.dcos`).
#[derive(Debug, Clone)]
pub struct DcosDir {
    pub root: PathBuf,
}

impl DcosDir {
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Some(d) = std::env::var_os("DCOS_DIR").filter(|d| !d.is_empty()) {
            return Ok(Self {
                root: PathBuf::from(d),
            });
        }
        match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => Ok(Self {
                root: PathBuf::from(home).join(".dcos"),
            }),
            None => Err(ConfigError::NoHome),
        }
    }

    pub fn clusters_dir(&self) -> PathBuf {
        self.root.join("clusters")
    }

    /// Where `dcos cluster up` keeps local clusters by default.
    pub fn local_dir(&self) -> PathBuf {
        self.root.join("local")
    }

    /// All configured clusters, sorted by name then id.
    pub fn list(&self) -> Result<Vec<ClusterEntry>, ConfigError> {
        let dir = self.clusters_dir();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &dir)(e)),
        };
        let mut out = Vec::new();
        for ent in rd {
            let ent = ent.map_err(io_err("read", &dir))?;
            let path = ent.path();
            let toml_path = path.join("dcos.toml");
            if !toml_path.is_file() {
                continue;
            }
            let text = fs::read_to_string(&toml_path).map_err(io_err("read", &toml_path))?;
            out.push(ClusterEntry {
                id: ent.file_name().to_string_lossy().into_owned(),
                config: ClusterConfig::parse(&text, &toml_path)?,
                attached: path.join("attached").exists(),
                dir: path,
            });
        }
        out.sort_by(|a, b| a.name().cmp(&b.name()).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn attached(&self) -> Result<Option<ClusterEntry>, ConfigError> {
        Ok(self.list()?.into_iter().find(|c| c.attached))
    }

    pub fn require_attached(&self) -> Result<ClusterEntry, ConfigError> {
        self.attached()?.ok_or(ConfigError::NotAttached)
    }

    /// Finds a cluster by exact id, exact name, or unique id prefix.
    pub fn find(&self, query: &str) -> Result<ClusterEntry, ConfigError> {
        let all = self.list()?;
        if let Some(c) = all.iter().find(|c| c.id == query) {
            return Ok(c.clone());
        }
        let by_name: Vec<_> = all.iter().filter(|c| c.name() == query).collect();
        let matches: Vec<_> = if by_name.is_empty() {
            all.iter()
                .filter(|c| !query.is_empty() && c.id.starts_with(query))
                .collect()
        } else {
            by_name
        };
        match matches.as_slice() {
            [] => Err(ConfigError::NotFound(query.to_string())),
            [one] => Ok((*one).clone()),
            many => Err(ConfigError::Ambiguous {
                query: query.to_string(),
                ids: many
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Creates or replaces the config of cluster `id`.
    pub fn save_cluster(
        &self,
        id: &str,
        config: ClusterConfig,
    ) -> Result<ClusterEntry, ConfigError> {
        if id.is_empty() || id.contains(['/', '\\']) || id == "." || id == ".." {
            return Err(ConfigError::InvalidValue {
                key: "cluster id".into(),
                message: format!("`{id}` cannot name a folder"),
            });
        }
        create_private_dir(&self.root)?;
        create_private_dir(&self.clusters_dir())?;
        let dir = self.clusters_dir().join(id);
        let entry = ClusterEntry {
            id: id.to_string(),
            attached: dir.join("attached").exists(),
            dir,
            config,
        };
        entry.save()?;
        Ok(entry)
    }

    /// Marks cluster `id` as the attached one (and no other).
    pub fn attach(&self, id: &str) -> Result<(), ConfigError> {
        for c in self.list()? {
            if c.id != id && c.attached {
                let p = c.dir.join("attached");
                fs::remove_file(&p).map_err(io_err("remove", &p))?;
            }
        }
        write_private_file(&self.clusters_dir().join(id).join("attached"), b"")
    }

    pub fn remove(&self, id: &str) -> Result<(), ConfigError> {
        let dir = self.clusters_dir().join(id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("remove", &dir)(e)),
            _ => Ok(()),
        }
    }
}

/// How to verify the server's TLS certificate.
#[derive(Debug, Clone, PartialEq)]
pub enum SslVerify {
    Yes,
    No,
    /// Trust only the CA certificates in this PEM file (the pinned cluster CA).
    CaBundle(PathBuf),
    /// Trust only these PEM CA certificates (held in memory while `dcos cluster setup` checks
    /// a downloaded CA, before it is written to the cluster's folder).
    Pem(String),
}

impl SslVerify {
    pub fn parse(v: Option<&str>) -> Self {
        match v.map(str::trim) {
            None | Some("") => Self::Yes,
            Some(v) if v.eq_ignore_ascii_case("true") => Self::Yes,
            Some(v) if v.eq_ignore_ascii_case("false") => Self::No,
            Some(path) => Self::CaBundle(PathBuf::from(path)),
        }
    }
}

/// Where and how the CLI talks to a cluster: the attached cluster's settings with the
/// environment's overrides applied.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub token: Option<String>,
    pub ssl_verify: SslVerify,
    pub timeout: Duration,
}

impl Target {
    /// Resolves the target from `DCOS_URL`/`DCOS_ACS_TOKEN` and the attached cluster.
    pub fn resolve(dir: &DcosDir) -> Result<Self, ConfigError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let attached = dir.attached()?;
        let env_url = match env("DCOS_URL") {
            Some(u) => Some(
                normalize_url(&u).map_err(|message| ConfigError::InvalidValue {
                    key: "DCOS_URL".into(),
                    message,
                })?,
            ),
            None => None,
        };
        let (url, cfg) = match (env_url, attached) {
            (Some(u), Some(c)) => {
                // The attached cluster's settings apply only when DCOS_URL names that cluster.
                let same = c.config.url().as_deref() == Some(u.as_str());
                (u, if same { Some(c.config) } else { None })
            }
            (Some(u), None) => (u, None),
            (None, Some(c)) => match c.config.url() {
                Some(u) => (u, Some(c.config)),
                None => {
                    return Err(ConfigError::NotSet {
                        key: "core.dcos_url".into(),
                    })
                }
            },
            (None, None) => return Err(ConfigError::NotAttached),
        };
        let get = |k: &str| cfg.as_ref().and_then(|c| c.get(k).ok().flatten());
        let token = env("DCOS_ACS_TOKEN").or_else(|| get("core.dcos_acs_token"));
        let timeout = get("core.timeout")
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|t| *t > 0)
            .unwrap_or(DEFAULT_TIMEOUT_SECS);
        Ok(Self {
            url,
            token,
            ssl_verify: SslVerify::parse(get("core.ssl_verify").as_deref()),
            timeout: Duration::from_secs(timeout),
        })
    }
}

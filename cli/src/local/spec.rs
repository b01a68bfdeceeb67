//! `config.yaml`: the single file that describes a local cluster, and the plan resolved from
//! it (every address, port range and folder decided, checked for overlaps).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: {message}; see `dcos cluster up --help` or docs/cluster-config.md for the fields"
    )]
    Parse { path: PathBuf, message: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The whole file. Every field is optional; unknown fields are an error.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSpec {
    /// Cluster name: names the CLI config entry and the default folder.
    pub name: Option<String>,
    /// Folder for logs, pids and (by default) all data; default `~/.dcos/local/<name>`.
    pub dir: Option<PathBuf>,
    pub master: MasterSpec,
    pub agents: AgentsSpec,
    pub timeouts: TimeoutsSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MasterSpec {
    /// `IP:PORT` of the entry point.
    pub listen: String,
    /// The master's store; default `<dir>/master`.
    pub data_dir: Option<PathBuf>,
}

impl Default for MasterSpec {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:5050".into(),
            data_dir: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AgentsSpec {
    /// How many agents; default the number of `nodes`, or 2.
    pub count: Option<u32>,
    /// IP the agents listen on.
    pub listen_host: String,
    /// Agent i listens on `first_port + i` unless its node sets `listen`.
    pub first_port: u16,
    /// Agent i offers host ports `ports_start + i*ports_per_agent` and the following
    /// `ports_per_agent - 1` unless its node sets `ports`.
    pub ports_start: u16,
    pub ports_per_agent: u16,
    /// Default resources of every agent in Mesos form, e.g. `cpus:2;mem:2048;disk:10240`
    /// (unset: detected from the machine).
    pub resources: Option<String>,
    /// Default attributes of every agent, e.g. `rack:r1;zone:a`.
    pub attributes: Option<String>,
    /// Per-agent settings, in order; missing fields take the defaults above.
    pub nodes: Vec<AgentNodeSpec>,
}

impl Default for AgentsSpec {
    fn default() -> Self {
        Self {
            count: None,
            listen_host: "127.0.0.1".into(),
            first_port: 5051,
            ports_start: 31000,
            ports_per_agent: 1000,
            resources: None,
            attributes: None,
            nodes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AgentNodeSpec {
    pub listen: Option<String>,
    pub work_dir: Option<PathBuf>,
    pub resources: Option<String>,
    pub attributes: Option<String>,
    /// Host port range `FIRST-LAST`.
    pub ports: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsSpec {
    /// How long `dcos cluster up` waits for the master and every agent.
    pub startup_secs: u64,
    /// Seconds without a heartbeat before the master marks an agent unreachable
    /// (unset: the master's default).
    pub agent_heartbeat_secs: Option<u64>,
    /// How long `dcos cluster down` waits after SIGTERM before SIGKILL.
    pub stop_grace_secs: u64,
}

impl Default for TimeoutsSpec {
    fn default() -> Self {
        Self {
            startup_secs: 60,
            agent_heartbeat_secs: None,
            stop_grace_secs: 10,
        }
    }
}

pub const DEFAULT_NAME: &str = "local";
pub const DEFAULT_AGENTS: u32 = 2;
pub const MAX_AGENTS: u32 = 64;

impl ClusterSpec {
    pub fn parse(text: &str, path: &Path) -> Result<Self, SpecError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml_ng::from_str(text).map_err(|e| SpecError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The cluster's name (checked to be usable as a folder name).
    pub fn name(&self) -> Result<String, SpecError> {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| DEFAULT_NAME.to_string());
        check_name(&name)?;
        Ok(name)
    }

    /// Decides every address, folder and port range; `local_root` is `~/.dcos/local`.
    pub fn plan(&self, local_root: &Path) -> Result<Plan, SpecError> {
        let name = self.name()?;
        let dir = self.dir.clone().unwrap_or_else(|| local_root.join(&name));
        let master_listen = parse_addr("master.listen", &self.master.listen)?;
        let a = &self.agents;
        let count = a.count.unwrap_or(if a.nodes.is_empty() {
            DEFAULT_AGENTS
        } else {
            a.nodes.len() as u32
        });
        if count == 0 || count > MAX_AGENTS {
            return Err(invalid(
                "agents.count",
                format!("{count} is not between 1 and {MAX_AGENTS}"),
            ));
        }
        if a.nodes.len() > count as usize {
            return Err(invalid(
                "agents.nodes",
                format!("lists {} agents but agents.count is {count}", a.nodes.len()),
            ));
        }
        if a.ports_per_agent == 0 {
            return Err(invalid("agents.ports_per_agent", "must be at least 1"));
        }
        let host: std::net::IpAddr = a.listen_host.parse().map_err(|_| {
            invalid(
                "agents.listen_host",
                format!("`{}` is not an IP address", a.listen_host),
            )
        })?;
        let mut agents = Vec::new();
        for i in 0..count as usize {
            let node = a.nodes.get(i).cloned().unwrap_or_default();
            let field = |f: &str| format!("agents.nodes[{i}].{f}");
            let listen = match &node.listen {
                Some(l) => parse_addr(&field("listen"), l)?,
                None => {
                    let port = u32::from(a.first_port) + i as u32;
                    let port = u16::try_from(port).map_err(|_| {
                        invalid(
                            "agents.first_port",
                            format!("agent {i} would listen on port {port}"),
                        )
                    })?;
                    SocketAddr::new(host, port)
                }
            };
            let ports = match &node.ports {
                Some(p) => parse_range(&field("ports"), p)?,
                None => {
                    let first = u32::from(a.ports_start) + i as u32 * u32::from(a.ports_per_agent);
                    let last = first + u32::from(a.ports_per_agent) - 1;
                    if last > 65535 {
                        return Err(invalid(
                            "agents.ports_start",
                            format!("agent {i}'s port range {first}-{last} goes past 65535"),
                        ));
                    }
                    (first as u16, last as u16)
                }
            };
            agents.push(AgentPlan {
                index: i,
                listen,
                work_dir: node
                    .work_dir
                    .clone()
                    .unwrap_or_else(|| dir.join(format!("agent-{i}"))),
                resources: node.resources.clone().or_else(|| a.resources.clone()),
                attributes: node.attributes.clone().or_else(|| a.attributes.clone()),
                ports,
            });
        }
        // Nothing may listen twice or offer the same host port twice.
        for (i, ag) in agents.iter().enumerate() {
            if ag.listen.port() == master_listen.port() {
                return Err(invalid(
                    format!("agent {i} listen"),
                    format!("{} uses the master's port", ag.listen),
                ));
            }
            for (j, other) in agents.iter().enumerate().skip(i + 1) {
                if ag.listen.port() == other.listen.port() {
                    return Err(invalid(
                        format!("agent {j} listen"),
                        format!(
                            "agents {i} and {j} both listen on port {}",
                            ag.listen.port()
                        ),
                    ));
                }
                if ag.ports.0 <= other.ports.1 && other.ports.0 <= ag.ports.1 {
                    return Err(invalid(
                        format!("agent {j} ports"),
                        format!(
                            "agents {i} and {j} have overlapping host port ranges {}-{} and {}-{}",
                            ag.ports.0, ag.ports.1, other.ports.0, other.ports.1
                        ),
                    ));
                }
            }
        }
        let t = &self.timeouts;
        if t.startup_secs == 0 {
            return Err(invalid("timeouts.startup_secs", "must be at least 1"));
        }
        if t.agent_heartbeat_secs == Some(0) {
            return Err(invalid(
                "timeouts.agent_heartbeat_secs",
                "must be at least 1",
            ));
        }
        Ok(Plan {
            name,
            master_data_dir: self
                .master
                .data_dir
                .clone()
                .unwrap_or_else(|| dir.join("master")),
            dir,
            master_listen,
            agents,
            startup: Duration::from_secs(t.startup_secs),
            stop_grace: Duration::from_secs(t.stop_grace_secs),
            agent_heartbeat_secs: t.agent_heartbeat_secs,
        })
    }
}

/// Names become folder names and CLI config names: keep them plain.
pub fn check_name(name: &str) -> Result<(), SpecError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "name",
            format!(
                "`{name}` must be 1-63 letters, digits, `-`, `_` or `.`, not starting with `.`"
            ),
        ))
    }
}

fn parse_addr(field: &str, v: &str) -> Result<SocketAddr, SpecError> {
    let addr: SocketAddr = v
        .trim()
        .parse()
        .map_err(|_| invalid(field, format!("`{v}` is not IP:PORT (e.g. 127.0.0.1:5050)")))?;
    if addr.port() == 0 {
        return Err(invalid(field, format!("`{v}` needs a fixed port, not 0")));
    }
    Ok(addr)
}

fn parse_range(field: &str, v: &str) -> Result<(u16, u16), SpecError> {
    let bad = || {
        invalid(
            field,
            format!("`{v}` is not a port range FIRST-LAST (e.g. 31000-31999)"),
        )
    };
    let (a, b) = v
        .trim()
        .trim_matches(['[', ']'])
        .split_once('-')
        .ok_or_else(bad)?;
    let a: u16 = a.trim().parse().map_err(|_| bad())?;
    let b: u16 = b.trim().parse().map_err(|_| bad())?;
    if a == 0 || a > b {
        return Err(bad());
    }
    Ok((a, b))
}

/// A local cluster with every decision made.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub name: String,
    pub dir: PathBuf,
    pub master_listen: SocketAddr,
    pub master_data_dir: PathBuf,
    pub agents: Vec<AgentPlan>,
    pub startup: Duration,
    pub stop_grace: Duration,
    pub agent_heartbeat_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentPlan {
    pub index: usize,
    pub listen: SocketAddr,
    pub work_dir: PathBuf,
    pub resources: Option<String>,
    pub attributes: Option<String>,
    pub ports: (u16, u16),
}

impl AgentPlan {
    /// The `--resources` value: the configured resources plus this agent's port range.
    pub fn resources_arg(&self) -> String {
        let ports = format!("ports:[{}-{}]", self.ports.0, self.ports.1);
        match self
            .resources
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            Some(r) if r.split(';').any(|kv| kv.trim_start().starts_with("ports")) => r.to_string(),
            Some(r) => format!("{};{ports}", r.trim_end_matches(';')),
            None => ports,
        }
    }
}

/// The example shown by `dcos cluster up --help` and docs/cluster-config.md.
pub const EXAMPLE: &str = "\
name: demo                      # CLI config name and default folder (default: local)
dir: /var/tmp/dcos-demo         # logs, pids, data (default: ~/.dcos/local/<name>)
master:
  listen: 127.0.0.1:5050        # the entry point (default 127.0.0.1:5050)
  data_dir: /var/tmp/dcos-demo/master   # the master's store (default <dir>/master)
agents:
  count: 3                      # default: number of nodes, or 2
  listen_host: 127.0.0.1        # agents listen on listen_host:first_port+i
  first_port: 5051
  ports_start: 31000            # agent i offers ports_start+i*ports_per_agent ...
  ports_per_agent: 1000
  resources: cpus:2;mem:2048;disk:10240   # default: detected
  attributes: rack:r1
  nodes:                        # per-agent overrides, in order
    - attributes: rack:r1;zone:a
    - listen: 127.0.0.1:6051
      work_dir: /var/tmp/dcos-demo/agent-b
      resources: cpus:1;mem:1024
      ports: 40000-40099
timeouts:
  startup_secs: 60              # wait for master and agents
  agent_heartbeat_secs: 20      # agent unreachable after this (default: the master's)
  stop_grace_secs: 10           # SIGTERM -> SIGKILL in `dcos cluster down`
";

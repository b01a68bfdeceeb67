//! The app definition as Marathon v2 reads and writes it (Marathon 1.5+ canonical form:
//! `networks` + `container.portMappings`, `maxLaunchDelaySeconds` default 3600 as in the 1.5+
//! RAML), with the deprecated forms Marathon still accepts migrated on the way in
//! (`ports`, `uris`, `container.docker.network`, `container.docker.portMappings`).
//!
//! Unknown fields are rejected with their path (`/instance: unknown field ...`). Marathon's
//! server itself dropped unknown fields silently (its RAML types leave `additionalProperties`
//! open), while the DC/OS CLI rejected them against the app JSON schema
//! (`additionalProperties: false`); rejecting on the server gives every client that clear
//! error instead of a silently different app. Fields Marathon knows but this model does not
//! (`tty`, `check`, `networkNames`, `linuxInfo`, secret volumes) are rejected the same way
//! rather than accepted and ignored. `null` top-level fields count as absent; read-only
//! fields a client may echo back from a GET (`tasks`, `tasksRunning`, `deployments`, ...) are
//! dropped.

use std::collections::BTreeMap;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::num;
use crate::path::PathId;

/// `maxLaunchDelaySeconds` default (Marathon 1.5+ RAML; 1.4 and older used 300).
pub const DEFAULT_MAX_LAUNCH_DELAY_SECONDS: i64 = 3600;

/// Fields of an app that GET returns but POST/PUT ignore; dropped while parsing.
pub const READ_ONLY_FIELDS: [&str; 10] = [
    "tasksStaged",
    "tasksRunning",
    "tasksHealthy",
    "tasksUnhealthy",
    "deployments",
    "tasks",
    "lastTaskFailure",
    "taskStats",
    "readinessCheckResults",
    "counts",
];

/// A parse problem with the JSON path of the offending value (`/container/docker/image`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ParseError {
    pub path: String,
    pub message: String,
}

impl ParseError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ParseError {
            path: path.into(),
            message: message.into(),
        }
    }
    /// The violation to put in a 422 `details` list.
    pub fn to_violation(&self) -> crate::validate::Violation {
        crate::validate::Violation::new(&self.path, &self.message)
    }
}

fn d_true() -> bool {
    true
}
fn d_cpus() -> f64 {
    1.0
}
fn d_mem() -> f64 {
    128.0
}
fn d_one() -> i64 {
    1
}
fn d_backoff_factor() -> f64 {
    1.15
}
fn d_max_launch_delay() -> i64 {
    DEFAULT_MAX_LAUNCH_DELAY_SECONDS
}
fn d_tcp() -> String {
    "tcp".to_string()
}

/// An environment value: a plain string or a reference to a secret (`{"secret": "name"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Str(String),
    Secret(String),
}

impl Serialize for EnvValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EnvValue::Str(v) => s.serialize_str(v),
            EnvValue::Secret(name) => {
                let mut m = Map::new();
                m.insert("secret".into(), Value::String(name.clone()));
                m.serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(v) => Ok(EnvValue::Str(v)),
            Value::Object(m) if m.len() == 1 => match m.get("secret") {
                Some(Value::String(name)) => Ok(EnvValue::Secret(name.clone())),
                _ => Err(de::Error::custom(
                    "expected a string or {\"secret\": \"<name>\"}",
                )),
            },
            _ => Err(de::Error::custom(
                "expected a string or {\"secret\": \"<name>\"}",
            )),
        }
    }
}

/// `secrets` entries: `{"source": "/path/in/store"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretDef {
    pub source: String,
}

/// Which instances go first when scaling down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KillSelection {
    #[default]
    #[serde(rename = "YOUNGEST_FIRST")]
    YoungestFirst,
    #[serde(rename = "OLDEST_FIRST")]
    OldestFirst,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpgradeStrategy {
    #[serde(default = "d_cpus")]
    pub minimum_health_capacity: f64,
    #[serde(default = "d_cpus")]
    pub maximum_over_capacity: f64,
}

impl Default for UpgradeStrategy {
    fn default() -> Self {
        UpgradeStrategy {
            minimum_health_capacity: 1.0,
            maximum_over_capacity: 1.0,
        }
    }
}

/// `"disabled"` or `{inactiveAfterSeconds, expungeAfterSeconds}` (defaults 0 and 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnreachableStrategy {
    Disabled,
    Enabled {
        inactive_after_seconds: i64,
        expunge_after_seconds: i64,
    },
}

impl Default for UnreachableStrategy {
    fn default() -> Self {
        UnreachableStrategy::Enabled {
            inactive_after_seconds: 0,
            expunge_after_seconds: 0,
        }
    }
}

impl Serialize for UnreachableStrategy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            UnreachableStrategy::Disabled => s.serialize_str("disabled"),
            UnreachableStrategy::Enabled {
                inactive_after_seconds,
                expunge_after_seconds,
            } => {
                let mut m = Map::new();
                m.insert(
                    "inactiveAfterSeconds".into(),
                    (*inactive_after_seconds).into(),
                );
                m.insert(
                    "expungeAfterSeconds".into(),
                    (*expunge_after_seconds).into(),
                );
                m.serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for UnreachableStrategy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Enabled {
            #[serde(default, deserialize_with = "num::int")]
            inactive_after_seconds: i64,
            #[serde(default, deserialize_with = "num::int")]
            expunge_after_seconds: i64,
        }
        match Value::deserialize(d)? {
            Value::String(s) if s == "disabled" => Ok(UnreachableStrategy::Disabled),
            v @ Value::Object(_) => {
                let e: Enabled = serde_json::from_value(v).map_err(de::Error::custom)?;
                Ok(UnreachableStrategy::Enabled {
                    inactive_after_seconds: e.inactive_after_seconds,
                    expunge_after_seconds: e.expunge_after_seconds,
                })
            }
            _ => Err(de::Error::custom(
                "expected \"disabled\" or {\"inactiveAfterSeconds\": N, \"expungeAfterSeconds\": N}",
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scaling_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_config_change_at: Option<String>,
}

/// A `fetch` entry, downloaded into the sandbox before the task starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fetch {
    pub uri: String,
    #[serde(default = "d_true")]
    pub extract: bool,
    #[serde(default)]
    pub executable: bool,
    #[serde(default)]
    pub cache: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_path: Option<String>,
}

impl Fetch {
    pub fn uri(uri: &str) -> Self {
        Fetch {
            uri: uri.into(),
            extract: true,
            executable: false,
            cache: false,
            output_file: None,
            dest_path: None,
        }
    }
}

/// Networking mode of an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum NetworkMode {
    #[default]
    #[serde(rename = "host")]
    Host,
    #[serde(rename = "container/bridge")]
    ContainerBridge,
    #[serde(rename = "container")]
    Container,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Network {
    #[serde(default)]
    pub mode: NetworkMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortDefinition {
    #[serde(default)]
    pub port: u32,
    #[serde(default = "d_tcp")]
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl PortDefinition {
    pub fn new(port: u32, name: Option<&str>) -> Self {
        PortDefinition {
            port,
            protocol: d_tcp(),
            name: name.map(str::to_string),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortMapping {
    #[serde(default)]
    pub container_port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u32>,
    #[serde(default)]
    pub service_port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "d_tcp")]
    pub protocol: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl PortMapping {
    pub fn new(container_port: u32, host_port: Option<u32>, name: Option<&str>) -> Self {
        PortMapping {
            container_port,
            host_port,
            service_port: 0,
            name: name.map(str::to_string),
            protocol: d_tcp(),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ContainerType {
    #[default]
    #[serde(rename = "DOCKER")]
    Docker,
    #[serde(rename = "MESOS")]
    Mesos,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerParameter {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullConfig {
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Docker {
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub force_pull_image: bool,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub parameters: Vec<DockerParameter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_config: Option<PullConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum VolumeMode {
    #[serde(rename = "RO")]
    Ro,
    #[default]
    #[serde(rename = "RW")]
    Rw,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeInfo {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "num::int")]
    pub size: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "num::opt_int"
    )]
    pub max_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalVolumeInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    #[serde(default)]
    pub container_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    #[serde(default)]
    pub mode: VolumeMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<PersistentVolumeInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalVolumeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Container {
    #[serde(default, rename = "type")]
    pub kind: ContainerType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<Docker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_mappings: Option<Vec<PortMapping>>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
}

impl Container {
    pub fn docker(image: &str) -> Self {
        Container {
            kind: ContainerType::Docker,
            docker: Some(Docker {
                image: image.into(),
                ..Docker::default()
            }),
            port_mappings: None,
            volumes: Vec::new(),
        }
    }
    pub fn image(&self) -> Option<&str> {
        self.docker
            .as_ref()
            .map(|d| d.image.as_str())
            .filter(|i| !i.is_empty())
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, PartialOrd, Ord, Hash,
)]
pub enum HealthCheckProtocol {
    #[default]
    #[serde(rename = "HTTP")]
    Http,
    #[serde(rename = "HTTPS")]
    Https,
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "COMMAND")]
    Command,
    #[serde(rename = "MESOS_HTTP")]
    MesosHttp,
    #[serde(rename = "MESOS_HTTPS")]
    MesosHttps,
    #[serde(rename = "MESOS_TCP")]
    MesosTcp,
}

impl HealthCheckProtocol {
    pub fn is_http(self) -> bool {
        matches!(
            self,
            Self::Http | Self::Https | Self::MesosHttp | Self::MesosHttps
        )
    }
    pub fn needs_port(self) -> bool {
        !matches!(self, Self::Command)
    }
    /// Checks Marathon runs itself (as opposed to Mesos-side checks).
    pub fn is_marathon_side(self) -> bool {
        matches!(self, Self::Http | Self::Https | Self::Tcp)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Https => "HTTPS",
            Self::Tcp => "TCP",
            Self::Command => "COMMAND",
            Self::MesosHttp => "MESOS_HTTP",
            Self::MesosHttps => "MESOS_HTTPS",
            Self::MesosTcp => "MESOS_TCP",
        }
    }
}

/// A COMMAND health check's command: accepted as `{"value": "..."}` or a bare string,
/// written as `{"value": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandCheck {
    pub value: String,
}

impl Serialize for CommandCheck {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = Map::new();
        m.insert("value".into(), Value::String(self.value.clone()));
        m.serialize(s)
    }
}

impl<'de> Deserialize<'de> for CommandCheck {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(value) => Ok(CommandCheck { value }),
            Value::Object(m) if m.len() == 1 => match m.get("value") {
                Some(Value::String(v)) => Ok(CommandCheck { value: v.clone() }),
                _ => Err(de::Error::custom(
                    "expected {\"value\": \"<shell command>\"}",
                )),
            },
            _ => Err(de::Error::custom(
                "expected {\"value\": \"<shell command>\"}",
            )),
        }
    }
}

fn d_grace() -> i64 {
    300
}
fn d_interval() -> i64 {
    60
}
fn d_timeout() -> i64 {
    20
}
fn d_max_failures() -> i64 {
    3
}
fn d_delay() -> i64 {
    15
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(default)]
    pub protocol: HealthCheckProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "num::opt_int"
    )]
    pub port_index: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "num::opt_int"
    )]
    pub port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandCheck>,
    #[serde(default = "d_grace", deserialize_with = "num::int")]
    pub grace_period_seconds: i64,
    #[serde(default = "d_interval", deserialize_with = "num::int")]
    pub interval_seconds: i64,
    #[serde(default = "d_timeout", deserialize_with = "num::int")]
    pub timeout_seconds: i64,
    #[serde(default = "d_max_failures", deserialize_with = "num::int")]
    pub max_consecutive_failures: i64,
    #[serde(default = "d_delay", deserialize_with = "num::int")]
    pub delay_seconds: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_http1xx: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_protocol: Option<String>,
}

impl HealthCheck {
    /// A check of `protocol` with Marathon's defaults.
    pub fn new(protocol: HealthCheckProtocol) -> Self {
        HealthCheck {
            protocol,
            path: None,
            port_index: None,
            port: None,
            command: None,
            grace_period_seconds: d_grace(),
            interval_seconds: d_interval(),
            timeout_seconds: d_timeout(),
            max_consecutive_failures: d_max_failures(),
            delay_seconds: d_delay(),
            ignore_http1xx: None,
            ip_protocol: None,
        }
    }
}

fn d_rc_name() -> String {
    "readinessCheck".into()
}
fn d_rc_path() -> String {
    "/".into()
}
fn d_rc_port_name() -> String {
    "http-api".into()
}
fn d_rc_interval() -> i64 {
    30
}
fn d_rc_timeout() -> i64 {
    10
}
fn d_rc_codes() -> Vec<u16> {
    vec![200]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ReadinessProtocol {
    #[default]
    #[serde(rename = "HTTP")]
    Http,
    #[serde(rename = "HTTPS")]
    Https,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadinessCheck {
    #[serde(default = "d_rc_name")]
    pub name: String,
    #[serde(default)]
    pub protocol: ReadinessProtocol,
    #[serde(default = "d_rc_path")]
    pub path: String,
    #[serde(default = "d_rc_port_name")]
    pub port_name: String,
    #[serde(default = "d_rc_interval", deserialize_with = "num::int")]
    pub interval_seconds: i64,
    #[serde(default = "d_rc_timeout", deserialize_with = "num::int")]
    pub timeout_seconds: i64,
    #[serde(default = "d_rc_codes")]
    pub http_status_codes_for_ready: Vec<u16>,
    #[serde(default)]
    pub preserve_last_response: bool,
}

fn d_relaunch() -> i64 {
    3600
}
fn d_lost_behavior() -> String {
    "WAIT_FOREVER".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Residency {
    #[serde(default = "d_relaunch", deserialize_with = "num::int")]
    pub relaunch_escalation_timeout_seconds: i64,
    #[serde(default = "d_lost_behavior")]
    pub task_lost_behavior: String,
}

/// An app definition. Field names and defaults are Marathon's; serializing emits the field
/// set Marathon's `GET /v2/apps/{id}` returns (without the embedded/read-only parts, which the
/// HTTP layer adds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppDefinition {
    pub id: PathId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_resource_roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default = "d_backoff_factor")]
    pub backoff_factor: f64,
    #[serde(default = "d_one", deserialize_with = "num::int")]
    pub backoff_seconds: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    #[serde(default)]
    pub constraints: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    #[serde(default = "d_cpus")]
    pub cpus: f64,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub disk: f64,
    #[serde(default)]
    pub env: BTreeMap<String, EnvValue>,
    #[serde(default)]
    pub executor: String,
    #[serde(default)]
    pub fetch: Vec<Fetch>,
    #[serde(default, deserialize_with = "num::int")]
    pub gpus: i64,
    #[serde(default)]
    pub health_checks: Vec<HealthCheck>,
    #[serde(default = "d_one", deserialize_with = "num::int")]
    pub instances: i64,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default = "d_max_launch_delay", deserialize_with = "num::int")]
    pub max_launch_delay_seconds: i64,
    #[serde(default = "d_mem")]
    pub mem: f64,
    #[serde(default)]
    pub networks: Vec<Network>,
    /// `None` only before [`AppDefinition::normalize`]; afterwards the effective list.
    #[serde(default, serialize_with = "ser_opt_vec")]
    pub port_definitions: Option<Vec<PortDefinition>>,
    #[serde(default)]
    pub readiness_checks: Vec<ReadinessCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Residency>,
    #[serde(default)]
    pub require_ports: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, SecretDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub store_urls: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "num::opt_int"
    )]
    pub task_kill_grace_period_seconds: Option<i64>,
    #[serde(default)]
    pub upgrade_strategy: UpgradeStrategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<VersionInfo>,
    #[serde(default)]
    pub kill_selection: KillSelection,
    #[serde(default)]
    pub unreachable_strategy: UnreachableStrategy,
}

fn ser_opt_vec<S: Serializer, T: Serialize>(v: &Option<Vec<T>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => v.serialize(s),
        None => Vec::<T>::new().serialize(s),
    }
}

/// Converts a serde_path_to_error path into Marathon's notation: `/a/b(0)/c`.
fn marathon_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("({index})")),
            Segment::Map { key } => {
                out.push('/');
                out.push_str(key);
            }
            Segment::Enum { variant } => {
                out.push('/');
                out.push_str(variant);
            }
            Segment::Unknown => {}
        }
    }
    if out.is_empty() {
        "/".into()
    } else {
        out
    }
}

/// Deserializes `T` from a JSON value with Marathon-style error paths.
pub(crate) fn from_value_with_path<T: de::DeserializeOwned>(v: Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = marathon_path(e.path());
        let inner = e.into_inner().to_string();
        ParseError::new(path, inner)
    })
}

/// Rewrites deprecated inputs into the canonical form before typed parsing.
fn migrate_deprecated(obj: &mut Map<String, Value>) -> Result<(), ParseError> {
    for f in READ_ONLY_FIELDS {
        obj.remove(f);
    }
    // a top-level null means "not given"
    obj.retain(|_, v| !v.is_null());
    // ipAddress (Marathon < 1.5): a per-task IP on a named container network
    if let Some(ip) = obj.remove("ipAddress") {
        let Value::Object(ip) = ip else {
            return Err(ParseError::new("/ipAddress", "expected an object"));
        };
        if obj
            .get("networks")
            .and_then(Value::as_array)
            .is_some_and(|n| !n.is_empty())
        {
            return Err(ParseError::new(
                "/",
                "must not specify both networks and ipAddress",
            ));
        }
        let mut net = Map::new();
        net.insert("mode".into(), Value::String("container".into()));
        match ip.get("networkName") {
            Some(Value::String(name)) => {
                net.insert("name".into(), Value::String(name.clone()));
            }
            None | Some(Value::Null) => {}
            Some(_) => {
                return Err(ParseError::new(
                    "/ipAddress/networkName",
                    "expected a string",
                ))
            }
        }
        if let Some(Value::Object(labels)) = ip.get("labels") {
            net.insert("labels".into(), Value::Object(labels.clone()));
        }
        obj.insert("networks".into(), Value::Array(vec![Value::Object(net)]));
    }
    // ports: [0, 8080] -> portDefinitions
    if let Some(ports) = obj.remove("ports") {
        if !obj.contains_key("portDefinitions") {
            let Value::Array(list) = ports else {
                return Err(ParseError::new(
                    "/ports",
                    "expected an array of port numbers",
                ));
            };
            let defs: Vec<Value> = list
                .into_iter()
                .map(|p| {
                    let mut m = Map::new();
                    m.insert("port".into(), p);
                    m.insert("protocol".into(), Value::String("tcp".into()));
                    Value::Object(m)
                })
                .collect();
            obj.insert("portDefinitions".into(), Value::Array(defs));
        }
    }
    // uris: ["http://..."] -> fetch
    if let Some(uris) = obj.remove("uris") {
        let Value::Array(list) = uris else {
            return Err(ParseError::new("/uris", "expected an array of URIs"));
        };
        if !list.is_empty() {
            if obj
                .get("fetch")
                .and_then(Value::as_array)
                .is_some_and(|f| !f.is_empty())
            {
                return Err(ParseError::new(
                    "/uris",
                    "may not be set in conjunction with fetch",
                ));
            }
            let fetch: Vec<Value> = list
                .into_iter()
                .map(|u| {
                    let extract = u.as_str().is_some_and(is_archive);
                    let mut m = Map::new();
                    m.insert("uri".into(), u);
                    m.insert("extract".into(), Value::Bool(extract));
                    Value::Object(m)
                })
                .collect();
            obj.insert("fetch".into(), Value::Array(fetch));
        }
    }
    // container.docker.network / container.docker.portMappings (Marathon < 1.5)
    let mut legacy_network: Option<String> = None;
    if let Some(Value::Object(container)) = obj.get_mut("container") {
        if let Some(Value::Object(docker)) = container.get_mut("docker") {
            if let Some(net) = docker.remove("network") {
                legacy_network = Some(net.as_str().unwrap_or("").to_string());
            }
            if let Some(pms) = docker.remove("portMappings") {
                if !container.contains_key("portMappings") {
                    container.insert("portMappings".into(), pms);
                }
            }
        }
    }
    if let Some(net) = legacy_network {
        if obj
            .get("networks")
            .and_then(Value::as_array)
            .is_some_and(|n| !n.is_empty())
        {
            return Err(ParseError::new(
                "/",
                "must not specify both container.docker.network and networks",
            ));
        }
        let mode = match net.as_str() {
            "HOST" => "host",
            "BRIDGE" => "container/bridge",
            "USER" => "container",
            "NONE" => "container",
            other => {
                return Err(ParseError::new(
                    "/container/docker/network",
                    format!("unknown network '{other}', expected one of HOST, BRIDGE, USER"),
                ))
            }
        };
        let mut m = Map::new();
        m.insert("mode".into(), Value::String(mode.into()));
        obj.insert("networks".into(), Value::Array(vec![Value::Object(m)]));
    }
    Ok(())
}

/// Whether Mesos' fetcher would extract this file (by extension), used for migrated `uris`.
pub fn is_archive(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    [
        ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip", ".tar", ".gz",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

impl AppDefinition {
    /// A minimal app (`id` resolved against the root, `cmd`) with all defaults, normalized.
    pub fn new(id: &str, cmd: &str) -> Self {
        let mut app = AppDefinition {
            id: PathId::parse(id).canonical(&PathId::root()),
            accepted_resource_roles: None,
            args: None,
            backoff_factor: d_backoff_factor(),
            backoff_seconds: 1,
            cmd: Some(cmd.to_string()),
            constraints: Vec::new(),
            container: None,
            cpus: d_cpus(),
            dependencies: Vec::new(),
            disk: 0.0,
            env: BTreeMap::new(),
            executor: String::new(),
            fetch: Vec::new(),
            gpus: 0,
            health_checks: Vec::new(),
            instances: 1,
            labels: BTreeMap::new(),
            max_launch_delay_seconds: DEFAULT_MAX_LAUNCH_DELAY_SECONDS,
            mem: d_mem(),
            networks: Vec::new(),
            port_definitions: None,
            readiness_checks: Vec::new(),
            residency: None,
            require_ports: false,
            role: None,
            secrets: BTreeMap::new(),
            store_urls: Vec::new(),
            task_kill_grace_period_seconds: None,
            upgrade_strategy: UpgradeStrategy::default(),
            user: None,
            version: None,
            version_info: None,
            kill_selection: KillSelection::default(),
            unreachable_strategy: UnreachableStrategy::default(),
        };
        app.normalize();
        app
    }

    /// Parses a request body's app: migrates deprecated fields, drops read-only ones, rejects
    /// unknown ones, resolves a relative `id` against `base` (the enclosing group) and applies
    /// Marathon's normalization ([`AppDefinition::normalize`]). Does not validate.
    pub fn from_json(value: Value, base: &PathId) -> Result<Self, ParseError> {
        let Value::Object(mut obj) = value else {
            return Err(ParseError::new("/", "expected a JSON object"));
        };
        migrate_deprecated(&mut obj)?;
        if !obj.contains_key("id") {
            return Err(ParseError::new("/id", "error.path.missing"));
        }
        let mut app: AppDefinition = from_value_with_path(Value::Object(obj))?;
        app.id = app.id.canonical(base);
        app.normalize();
        Ok(app)
    }

    /// Serializes to Marathon's JSON field set.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The effective networks (host when none are given).
    pub fn effective_networks(&self) -> Vec<Network> {
        if self.networks.is_empty() {
            vec![Network::default()]
        } else {
            self.networks.clone()
        }
    }

    /// True when the app uses host networking.
    pub fn is_host_networking(&self) -> bool {
        self.networks.iter().all(|n| n.mode == NetworkMode::Host)
    }

    /// True when the app uses Docker-style bridge networking.
    pub fn is_bridge_networking(&self) -> bool {
        self.networks
            .iter()
            .any(|n| n.mode == NetworkMode::ContainerBridge)
    }

    /// Marathon's normalization: `tcp,udp` written as `udp,tcp` (the spelling clients accept),
    /// an imageless MESOS container for container networking without a container,
    /// default networks (host), default port definition
    /// (`[{port: 0, name: "default"}]` with host networking when none were given), default port
    /// mapping (`[{containerPort: 0, name: "default"}]` for container networking without any),
    /// bridge host ports default to 0, health checks without a port get `portIndex: 0`.
    pub fn normalize(&mut self) {
        if self.networks.is_empty() {
            self.networks = vec![Network::default()];
        }
        let host = self.is_host_networking();
        if self.port_definitions.is_none() {
            self.port_definitions = Some(if host {
                vec![PortDefinition::new(0, Some("default"))]
            } else {
                Vec::new()
            });
        }
        for pd in self.port_definitions.iter_mut().flatten() {
            if pd.protocol == "tcp,udp" {
                pd.protocol = "udp,tcp".into();
            }
        }
        let bridge = self.is_bridge_networking();
        // container networking without a container: an imageless Mesos container
        if !host && self.container.is_none() {
            self.container = Some(Container {
                kind: ContainerType::Mesos,
                ..Container::default()
            });
        }
        if let Some(c) = self.container.as_mut() {
            for pm in c.port_mappings.iter_mut().flatten() {
                if pm.protocol == "tcp,udp" {
                    pm.protocol = "udp,tcp".into();
                }
            }
            if !host && c.port_mappings.is_none() {
                c.port_mappings = Some(vec![PortMapping::new(0, None, Some("default"))]);
            }
            if bridge {
                for pm in c.port_mappings.iter_mut().flatten() {
                    if pm.host_port.is_none() {
                        pm.host_port = Some(0);
                    }
                }
            }
        }
        let has_ports = self.port_indices_len() > 0;
        for hc in &mut self.health_checks {
            if hc.protocol.needs_port() && hc.port.is_none() && hc.port_index.is_none() && has_ports
            {
                hc.port_index = Some(0);
            }
        }
    }

    /// Number of addressable ports: container port mappings when present, else port
    /// definitions (Marathon's `portIndices`).
    pub fn port_indices_len(&self) -> usize {
        match self
            .container
            .as_ref()
            .and_then(|c| c.port_mappings.as_ref())
        {
            Some(pms) if !pms.is_empty() => pms.len(),
            _ => self.port_definitions.as_ref().map_or(0, Vec::len),
        }
    }

    /// Port names in index order (mappings when present, else definitions).
    pub fn port_names(&self) -> Vec<Option<String>> {
        match self
            .container
            .as_ref()
            .and_then(|c| c.port_mappings.as_ref())
        {
            Some(pms) if !pms.is_empty() => pms.iter().map(|p| p.name.clone()).collect(),
            _ => self
                .port_definitions
                .iter()
                .flatten()
                .map(|p| p.name.clone())
                .collect(),
        }
    }

    /// The effective dependencies, resolved against the app's group.
    pub fn dependency_ids(&self) -> Vec<PathId> {
        let parent = self.id.parent();
        self.dependencies
            .iter()
            .map(|d| PathId::parse(d).canonical(&parent))
            .collect()
    }

    /// Marathon's `isUpgrade`: the change alters what running tasks look like (any field but
    /// `instances`, `version` and `versionInfo`).
    pub fn is_upgrade(&self, to: &AppDefinition) -> bool {
        if self.id != to.id {
            return false;
        }
        let mut a = self.clone();
        let mut b = to.clone();
        for x in [&mut a, &mut b] {
            x.instances = 0;
            x.version = None;
            x.version_info = None;
        }
        a != b
    }

    /// Marathon's `isOnlyScaleChange`.
    pub fn is_only_scale_change(&self, to: &AppDefinition) -> bool {
        !self.is_upgrade(to) && self.instances != to.instances
    }

    /// Marathon's `needsRestart`: a config change, or a restart request (a new
    /// `versionInfo.lastConfigChangeAt` without other changes).
    pub fn needs_restart(&self, to: &AppDefinition) -> bool {
        let cc = |a: &AppDefinition| {
            a.version_info
                .as_ref()
                .and_then(|v| v.last_config_change_at.clone())
        };
        cc(self) != cc(to) || self.is_upgrade(to)
    }

    /// Sets `version` and `versionInfo` for a new app version at `now` (Marathon timestamp):
    /// a config change moves `lastConfigChangeAt`, a scale-only change only `lastScalingAt`.
    pub fn stamp_version(&mut self, previous: Option<&AppDefinition>, now: &str) {
        let config_changed = previous.is_none_or(|p| p.is_upgrade(self));
        let prev_info = previous
            .and_then(|p| p.version_info.clone())
            .unwrap_or_default();
        let info = if config_changed {
            VersionInfo {
                last_scaling_at: Some(now.into()),
                last_config_change_at: Some(now.into()),
            }
        } else {
            VersionInfo {
                last_scaling_at: Some(now.into()),
                last_config_change_at: prev_info.last_config_change_at.or_else(|| Some(now.into())),
            }
        };
        self.version = Some(now.into());
        self.version_info = Some(info);
    }

    /// A restart request: same definition, new config-change version (tasks get replaced).
    pub fn restarted(&self, now: &str) -> AppDefinition {
        let mut next = self.clone();
        next.version = Some(now.into());
        let scaling = self
            .version_info
            .as_ref()
            .and_then(|v| v.last_scaling_at.clone());
        next.version_info = Some(VersionInfo {
            last_scaling_at: scaling.or_else(|| Some(now.into())),
            last_config_change_at: Some(now.into()),
        });
        next
    }
}

/// What an app update body (PUT/PATCH `/v2/apps/{id}`) asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum AppUpdate {
    /// `{"version": "..."}` (optionally with `id`): roll back to that stored version.
    Rollback { version: String },
    /// A change: the new definition.
    Change(Box<AppDefinition>),
}

/// Applies an update body to `current` (None when the app does not exist yet: PUT creates).
///
/// `partial` = PATCH, or PUT with `partialUpdate=true` (Marathon's default for PUT): fields in
/// the body replace the app's fields, the rest is kept. Otherwise (PUT with
/// `partialUpdate=false`) the body is the whole new definition and omitted fields take defaults.
/// A `null` value resets a field to its default. The `id` is always the path's.
pub fn apply_update(
    current: Option<&AppDefinition>,
    id: &PathId,
    body: Value,
    partial: bool,
) -> Result<AppUpdate, ParseError> {
    let Value::Object(patch) = body else {
        return Err(ParseError::new("/", "expected a JSON object"));
    };
    if let Some(v) = patch.get("version") {
        let others = patch.keys().any(|k| k != "version" && k != "id");
        if others {
            return Err(ParseError::new(
                "/",
                "The 'version' field may only be combined with the 'id' field.",
            ));
        }
        let Some(version) = v.as_str() else {
            return Err(ParseError::new("/version", "expected a timestamp string"));
        };
        return Ok(AppUpdate::Rollback {
            version: version.to_string(),
        });
    }
    if let Some(pid) = patch.get("id").and_then(Value::as_str) {
        if PathId::parse(pid).canonical(&id.parent()) != *id {
            return Err(ParseError::new(
                "/id",
                format!("The id in the body ({pid}) does not match the id in the path ({id})"),
            ));
        }
    }
    let mut base: Map<String, Value> = match (current, partial) {
        (Some(cur), true) => match cur.to_json() {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    base.remove("version");
    base.remove("versionInfo");
    // Switching networking drops the old port layout unless the body restates it.
    if patch.contains_key("networks") && !patch.contains_key("portDefinitions") {
        base.remove("portDefinitions");
    }
    if patch.contains_key("networks") && !patch.contains_key("container") {
        if let Some(Value::Object(c)) = base.get_mut("container") {
            c.remove("portMappings");
        }
    }
    for (k, v) in patch {
        if v.is_null() {
            base.remove(&k);
        } else {
            base.insert(k, v);
        }
    }
    base.insert("id".into(), Value::String(id.to_string()));
    let app = AppDefinition::from_json(Value::Object(base), &PathId::root())?;
    Ok(AppUpdate::Change(Box::new(app)))
}

#[cfg(test)]
mod tests;

//! Marathon's app validation: a list of [`Violation`]s (`{path, errors}`) that the HTTP layer
//! returns as 422 `{"message":"Object is not valid","details":[...]}` ([`error_body`]).
//! Messages are Marathon's (AppValidation.scala, SchedulingValidation.scala, PathId.scala)
//! where Marathon has one; object-level rules report at path `/` as Marathon does.

use std::collections::{BTreeSet, HashSet};

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::app::{
    AppDefinition, ContainerType, HealthCheckProtocol, NetworkMode, UnreachableStrategy,
};
use crate::num::fmt;

/// One entry of a 422 body's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub path: String,
    pub errors: Vec<String>,
}

impl Violation {
    pub fn new(path: &str, error: &str) -> Self {
        Violation {
            path: path.to_string(),
            errors: vec![error.to_string()],
        }
    }
}

/// The 422 body for a list of violations.
pub fn error_body(violations: &[Violation]) -> Value {
    json!({"message": "Object is not valid", "details": violations})
}

/// Collects violations, merging errors reported at the same path.
#[derive(Debug, Default, Clone)]
pub struct Violations(Vec<Violation>);

impl Violations {
    pub fn push(&mut self, path: impl AsRef<str>, error: impl Into<String>) {
        let path = path.as_ref();
        let error = error.into();
        match self.0.iter_mut().find(|v| v.path == path) {
            Some(v) => {
                if !v.errors.contains(&error) {
                    v.errors.push(error)
                }
            }
            None => self.0.push(Violation {
                path: path.to_string(),
                errors: vec![error],
            }),
        }
    }
    /// Adds violations found in a nested object, prefixing their paths.
    pub fn extend_prefixed(&mut self, prefix: &str, inner: Vec<Violation>) {
        for v in inner {
            let path = if v.path == "/" {
                prefix.to_string()
            } else {
                format!("{prefix}{}", v.path)
            };
            for e in v.errors {
                self.push(&path, e);
            }
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }
}

const CONSTRAINT_OPERATORS: &str =
    "Constraint operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS";

fn min_check(v: &mut Violations, path: &str, value: f64, min: f64) {
    if value.is_nan() || value < min {
        v.push(path, format!("is less than {}", fmt(min)));
    }
}
fn max_check(v: &mut Violations, path: &str, value: f64, max: f64) {
    if value > max {
        v.push(path, format!("is greater than {}", fmt(max)));
    }
}

/// Validates one constraint `[field, OPERATOR, value?]`, returning Marathon's message.
pub fn check_constraint(c: &[String]) -> Option<String> {
    if c.len() < 2 || c.len() > 3 {
        return Some("Each constraint must have either 2 or 3 fields".into());
    }
    if c[0].is_empty() {
        return Some("Missing field and operator".into());
    }
    let value = c.get(2);
    match c[1].as_str() {
        "UNIQUE" => value.map(|_| "Value specified but not used".into()),
        "CLUSTER" | "IS" => match value {
            Some(v) if !v.is_empty() => None,
            _ => Some("Missing value".into()),
        },
        "GROUP_BY" => match value {
            Some(v) if v.trim().parse::<i32>().is_err() => {
                Some("Value was specified but is not a number".into())
            }
            _ => None,
        },
        "MAX_PER" => match value {
            Some(v) if v.trim().parse::<i32>().is_ok() => None,
            _ => Some("Value was not specified or is not a number".into()),
        },
        "LIKE" | "UNLIKE" => match value {
            None => Some("A regular expression value must be provided".into()),
            Some(v) => match Regex::new(&format!("^(?:{v})$")) {
                Ok(_) => None,
                Err(_) => Some(format!("'{v}' is not a valid regular expression")),
            },
        },
        _ => Some(CONSTRAINT_OPERATORS.into()),
    }
}

fn env_name_ok(name: &str) -> bool {
    !name.is_empty() && name.len() < 255 && !name.contains('=') && !name.contains('\0')
}

fn uri_ok(uri: &str) -> bool {
    if uri.is_empty() || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            !rest.is_empty()
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        // a plain path on the agent (the Mesos fetcher accepts those)
        None => uri.starts_with('/'),
    }
}

fn dest_path_ok(p: &str) -> bool {
    !p.is_empty() && !p.starts_with('/') && !p.split('/').any(|s| s == "..")
}

/// Validates an app in canonical (normalized) form. Empty result = valid.
pub fn validate_app(app: &AppDefinition) -> Vec<Violation> {
    let mut v = Violations::default();

    // id
    if app.id.is_root() {
        v.push("/", "must not be root");
    }
    for e in app.id.validate_app_id() {
        v.push("/id", e.to_string());
    }
    for (i, d) in app.dependencies.iter().enumerate() {
        let dep = crate::path::PathId::parse(d);
        if let Err(e) = dep.validate_segments() {
            v.push(format!("/dependencies({i})"), e.to_string());
        }
        if dep.canonical(&app.id.parent()).is_root() {
            v.push(
                format!("/dependencies({i})"),
                "Path must contain at least one path element",
            );
        }
    }

    // command
    let cmd = app.cmd.is_some();
    let args = app.args.as_ref().is_some_and(|a| !a.is_empty());
    let container = app.container.as_ref().is_some_and(|c| match c.kind {
        ContainerType::Docker => c.docker.is_some(),
        ContainerType::Mesos => c.docker.is_some(),
    });
    if !((cmd ^ args) || (!(cmd && args) && container)) {
        v.push(
            "/",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
        );
    }
    if app.cmd.as_deref() == Some("") {
        v.push("/cmd", "must not be an empty string");
    }

    // resources and counts
    min_check(&mut v, "/cpus", app.cpus, 0.001);
    min_check(&mut v, "/mem", app.mem, 0.0);
    min_check(&mut v, "/disk", app.disk, 0.0);
    min_check(&mut v, "/gpus", app.gpus as f64, 0.0);
    min_check(&mut v, "/instances", app.instances as f64, 0.0);
    if app.instances > i32::MAX as i64 {
        v.push("/instances", format!("is greater than {}", i32::MAX));
    }
    if app.gpus > 0
        && app
            .container
            .as_ref()
            .is_some_and(|c| c.kind == ContainerType::Docker)
    {
        v.push("/", "GPU resources only work with the Mesos containerizer");
    }

    // backoff
    min_check(&mut v, "/backoffSeconds", app.backoff_seconds as f64, 0.0);
    min_check(&mut v, "/backoffFactor", app.backoff_factor, 1.0);
    min_check(
        &mut v,
        "/maxLaunchDelaySeconds",
        app.max_launch_delay_seconds as f64,
        0.0,
    );
    if let Some(g) = app.task_kill_grace_period_seconds {
        min_check(&mut v, "/taskKillGracePeriodSeconds", g as f64, 0.0);
    }

    // upgrade strategy
    let us = &app.upgrade_strategy;
    min_check(
        &mut v,
        "/upgradeStrategy/minimumHealthCapacity",
        us.minimum_health_capacity,
        0.0,
    );
    max_check(
        &mut v,
        "/upgradeStrategy/minimumHealthCapacity",
        us.minimum_health_capacity,
        1.0,
    );
    min_check(
        &mut v,
        "/upgradeStrategy/maximumOverCapacity",
        us.maximum_over_capacity,
        0.0,
    );
    max_check(
        &mut v,
        "/upgradeStrategy/maximumOverCapacity",
        us.maximum_over_capacity,
        1.0,
    );
    if app.residency.is_some() {
        if us.maximum_over_capacity != 0.0 {
            v.push(
                "/upgradeStrategy/maximumOverCapacity",
                "must be 0 for resident tasks",
            );
        }
        if app.unreachable_strategy != UnreachableStrategy::Disabled {
            v.push(
                "/",
                "unreachableStrategy must be disabled for resident tasks",
            );
        }
    }
    if let UnreachableStrategy::Enabled {
        inactive_after_seconds,
        expunge_after_seconds,
    } = app.unreachable_strategy
    {
        min_check(
            &mut v,
            "/unreachableStrategy/inactiveAfterSeconds",
            inactive_after_seconds as f64,
            0.0,
        );
        if expunge_after_seconds < inactive_after_seconds {
            v.push(
                "/unreachableStrategy/expungeAfterSeconds",
                format!("is less than {inactive_after_seconds} (inactiveAfterSeconds)"),
            );
        }
    }

    // networking and ports
    let host = app.is_host_networking();
    let container_networks = app
        .networks
        .iter()
        .filter(|n| n.mode == NetworkMode::Container)
        .count();
    if app.networks.iter().any(|n| n.mode == NetworkMode::Host) && app.networks.len() > 1 {
        v.push(
            "/networks",
            "host networking may not be combined with other networks",
        );
    }
    if app
        .networks
        .iter()
        .filter(|n| n.mode == NetworkMode::ContainerBridge)
        .count()
        > 1
        || (app.is_bridge_networking() && container_networks > 0)
    {
        v.push(
            "/networks",
            "bridge networking may not be combined with other networks",
        );
    }
    let pms = app
        .container
        .as_ref()
        .and_then(|c| c.port_mappings.as_ref());
    if host && pms.is_some_and(|p| !p.is_empty()) {
        v.push("/", "portMappings are not allowed with host-networking");
    }
    let pds = app.port_definitions.as_deref().unwrap_or(&[]);
    if !host && !pds.is_empty() {
        v.push("/", "portDefinitions are only allowed with host-networking");
    }
    if app
        .container
        .as_ref()
        .is_some_and(|c| c.kind == ContainerType::Docker)
        && container_networks > 1
    {
        v.push(
            "/",
            "may only specify a single container network when using the Docker container engine",
        );
    }
    {
        let mut names = HashSet::new();
        let mut ports = HashSet::new();
        for (i, pd) in pds.iter().enumerate() {
            if let Some(n) = &pd.name {
                if !names.insert(n.clone()) {
                    v.push("/portDefinitions", "Port names must be unique.");
                }
                check_port_name(&mut v, &format!("/portDefinitions({i})/name"), n);
            }
            if pd.port != 0 && !ports.insert(pd.port) {
                v.push("/portDefinitions", "Ports must be unique.");
            }
            max_check(
                &mut v,
                &format!("/portDefinitions({i})/port"),
                pd.port as f64,
                65535.0,
            );
            check_protocol(
                &mut v,
                &format!("/portDefinitions({i})/protocol"),
                &pd.protocol,
            );
        }
    }
    if let Some(pms) = pms {
        let mut names = HashSet::new();
        for (i, pm) in pms.iter().enumerate() {
            let base = format!("/container/portMappings({i})");
            if let Some(n) = &pm.name {
                if !names.insert(n.clone()) {
                    v.push("/container/portMappings", "Port names must be unique.");
                }
                check_port_name(&mut v, &format!("{base}/name"), n);
            }
            max_check(
                &mut v,
                &format!("{base}/containerPort"),
                pm.container_port as f64,
                65535.0,
            );
            if let Some(h) = pm.host_port {
                max_check(&mut v, &format!("{base}/hostPort"), h as f64, 65535.0);
            }
            max_check(
                &mut v,
                &format!("{base}/servicePort"),
                pm.service_port as f64,
                65535.0,
            );
            check_protocol(&mut v, &format!("{base}/protocol"), &pm.protocol);
        }
    }

    // container
    if let Some(c) = &app.container {
        match (&c.docker, c.kind) {
            (Some(d), _) if d.image.trim().is_empty() => {
                v.push("/container/docker/image", "must not be empty")
            }
            (None, ContainerType::Docker) => {
                v.push("/container/docker", "must be defined for DOCKER containers")
            }
            _ => {}
        }
        if let Some(d) = &c.docker {
            if c.kind == ContainerType::Docker && d.pull_config.is_some() {
                v.push(
                    "/container/docker/pullConfig",
                    "pullConfig is not supported with Docker containerizer",
                );
            }
            if let Some(pc) = &d.pull_config {
                if !app.secrets.contains_key(&pc.secret) {
                    v.push(
                        "/container/docker/pullConfig",
                        "pullConfig.secret must refer to an existing secret",
                    );
                }
            }
            for (i, p) in d.parameters.iter().enumerate() {
                if p.key.is_empty() {
                    v.push(
                        format!("/container/docker/parameters({i})/key"),
                        "must not be empty",
                    );
                }
            }
        }
        for (i, vol) in c.volumes.iter().enumerate() {
            let base = format!("/container/volumes({i})");
            if vol.container_path.is_empty() {
                v.push(format!("{base}/containerPath"), "must not be empty");
            }
            match (&vol.host_path, &vol.persistent, &vol.external) {
                (Some(h), None, None) if h.is_empty() => {
                    v.push(format!("{base}/hostPath"), "must not be empty")
                }
                (None, None, None) => v.push(
                    base.clone(),
                    "a volume needs one of hostPath, persistent or external",
                ),
                (_, Some(p), _) => {
                    if p.size <= 0 {
                        v.push(
                            format!("{base}/persistent/size"),
                            "got 0, expected more than 0",
                        );
                    }
                    if vol.container_path.contains('/') {
                        v.push(
                            format!("{base}/containerPath"),
                            "value must not contain \"/\"",
                        );
                    }
                    if app.residency.is_none() {
                        v.push(
                            "/",
                            "App must contain persistent volumes and define residency",
                        );
                    }
                }
                _ => {}
            }
        }
    }
    if app.residency.is_some()
        && !app
            .container
            .as_ref()
            .is_some_and(|c| c.volumes.iter().any(|vol| vol.persistent.is_some()))
    {
        v.push(
            "/",
            "App must contain persistent volumes and define residency",
        );
    }

    // health checks
    let n_ports = app.port_indices_len();
    let mut mesos_checks = 0;
    for (i, hc) in app.health_checks.iter().enumerate() {
        let base = format!("/healthChecks({i})");
        if matches!(
            hc.protocol,
            HealthCheckProtocol::Command
                | HealthCheckProtocol::MesosHttp
                | HealthCheckProtocol::MesosHttps
                | HealthCheckProtocol::MesosTcp
        ) {
            mesos_checks += 1;
        }
        if hc.protocol == HealthCheckProtocol::Command {
            match &hc.command {
                Some(c) if !c.value.trim().is_empty() => {}
                _ => v.push(
                    format!("{base}/command"),
                    "must be defined for COMMAND health checks",
                ),
            }
        } else {
            if hc.command.is_some() {
                v.push(
                    format!("{base}/command"),
                    "is only allowed with protocol COMMAND",
                );
            }
            if hc.port.is_some() && hc.port_index.is_some() {
                v.push(
                    base.clone(),
                    "Health checks may either define a port or a portIndex, not both.",
                );
            }
            let index_ok = match (hc.port_index, hc.port) {
                (Some(idx), _) => idx >= 0 && (idx as usize) < n_ports,
                (None, Some(_)) => true,
                (None, None) => n_ports == 1,
            };
            if !index_ok {
                v.push(
                    base.clone(),
                    "Health check port indices must address an element of the ports array or container port mappings.",
                );
            }
            if let Some(p) = hc.port {
                min_check(&mut v, &format!("{base}/port"), p as f64, 0.0);
                max_check(&mut v, &format!("{base}/port"), p as f64, 65535.0);
            }
        }
        if hc.path.is_some() && !hc.protocol.is_http() {
            v.push(
                format!("{base}/path"),
                format!("is not allowed for protocol {}", hc.protocol.as_str()),
            );
        }
        if let Some(p) = &hc.path {
            if !p.starts_with('/') {
                v.push(format!("{base}/path"), "must start with /");
            }
        }
        if let Some(ip) = &hc.ip_protocol {
            if ip != "IPv4" && ip != "IPv6" {
                v.push(format!("{base}/ipProtocol"), "must be one of IPv4, IPv6");
            } else if ip == "IPv6"
                && !(matches!(
                    hc.protocol,
                    HealthCheckProtocol::MesosHttp
                        | HealthCheckProtocol::MesosHttps
                        | HealthCheckProtocol::MesosTcp
                ) && app
                    .container
                    .as_ref()
                    .is_some_and(|c| c.kind == ContainerType::Docker))
            {
                v.push(base.clone(), "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks");
            }
        }
        min_check(
            &mut v,
            &format!("{base}/gracePeriodSeconds"),
            hc.grace_period_seconds as f64,
            0.0,
        );
        min_check(
            &mut v,
            &format!("{base}/intervalSeconds"),
            hc.interval_seconds as f64,
            1.0,
        );
        min_check(
            &mut v,
            &format!("{base}/timeoutSeconds"),
            hc.timeout_seconds as f64,
            1.0,
        );
        min_check(
            &mut v,
            &format!("{base}/maxConsecutiveFailures"),
            hc.max_consecutive_failures as f64,
            0.0,
        );
        min_check(
            &mut v,
            &format!("{base}/delaySeconds"),
            hc.delay_seconds as f64,
            0.0,
        );
    }
    if mesos_checks > 1 {
        v.push(
            "/",
            "AppDefinition can contain at most one Mesos health check",
        );
    }

    // readiness checks
    if app.readiness_checks.len() > 1 {
        v.push("/readinessChecks", "is greater than 1");
    }
    let port_names: BTreeSet<String> = app.port_names().into_iter().flatten().collect();
    for (i, rc) in app.readiness_checks.iter().enumerate() {
        let base = format!("/readinessChecks({i})");
        if !port_names.contains(&rc.port_name) {
            v.push(
                format!("{base}/portName"),
                format!("No port definition reference for portName {}", rc.port_name),
            );
        }
        if rc.timeout_seconds >= rc.interval_seconds {
            v.push(
                format!("{base}/timeoutSeconds"),
                format!(
                    "is greater than or equal to {} (intervalSeconds)",
                    rc.interval_seconds
                ),
            );
        }
        min_check(
            &mut v,
            &format!("{base}/timeoutSeconds"),
            rc.timeout_seconds as f64,
            1.0,
        );
    }

    // constraints
    for (i, c) in app.constraints.iter().enumerate() {
        if let Some(msg) = check_constraint(c) {
            v.push(format!("/constraints({i})"), msg);
        }
    }
    let mut seen = HashSet::new();
    for c in &app.constraints {
        if !seen.insert(c.clone()) {
            v.push("/constraints", "elements must be unique");
        }
    }

    // env, secrets, labels
    for (k, val) in &app.env {
        if !env_name_ok(k) {
            v.push(
                format!("/env/{k}"),
                "must not be empty, and must not contain '=' or NUL",
            );
        }
        if let crate::app::EnvValue::Secret(s) = val {
            if !app.secrets.contains_key(s) {
                v.push(
                    format!("/env/{k}"),
                    format!("references an undefined secret named '{s}'"),
                );
            }
        }
    }
    for (k, s) in &app.secrets {
        if s.source.is_empty() {
            v.push(format!("/secrets/{k}/source"), "must not be empty");
        }
    }
    for k in app.labels.keys() {
        if k.is_empty() {
            v.push("/labels", "label keys must not be empty");
        }
    }
    if app
        .labels
        .get("DCOS_MIGRATION_API_VERSION")
        .is_some_and(|x| !x.is_empty())
    {
        let ok = app
            .labels
            .get("DCOS_MIGRATION_API_VERSION")
            .map(String::as_str)
            == Some("v1")
            && app
                .labels
                .get("DCOS_PACKAGE_FRAMEWORK_NAME")
                .is_some_and(|x| !x.is_empty())
            && app
                .labels
                .get("DCOS_MIGRATION_API_PATH")
                .is_some_and(|x| !x.is_empty());
        if !ok {
            v.push(
                "/",
                "DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined when using DCOS_MIGRATION_API_VERSION",
            );
        }
    }

    // fetch
    for (i, f) in app.fetch.iter().enumerate() {
        if !uri_ok(&f.uri) {
            v.push(format!("/fetch({i})/uri"), "URI has invalid syntax.");
        }
        if let Some(d) = &f.dest_path {
            if !dest_path_ok(d) {
                v.push(
                    format!("/fetch({i})/destPath"),
                    "must be a relative path inside the sandbox (no leading / or ..)",
                );
            }
        }
    }
    for (i, u) in app.store_urls.iter().enumerate() {
        if !uri_ok(u) {
            v.push(format!("/storeUrls({i})"), "URI has invalid syntax.");
        }
    }

    // roles
    if let Some(roles) = &app.accepted_resource_roles {
        if roles.is_empty() {
            v.push("/acceptedResourceRoles", "must not be empty");
        }
        let unique: HashSet<_> = roles.iter().collect();
        if unique.len() != roles.len() {
            v.push("/acceptedResourceRoles", "elements must be unique");
        }
        for (i, r) in roles.iter().enumerate() {
            if r.is_empty()
                || r.contains('/') && r.split('/').any(|s| s.is_empty() || s == "." || s == "..")
            {
                v.push(
                    format!("/acceptedResourceRoles({i})"),
                    format!("'{r}' is not a valid role"),
                );
            }
        }
    }
    if app
        .labels
        .get("MARATHON_SINGLE_INSTANCE_APP")
        .map(String::as_str)
        == Some("true")
    {
        if app.instances > 1 {
            v.push("/", "Single instance app may only have one instance");
        }
        if us.minimum_health_capacity != 0.0 || us.maximum_over_capacity != 0.0 {
            v.push("/upgradeStrategy", "must be {minimumHealthCapacity: 0, maximumOverCapacity: 0} for single instance apps");
        }
    }
    v.into_vec()
}

fn check_port_name(v: &mut Violations, path: &str, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        v.push(
            path,
            "must be 1 to 63 letters, digits, '-' or '_', not starting or ending with '-'",
        );
    }
}

fn check_protocol(v: &mut Violations, path: &str, p: &str) {
    if !matches!(p, "tcp" | "udp" | "udp,tcp") {
        v.push(path, "is not one of (tcp,udp,udp,tcp)");
    }
}

#[cfg(test)]
mod tests;

//! What the agent offers: resources detected on the host (cpus, memory, disk, a ports range)
//! and the Mesos resource and attribute string syntax used to override them.
//!
//! Resource string: `name:value` pairs separated by `;`, e.g.
//! `cpus:2;mem:2048;disk:10000;gpus:0;ports:[31000-32000,33000-33100]`. Scalars are numbers
//! (mem and disk in MB), `ports` is a list of inclusive ranges in brackets. A `(*)` role suffix
//! (`cpus(*):2`) is accepted; other roles are refused. Names given override the detected value,
//! the others keep it. Attribute string: `rack:a;zone:z1`.

use dcos_schemas::agent::{PortRange, Resources};
use std::collections::BTreeMap;
use std::path::Path;

#[cfg(test)]
mod tests;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResourceError {
    #[error("resource `{0}` is not of the form name:value (e.g. cpus:2)")]
    NotPair(String),
    #[error("unknown resource `{0}` (known: cpus, mem, disk, gpus, ports)")]
    Unknown(String),
    #[error("resource `{name}` has the invalid value `{value}`: expected a number >= 0")]
    BadScalar { name: String, value: String },
    #[error("ports value `{0}` is invalid: expected ranges like [31000-32000,33000-33100]")]
    BadRanges(String),
    #[error("resource `{0}` is reserved for a role; only the default role `*` is supported")]
    Role(String),
    #[error("resource `{0}` is given twice")]
    Duplicate(String),
    #[error("attribute `{0}` is not of the form name:value (e.g. rack:a)")]
    BadAttribute(String),
    #[error("attribute `{0}` is given twice")]
    DuplicateAttribute(String),
}

/// Overrides parsed from `--resources`; `None` keeps the detected value.
#[derive(Debug, Default, PartialEq)]
pub struct ResourceOverrides {
    pub cpus: Option<f64>,
    pub mem: Option<f64>,
    pub disk: Option<f64>,
    pub gpus: Option<f64>,
    pub ports: Option<Vec<PortRange>>,
}

/// Parses a Mesos resource string such as `cpus:2;mem:2048;ports:[31000-32000]`.
pub fn parse_resources(s: &str) -> Result<ResourceOverrides, ResourceError> {
    let mut out = ResourceOverrides::default();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once(':')
            .ok_or_else(|| ResourceError::NotPair(part.to_string()))?;
        let (name, value) = (name.trim(), value.trim());
        let name = match name.split_once('(') {
            Some((base, role)) => {
                if role.trim_end_matches(')').trim() != "*" || !role.ends_with(')') {
                    return Err(ResourceError::Role(part.to_string()));
                }
                base.trim()
            }
            None => name,
        };
        let scalar = |v: &str| -> Result<f64, ResourceError> {
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Ok((x * 1000.0).round() / 1000.0),
                _ => Err(ResourceError::BadScalar {
                    name: name.to_string(),
                    value: v.to_string(),
                }),
            }
        };
        let slot_taken = match name {
            "cpus" => out.cpus.replace(scalar(value)?).is_some(),
            "mem" => out.mem.replace(scalar(value)?).is_some(),
            "disk" => out.disk.replace(scalar(value)?).is_some(),
            "gpus" => {
                let g = scalar(value)?;
                if g.fract() != 0.0 {
                    return Err(ResourceError::BadScalar {
                        name: name.into(),
                        value: value.into(),
                    });
                }
                out.gpus.replace(g).is_some()
            }
            "ports" => out.ports.replace(parse_ranges(value)?).is_some(),
            other => return Err(ResourceError::Unknown(other.to_string())),
        };
        if slot_taken {
            return Err(ResourceError::Duplicate(name.to_string()));
        }
    }
    Ok(out)
}

/// Parses `[31000-32000,33000-33100]` (a single port `[8080]` is a range of one).
pub fn parse_ranges(v: &str) -> Result<Vec<PortRange>, ResourceError> {
    let bad = || ResourceError::BadRanges(v.to_string());
    let inner = v
        .trim()
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(bad)?;
    let mut ranges = Vec::new();
    for r in inner.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let (b, e) = match r.split_once('-') {
            Some((b, e)) => (b.trim(), e.trim()),
            None => (r, r),
        };
        let begin: u16 = b.parse().map_err(|_| bad())?;
        let end: u16 = e.parse().map_err(|_| bad())?;
        if begin > end || begin == 0 {
            return Err(bad());
        }
        ranges.push(PortRange { begin, end });
    }
    ranges.sort_by_key(|r| r.begin);
    if ranges.windows(2).any(|w| w[1].begin <= w[0].end) {
        return Err(bad());
    }
    Ok(ranges)
}

/// Renders ranges the Mesos way: `[31000-32000, 33000-33100]`.
pub fn format_ranges(ranges: &[PortRange]) -> String {
    let inner: Vec<String> = ranges
        .iter()
        .map(|r| format!("{}-{}", r.begin, r.end))
        .collect();
    format!("[{}]", inner.join(", "))
}

/// Parses `rack:a;zone:z1`.
pub fn parse_attributes(s: &str) -> Result<BTreeMap<String, String>, ResourceError> {
    let mut out = BTreeMap::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once(':')
            .ok_or_else(|| ResourceError::BadAttribute(part.to_string()))?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(ResourceError::BadAttribute(part.to_string()));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(ResourceError::DuplicateAttribute(k.to_string()));
        }
    }
    Ok(out)
}

/// Memory kept for the OS and the agent, as Mesos does: 1 GB when there are at least 2 GB,
/// else half.
pub fn mem_after_reserve(total_mb: f64) -> f64 {
    if total_mb >= 2048.0 {
        total_mb - 1024.0
    } else {
        (total_mb / 2.0).floor()
    }
}

/// Disk kept back, as Mesos does: 5 GB when there are at least 10 GB, else half.
pub fn disk_after_reserve(total_mb: f64) -> f64 {
    if total_mb >= 10240.0 {
        total_mb - 5120.0
    } else {
        (total_mb / 2.0).floor()
    }
}

/// Reads `MemTotal` (kB) from a `/proc/meminfo` text, in MB.
pub fn meminfo_total_mb(meminfo: &str) -> Option<f64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0).floor())
}

/// Detects this host's resources and applies the overrides.
pub fn detect(work_dir: &Path, overrides: ResourceOverrides) -> Resources {
    let cpus = overrides.cpus.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get() as f64)
            .unwrap_or(1.0)
    });
    let mem = overrides.mem.unwrap_or_else(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| meminfo_total_mb(&m))
            .map(mem_after_reserve)
            .unwrap_or(0.0)
    });
    let disk = overrides.disk.unwrap_or_else(|| {
        nix::sys::statvfs::statvfs(work_dir)
            .map(|s| {
                let bytes = s.blocks() as f64 * s.fragment_size() as f64;
                disk_after_reserve((bytes / 1048576.0).floor())
            })
            .unwrap_or(0.0)
    });
    Resources {
        cpus,
        mem,
        disk,
        gpus: overrides.gpus.unwrap_or(0.0),
        ports: overrides.ports.unwrap_or_else(|| {
            vec![PortRange {
                begin: 31000,
                end: 32000,
            }]
        }),
    }
}

//! Scalar resources (cpus, mem, disk, gpus) as callers see them (`f64`, Mesos's 3-decimal
//! rounding) and as the allocator computes with them (whole thousandths, so sums never drift).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest scalar accepted (per resource, per agent or task): far above any real machine (a
/// billion cpus, a petabyte of MB), and small enough that thousandths of it summed over a
/// million tasks stay well within `i64`.
pub const MAX_SCALAR: f64 = 1.0e9;

/// Scalar resources: cpus (shares), mem and disk (MB), gpus (whole devices in practice).
/// Values are kept to 3 decimals like Mesos does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    #[serde(default)]
    pub cpus: f64,
    #[serde(default)]
    pub mem: f64,
    #[serde(default)]
    pub disk: f64,
    #[serde(default)]
    pub gpus: f64,
}

/// A scalar that cannot be used as a resource amount.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ResourceError {
    #[error("{name} must be a finite number >= 0 and <= 1e9, got {value}")]
    OutOfRange { name: &'static str, value: f64 },
}

impl Resources {
    pub const fn new(cpus: f64, mem: f64, disk: f64, gpus: f64) -> Self {
        Resources {
            cpus,
            mem,
            disk,
            gpus,
        }
    }

    /// Rounds every scalar to 3 decimals (Mesos's fixed-point rule).
    pub fn rounded(&self) -> Resources {
        Res::from_resources_lossy(self).to_resources()
    }

    pub fn is_zero(&self) -> bool {
        self.cpus == 0.0 && self.mem == 0.0 && self.disk == 0.0 && self.gpus == 0.0
    }
}

/// Resources in thousandths, the allocator's exact arithmetic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct Res {
    pub cpus: i64,
    pub mem: i64,
    pub disk: i64,
    pub gpus: i64,
}

fn milli(name: &'static str, v: f64) -> Result<i64, ResourceError> {
    if !v.is_finite() || !(0.0..=MAX_SCALAR).contains(&v) {
        return Err(ResourceError::OutOfRange { name, value: v });
    }
    Ok((v * 1000.0).round() as i64)
}

impl Res {
    pub fn from_resources(r: &Resources) -> Result<Res, ResourceError> {
        Ok(Res {
            cpus: milli("cpus", r.cpus)?,
            mem: milli("mem", r.mem)?,
            disk: milli("disk", r.disk)?,
            gpus: milli("gpus", r.gpus)?,
        })
    }

    /// Conversion for values that went through validation already (or display only): out of
    /// range values are clamped rather than rejected.
    pub fn from_resources_lossy(r: &Resources) -> Res {
        let f = |v: f64| {
            if v.is_finite() {
                (v.clamp(0.0, MAX_SCALAR) * 1000.0).round() as i64
            } else {
                0
            }
        };
        Res {
            cpus: f(r.cpus),
            mem: f(r.mem),
            disk: f(r.disk),
            gpus: f(r.gpus),
        }
    }

    pub fn to_resources(self) -> Resources {
        let f = |v: i64| v as f64 / 1000.0;
        Resources {
            cpus: f(self.cpus),
            mem: f(self.mem),
            disk: f(self.disk),
            gpus: f(self.gpus),
        }
    }

    pub fn add(self, o: Res) -> Res {
        Res {
            cpus: self.cpus + o.cpus,
            mem: self.mem + o.mem,
            disk: self.disk + o.disk,
            gpus: self.gpus + o.gpus,
        }
    }

    pub fn sub(self, o: Res) -> Res {
        Res {
            cpus: self.cpus - o.cpus,
            mem: self.mem - o.mem,
            disk: self.disk - o.disk,
            gpus: self.gpus - o.gpus,
        }
    }

    /// `self - o`, never below zero per scalar.
    pub fn sub_clamped(self, o: Res) -> Res {
        Res {
            cpus: (self.cpus - o.cpus).max(0),
            mem: (self.mem - o.mem).max(0),
            disk: (self.disk - o.disk).max(0),
            gpus: (self.gpus - o.gpus).max(0),
        }
    }

    pub fn min(self, o: Res) -> Res {
        Res {
            cpus: self.cpus.min(o.cpus),
            mem: self.mem.min(o.mem),
            disk: self.disk.min(o.disk),
            gpus: self.gpus.min(o.gpus),
        }
    }

    pub fn le(&self, o: &Res) -> bool {
        self.cpus <= o.cpus && self.mem <= o.mem && self.disk <= o.disk && self.gpus <= o.gpus
    }

    pub fn is_zero(&self) -> bool {
        self.cpus == 0 && self.mem == 0 && self.disk == 0 && self.gpus == 0
    }

    /// Ordering key for "most free": 1 cpu weighs like 4096 MB of memory. If `need` fits in
    /// `self`, then `need.score() <= self.score()` (both scalars are monotone in the key).
    pub fn score(&self) -> u64 {
        (self.cpus.max(0) as u64) * 4096 + self.mem.max(0) as u64
    }
}

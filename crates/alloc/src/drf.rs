//! Weighted Dominant Resource Fairness: who is served next among roles (or frameworks).

use crate::resources::{Res, Resources};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A role or framework competing for resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrfClient {
    pub name: String,
    /// Relative weight (> 0). A role of weight 2 may hold twice the dominant share of weight 1.
    #[serde(default = "one")]
    pub weight: f64,
    /// Resources it holds now.
    #[serde(default)]
    pub allocated: Resources,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum DrfError {
    #[error("weight of '{name}' must be a finite number > 0, got {weight}")]
    BadWeight { name: String, weight: f64 },
    #[error("allocation of '{name}': {source}")]
    BadAllocation {
        name: String,
        source: crate::resources::ResourceError,
    },
    #[error("cluster total: {0}")]
    BadTotal(crate::resources::ResourceError),
}

/// Largest of allocated/total over cpus, mem, disk, gpus (resources the cluster has none of are
/// skipped).
pub(crate) fn dominant_share_res(allocated: &Res, total: &Res) -> f64 {
    let mut share: f64 = 0.0;
    for (a, t) in [
        (allocated.cpus, total.cpus),
        (allocated.mem, total.mem),
        (allocated.disk, total.disk),
        (allocated.gpus, total.gpus),
    ] {
        if t > 0 {
            share = share.max(a as f64 / t as f64);
        }
    }
    share
}

/// Dominant share of `allocated` in a cluster of `total`.
pub fn dominant_share(allocated: &Resources, total: &Resources) -> f64 {
    dominant_share_res(
        &Res::from_resources_lossy(allocated),
        &Res::from_resources_lossy(total),
    )
}

/// Orders clients for the next allocation: lowest dominant share / weight first; ties by name.
/// Returns indices into `clients`.
pub fn drf_order(clients: &[DrfClient], total: &Resources) -> Result<Vec<usize>, DrfError> {
    let total = Res::from_resources(total).map_err(DrfError::BadTotal)?;
    let mut keyed = Vec::with_capacity(clients.len());
    for (i, c) in clients.iter().enumerate() {
        if !(c.weight.is_finite() && c.weight > 0.0) {
            return Err(DrfError::BadWeight {
                name: c.name.clone(),
                weight: c.weight,
            });
        }
        let a = Res::from_resources(&c.allocated).map_err(|source| DrfError::BadAllocation {
            name: c.name.clone(),
            source,
        })?;
        keyed.push((dominant_share_res(&a, &total) / c.weight, i));
    }
    keyed.sort_by(|x, y| {
        x.0.total_cmp(&y.0)
            .then_with(|| clients[x.1].name.cmp(&clients[y.1].name))
    });
    Ok(keyed.into_iter().map(|(_, i)| i).collect())
}

/// Total order key for a non-negative share (for ordered sets).
pub(crate) fn share_key(share: f64) -> u64 {
    if share.is_finite() && share > 0.0 {
        share.to_bits()
    } else {
        0
    }
}

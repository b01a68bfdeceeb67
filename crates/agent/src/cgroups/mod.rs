//! Control groups: where a task's memory and cpu limits live, and how the kernel tells us it
//! killed a task for using too much memory.
//!
//! Two kernel interfaces hide behind [`CgroupDriver`]: cgroup v1 (one hierarchy per controller,
//! `memory.limit_in_bytes`, `cpu.shares`, `memory.oom_control`; also the hybrid layout with an
//! empty v2 hierarchy at `/sys/fs/cgroup/unified`) and cgroup v2 (one unified hierarchy,
//! `memory.max`, `cpu.weight`, `memory.events`). Task cgroups are nested below the agent's own
//! cgroup by default (`<own>/dcos/<agent-id>/<task-id>`), so whatever limits the agent's host
//! service has still hold, or below the hierarchy root when the root name starts with `/`.
//! Every file operation goes through [`CgroupFs`], so the logic is unit tested against a fake.

pub mod v1;
pub mod v2;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the {0} controller is not available in {1}")]
    MissingController(&'static str, PathBuf),
    #[error("cannot parse {path}: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("cgroup {0} still has processes after they were killed")]
    Busy(PathBuf),
}

impl CgroupError {
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        CgroupError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The few file operations cgroups need; real on the host, faked in unit tests.
pub trait CgroupFs: Send + Sync {
    fn read(&self, path: &Path) -> io::Result<String>;
    fn write(&self, path: &Path, value: &str) -> io::Result<()>;
    fn mkdir(&self, path: &Path) -> io::Result<()>;
    fn rmdir(&self, path: &Path) -> io::Result<()>;
    fn exists(&self, path: &Path) -> bool;
}

/// The host's cgroup filesystem.
pub struct HostFs;

impl CgroupFs for HostFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        // Control files take one write(2) each; no create, no truncate dance.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.write_all(value.as_bytes())
    }
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        match std::fs::create_dir(path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            r => r,
        }
    }
    fn rmdir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Limits of one task, from its resources.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub mem_mb: f64,
    pub cpus: f64,
}

/// Mesos's floor for a container's memory limit.
pub const MIN_MEM_MB: f64 = 32.0;
/// CFS period used for cpu quotas (100 ms, the kernel default).
pub const CFS_PERIOD_US: u64 = 100_000;

impl Limits {
    pub fn mem_bytes(&self) -> u64 {
        (self.mem_mb.max(MIN_MEM_MB) * 1024.0 * 1024.0) as u64
    }
    /// cgroup v1 `cpu.shares`: 1024 per cpu, at least 2.
    pub fn cpu_shares(&self) -> u64 {
        ((self.cpus * 1024.0) as u64).max(2)
    }
    /// CFS quota in microseconds per [`CFS_PERIOD_US`]; at least 1 ms.
    pub fn cfs_quota_us(&self) -> u64 {
        ((self.cpus * CFS_PERIOD_US as f64) as u64).max(1000)
    }
    /// cgroup v2 `cpu.weight` (1..10000) for the same shares, with runc's conversion.
    pub fn cpu_weight(&self) -> u64 {
        let shares = self.cpu_shares().min(262_144);
        1 + ((shares - 2) * 9999) / 262_142
    }
}

/// Where one task's cgroup lives: one directory per controller (the same one on v2), and the
/// directories above it that the agent does not own and never removes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskCgroup {
    pub version: CgroupVersion,
    pub memory: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<PathBuf>,
    /// Directories owned by someone else (the agent's own cgroups): created dirs stop below them.
    pub roots: Vec<PathBuf>,
}

impl TaskCgroup {
    /// All distinct directories of the task.
    pub fn dirs(&self) -> Vec<&Path> {
        let mut d = vec![self.memory.as_path()];
        if let Some(c) = &self.cpu {
            if c != &self.memory {
                d.push(c.as_path());
            }
        }
        d
    }

    /// The root that `dir` lies under.
    fn root_of(&self, dir: &Path) -> Option<&Path> {
        self.roots
            .iter()
            .map(PathBuf::as_path)
            .find(|r| dir.starts_with(r) && dir != *r)
    }
}

/// What the kernel interface can do for a task's cgroup.
pub trait CgroupDriver {
    /// Creates the task's directories and writes its limits.
    fn create(&self, cg: &TaskCgroup, limits: &Limits) -> Result<(), CgroupError>;
    /// Moves a process into the task's cgroup(s).
    fn add_process(&self, cg: &TaskCgroup, pid: i32) -> Result<(), CgroupError>;
    /// How many processes the kernel's OOM killer killed in the cgroup.
    fn oom_kills(&self, cg: &TaskCgroup) -> Result<u64, CgroupError>;
    /// Removes the task's directories and the empty parents the agent created.
    fn destroy(&self, cg: &TaskCgroup) -> Result<(), CgroupError>;
}

/// The driver for a cgroup version.
pub fn driver(version: CgroupVersion, fs: Arc<dyn CgroupFs>) -> Box<dyn CgroupDriver> {
    match version {
        CgroupVersion::V1 => Box::new(v1::V1 { fs }),
        CgroupVersion::V2 => Box::new(v2::V2 { fs }),
    }
}

/// The agent's view of the host's cgroups: where its task cgroups go.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub version: CgroupVersion,
    /// Base directory of task cgroups for memory (and the unified one on v2).
    pub memory_base: PathBuf,
    pub cpu_base: Option<PathBuf>,
    /// The directories the bases hang below (see [`TaskCgroup::roots`]).
    pub roots: Vec<PathBuf>,
}

impl Layout {
    /// Detects the host's cgroup version under `mount` (normally `/sys/fs/cgroup`), given the
    /// text of `/proc/self/cgroup` and the root name (`dcos`: below the agent's own cgroup;
    /// `/dcos`: below the hierarchy root). `None` when no usable memory controller exists.
    pub fn detect(
        fs: &dyn CgroupFs,
        mount: &Path,
        proc_self_cgroup: &str,
        root_name: &str,
    ) -> Option<Layout> {
        let absolute = root_name.starts_with('/');
        let name = root_name.trim_matches('/');
        let name = if name.is_empty() { "dcos" } else { name };
        let own = |controller: &str| -> PathBuf {
            if absolute {
                return PathBuf::from("/");
            }
            own_cgroup(proc_self_cgroup, controller).unwrap_or_else(|| PathBuf::from("/"))
        };
        let join = |base: &Path, rel: &Path| -> PathBuf {
            base.join(rel.strip_prefix("/").unwrap_or(rel))
        };
        if fs.exists(&mount.join("cgroup.controllers")) {
            let root = join(mount, &own(""));
            return Some(Layout {
                version: CgroupVersion::V2,
                memory_base: root.join(name),
                cpu_base: Some(root.join(name)),
                roots: vec![root],
            });
        }
        let mem_mount = mount.join("memory");
        if !fs.exists(&mem_mount.join("memory.limit_in_bytes")) {
            return None;
        }
        let mem_root = join(&mem_mount, &own("memory"));
        let mut roots = vec![mem_root.clone()];
        let cpu_base = ["cpu", "cpu,cpuacct"]
            .iter()
            .map(|d| mount.join(d))
            .find(|d| fs.exists(&d.join("cpu.shares")))
            .map(|cpu_mount| {
                let r = join(&cpu_mount, &own("cpu"));
                roots.push(r.clone());
                r.join(name)
            });
        Some(Layout {
            version: CgroupVersion::V1,
            memory_base: mem_root.join(name),
            cpu_base,
            roots,
        })
    }

    /// On cgroup v2 a cgroup with processes cannot hand controllers to its children (the
    /// "no internal processes" rule), so when the agent's own cgroup refuses `+memory` in its
    /// `cgroup.subtree_control`, task cgroups move below the hierarchy root instead (as Mesos
    /// keeps them). v1 layouts are returned unchanged.
    pub fn usable(self, fs: &dyn CgroupFs, mount: &Path) -> Layout {
        if self.version != CgroupVersion::V2 {
            return self;
        }
        let Some(own) = self.roots.first() else {
            return self;
        };
        if own == mount
            || fs
                .write(&own.join("cgroup.subtree_control"), "+memory")
                .is_ok()
        {
            return self;
        }
        let name = self
            .memory_base
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("dcos"));
        tracing::warn!(
            "the agent's cgroup {} cannot delegate the memory controller; task cgroups go              below {} instead",
            own.display(),
            mount.join(&name).display()
        );
        Layout {
            version: CgroupVersion::V2,
            memory_base: mount.join(&name),
            cpu_base: Some(mount.join(&name)),
            roots: vec![mount.to_path_buf()],
        }
    }

    /// The cgroup of one task of this agent.
    pub fn task(&self, agent_id: &str, task_id: &str) -> TaskCgroup {
        let leaf = |b: &Path| b.join(sanitize(agent_id)).join(sanitize(task_id));
        TaskCgroup {
            version: self.version,
            memory: leaf(&self.memory_base),
            cpu: self.cpu_base.as_deref().map(leaf),
            roots: self.roots.clone(),
        }
    }
}

/// A cgroup directory name from an id: no `/`, no leading dot.
pub fn sanitize(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    match s.as_str() {
        "" | "." | ".." => "_".to_string(),
        _ => s,
    }
}

/// The process's cgroup path for a v1 controller (or the v2 one for `""`) from the text of
/// `/proc/self/cgroup`.
pub fn own_cgroup(proc_self_cgroup: &str, controller: &str) -> Option<PathBuf> {
    proc_self_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_id, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if controller.is_empty() {
            ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == controller)
        };
        matches.then(|| PathBuf::from(path))
    })
}

/// Creates `dir` and its missing parents below its root.
pub(crate) fn mkdir_below_root(
    fs: &dyn CgroupFs,
    cg: &TaskCgroup,
    dir: &Path,
) -> Result<(), CgroupError> {
    let root = cg.root_of(dir).unwrap_or(Path::new("/"));
    let mut chain: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| *a != root && a.starts_with(root))
        .collect();
    chain.reverse();
    for d in chain {
        fs.mkdir(d).map_err(|e| CgroupError::io("create", d, e))?;
    }
    Ok(())
}

/// Removes `dir` (retrying while its last processes exit) and then its now-empty parents up to
/// its root, which stays.
pub(crate) fn rmdir_up_to_root(
    fs: &dyn CgroupFs,
    cg: &TaskCgroup,
    dir: &Path,
) -> Result<(), CgroupError> {
    if fs.exists(dir) {
        let mut attempts = 0;
        loop {
            match fs.rmdir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempts < 50 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    return Err(CgroupError::Busy(dir.to_path_buf()))
                }
                Err(e) => return Err(CgroupError::io("remove", dir, e)),
            }
        }
    }
    if let Some(root) = cg.root_of(dir) {
        for parent in dir.ancestors().skip(1) {
            if parent == root || !parent.starts_with(root) {
                break;
            }
            // Another task still lives there: stop quietly.
            if fs.rmdir(parent).is_err() {
                break;
            }
        }
    }
    Ok(())
}

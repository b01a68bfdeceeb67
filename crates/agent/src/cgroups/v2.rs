//! cgroup v2: one unified hierarchy. Controllers must be enabled in `cgroup.subtree_control` of
//! every level above the task (`+memory +cpu`), the memory limit goes to `memory.max` with
//! `memory.swap.max` = 0, cpu to `cpu.weight` and `cpu.max`, and OOM kills are counted in
//! `memory.events` (`oom_kill`).

use super::{mkdir_below_root, rmdir_up_to_root, CgroupDriver, CgroupError, CgroupFs};
use super::{Limits, TaskCgroup, CFS_PERIOD_US};
use std::path::Path;
use std::sync::Arc;

pub struct V2 {
    pub fs: Arc<dyn CgroupFs>,
}

impl V2 {
    fn write(&self, dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
        let p = dir.join(file);
        self.fs
            .write(&p, value)
            .map_err(|e| CgroupError::io("write", &p, e))
    }

    /// Enables memory and cpu for the children of every level from the root down to the
    /// task's parent.
    fn enable_controllers(&self, cg: &TaskCgroup) -> Result<(), CgroupError> {
        let root = cg
            .roots
            .iter()
            .find(|r| cg.memory.starts_with(r))
            .cloned()
            .unwrap_or_else(|| "/".into());
        let available = self
            .fs
            .read(&root.join("cgroup.controllers"))
            .map_err(|e| CgroupError::io("read", &root.join("cgroup.controllers"), e))?;
        let has = |c: &str| available.split_whitespace().any(|x| x == c);
        if !has("memory") {
            return Err(CgroupError::MissingController("memory", root));
        }
        let value = if has("cpu") {
            "+memory +cpu"
        } else {
            "+memory"
        };
        let mut chain: Vec<&Path> = cg
            .memory
            .ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(&root))
            .collect();
        chain.reverse();
        for dir in chain {
            self.write(dir, "cgroup.subtree_control", value)?;
        }
        Ok(())
    }
}

impl CgroupDriver for V2 {
    fn create(&self, cg: &TaskCgroup, limits: &Limits) -> Result<(), CgroupError> {
        if let Some(parent) = cg.memory.parent() {
            mkdir_below_root(self.fs.as_ref(), cg, parent)?;
        }
        self.enable_controllers(cg)?;
        mkdir_below_root(self.fs.as_ref(), cg, &cg.memory)?;
        let dir = &cg.memory;
        self.write(dir, "memory.max", &limits.mem_bytes().to_string())?;
        if self.fs.exists(&dir.join("memory.swap.max")) {
            self.write(dir, "memory.swap.max", "0")?;
        }
        if self.fs.exists(&dir.join("cpu.weight")) {
            self.write(dir, "cpu.weight", &limits.cpu_weight().to_string())?;
            self.write(
                dir,
                "cpu.max",
                &format!("{} {}", limits.cfs_quota_us(), CFS_PERIOD_US),
            )?;
        }
        Ok(())
    }

    fn add_process(&self, cg: &TaskCgroup, pid: i32) -> Result<(), CgroupError> {
        self.write(&cg.memory, "cgroup.procs", &pid.to_string())
    }

    fn oom_kills(&self, cg: &TaskCgroup) -> Result<u64, CgroupError> {
        let p = cg.memory.join("memory.events");
        let text = self
            .fs
            .read(&p)
            .map_err(|e| CgroupError::io("read", &p, e))?;
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| CgroupError::Parse {
                path: p,
                detail: "no oom_kill line".into(),
            })
    }

    fn destroy(&self, cg: &TaskCgroup) -> Result<(), CgroupError> {
        rmdir_up_to_root(self.fs.as_ref(), cg, &cg.memory)
    }
}

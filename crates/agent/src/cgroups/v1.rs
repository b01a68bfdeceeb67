//! cgroup v1: one hierarchy per controller. Memory limit in `memory.limit_in_bytes` (and
//! `memory.memsw.limit_in_bytes` when swap accounting exists, so a task cannot swap its way
//! past the limit), cpu in `cpu.shares` plus a CFS quota, OOM kills counted in
//! `memory.oom_control` (`oom_kill`, or `under_oom` on kernels without the counter).

use super::{mkdir_below_root, rmdir_up_to_root, CgroupDriver, CgroupError, CgroupFs};
use super::{Limits, TaskCgroup, CFS_PERIOD_US};
use std::path::Path;
use std::sync::Arc;

pub struct V1 {
    pub fs: Arc<dyn CgroupFs>,
}

impl V1 {
    fn write(&self, dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
        let p = dir.join(file);
        self.fs
            .write(&p, value)
            .map_err(|e| CgroupError::io("write", &p, e))
    }
}

impl CgroupDriver for V1 {
    fn create(&self, cg: &TaskCgroup, limits: &Limits) -> Result<(), CgroupError> {
        for dir in cg.dirs() {
            mkdir_below_root(self.fs.as_ref(), cg, dir)?;
        }
        let bytes = limits.mem_bytes().to_string();
        self.write(&cg.memory, "memory.limit_in_bytes", &bytes)?;
        if self
            .fs
            .exists(&cg.memory.join("memory.memsw.limit_in_bytes"))
        {
            self.write(&cg.memory, "memory.memsw.limit_in_bytes", &bytes)?;
        }
        if let Some(cpu) = &cg.cpu {
            self.write(cpu, "cpu.shares", &limits.cpu_shares().to_string())?;
            self.write(cpu, "cpu.cfs_period_us", &CFS_PERIOD_US.to_string())?;
            self.write(cpu, "cpu.cfs_quota_us", &limits.cfs_quota_us().to_string())?;
        }
        Ok(())
    }

    fn add_process(&self, cg: &TaskCgroup, pid: i32) -> Result<(), CgroupError> {
        for dir in cg.dirs() {
            self.write(dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    fn oom_kills(&self, cg: &TaskCgroup) -> Result<u64, CgroupError> {
        let p = cg.memory.join("memory.oom_control");
        let text = self
            .fs
            .read(&p)
            .map_err(|e| CgroupError::io("read", &p, e))?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        match (field("oom_kill "), field("under_oom ")) {
            (Some(n), _) => Ok(n),
            (None, Some(u)) => Ok(u),
            (None, None) => Err(CgroupError::Parse {
                path: p,
                detail: "no oom_kill or under_oom line".into(),
            }),
        }
    }

    fn destroy(&self, cg: &TaskCgroup) -> Result<(), CgroupError> {
        let mut first_err = None;
        for dir in cg.dirs() {
            if let Err(e) = rmdir_up_to_root(self.fs.as_ref(), cg, dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

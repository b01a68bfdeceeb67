use super::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// An in-memory cgroupfs: mkdir creates the control files a real kernel would show.
struct FakeFs {
    files: Mutex<BTreeMap<PathBuf, String>>,
    dirs: Mutex<BTreeSet<PathBuf>>,
    template: Vec<(&'static str, &'static str)>,
    writes: Mutex<Vec<(PathBuf, String)>>,
    /// Writes to these files fail with EBUSY (like subtree_control of a cgroup with processes).
    busy_files: Mutex<Vec<PathBuf>>,
}

impl FakeFs {
    fn new(template: Vec<(&'static str, &'static str)>) -> Arc<FakeFs> {
        Arc::new(FakeFs {
            files: Mutex::new(BTreeMap::new()),
            dirs: Mutex::new(BTreeSet::new()),
            template,
            writes: Mutex::new(Vec::new()),
            busy_files: Mutex::new(Vec::new()),
        })
    }
    /// A directory that exists before the test (no parent check).
    fn add_dir(&self, p: &str) {
        self.dirs.lock().unwrap().insert(p.into());
        let mut files = self.files.lock().unwrap();
        for (name, value) in &self.template {
            files.insert(Path::new(p).join(name), value.to_string());
        }
    }
    fn set(&self, p: &str, v: &str) {
        self.files.lock().unwrap().insert(p.into(), v.into());
    }
    fn get(&self, p: &str) -> Option<String> {
        self.files.lock().unwrap().get(Path::new(p)).cloned()
    }
    fn has_dir(&self, p: &str) -> bool {
        self.dirs.lock().unwrap().contains(Path::new(p))
    }
}

impl CgroupFs for FakeFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.files
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        if self.busy_files.lock().unwrap().iter().any(|b| b == path) {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        let mut files = self.files.lock().unwrap();
        match files.get_mut(path) {
            Some(v) => *v = value.to_string(),
            None => return Err(io::Error::from(io::ErrorKind::NotFound)),
        }
        self.writes
            .lock()
            .unwrap()
            .push((path.to_path_buf(), value.to_string()));
        Ok(())
    }
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        if let Some(p) = path.parent() {
            if !p.as_os_str().is_empty() && p != Path::new("/") && !self.exists(p) {
                return Err(io::Error::from(io::ErrorKind::NotFound));
            }
        }
        if self.dirs.lock().unwrap().insert(path.to_path_buf()) {
            let mut files = self.files.lock().unwrap();
            for (name, value) in &self.template {
                files.insert(path.join(name), value.to_string());
            }
        }
        Ok(())
    }
    fn rmdir(&self, path: &Path) -> io::Result<()> {
        let mut dirs = self.dirs.lock().unwrap();
        if dirs.iter().any(|d| d.parent() == Some(path)) {
            return Err(io::Error::from_raw_os_error(libc::ENOTEMPTY));
        }
        let procs = self
            .files
            .lock()
            .unwrap()
            .get(&path.join("cgroup.procs"))
            .cloned();
        if procs.is_some_and(|p| !p.trim().is_empty()) {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        if !dirs.remove(path) {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        self.files
            .lock()
            .unwrap()
            .retain(|f, _| f.parent() != Some(path));
        Ok(())
    }
    fn exists(&self, path: &Path) -> bool {
        self.dirs.lock().unwrap().contains(path) || self.files.lock().unwrap().contains_key(path)
    }
}

const V1_MEM: &[(&str, &str)] = &[
    ("cgroup.procs", ""),
    ("memory.limit_in_bytes", "9223372036854771712"),
    ("memory.memsw.limit_in_bytes", "9223372036854771712"),
    (
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    ),
    ("cpu.shares", "1024"),
    ("cpu.cfs_period_us", "100000"),
    ("cpu.cfs_quota_us", "-1"),
];

const PROC_SELF_HYBRID: &str =
    "9:name=systemd:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";

fn v1_host() -> Arc<FakeFs> {
    let fs = FakeFs::new(V1_MEM.to_vec());
    fs.add_dir("/sys/fs/cgroup/memory");
    fs.add_dir("/sys/fs/cgroup/memory/process_api");
    fs.add_dir("/sys/fs/cgroup/memory/process_api/abc");
    fs.add_dir("/sys/fs/cgroup/cpu");
    fs
}

#[test]
fn detects_hybrid_v1_below_own_cgroup() {
    let fs = v1_host();
    let l = Layout::detect(
        fs.as_ref(),
        Path::new("/sys/fs/cgroup"),
        PROC_SELF_HYBRID,
        "dcos",
    )
    .unwrap();
    assert_eq!(l.version, CgroupVersion::V1);
    assert_eq!(
        l.memory_base,
        PathBuf::from("/sys/fs/cgroup/memory/process_api/abc/dcos")
    );
    assert_eq!(l.cpu_base, Some(PathBuf::from("/sys/fs/cgroup/cpu/dcos")));
    let t = l.task("agent-1", "web.1");
    assert_eq!(
        t.memory,
        PathBuf::from("/sys/fs/cgroup/memory/process_api/abc/dcos/agent-1/web.1")
    );
}

#[test]
fn absolute_root_name_ignores_own_cgroup() {
    let fs = v1_host();
    let l = Layout::detect(
        fs.as_ref(),
        Path::new("/sys/fs/cgroup"),
        PROC_SELF_HYBRID,
        "/dcos",
    )
    .unwrap();
    assert_eq!(l.memory_base, PathBuf::from("/sys/fs/cgroup/memory/dcos"));
}

#[test]
fn no_memory_controller_means_no_layout() {
    let fs = FakeFs::new(vec![]);
    fs.add_dir("/sys/fs/cgroup");
    assert!(Layout::detect(fs.as_ref(), Path::new("/sys/fs/cgroup"), "", "dcos").is_none());
}

#[test]
fn v1_create_writes_limits_and_destroy_removes_everything_it_made() {
    let fs = v1_host();
    let l = Layout::detect(
        fs.as_ref(),
        Path::new("/sys/fs/cgroup"),
        PROC_SELF_HYBRID,
        "dcos",
    )
    .unwrap();
    let t = l.task("a1", "t1");
    let d = driver(CgroupVersion::V1, fs.clone());
    d.create(
        &t,
        &Limits {
            mem_mb: 64.0,
            cpus: 0.5,
        },
    )
    .unwrap();
    let m = "/sys/fs/cgroup/memory/process_api/abc/dcos/a1/t1";
    assert_eq!(
        fs.get(&format!("{m}/memory.limit_in_bytes")).unwrap(),
        "67108864"
    );
    assert_eq!(
        fs.get(&format!("{m}/memory.memsw.limit_in_bytes")).unwrap(),
        "67108864"
    );
    let c = "/sys/fs/cgroup/cpu/dcos/a1/t1";
    assert_eq!(fs.get(&format!("{c}/cpu.shares")).unwrap(), "512");
    assert_eq!(fs.get(&format!("{c}/cpu.cfs_quota_us")).unwrap(), "50000");
    // memory limit is written before the memsw one (the kernel requires memsw >= limit).
    let writes = fs.writes.lock().unwrap().clone();
    let pos = |f: &str| writes.iter().position(|(p, _)| p.ends_with(f)).unwrap();
    assert!(pos("memory.limit_in_bytes") < pos("memory.memsw.limit_in_bytes"));

    d.add_process(&t, 4242).unwrap();
    assert_eq!(fs.get(&format!("{m}/cgroup.procs")).unwrap(), "4242");
    // Pretend the process exited.
    fs.set(&format!("{m}/cgroup.procs"), "");
    fs.set(&format!("{c}/cgroup.procs"), "");
    d.destroy(&t).unwrap();
    assert!(!fs.has_dir(m));
    assert!(!fs.has_dir("/sys/fs/cgroup/memory/process_api/abc/dcos"));
    assert!(!fs.has_dir("/sys/fs/cgroup/cpu/dcos"));
    // The agent's own cgroup and the hierarchy stay.
    assert!(fs.has_dir("/sys/fs/cgroup/memory/process_api/abc"));
    assert!(fs.has_dir("/sys/fs/cgroup/cpu"));
}

#[test]
fn destroy_keeps_parents_shared_with_other_tasks() {
    let fs = v1_host();
    let l = Layout::detect(
        fs.as_ref(),
        Path::new("/sys/fs/cgroup"),
        PROC_SELF_HYBRID,
        "dcos",
    )
    .unwrap();
    let d = driver(CgroupVersion::V1, fs.clone());
    let lim = Limits {
        mem_mb: 10.0,
        cpus: 0.1,
    };
    let (t1, t2) = (l.task("a1", "t1"), l.task("a1", "t2"));
    d.create(&t1, &lim).unwrap();
    d.create(&t2, &lim).unwrap();
    // The floor of 32 MB applies.
    assert_eq!(
        fs.get("/sys/fs/cgroup/memory/process_api/abc/dcos/a1/t1/memory.limit_in_bytes")
            .unwrap(),
        (32 * 1024 * 1024).to_string()
    );
    d.destroy(&t1).unwrap();
    assert!(fs.has_dir("/sys/fs/cgroup/memory/process_api/abc/dcos/a1/t2"));
    d.destroy(&t2).unwrap();
    assert!(!fs.has_dir("/sys/fs/cgroup/memory/process_api/abc/dcos"));
}

#[test]
fn v1_reports_oom_kills_from_counter_or_under_oom() {
    let fs = v1_host();
    let l = Layout::detect(
        fs.as_ref(),
        Path::new("/sys/fs/cgroup"),
        PROC_SELF_HYBRID,
        "dcos",
    )
    .unwrap();
    let t = l.task("a1", "t1");
    let d = driver(CgroupVersion::V1, fs.clone());
    d.create(
        &t,
        &Limits {
            mem_mb: 64.0,
            cpus: 1.0,
        },
    )
    .unwrap();
    let f = t.memory.join("memory.oom_control");
    assert_eq!(d.oom_kills(&t).unwrap(), 0);
    fs.set(
        f.to_str().unwrap(),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    );
    assert_eq!(d.oom_kills(&t).unwrap(), 2);
    fs.set(f.to_str().unwrap(), "oom_kill_disable 0\nunder_oom 1\n");
    assert_eq!(d.oom_kills(&t).unwrap(), 1);
    fs.set(f.to_str().unwrap(), "garbage");
    assert!(matches!(d.oom_kills(&t), Err(CgroupError::Parse { .. })));
}

const V2_FILES: &[(&str, &str)] = &[
    ("cgroup.procs", ""),
    ("cgroup.controllers", "cpuset cpu io memory pids"),
    ("cgroup.subtree_control", ""),
    ("memory.max", "max"),
    ("memory.swap.max", "max"),
    ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
    ("cpu.weight", "100"),
    ("cpu.max", "max 100000"),
];

#[test]
fn v2_enables_controllers_writes_limits_and_counts_oom() {
    let fs = FakeFs::new(V2_FILES.to_vec());
    fs.add_dir("/sys/fs/cgroup");
    let l = Layout::detect(fs.as_ref(), Path::new("/sys/fs/cgroup"), "0::/\n", "dcos").unwrap();
    assert_eq!(l.version, CgroupVersion::V2);
    let t = l.task("a1", "t1");
    assert_eq!(t.memory, PathBuf::from("/sys/fs/cgroup/dcos/a1/t1"));
    let d = driver(CgroupVersion::V2, fs.clone());
    d.create(
        &t,
        &Limits {
            mem_mb: 128.0,
            cpus: 2.0,
        },
    )
    .unwrap();
    for dir in [
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/dcos",
        "/sys/fs/cgroup/dcos/a1",
    ] {
        assert_eq!(
            fs.get(&format!("{dir}/cgroup.subtree_control")).unwrap(),
            "+memory +cpu",
            "{dir}"
        );
    }
    let m = "/sys/fs/cgroup/dcos/a1/t1";
    assert_eq!(fs.get(&format!("{m}/memory.max")).unwrap(), "134217728");
    assert_eq!(fs.get(&format!("{m}/memory.swap.max")).unwrap(), "0");
    assert_eq!(fs.get(&format!("{m}/cpu.max")).unwrap(), "200000 100000");
    assert_eq!(fs.get(&format!("{m}/cpu.weight")).unwrap(), "79");
    fs.set(&format!("{m}/memory.events"), "oom 1\noom_kill 1\n");
    assert_eq!(d.oom_kills(&t).unwrap(), 1);
    d.destroy(&t).unwrap();
    assert!(!fs.has_dir("/sys/fs/cgroup/dcos"));
    assert!(fs.has_dir("/sys/fs/cgroup"));
}

#[test]
fn v2_without_memory_controller_is_a_clear_error() {
    let fs = FakeFs::new(vec![
        ("cgroup.controllers", "cpu pids"),
        ("cgroup.subtree_control", ""),
        ("cgroup.procs", ""),
    ]);
    fs.add_dir("/sys/fs/cgroup");
    let l = Layout::detect(fs.as_ref(), Path::new("/sys/fs/cgroup"), "0::/\n", "dcos").unwrap();
    let d = driver(CgroupVersion::V2, fs.clone());
    let e = d
        .create(
            &l.task("a", "t"),
            &Limits {
                mem_mb: 64.0,
                cpus: 1.0,
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("memory controller"), "{e}");
}

#[test]
fn busy_cgroup_is_reported_not_ignored() {
    let fs = v1_host();
    let l = Layout::detect(
        fs.as_ref(),
        Path::new("/sys/fs/cgroup"),
        PROC_SELF_HYBRID,
        "dcos",
    )
    .unwrap();
    let t = l.task("a1", "t1");
    let d = driver(CgroupVersion::V1, fs.clone());
    d.create(
        &t,
        &Limits {
            mem_mb: 64.0,
            cpus: 1.0,
        },
    )
    .unwrap();
    d.add_process(&t, 7).unwrap();
    assert!(matches!(d.destroy(&t), Err(CgroupError::Busy(_))));
}

#[test]
fn ids_cannot_escape_the_cgroup_tree() {
    assert_eq!(sanitize("../x"), ".._x");
    assert_eq!(sanitize(".."), "_");
    assert_eq!(sanitize("a/b"), "a_b");
}

#[test]
fn v2_falls_back_to_the_root_when_the_agents_cgroup_cannot_delegate() {
    let fs = FakeFs::new(V2_FILES.to_vec());
    fs.add_dir("/sys/fs/cgroup");
    fs.add_dir("/sys/fs/cgroup/system.slice");
    fs.add_dir("/sys/fs/cgroup/system.slice/agent.service");
    let proc_self = "0::/system.slice/agent.service\n";
    let mount = Path::new("/sys/fs/cgroup");
    let l = Layout::detect(fs.as_ref(), mount, proc_self, "dcos").unwrap();
    assert_eq!(
        l.memory_base,
        PathBuf::from("/sys/fs/cgroup/system.slice/agent.service/dcos")
    );
    // A delegated cgroup keeps the nested layout...
    assert_eq!(l.clone().usable(fs.as_ref(), mount), l);
    // ...one with processes (EBUSY) moves the tasks below the root.
    fs.busy_files
        .lock()
        .unwrap()
        .push("/sys/fs/cgroup/system.slice/agent.service/cgroup.subtree_control".into());
    let u = l.usable(fs.as_ref(), mount);
    assert_eq!(u.memory_base, PathBuf::from("/sys/fs/cgroup/dcos"));
    assert_eq!(u.roots, vec![PathBuf::from("/sys/fs/cgroup")]);
    let d = driver(CgroupVersion::V2, fs.clone());
    d.create(
        &u.task("a", "t"),
        &Limits {
            mem_mb: 64.0,
            cpus: 1.0,
        },
    )
    .unwrap();
    assert_eq!(
        fs.get("/sys/fs/cgroup/dcos/a/t/memory.max").unwrap(),
        "67108864"
    );
}

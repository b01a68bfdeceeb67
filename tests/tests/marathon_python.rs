//! The unmodified Python client marathon-python 0.13.0 (PyPI `marathon==0.13.0`) drives the
//! Marathon API: create, list, get, scale, restart, list tasks, kill tasks, deployments, queue
//! and delete. The client builds objects with `cls(**fields)`, so any field it does not know in
//! a response fails this test. Needs `python3` with `marathon==0.13.0` installed
//! (`pip install marathon==0.13.0`).

use dcos_e2e::Cluster;
use std::process::Command;

const DRIVER: &str = r#"
import sys, time
from marathon import MarathonClient
from marathon.models import MarathonApp
from marathon.exceptions import NotFoundError

url, token = sys.argv[1], sys.argv[2]
c = MarathonClient(url, auth_token=token or None, timeout=10)

def wait(what, f, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        v = f()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError("timed out waiting for " + what)

assert c.ping().strip() == b"pong", c.ping()
info = c.get_info()
assert info.name == "marathon", info
assert c.get_leader()

app = c.create_app("/py", MarathonApp(cmd="sleep 1000", cpus=0.1, mem=16, instances=1))
assert app.id == "/py", app
wait("1 task", lambda: c.get_app("/py").tasks_running == 1 and not c.list_deployments())
apps = c.list_apps(embed_counts=True, embed_tasks=True)
assert [a.id for a in apps] == ["/py"], apps
assert c.list_apps(app_id="nope") == []

d = c.scale_app("/py", instances=3)
assert "deploymentId" in d, d
wait("3 tasks", lambda: c.get_app("/py").tasks_running == 3 and not c.list_deployments())
before = {t.id for t in c.list_tasks("/py")}
assert len(before) == 3, before

d = c.restart_app("/py")
assert "deploymentId" in d, d
deps = c.list_deployments()
assert all(dep.id for dep in deps), deps
wait("the restart", lambda: (not c.list_deployments())
     and len({t.id for t in c.list_tasks("/py") if t.state == "TASK_RUNNING"} - before) == 3)

tasks = c.list_tasks("/py")
assert all(t.app_id == "/py" and t.host and t.started_at for t in tasks), tasks
killed = c.kill_task("/py", tasks[0].id, scale=True)
wait("scale down to 2", lambda: c.get_app("/py").instances == 2
     and c.get_app("/py").tasks_running == 2 and not c.list_deployments())
killed = c.kill_given_tasks([t.id for t in c.list_tasks("/py")][:1])
wait("the killed task replaced", lambda: c.get_app("/py").tasks_running == 2)
all_tasks = c.list_tasks()
assert len(all_tasks) >= 2, all_tasks

q = c.list_queue()
assert isinstance(q, list), q
assert c.list_versions("/py")

c.delete_app("/py")
def gone():
    try:
        c.get_app("/py")
        return False
    except NotFoundError:
        return True
wait("the app to be gone", gone)
wait("no tasks left", lambda: c.list_tasks() == [])
print("marathon-python OK")
"#;

#[test]
fn marathon_python_drives_the_api_unmodified() {
    let probe = Command::new("python3")
        .args(["-c", "import sys, marathon, importlib.metadata as m; sys.exit(m.version('marathon') != '0.13.0')"])
        .status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "python3 with marathon==0.13.0 is needed: pip install marathon==0.13.0"
    );
    let c = Cluster::start(2, &[]);
    let out = Command::new("python3")
        .args(["-c", DRIVER, &c.url("/marathon"), &c.token])
        .output()
        .expect("running python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        c.dump_logs();
    }
    assert!(
        out.status.success() && stdout.contains("marathon-python OK"),
        "marathon-python failed:\n{stdout}\n{stderr}"
    );
}

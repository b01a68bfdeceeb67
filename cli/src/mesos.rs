//! Reading the Mesos-compatible cluster state (`/mesos/master/state.json`, `/slaves`) the way
//! the DC/OS CLI did: agents, frameworks and tasks with their host, region and zone.

use std::collections::HashMap;

use serde_json::Value;

#[cfg(test)]
mod tests;

pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The IP of a Mesos `pid` like `slave(1)@10.0.0.2:5051`.
pub fn pid_ip(pid: &str) -> Option<String> {
    let host = pid.rsplit_once('@')?.1;
    let ip = match host.rsplit_once(':') {
        Some((h, _)) => h,
        None => host,
    };
    (!ip.is_empty()).then(|| ip.trim_matches(['[', ']']).to_string())
}

/// `(region, zone)` of an agent's or master's `domain.fault_domain`, else of its `region` and
/// `zone` attributes (how `dcos cluster up` agents are given one).
pub fn region_zone(v: &Value) -> (String, String) {
    let fd = v.get("domain").and_then(|d| d.get("fault_domain"));
    let name = |k: &str| {
        let from_domain = fd
            .and_then(|f| f.get(k))
            .and_then(|r| r.get("name"))
            .and_then(Value::as_str);
        let from_attr = || {
            v.get("attributes")
                .and_then(|a| a.get(k))
                .and_then(|x| match x {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        };
        from_domain
            .map(String::from)
            .or_else(from_attr)
            .unwrap_or_default()
    };
    (name("region"), name("zone"))
}

/// A scalar resource (`cpus`, `mem`, `disk`) of a resources object.
pub fn scalar(resources: Option<&Value>, key: &str) -> f64 {
    resources
        .and_then(|r| r.get(key))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

/// A task with what the tables show about it.
#[derive(Debug, Clone)]
pub struct TaskRow<'a> {
    pub task: &'a Value,
    pub framework: &'a Value,
    pub completed: bool,
}

impl<'a> TaskRow<'a> {
    pub fn id(&self) -> &'a str {
        str_of(self.task, "id")
    }
    pub fn name(&self) -> &'a str {
        str_of(self.task, "name")
    }
    pub fn state(&self) -> &'a str {
        str_of(self.task, "state")
    }
    pub fn agent_id(&self) -> &'a str {
        str_of(self.task, "slave_id")
    }
    pub fn user(&self) -> &'a str {
        match str_of(self.task, "user") {
            "" => str_of(self.framework, "user"),
            u => u,
        }
    }
}

/// Index of a state document's agents by id.
pub struct State<'a> {
    pub doc: &'a Value,
    agents: HashMap<&'a str, &'a Value>,
}

impl<'a> State<'a> {
    pub fn new(doc: &'a Value) -> Self {
        let agents = arr(doc, "slaves")
            .iter()
            .map(|s| (str_of(s, "id"), s))
            .collect();
        Self { doc, agents }
    }

    pub fn agent(&self, id: &str) -> Option<&'a Value> {
        self.agents.get(id).copied()
    }

    /// The hostname of an agent, or "" if unknown.
    pub fn agent_host(&self, id: &str) -> &'a str {
        self.agent(id).map(|a| str_of(a, "hostname")).unwrap_or("")
    }

    pub fn frameworks(&self, completed: bool) -> Vec<(&'a Value, bool)> {
        let mut out: Vec<(&Value, bool)> = arr(self.doc, "frameworks")
            .iter()
            .map(|f| (f, false))
            .collect();
        if completed {
            out.extend(
                arr(self.doc, "completed_frameworks")
                    .iter()
                    .map(|f| (f, true)),
            );
        }
        out
    }

    /// Running tasks, plus completed ones when asked (also those of completed frameworks).
    pub fn tasks(&self, completed: bool) -> Vec<TaskRow<'a>> {
        let mut out = Vec::new();
        for (fw, fw_done) in self.frameworks(true) {
            if !fw_done {
                for t in arr(fw, "tasks").iter().chain(arr(fw, "unreachable_tasks")) {
                    out.push(TaskRow {
                        task: t,
                        framework: fw,
                        completed: false,
                    });
                }
            }
            if completed {
                let done = arr(fw, "completed_tasks").iter();
                let done: Box<dyn Iterator<Item = &Value>> = if fw_done {
                    Box::new(arr(fw, "tasks").iter().chain(done))
                } else {
                    Box::new(done)
                };
                for t in done {
                    out.push(TaskRow {
                        task: t,
                        framework: fw,
                        completed: true,
                    });
                }
            }
        }
        out
    }
}

/// Whether a task matches a `dcos task list FILTER`: a glob (`*`, `?`) over id or name, or a
/// substring when the filter has no wildcard.
pub fn task_matches(filter: &str, id: &str, name: &str) -> bool {
    if filter.contains(['*', '?']) {
        glob(filter, id) || glob(filter, name)
    } else {
        id.contains(filter) || name.contains(filter)
    }
}

fn glob(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let s: Vec<char> = s.chars().collect();
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The terminal Mesos task states.
pub fn is_terminal(state: &str) -> bool {
    matches!(
        state,
        "TASK_FINISHED"
            | "TASK_FAILED"
            | "TASK_KILLED"
            | "TASK_LOST"
            | "TASK_ERROR"
            | "TASK_DROPPED"
            | "TASK_GONE"
            | "TASK_GONE_BY_OPERATOR"
    )
}

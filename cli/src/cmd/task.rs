//! `dcos task list|log`: tasks from the master's state, and their sandbox files (stdout,
//! stderr) through the agent's files API.

use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use serde_json::Value;

use crate::files::RemoteFile;
use crate::http::Client;
use crate::mesos::{is_terminal, region_zone, str_of, task_matches, State, TaskRow};
use crate::output::{print, print_json, Table};

#[derive(Clone, Copy, ValueEnum)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Subcommand)]
pub enum Args {
    /// List tasks: NAME, HOST, USER, STATE, ID, AGENT ID, REGION, ZONE.
    List {
        /// Print the tasks' JSON from the master's state.
        #[arg(long)]
        json: bool,
        /// Also list finished, failed and killed tasks.
        #[arg(long)]
        completed: bool,
        /// Only tasks whose id or name contains FILTER (or matches it, with * and ?).
        filter: Option<String>,
    },
    /// Print the last lines of a task's stdout or stderr, and follow it.
    Log {
        /// Task id, or a part of it that matches one task.
        task: String,
        /// Which file of the sandbox.
        #[arg(value_enum, default_value = "stdout")]
        file: Stream,
        /// How many of the last lines to print.
        #[arg(long, default_value_t = 10)]
        lines: usize,
        /// Keep printing new output as the task writes it, until the task ends (Ctrl-C stops).
        #[arg(long)]
        follow: bool,
        /// Consider completed tasks too when matching TASK.
        #[arg(long)]
        completed: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let client = Client::from_config()?;
    match args {
        Args::List {
            json,
            completed,
            filter,
        } => list(&client, json, completed, filter.as_deref()),
        Args::Log {
            task,
            file,
            lines,
            follow,
            completed,
        } => log(&client, &task, file, lines, follow, completed),
    }
}

fn list(client: &Client, json: bool, completed: bool, filter: Option<&str>) -> anyhow::Result<()> {
    let doc = client.get_json("/mesos/master/state.json", &[])?;
    let state = State::new(&doc);
    let tasks: Vec<TaskRow> = state
        .tasks(completed)
        .into_iter()
        .filter(|t| filter.is_none_or(|f| task_matches(f, t.id(), t.name())))
        .collect();
    if json {
        print_json(&Value::Array(
            tasks.iter().map(|t| t.task.clone()).collect(),
        ));
        return Ok(());
    }
    let mut table = Table::new(&[
        "NAME", "HOST", "USER", "STATE", "ID", "AGENT ID", "REGION", "ZONE",
    ]);
    for t in &tasks {
        let (region, zone) = state
            .agent(t.agent_id())
            .map(region_zone)
            .unwrap_or_default();
        table.row([
            t.name().to_string(),
            state.agent_host(t.agent_id()).to_string(),
            t.user().to_string(),
            t.state().to_string(),
            t.id().to_string(),
            t.agent_id().to_string(),
            region,
            zone,
        ]);
    }
    print(&table.render());
    Ok(())
}

/// The one task `query` names: an exact id, else the only task it matches.
fn find_task<'a>(state: &State<'a>, query: &str, completed: bool) -> anyhow::Result<TaskRow<'a>> {
    let all = state.tasks(true);
    if let Some(t) = all.iter().find(|t| t.id() == query) {
        return Ok(t.clone());
    }
    let mut matches: Vec<&TaskRow> = all
        .iter()
        .filter(|t| task_matches(query, t.id(), t.name()))
        .collect();
    // A running task wins over completed ones, unless --completed asks for those too.
    if !completed && matches.iter().any(|t| !t.completed) {
        matches.retain(|t| !t.completed);
    }
    match matches.as_slice() {
        [] => {
            anyhow::bail!("no task matches `{query}`; `dcos task list --completed` shows the tasks")
        }
        [one] => Ok((*one).clone()),
        many => {
            let ids: Vec<&str> = many.iter().take(5).map(|t| t.id()).collect();
            let more = if many.len() > 5 { ", ..." } else { "" };
            anyhow::bail!(
                "`{query}` matches {} tasks ({}{more}); give a full task id",
                many.len(),
                ids.join(", ")
            )
        }
    }
}

/// The sandbox directory of `task_id` in an agent's `/state.json`.
pub fn sandbox_dir(agent_state: &Value, task_id: &str, executor_id: &str) -> Option<String> {
    let list = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let has_task = |e: &Value| {
        ["tasks", "completed_tasks", "queued_tasks"]
            .iter()
            .flat_map(|k| list(e, k))
            .any(|t| str_of(&t, "id") == task_id)
    };
    for fw in list(agent_state, "frameworks")
        .iter()
        .chain(list(agent_state, "completed_frameworks").iter())
    {
        for ex in list(fw, "executors")
            .iter()
            .chain(list(fw, "completed_executors").iter())
        {
            let id = str_of(ex, "id");
            if has_task(ex) || id == task_id || (!executor_id.is_empty() && id == executor_id) {
                let dir = str_of(ex, "directory");
                if !dir.is_empty() {
                    return Some(dir.to_string());
                }
            }
        }
    }
    None
}

fn log(
    client: &Client,
    query: &str,
    stream: Stream,
    lines: usize,
    follow: bool,
    completed: bool,
) -> anyhow::Result<()> {
    let doc = client.get_json("/mesos/master/state.json", &[])?;
    let state = State::new(&doc);
    let task = find_task(&state, query, completed)?;
    let (task_id, agent_id) = (task.id().to_string(), task.agent_id().to_string());
    anyhow::ensure!(
        !agent_id.is_empty(),
        "task {task_id} has not been placed on an agent yet; try again in a moment"
    );
    let agent_state = client
        .get_json(&format!("/agent/{agent_id}/state.json"), &[])
        .map_err(|e| anyhow::anyhow!("cannot read the state of agent {agent_id}, where task {task_id} ran ({e}); is the agent running?"))?;
    let dir = sandbox_dir(&agent_state, &task_id, str_of(task.task, "executor_id")).ok_or_else(|| {
        anyhow::anyhow!("agent {agent_id} knows no sandbox for task {task_id} (it may have been cleaned up)")
    })?;
    let name = match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    };
    let file = RemoteFile {
        client,
        route: format!("/agent/{agent_id}/files/read.json"),
        path: format!("{}/{name}", dir.trim_end_matches('/')),
    };
    let (text, end) = file.tail(lines).map_err(|e| {
        anyhow::anyhow!("cannot read {name} of task {task_id} on agent {agent_id}: {e}")
    })?;
    print(&text);
    if follow {
        // Polls for new output; stops once the task has ended and everything is printed.
        let mut checks = 0u32;
        file.follow(end, Duration::from_millis(500), print, || {
            // Ask the master every 4th quiet poll (about every 2 s).
            checks = (checks + 1) % 4;
            if checks != 0 {
                return false;
            }
            task_ended(client, &task_id)
        })?;
    }
    Ok(())
}

fn task_ended(client: &Client, task_id: &str) -> bool {
    let Ok(doc) = client.get_json("/mesos/master/state.json", &[]) else {
        return false;
    };
    let state = State::new(&doc);
    let ended = state
        .tasks(true)
        .iter()
        .find(|t| t.id() == task_id)
        .map(|t| t.completed || is_terminal(t.state()));
    ended.unwrap_or(false)
}

#[cfg(test)]
mod tests;

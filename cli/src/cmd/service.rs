//! `dcos service list`: the frameworks registered with the master and what they use.

use clap::Subcommand;
use serde_json::Value;

use crate::http::Client;
use crate::mesos::{scalar, str_of, State};
use crate::output::{fmt_num, print, print_json, Table};

#[derive(Subcommand)]
pub enum Args {
    /// List the services: NAME, HOST, ACTIVE, TASKS, CPU, MEM, DISK, ID.
    List {
        /// Print the frameworks' JSON from the master's state.
        #[arg(long)]
        json: bool,
        /// Also list services that have finished.
        #[arg(long)]
        completed: bool,
        /// Also list inactive services.
        #[arg(long)]
        inactive: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let Args::List {
        json,
        completed,
        inactive,
    } = args;
    let client = Client::from_config()?;
    let doc = client.get_json("/mesos/master/state.json", &[])?;
    let state = State::new(&doc);
    let fws: Vec<(&Value, bool)> = state
        .frameworks(completed)
        .into_iter()
        .filter(|(f, done)| {
            *done || inactive || f.get("active").and_then(Value::as_bool).unwrap_or(true)
        })
        .collect();
    if json {
        print_json(&Value::Array(
            fws.iter().map(|(f, _)| (*f).clone()).collect(),
        ));
        return Ok(());
    }
    let mut t = Table::new(&[
        "NAME", "HOST", "ACTIVE", "TASKS", "CPU", "MEM", "DISK", "ID",
    ]);
    for (f, done) in fws {
        let used = f.get("used_resources").or_else(|| f.get("resources"));
        let tasks = if done {
            0
        } else {
            f.get("tasks").and_then(Value::as_array).map_or(0, Vec::len)
        };
        let active = !done && f.get("active").and_then(Value::as_bool).unwrap_or(true);
        t.row([
            str_of(f, "name").to_string(),
            str_of(f, "hostname").to_string(),
            if active { "True" } else { "False" }.to_string(),
            tasks.to_string(),
            fmt_num(scalar(used, "cpus")),
            fmt_num(scalar(used, "mem")),
            fmt_num(scalar(used, "disk")),
            str_of(f, "id").to_string(),
        ]);
    }
    print(&t.render());
    Ok(())
}

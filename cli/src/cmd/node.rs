//! `dcos node list|log`: the cluster's machines (from `/mesos/master/slaves` and the master's
//! state) and their logs through the files API.

use std::time::Duration;

use clap::{ArgGroup, Subcommand};
use serde_json::Value;

use crate::files::RemoteFile;
use crate::http::{Client, HttpError};
use crate::mesos::{pid_ip, region_zone, str_of};
use crate::output::{print, print_json, Table};

#[derive(Subcommand)]
pub enum Args {
    /// List the master and the agents: HOSTNAME, IP, ID, TYPE, REGION, ZONE.
    List {
        /// Print the agents' JSON as served by /mesos/master/slaves.
        #[arg(long)]
        json: bool,
    },
    /// Print (and follow) the log of the leading master or of an agent.
    #[command(group(ArgGroup::new("node").required(true).args(["leader", "mesos_id"])))]
    Log {
        /// The leading master's log.
        #[arg(long)]
        leader: bool,
        /// The log of the agent with this id (see `dcos node list`).
        #[arg(long, value_name = "ID")]
        mesos_id: Option<String>,
        /// How many of the last lines to print.
        #[arg(long, default_value_t = 10)]
        lines: usize,
        /// Keep printing new lines as they are written (Ctrl-C stops).
        #[arg(long)]
        follow: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let client = Client::from_config()?;
    match args {
        Args::List { json } => list(&client, json),
        Args::Log {
            leader: _,
            mesos_id,
            lines,
            follow,
        } => log(&client, mesos_id, lines, follow),
    }
}

fn list(client: &Client, json: bool) -> anyhow::Result<()> {
    let slaves = client.get_json("/mesos/master/slaves", &[])?;
    let agents = slaves
        .get("slaves")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if json {
        print_json(&Value::Array(agents));
        return Ok(());
    }
    let state = client.get_json("/mesos/master/state.json", &[])?;
    let mut t = Table::new(&["HOSTNAME", "IP", "ID", "TYPE", "REGION", "ZONE"]);
    let (region, zone) = region_zone(&state);
    let master_host = str_of(&state, "hostname");
    t.row([
        master_host.to_string(),
        pid_ip(str_of(&state, "pid")).unwrap_or_else(|| master_host.to_string()),
        str_of(&state, "id").to_string(),
        "master (leader)".to_string(),
        region,
        zone,
    ]);
    for a in &agents {
        let (region, zone) = region_zone(a);
        let host = str_of(a, "hostname");
        let active = a.get("active").and_then(Value::as_bool).unwrap_or(true);
        t.row([
            host.to_string(),
            pid_ip(str_of(a, "pid")).unwrap_or_else(|| host.to_string()),
            str_of(a, "id").to_string(),
            if active { "agent" } else { "agent (inactive)" }.to_string(),
            region,
            zone,
        ]);
    }
    print(&t.render());
    Ok(())
}

fn log(
    client: &Client,
    mesos_id: Option<String>,
    lines: usize,
    follow: bool,
) -> anyhow::Result<()> {
    let mut local_log = None;
    let (route, path, what) = match &mesos_id {
        None => (
            "/mesos/files/read.json".to_string(),
            "/master/log".to_string(),
            "the master".to_string(),
        ),
        Some(id) => {
            let slaves = client.get_json("/mesos/master/slaves", &[])?;
            let agent = slaves
                .get("slaves")
                .and_then(Value::as_array)
                .and_then(|s| s.iter().find(|a| str_of(a, "id") == id));
            let Some(agent) = agent else {
                anyhow::bail!("no agent has the id `{id}`; `dcos node list` shows the agents' ids");
            };
            local_log = agent
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .and_then(|p| crate::local::local_agent_log(client.base_url(), p));
            (
                format!("/agent/{id}/files/read.json"),
                "/slave/log".to_string(),
                format!("agent {id}"),
            )
        }
    };
    let file = RemoteFile {
        client,
        route,
        path,
    };
    let not_served = |e: HttpError| -> anyhow::Error {
        match e.status() {
            Some(404) => match &local_log {
                Some(p) => anyhow::anyhow!(
                    "{what} does not serve its log through the files API ({e}); on this host it is {}",
                    p.display()
                ),
                None => anyhow::anyhow!(
                    "{what} does not serve its log through the files API ({e}); read its log file on its host instead"
                ),
            },
            _ => e.into(),
        }
    };
    let (text, end) = file.tail(lines).map_err(not_served)?;
    print(&text);
    if follow {
        file.follow(end, Duration::from_secs(1), print, || false)
            .map_err(not_served)?;
    }
    Ok(())
}

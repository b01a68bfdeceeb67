//! The agent: registers with the master, offers its resources, and runs the tasks the master
//! sends it. Each task runs in a sandbox directory under the work dir, supervised by a separate
//! `dcosd supervise` process that puts it in its own pid and mount namespaces and in cgroups
//! with its memory and cpu limits. Status updates are journaled on disk and resent until the
//! master acknowledges them; tasks keep running across an agent restart and are recovered from
//! the work dir. The agent also serves the Mesos-compatible `/state.json` and files API.

pub mod agent;
pub mod cgroups;
pub mod containerizer;
pub mod files_api;
pub mod status_journal;
pub mod namespaces;
pub mod resources;
pub mod sandbox;
pub mod supervisor;

/// Flags of `dcosd agent`.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentArgs {
    /// The master's URL, e.g. http://10.0.0.1:5050
    #[arg(long)]
    pub master: String,
    /// Directory for sandboxes and the agent's state.
    #[arg(long, default_value = "/var/lib/dcos/agent")]
    pub work_dir: std::path::PathBuf,
}

pub async fn run(_args: AgentArgs) -> anyhow::Result<()> {
    anyhow::bail!("dcosd agent is not implemented yet")
}

/// Flags of the hidden `dcosd supervise` role: the per-task supervisor process the agent starts
/// (a re-exec of the same binary), which sets up namespaces and cgroups, runs the task and
/// records its exit status in the sandbox.
#[derive(Debug, Clone, clap::Args)]
pub struct SuperviseArgs {
    /// Path of the task's launch spec (JSON) in its sandbox.
    #[arg(long)]
    pub spec: std::path::PathBuf,
}

/// Entry point of `dcosd supervise`; synchronous on purpose (runs before any runtime exists).
pub fn supervise(args: SuperviseArgs) -> anyhow::Result<()> {
    supervisor::supervise(&args.spec)?;
    Ok(())
}

//! The agent: registers with the master and runs tasks in sandboxes.

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
pub fn supervise(_args: SuperviseArgs) -> anyhow::Result<()> {
    anyhow::bail!("dcosd supervise is not implemented yet")
}

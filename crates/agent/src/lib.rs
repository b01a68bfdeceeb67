//! The agent: registers with the master and runs tasks in sandboxes.

/// Options of `dcosd agent`.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub master: String,
    pub work_dir: std::path::PathBuf,
}

pub async fn run(_config: AgentConfig) -> anyhow::Result<()> {
    anyhow::bail!("dcosd agent is not implemented yet")
}

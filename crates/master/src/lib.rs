//! The master: one HTTP entry point, the SQLite store, the agent registry and the task lifecycle.

/// Options of `dcosd master`.
#[derive(Debug, Clone)]
pub struct MasterConfig {
    pub data_dir: std::path::PathBuf,
    pub listen: String,
}

pub async fn run(_config: MasterConfig) -> anyhow::Result<()> {
    anyhow::bail!("dcosd master is not implemented yet")
}

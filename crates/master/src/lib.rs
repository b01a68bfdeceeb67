//! The master: one HTTP entry point, the SQLite store, the agent registry and the task lifecycle.

/// Flags of `dcosd master`.
#[derive(Debug, Clone, clap::Args)]
pub struct MasterArgs {
    /// Directory for the embedded store and the master's state.
    #[arg(long, default_value = "/var/lib/dcos/master")]
    pub data_dir: std::path::PathBuf,
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, default_value = "0.0.0.0:5050")]
    pub listen: String,
}

pub async fn run(_args: MasterArgs) -> anyhow::Result<()> {
    anyhow::bail!("dcosd master is not implemented yet")
}

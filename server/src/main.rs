//! `dcosd`: the single control-plane binary. `dcosd master` runs the master, `dcosd agent` an agent.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "dcosd", version, about = "dcos-rs control plane: master and agent in one binary")]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Run a master: the cluster's single HTTP entry point, store and schedulers.
    Master {
        /// Directory for the embedded store and the master's state.
        #[arg(long, default_value = "/var/lib/dcos/master")]
        data_dir: std::path::PathBuf,
        /// Address to listen on (port 0 picks a free port; the bound address is printed).
        #[arg(long, default_value = "0.0.0.0:5050")]
        listen: String,
    },
    /// Run an agent that registers with a master and runs tasks.
    Agent {
        /// The master's URL, e.g. http://10.0.0.1:5050
        #[arg(long)]
        master: String,
        /// Directory for sandboxes and the agent's state.
        #[arg(long, default_value = "/var/lib/dcos/agent")]
        work_dir: std::path::PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DCOS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dcosd: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async {
        match cli.role {
            Role::Master { data_dir, listen } => {
                dcos_master::run(dcos_master::MasterConfig { data_dir, listen }).await
            }
            Role::Agent { master, work_dir } => {
                dcos_agent::run(dcos_agent::AgentConfig { master, work_dir }).await
            }
        }
    });
    if let Err(e) = result {
        eprintln!("dcosd: {e:#}");
        std::process::exit(1);
    }
}

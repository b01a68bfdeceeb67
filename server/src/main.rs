//! `dcosd`: the single control-plane binary. `dcosd master` runs the master, `dcosd agent` an
//! agent. The flags of each role are defined by its crate; this file only dispatches.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "dcosd",
    version,
    about = "dcos-rs control plane: master and agent in one binary"
)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Run a master: the cluster's single HTTP entry point, store and schedulers.
    Master(dcos_master::MasterArgs),
    /// Run an agent that registers with a master and runs tasks.
    Agent(dcos_agent::AgentArgs),
    /// Internal: the per-task supervisor started by an agent.
    #[command(hide = true)]
    Supervise(dcos_agent::SuperviseArgs),
}

fn main() {
    let cli = Cli::parse();
    if let Role::Supervise(args) = cli.role {
        // No runtime and no tracing subscriber: the supervisor forks and execs.
        if let Err(e) = dcos_agent::supervise(args) {
            eprintln!("dcosd supervise: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DCOS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Log files (stderr redirected) get plain text; a terminal gets colours.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
            Role::Master(args) => dcos_master::run(args).await,
            Role::Agent(args) => dcos_agent::run(args).await,
            Role::Supervise(_) => unreachable!("handled above"),
        }
    });
    if let Err(e) = result {
        eprintln!("dcosd: {e:#}");
        std::process::exit(1);
    }
}

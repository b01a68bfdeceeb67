//! `dcos`: the command-line interface, in the DC/OS CLI's grammar.
//!
//! Flags are defined once with clap; each command group lives in its own module under `cmd/`
//! and exposes `Args` (its clap subcommands) and `run`. Errors surface here as one line on
//! stderr and exit code 1, never a panic or a debug dump.

mod ca;
mod cmd;
mod config;
mod files;
mod http;
mod local;
mod login;
mod mesos;
mod output;
mod progress;
mod prompt;
mod setup;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "dcos",
    version,
    about = "Command-line interface for dcos-rs, a lightweight Datacenter OS",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work on Universe package repositories offline: validate, render, build, serve.
    #[command(subcommand)]
    Universe(cmd::universe::Args),
    /// Start, stop, set up and select clusters.
    #[command(subcommand)]
    Cluster(cmd::cluster::Args),
    /// Log in to the attached cluster, log out, list its login providers.
    #[command(subcommand)]
    Auth(cmd::auth::Args),
    /// Show and change the CLI configuration of the attached cluster.
    #[command(subcommand)]
    Config(cmd::config::Args),
    /// Inspect the cluster's agents and read their logs.
    #[command(subcommand)]
    Node(cmd::node::Args),
    /// Inspect tasks and read their logs.
    #[command(subcommand)]
    Task(cmd::task::Args),
    /// Inspect the frameworks (services) registered with the cluster.
    #[command(subcommand)]
    Service(cmd::service::Args),
    /// Deploy and manage Marathon apps, deployments and tasks.
    #[command(subcommand)]
    Marathon(cmd::marathon::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Universe(args) => cmd::universe::run(args),
        Command::Cluster(args) => cmd::cluster::run(args),
        Command::Auth(args) => cmd::auth::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Node(args) => cmd::node::run(args),
        Command::Task(args) => cmd::task::run(args),
        Command::Service(args) => cmd::service::run(args),
        Command::Marathon(args) => cmd::marathon::run(args),
    };
    if let Err(e) = result {
        // One line: the chain of contexts joined, no backtrace.
        let msg = format!("{e:#}").replace('\n', " ");
        output::note(&format!("dcos: {msg}"));
        std::process::exit(1);
    }
}

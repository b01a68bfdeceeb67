//! `dcos universe ...`

use clap::Subcommand;

#[derive(Subcommand)]
pub enum Args {}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args {}
}

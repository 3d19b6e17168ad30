//! `sparecloud-agent`: the seller's host agent. The protocol and the
//! commands (`register`, `run`, `status`) arrive with the agent issue; until
//! then the binary only identifies itself.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "sparecloud-agent",
    version,
    about = "The Sparecloud seller agent"
)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!(
        "sparecloud-agent {}: no commands yet (see the API prefix {})",
        env!("CARGO_PKG_VERSION"),
        sparecloud_api::API_PREFIX
    );
    std::process::exit(2);
}

//! `sparecloud`: the marketplace from a terminal and from scripts, on the
//! `sparecloud-api` types. Every command takes `--json` (the API's answer
//! as it is, for scripts) and otherwise prints a table or a sentence.
//!
//! Exit codes: 0 done; 1 refused by the API (its problem printed) or
//! failed; 2 bad usage; 3 no valid key, or the key may not do this; 4 no
//! such thing; 5 the API cannot be reached or answered nonsense.

mod client;
mod commands;
mod config;
mod output;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use sparecloud_api::Problem;
use sparecloud_api::placement::Placement;

#[derive(Debug, Parser)]
#[command(
    name = "sparecloud",
    version,
    about = "Rent and sell spare compute on Sparecloud"
)]
pub struct Cli {
    /// The Sparecloud server (or SPARECLOUD_API, or what `login` saved).
    #[arg(long, global = true, env = "SPARECLOUD_API")]
    pub api: Option<String>,
    /// An API key (`sck_…`, made on the account page).
    #[arg(
        long,
        global = true,
        env = "SPARECLOUD_API_KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
    /// Print the API's answer as JSON, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an API key and save it, with the API, for the next commands.
    Login,
    /// Search the marketplace (cheapest first), or list your own offers.
    Offers {
        #[command(subcommand)]
        mine: Option<OffersCommand>,
        #[command(flatten)]
        filters: OfferFilters,
    },
    /// A binding price for instances of an offer, held for 10 minutes.
    Quote {
        /// The offer's id (from `sparecloud offers`).
        offer: String,
        /// The image to run (debian-12, ubuntu-24.04, …).
        #[arg(long)]
        image: String,
        /// The size (s1.small, …).
        #[arg(long)]
        flavor: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long, value_enum, default_value_t = PlacementArg::Any)]
        placement: PlacementArg,
        /// Start an instance again elsewhere if its host fails.
        #[arg(long)]
        auto_recover: bool,
    },
    /// Order a quote with a card saved in the web app; waits until the
    /// instances run. Run it again after a failure: it never orders twice.
    Order {
        /// The quote's id (from `sparecloud quote`).
        quote: String,
        /// A saved card: its last four digits or its id (default: the first).
        #[arg(long)]
        card: Option<String>,
        /// Your SSH public key file, for logging in.
        #[arg(long)]
        ssh_key: std::path::PathBuf,
        /// Print the order and return without waiting.
        #[arg(long)]
        no_wait: bool,
        /// How long to wait for the instances to run.
        #[arg(long, default_value_t = 300)]
        timeout_secs: u64,
    },
    /// Your instances.
    Instances,
    /// One instance, with its events.
    Instance { id: String },
    /// Stop an instance (billing stops; the disk is kept).
    Stop { id: String },
    /// Start a stopped instance.
    Start { id: String },
    /// Terminate an instance: it and its disk are gone.
    Terminate {
        id: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Log in to an instance with the system's ssh.
    Ssh {
        id: String,
        /// More arguments for ssh (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The end of an instance's serial console.
    Console { id: String },
    /// Your hosts (sellers), or drain one.
    Hosts {
        #[command(subcommand)]
        action: Option<HostsCommand>,
    },
    /// What your hosts earned (sellers), by day.
    Earnings {
        /// Only this month, YYYY-MM.
        #[arg(long)]
        month: Option<String>,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Subcommand)]
pub enum OffersCommand {
    /// Your offers as a seller.
    Mine,
}

#[derive(Debug, Subcommand)]
pub enum HostsCommand {
    /// Move a host's instances elsewhere and take no new ones.
    Drain { id: String },
}

#[derive(Debug, Clone, clap::Args)]
pub struct OfferFilters {
    #[arg(long)]
    pub zone: Option<String>,
    /// bronze, silver or gold.
    #[arg(long)]
    pub sla: Option<String>,
    #[arg(long)]
    pub min_vcpu: Option<u32>,
    /// GiB.
    #[arg(long)]
    pub min_ram: Option<u32>,
    /// Per instance-hour, in cents.
    #[arg(long)]
    pub max_price: Option<u64>,
    /// Only offers that can run this image.
    #[arg(long)]
    pub image: Option<String>,
    /// price_asc, price_desc, newest or uptime.
    #[arg(long)]
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlacementArg {
    Any,
    DistinctHosts,
    DistinctZones,
}

impl From<PlacementArg> for Placement {
    fn from(arg: PlacementArg) -> Self {
        match arg {
            PlacementArg::Any => Placement::Any,
            PlacementArg::DistinctHosts => Placement::DistinctHosts,
            PlacementArg::DistinctZones => Placement::DistinctZones,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "sparecloud",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("sparecloud: {}", output::problem_text(&problem));
            ExitCode::from(exit_code(&problem))
        }
    }
}

/// What a failure means to a script.
fn exit_code(problem: &Problem) -> u8 {
    match problem.status {
        0 => 5,
        401 | 403 => 3,
        404 => 4,
        status if status >= 500 => 5,
        _ => 1,
    }
}

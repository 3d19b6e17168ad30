use std::path::PathBuf;

/// Server configuration: command-line flags, each with an environment
/// variable fallback.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "sparecloud-server",
    version,
    about = "The Sparecloud marketplace API and web app server"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "SPARECLOUD_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Database URL: `sqlite://PATH` (created when missing) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/sparecloud.db"
    )]
    pub database_url: String,

    /// Directory of the built web app (Trunk's dist/), served for every
    /// non-API path.
    #[arg(long, env = "SPARECLOUD_DIST_DIR", default_value = "dist")]
    pub dist_dir: PathBuf,
}

//! The server's configuration: command-line flags, each with an
//! environment variable fallback, and its commands.

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

    /// The URL agents and partner pages reach this server at, shown in
    /// install commands. Defaults to the URL of each request.
    #[arg(long, env = "SPARECLOUD_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The platform's commission on every charge, in percent.
    #[arg(long, env = "SPARECLOUD_COMMISSION_PERCENT", default_value_t = 15, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub commission_percent: u32,

    /// Seconds between agent heartbeats; a host silent for three intervals
    /// goes offline.
    #[arg(long, env = "SPARECLOUD_HEARTBEAT_INTERVAL_SECS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=300))]
    pub heartbeat_interval_secs: u32,

    /// Seconds between billing passes over running instances (each bills
    /// the time since the last; per-second totals do not depend on it).
    #[arg(long, env = "SPARECLOUD_BILLING_INTERVAL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub billing_interval_secs: u32,

    /// Seconds a host may stay offline before its instances are marked
    /// failed (and, where the order asked, started again elsewhere).
    #[arg(long, env = "SPARECLOUD_FAILURE_GRACE_SECS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=86_400))]
    pub failure_grace_secs: u32,

    /// Origins allowed to call the API from a browser (partner portals),
    /// comma-separated.
    #[arg(long, env = "SPARECLOUD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Reverse proxies in front of the server (addresses or networks,
    /// comma-separated, e.g. `127.0.0.1,10.0.0.0/8`): a request from one of
    /// them is counted against the client address it names in
    /// `X-Forwarded-For` (per-address limits on sign-in and quotes), not
    /// against the proxy's. That header is ignored from anyone else.
    #[arg(long = "trusted-proxy", env = "SPARECLOUD_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Load the demo catalog: three sellers in three zones with hosts and offers.
    #[arg(long, env = "SPARECLOUD_DEMO")]
    pub demo: bool,

    /// With `--demo`: also a seller whose one host is this machine, running
    /// real virtual machines (the agent's qemu driver) of the test image.
    #[arg(long, env = "SPARECLOUD_DEMO_QEMU_HOST", requires = "demo")]
    pub demo_qemu_host: bool,

    /// Where `--demo` writes the demo hosts' agent state (one directory per host).
    #[arg(
        long,
        env = "SPARECLOUD_DEMO_AGENTS_DIR",
        default_value = "data/demo-agents"
    )]
    pub demo_agents_dir: PathBuf,

    /// Serve an image's disk file to agents and make it the image's source
    /// in the catalog (its checksum taken at start-up): `ID=FILE`, repeat
    /// for more. How the demo's real host gets the test image.
    #[arg(long = "publish-image", env = "SPARECLOUD_PUBLISH_IMAGES", value_delimiter = ',', value_parser = parse_published_image)]
    pub publish_images: Vec<(String, PathBuf)>,

    /// Where moving instances' disks are kept between their two hosts (a
    /// cold migration; each is deleted once the instance runs again).
    #[arg(
        long,
        env = "SPARECLOUD_TRANSFERS_DIR",
        default_value = "data/transfers"
    )]
    pub transfers_dir: PathBuf,

    /// Stripe's secret key (`sk_live_…`/`sk_test_…`): payments are
    /// unavailable without one.
    #[arg(
        long,
        env = "STRIPE_SECRET_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub stripe_secret_key: String,

    /// Stripe's publishable key (`pk_…`), handed to the web app for Stripe.js.
    #[arg(long, env = "STRIPE_PUBLISHABLE_KEY", default_value = "")]
    pub stripe_publishable_key: String,

    /// The Stripe API (localstripe's address in tests and the demo).
    #[arg(long, env = "STRIPE_API_BASE", default_value = crate::stripe::DEFAULT_API_BASE)]
    pub stripe_api_base: String,

    /// Where the web app loads Stripe.js from.
    #[arg(long, env = "STRIPE_JS_URL", default_value = crate::stripe::DEFAULT_JS_URL)]
    pub stripe_js_url: String,

    /// The signing secret of our webhook endpoint (`whsec_…`).
    #[arg(
        long,
        env = "STRIPE_WEBHOOK_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    pub stripe_webhook_secret: String,

    /// Open connections served at once; more wait in the kernel's backlog
    /// until one closes.
    #[arg(long, env = "SPARECLOUD_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Seconds a client has to send a request's headers (a connection
    /// that trickles them, or sends nothing, is closed).
    #[arg(long, env = "SPARECLOUD_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=300))]
    pub header_read_timeout_secs: u32,

    /// Seconds a request body may go without sending anything.
    #[arg(long, env = "SPARECLOUD_BODY_IDLE_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=600))]
    pub body_idle_timeout_secs: u32,

    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "SPARECLOUD_SHUTDOWN_GRACE_SECS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=600))]
    pub shutdown_grace_secs: u32,

    /// Where to serve Prometheus metrics (`GET /metrics`), e.g.
    /// `127.0.0.1:9090`; off when absent, and never on the public address.
    #[arg(long, env = "SPARECLOUD_METRICS_BIND")]
    pub metrics_bind: Option<std::net::SocketAddr>,

    /// `text` for people, `json` (one object per line) for log collectors.
    #[arg(long, env = "SPARECLOUD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Without a command, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Partner portals (there is no admin UI).
    Partner {
        #[command(subcommand)]
        action: PartnerCommand,
    },
    /// Catalog images.
    Image {
        #[command(subcommand)]
        action: ImageCommand,
    },
    /// Copy the SQLite database, consistent while the server runs, to a new
    /// file (for PostgreSQL, use pg_dump).
    Backup {
        /// The backup file to create (refused if it exists).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Make a new SQLite database (--database-url, which must not exist
    /// yet) from a backup, checked first and migrated after.
    Restore {
        /// A file made by `backup`.
        #[arg(long)]
        from: std::path::PathBuf,
    },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ImageCommand {
    /// Set where hosts fetch an image's disk from (a cloud image's URL and
    /// the SHA-256 its publisher lists).
    Source {
        /// The catalog image: debian-12, ubuntu-24.04, ...
        #[arg(long)]
        id: String,
        #[arg(long)]
        url: String,
        #[arg(long)]
        sha256: String,
        /// qcow2 or raw.
        #[arg(long, default_value = "qcow2", value_parser = ["qcow2", "raw"])]
        format: String,
    },
}

/// `ID=FILE` of `--publish-image`.
fn parse_published_image(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((id, file)) if !id.is_empty() && !file.is_empty() => {
            Ok((id.to_owned(), PathBuf::from(file)))
        }
        _ => Err(format!("{text:?} is not ID=FILE")),
    }
}

/// A network of `--trusted-proxy`: `10.0.0.0/8`, or one address.
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is neither an address nor a network like 10.0.0.0/8"))
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum PartnerCommand {
    /// Create a partner and print its API key (shown once).
    Add {
        /// Lowercase letters, digits and dashes: it appears in embed URLs.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// An origin (scheme://host[:port]) allowed to frame the embed; repeat for more.
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        /// The partner's share of the platform commission, in percent.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=100))]
        share_percent: u32,
        /// The embed's accent colour.
        #[arg(long, default_value = "#0b5cad")]
        accent: String,
        #[arg(long)]
        logo_url: Option<String>,
    },
}

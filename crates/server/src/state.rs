//! What every request and job can reach: the database, the clock, the
//! settings fixed at start-up, the Stripe client and the search index.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::Config;
use crate::db;
use crate::domain::offer_index::OfferIndex;
use crate::stripe::{Stripe, StripeConfig};

/// Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: db::Pool,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    pub stripe: Stripe,
    pub offer_index: Arc<OfferIndex>,
}

/// Settings fixed at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The built web app (Trunk's dist/).
    pub dist_dir: PathBuf,
    pub public_url: Option<String>,
    /// The platform's commission, basis points (1500 = 15 %).
    pub commission_bp: i64,
    pub heartbeat_interval_secs: u32,
    /// Time between billing passes, milliseconds.
    pub billing_interval_ms: i64,
    /// How long a host may be offline before its instances fail, ms.
    pub failure_grace_ms: i64,
    pub cors_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Disk files this server serves as catalog images' sources.
    pub published_images: Vec<(String, PathBuf)>,
    /// Where moving instances' disks are kept between their two hosts.
    pub transfers_dir: PathBuf,
    pub stripe: StripeConfig,
    /// How long a request body may go without sending anything.
    pub body_idle_timeout: Duration,
}

impl Settings {
    /// The defaults of `sparecloud-server` with no flags, serving `dist_dir`.
    pub fn new(dist_dir: PathBuf) -> Self {
        Self {
            transfers_dir: dist_dir.with_file_name("transfers"),
            dist_dir,
            public_url: None,
            commission_bp: 1500,
            heartbeat_interval_secs: 5,
            billing_interval_ms: 60_000,
            failure_grace_ms: 5 * 60_000,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            published_images: Vec::new(),
            stripe: StripeConfig::unconfigured(),
            body_idle_timeout: Duration::from_secs(20),
        }
    }

    pub fn from_config(config: &Config) -> Self {
        Self {
            dist_dir: config.dist_dir.clone(),
            public_url: config.public_url.clone(),
            commission_bp: i64::from(config.commission_percent) * 100,
            heartbeat_interval_secs: config.heartbeat_interval_secs,
            billing_interval_ms: i64::from(config.billing_interval_secs) * 1000,
            failure_grace_ms: i64::from(config.failure_grace_secs) * 1000,
            cors_origins: config.cors_origins.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            published_images: config.publish_images.clone(),
            transfers_dir: config.transfers_dir.clone(),
            stripe: StripeConfig {
                api_base: config.stripe_api_base.clone(),
                secret_key: config.stripe_secret_key.clone(),
                publishable_key: config.stripe_publishable_key.clone(),
                js_url: config.stripe_js_url.clone(),
                webhook_secret: config.stripe_webhook_secret.clone(),
            },
            body_idle_timeout: Duration::from_secs(config.body_idle_timeout_secs.into()),
        }
    }
}

impl AppState {
    /// State with the system clock, paying through the configured Stripe.
    pub fn new(db: db::Pool, settings: Settings) -> Self {
        Self {
            db,
            clock: Clock::System,
            stripe: Stripe::new(settings.stripe.clone()),
            settings: Arc::new(settings),
            offer_index: Arc::default(),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

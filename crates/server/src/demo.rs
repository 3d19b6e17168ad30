//! `--demo`: three sellers in three zones with hosts and offers, and a demo
//! buyer, so a fresh `make run` shows a living marketplace. Idempotent.
//!
//! Each demo host's agent credential is written to
//! `<demo dir>/<host name>/host.json` (mode 0600), the agent's own state
//! file, so `make run` can start a simulated agent for every host.

use std::path::Path;

use crate::auth::{hash_password, new_id, new_token, token_hash};
use crate::db;
use crate::domain::{capacity, partners};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const DEMO_BUYER_EMAIL: &str = "buyer@demo.sparecloud.dev";
pub const DEMO_PASSWORD: &str = "demo-password-1";

struct DemoSeller {
    email: &'static str,
    company: &'static str,
    country: &'static str,
    zone: &'static str,
    tier: &'static str,
    /// (host name, vCPU, RAM GiB, disk GiB)
    hosts: &'static [(&'static str, i64, i64, i64)],
    /// (flavor, cents per hour)
    prices: &'static [(&'static str, i64)],
}

/// The seller whose two hosts are this machine, running real virtual
/// machines of the test image (`--demo-qemu-host`): two, so that draining
/// one moves its machines, disks and all, to the other.
const LAB: DemoSeller = DemoSeller {
    email: "lab@sparecloud.dev",
    company: "Sparecloud Lab (this machine)",
    country: "DE",
    zone: "lab-local",
    tier: "bronze",
    hosts: &[("lab-qemu-01", 2, 4, 40), ("lab-qemu-02", 2, 4, 40)],
    prices: &[("s1.small", 3)],
};

const SELLERS: [DemoSeller; 3] = [
    DemoSeller {
        email: "ops@nordlicht.demo.sparecloud.dev",
        company: "Nordlicht Hosting",
        country: "DE",
        zone: "eu-central-1a",
        tier: "gold",
        hosts: &[
            ("nordlicht-fra-01", 32, 128, 2000),
            ("nordlicht-fra-02", 32, 128, 2000),
        ],
        prices: &[
            ("s1.small", 9),
            ("s1.medium", 17),
            ("s1.large", 33),
            ("s1.xlarge", 64),
            ("m1.large", 52),
            ("c1.xlarge", 125),
        ],
    },
    DemoSeller {
        email: "sales@atlantic.demo.sparecloud.dev",
        company: "Atlantic Racks",
        country: "IE",
        zone: "eu-west-1a",
        tier: "silver",
        hosts: &[
            ("atlantic-dub-01", 16, 64, 1000),
            ("atlantic-dub-02", 16, 64, 1000),
        ],
        prices: &[
            ("s1.small", 7),
            ("s1.medium", 13),
            ("s1.large", 26),
            ("s1.xlarge", 50),
            ("m1.large", 41),
        ],
    },
    DemoSeller {
        email: "hello@prairie.demo.sparecloud.dev",
        company: "Prairie Compute",
        country: "US",
        zone: "us-central-1a",
        tier: "bronze",
        hosts: &[("prairie-dsm-01", 64, 256, 4000)],
        prices: &[
            ("s1.small", 5),
            ("s1.medium", 10),
            ("s1.large", 19),
            ("s1.xlarge", 37),
            ("m1.large", 30),
            ("c1.xlarge", 72),
        ],
    },
];

/// Seeds the demo data unless it is there already, writing agent state for
/// the demo hosts under `agents_dir`.
/// With `qemu_host`, also the lab seller whose host is this machine (its
/// agent directory gets a `driver` file saying `qemu`).
pub async fn seed(state: &AppState, agents_dir: &Path, qemu_host: bool) -> AppResult<()> {
    let password_hash = hash_password(DEMO_PASSWORD)?;
    let api = state
        .settings
        .public_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let seeding = |now| Seeding {
        password_hash: &password_hash,
        api: &api,
        agents_dir,
        now,
    };
    if qemu_host && !account_exists(state, LAB.email).await? {
        let mut agent_files = Vec::new();
        let mut tx = db::begin_write(&state.db).await?;
        let now = state.clock.now();
        seed_seller(&mut tx, &LAB, &seeding(now), &mut agent_files).await?;
        // A real host runs no image until its agent says which it can.
        sqlx::query(
            "UPDATE hosts SET images = '' WHERE seller_id = (SELECT id FROM accounts WHERE email = $1)",
        )
        .bind(LAB.email)
        .execute(&mut *tx)
        .await?;
        write_agent_files(&agent_files, Some("qemu"))?;
        tx.commit().await?;
        tracing::info!(
            hosts = LAB.hosts.len(),
            "demo hosts running real virtual machines seeded"
        );
    }
    if account_exists(state, DEMO_BUYER_EMAIL).await? {
        tracing::info!("demo data already present");
        return Ok(());
    }
    let now = state.clock.now();
    let mut tx = db::begin_write(&state.db).await?;
    sqlx::query(
        "INSERT INTO accounts (id, email, password_hash, display_name, is_buyer, is_seller, created_at_ms)
         VALUES ($1, $2, $3, 'Demo Buyer', 1, 0, $4)",
    )
    .bind(new_id("acc"))
    .bind(DEMO_BUYER_EMAIL)
    .bind(&password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let mut agent_files = Vec::new();
    for seller in &SELLERS {
        seed_seller(&mut tx, seller, &seeding(now), &mut agent_files).await?;
    }
    write_agent_files(&agent_files, None)?;
    tx.commit().await?;
    // The demo partner portal that `make run` serves on a second origin.
    let partner = partners::NewPartner {
        id: DEMO_PARTNER.into(),
        name: "Demo Portal".into(),
        origins: vec![
            "http://127.0.0.1:8081".into(),
            "http://localhost:8081".into(),
        ],
        share_bp: partners::DEFAULT_SHARE_BP,
        accent_color: "#7c3aed".into(),
        logo_url: None,
    };
    // Its API key is not kept: `partner add` makes partners whose ledger
    // you want to read.
    partners::add(&state.db, &partner, now).await?;
    tracing::info!(
        sellers = SELLERS.len(),
        hosts = agent_files.len(),
        partner = DEMO_PARTNER,
        "demo data seeded"
    );
    Ok(())
}

async fn account_exists(state: &AppState, email: &str) -> AppResult<bool> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_one(&state.db)
        .await?;
    Ok(count > 0)
}

/// Each demo host's agent state (`host.json`, 0600) and, when given, the
/// driver its agent runs (`driver`), for `make run` and the browser tests.
fn write_agent_files(
    agent_files: &[(std::path::PathBuf, serde_json::Value)],
    driver: Option<&str>,
) -> AppResult<()> {
    for (dir, state_json) in agent_files {
        let written = write_private(
            &dir.join("host.json"),
            &serde_json::to_vec_pretty(state_json).unwrap_or_default(),
        )
        .and_then(|()| match driver {
            Some(driver) => std::fs::write(dir.join("driver"), driver),
            None => Ok(()),
        });
        written.map_err(|e| {
            AppError::internal_from(
                format!("cannot write demo agent state in {}", dir.display()),
                e,
            )
        })?;
    }
    Ok(())
}

/// The demo partner's id.
pub const DEMO_PARTNER: &str = "demo-portal";

/// Writes a file only its owner can read (it holds a credential).
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

/// What every demo account and host is made with.
#[derive(Clone, Copy)]
struct Seeding<'a> {
    password_hash: &'a str,
    api: &'a str,
    agents_dir: &'a Path,
    now: i64,
}

/// One demo seller with its hosts (agent state for each goes to
/// `agent_files`) and its offer.
async fn seed_seller(
    tx: &mut db::Conn,
    seller: &DemoSeller,
    with: &Seeding<'_>,
    agent_files: &mut Vec<(std::path::PathBuf, serde_json::Value)>,
) -> AppResult<()> {
    let Seeding {
        password_hash,
        api,
        agents_dir,
        now,
    } = *with;
    let seller_id = new_id("acc");
    sqlx::query(
        "INSERT INTO accounts (id, email, password_hash, display_name, is_buyer, is_seller, created_at_ms)
         VALUES ($1, $2, $3, $4, 0, 1, $5)",
    )
    .bind(&seller_id)
    .bind(seller.email)
    .bind(password_hash)
    .bind(seller.company)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO sellers (account_id, company_name, country, payout_reference, default_sla_tier, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, 'DEMO-PAYOUT', $4, $5, $5)",
    )
    .bind(&seller_id)
    .bind(seller.company)
    .bind(seller.country)
    .bind(seller.tier)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for (name, vcpu, ram, disk) in seller.hosts {
        let host_id = new_id("hst");
        let credential = new_token("sc_h");
        sqlx::query(
            "INSERT INTO hosts (id, seller_id, name, zone, credential_hash, vcpu, ram_gib, disk_gib, status,
                                registered_at_ms, last_heartbeat_ms, agent_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'online', $9, $9, 'demo')",
        )
        .bind(&host_id)
        .bind(&seller_id)
        .bind(*name)
        .bind(seller.zone)
        .bind(token_hash(&credential))
        .bind(*vcpu)
        .bind(*ram)
        .bind(*disk)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // The demo hosts are simulated: their agents report the declared
        // capacity rather than this machine's.
        let state_json = serde_json::json!({
            "api": api, "host_id": host_id, "credential": credential, "zone": seller.zone, "name": name,
            "declared_capacity": {"vcpu": vcpu, "ram_gib": ram, "disk_gib": disk},
        });
        agent_files.push((agents_dir.join(name), state_json));
    }
    let offer_id = new_id("off");
    sqlx::query(
        "INSERT INTO offers (id, seller_id, zone, sla_tier, status, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, 'active', $5, $5)",
    )
    .bind(&offer_id)
    .bind(&seller_id)
    .bind(seller.zone)
    .bind(seller.tier)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for (flavor, cents) in seller.prices {
        sqlx::query(
            "INSERT INTO offer_prices (offer_id, flavor_id, hourly_cents) VALUES ($1, $2, $3)",
        )
        .bind(&offer_id)
        .bind(*flavor)
        .bind(*cents)
        .execute(&mut *tx)
        .await?;
    }
    capacity::refresh_offers(tx, &seller_id, seller.zone, now).await?;
    Ok(())
}

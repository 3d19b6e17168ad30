//! `sparecloud-bench`: seeds a large marketplace straight into the database
//! (through the server's own code) and drives the API with the stateful
//! loads a generic HTTP load generator cannot: agent heartbeats from many
//! hosts, and quote-then-order purchases. `bench/run.sh` drives the GET
//! endpoints with wrk.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use sparecloud_server::auth::{hash_password, token_hash};
use sparecloud_server::db;
use sparecloud_server::domain::capacity;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sellers with one big host per zone and many offers.
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 100_000)]
        offers: usize,
        #[arg(long, default_value_t = 1_000)]
        sellers: usize,
        #[arg(long, default_value_t = 10)]
        zones: usize,
    },
    /// Heartbeats from the seeded hosts, round-robin.
    Heartbeats {
        #[arg(long)]
        api: String,
        #[arg(long, default_value_t = 10_000)]
        hosts: usize,
        #[arg(long, default_value_t = 50)]
        connections: usize,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
    /// Buyers placing quote + order, each with a fresh Idempotency-Key.
    Orders {
        #[arg(long)]
        api: String,
        #[arg(long, default_value_t = 50)]
        connections: usize,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Instances per order.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// `any`, `distinct_hosts` or `distinct_zones`.
        #[arg(long, default_value = "any")]
        placement: String,
    },
}

const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench";
const TIERS: [&str; 3] = ["bronze", "silver", "gold"];
const FLAVORS: [&str; 6] = [
    "s1.small",
    "s1.medium",
    "s1.large",
    "s1.xlarge",
    "m1.large",
    "c1.xlarge",
];
const HOST_CAPACITY: (i64, i64, i64) = (64, 256, 4000);

/// The credential of seeded host `i` (its hash is what the server stores).
fn host_credential(i: usize) -> String {
    format!("sc_h_bench_{i:08}")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Seed {
            database_url,
            offers,
            sellers,
            zones,
        } => seed(&database_url, offers, sellers, zones).await,
        Command::Heartbeats {
            api,
            hosts,
            connections,
            seconds,
        } => heartbeats(&api, hosts, connections, seconds).await,
        Command::Orders {
            api,
            connections,
            seconds,
            count,
            placement,
        } => orders(&api, connections, seconds, count, &placement).await,
    }
}

async fn seed(
    url: &str,
    offers: usize,
    sellers: usize,
    zones: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let pool = db::connect(url).await?;
    db::migrate(&pool).await?;
    let password = hash_password("bench-password-1").map_err(|e| e.to_string())?;
    // Now, so the server's silent-host check sees fresh heartbeats.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let per_seller = offers.div_ceil(sellers);
    let mut created = 0;
    for s in 0..sellers {
        let mut tx = db::begin_write(&pool).await?;
        let seller_id = format!("acc_bench_{s:06}");
        sqlx::query("INSERT INTO accounts (id, email, password_hash, display_name, is_buyer, is_seller, created_at_ms) VALUES ($1, $2, $3, $4, 0, 1, $5)")
            .bind(&seller_id).bind(format!("seller{s}@bench.example")).bind(&password).bind(format!("Bench Seller {s}")).bind(now)
            .execute(&mut *tx).await?;
        sqlx::query("INSERT INTO sellers (account_id, company_name, country, payout_reference, default_sla_tier, created_at_ms, updated_at_ms) VALUES ($1, $2, 'DE', 'BENCH', 'silver', $3, $3)")
            .bind(&seller_id).bind(format!("Bench Seller {s}")).bind(now)
            .execute(&mut *tx).await?;
        for z in 0..zones {
            let host = s * zones + z;
            sqlx::query("INSERT INTO hosts (id, seller_id, name, zone, credential_hash, vcpu, ram_gib, disk_gib, status, registered_at_ms, last_heartbeat_ms, agent_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'online', $9, $9, 'bench')")
                .bind(format!("hst_bench_{host:08}")).bind(&seller_id).bind(format!("bench-{host}")).bind(format!("zone-{z}"))
                .bind(token_hash(&host_credential(host))).bind(HOST_CAPACITY.0).bind(HOST_CAPACITY.1).bind(HOST_CAPACITY.2).bind(now)
                .execute(&mut *tx).await?;
        }
        for o in 0..per_seller {
            if created == offers {
                break;
            }
            let offer_id = format!("off_bench_{created:08}");
            let zone = format!("zone-{}", o % zones);
            sqlx::query("INSERT INTO offers (id, seller_id, zone, sla_tier, status, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, 'active', $5, $5)")
                .bind(&offer_id).bind(&seller_id).bind(&zone).bind(TIERS[created % 3]).bind(now + created as i64)
                .execute(&mut *tx).await?;
            for (f, flavor) in FLAVORS.iter().enumerate() {
                // Varied prices so sorting and price filters have work to do.
                let cents = 3 + ((created * 7 + f * 13) % 40) as i64 * (f as i64 + 1);
                sqlx::query("INSERT INTO offer_prices (offer_id, flavor_id, hourly_cents) VALUES ($1, $2, $3)")
                    .bind(&offer_id).bind(*flavor).bind(cents)
                    .execute(&mut *tx).await?;
            }
            created += 1;
        }
        for z in 0..zones {
            capacity::refresh_offers(&mut tx, &seller_id, &format!("zone-{z}"), now).await?;
        }
        tx.commit().await?;
    }
    println!(
        "seeded {created} offers, {sellers} sellers, {} hosts in {:.1}s",
        sellers * zones,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Latencies and counts from a timed run of `connections` workers.
struct Run {
    ok: AtomicU64,
    failed: AtomicU64,
    latencies: tokio::sync::Mutex<Vec<Duration>>,
}

impl Run {
    fn new() -> Arc<Self> {
        Arc::new(Run {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latencies: tokio::sync::Mutex::new(Vec::new()),
        })
    }

    async fn report(&self, what: &str, elapsed: Duration) {
        let mut latencies = self.latencies.lock().await;
        latencies.sort();
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        let ok = self.ok.load(Ordering::Relaxed);
        println!(
            "{what}: {ok} ok, {} failed in {:.1}s = {:.0}/s; p50 {:.2} ms, p99 {:.2} ms",
            self.failed.load(Ordering::Relaxed),
            elapsed.as_secs_f64(),
            ok as f64 / elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1000.0,
            pct(0.99).as_secs_f64() * 1000.0,
        );
    }
}

async fn heartbeats(
    api: &str,
    hosts: usize,
    connections: usize,
    seconds: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::new();
    let run = Run::new();
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let url = format!("{api}/api/v1/agent/heartbeat");
    let body = json!({"capacity": {"vcpu": HOST_CAPACITY.0, "ram_gib": HOST_CAPACITY.1, "disk_gib": HOST_CAPACITY.2},
                      "instances": [], "agent_version": "bench"});
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (client, run, next, url, body) = (
            client.clone(),
            run.clone(),
            next.clone(),
            url.clone(),
            body.clone(),
        );
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let host = next.fetch_add(1, Ordering::Relaxed) as usize % hosts;
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(host_credential(host))
                    .json(&body)
                    .send()
                    .await;
                let latency = sent.elapsed();
                match response {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        run.ok.fetch_add(1, Ordering::Relaxed);
                        run.latencies.lock().await.push(latency);
                    }
                    _ => {
                        run.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    run.report(
        &format!("heartbeats from {hosts} hosts, {connections} connections"),
        started.elapsed(),
    )
    .await;
    Ok(())
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
    key: Option<&str>,
) -> Result<(u16, Value), reqwest::Error> {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn orders(
    api: &str,
    connections: usize,
    seconds: u64,
    count: u32,
    placement: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::new();
    // Seeded offers spread over all sellers (and so over all their hosts);
    // the seed names them off_bench_00000000 to off_bench_00099999.
    let offers: Vec<String> = (0..1_000_usize)
        .map(|i| format!("off_bench_{:08}", (i * 7_919) % 100_000))
        .collect();
    // One buyer per connection, each with a card.
    let mut buyers = Vec::new();
    for c in 0..connections {
        let (_, session) = post(&client, &format!("{api}/api/v1/accounts"), None,
            json!({"email": format!("buyer{c}-{}@bench.example", std::process::id()), "password": "bench-password-1", "display_name": "Bench", "roles": ["buyer"]}), None).await?;
        let token = session["token"]
            .as_str()
            .ok_or("sign-up failed")?
            .to_owned();
        // The card as the web app saves it: a SetupIntent confirmed at
        // Stripe (localstripe, STRIPE_API_BASE) with the test card.
        let (_, intent) = post(
            &client,
            &format!("{api}/api/v1/payment-methods/setup-intents"),
            Some(&token),
            Value::Null,
            None,
        )
        .await?;
        let setup_intent = intent["id"]
            .as_str()
            .ok_or("setup intent failed")?
            .to_owned();
        let stripe = std::env::var("STRIPE_API_BASE").map_err(|_| "STRIPE_API_BASE is not set")?;
        post(&client, &format!("{stripe}/v1/setup_intents/{setup_intent}/confirm"), None,
            json!({"key": "pk_test_sparecloud", "client_secret": intent["client_secret"],
                   "payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}}}), None).await?;
        let (_, card) = post(
            &client,
            &format!("{api}/api/v1/payment-methods"),
            Some(&token),
            json!({"holder_name": "Bench", "setup_intent_id": setup_intent}),
            None,
        )
        .await?;
        buyers.push((token, card["id"].as_str().ok_or("card failed")?.to_owned()));
    }
    let run = Run::new();
    let quotes = Run::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for (c, (token, card)) in buyers.into_iter().enumerate() {
        let (client, run, quotes, offers, api, placement) = (
            client.clone(),
            run.clone(),
            quotes.clone(),
            offers.clone(),
            api.to_owned(),
            placement.to_owned(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < deadline {
                let offer = &offers[(c * 31 + n * 7) % offers.len()];
                n += 1;
                let asked = Instant::now();
                let quote = post(&client, &format!("{api}/api/v1/quotes"), Some(&token),
                    json!({"offer_id": offer, "image_id": "debian-12", "sla_tier": "bronze", "flavor_id": "s1.small",
                           "count": count, "placement": placement}), None).await;
                let Ok((201, quote)) = quote else {
                    quotes.failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                quotes.ok.fetch_add(1, Ordering::Relaxed);
                quotes.latencies.lock().await.push(asked.elapsed());
                let sent = Instant::now();
                let order = post(&client, &format!("{api}/api/v1/orders"), Some(&token),
                    json!({"quote_id": quote["id"], "payment_method_id": card, "ssh_public_key": SSH_KEY}),
                    Some(&format!("bench-{c}-{n}"))).await;
                let latency = sent.elapsed();
                if matches!(order, Ok((201, _))) {
                    run.ok.fetch_add(1, Ordering::Relaxed);
                    run.latencies.lock().await.push(latency);
                } else {
                    run.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let what = format!("{count} instance(s), placement {placement}, {connections} buyers");
    quotes
        .report(&format!("POST /quotes ({what})"), started.elapsed())
        .await;
    run.report(
        &format!("POST /orders (after a quote each; {what})"),
        started.elapsed(),
    )
    .await;
    Ok(())
}

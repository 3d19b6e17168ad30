//! Two server processes on one PostgreSQL database with one real agent:
//! orders sent alternately to both never overbook the host, a listing made
//! on one shows on the other, and the background jobs that both run (billing
//! every second here, marking a silent host offline) do each piece of work
//! exactly once.
//!
//! Runs on PostgreSQL only, so it is ignored by default: `make test`'s
//! PostgreSQL pass (`scripts/test-postgres.sh`) includes it.

mod common;

use common::process::{Process, binary, free_port};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";

fn start_server(database_url: &str, dist: &Path) -> (Process, String) {
    let port = free_port();
    let child = Command::new(binary("sparecloud-server"))
        .args([
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--heartbeat-interval-secs",
            "1",
            "--billing-interval-secs",
            "1",
        ])
        .env("DATABASE_URL", database_url)
        .env("SPARECLOUD_DIST_DIR", dist)
        // localstripe, which `make test` started (STRIPE_API_BASE).
        .env("STRIPE_API_BASE", common::stripe_api_base())
        .env("STRIPE_SECRET_KEY", "sk_test_sparecloud")
        .env("STRIPE_PUBLISHABLE_KEY", "pk_test_sparecloud")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a server");
    (Process(child), format!("http://127.0.0.1:{port}"))
}

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut request = http.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run by make test's PostgreSQL pass (scripts/test-postgres.sh)"]
async fn two_servers_one_database_one_agent() {
    let admin_url = std::env::var("SPARECLOUD_TEST_POSTGRES_URL")
        .expect("SPARECLOUD_TEST_POSTGRES_URL: a PostgreSQL server to create a database on");
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let database_url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>t</title>").unwrap();

    // Start one, let it migrate, then the other.
    let (_a, a) = start_server(&database_url, &dist);
    let http = reqwest::Client::new();
    let healthy = |url: String| {
        let http = http.clone();
        async move {
            http.get(format!("{url}/api/v1/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    };
    wait_until("server A is up", Duration::from_secs(30), || {
        healthy(a.clone())
    })
    .await;
    let (_b, b) = start_server(&database_url, &dist);
    wait_until("server B is up", Duration::from_secs(30), || {
        healthy(b.clone())
    })
    .await;
    let servers = [a.clone(), b.clone()];
    use reqwest::Method;

    // A seller on A, its host registered by the real agent (room for four
    // s1.small: 1 vCPU, 2 GiB, 20 GiB each).
    let (status, seller) = call(&http, Method::POST, format!("{a}/api/v1/accounts"), None,
        Some(json!({"email": "s@example.com", "password": "correct horse battery", "display_name": "S", "roles": ["seller"]})), None).await;
    assert_eq!(status, 201, "{seller}");
    let seller = seller["token"].as_str().unwrap().to_owned();
    let (status, _) = call(&http, Method::POST, format!("{b}/api/v1/seller/profile"), Some(&seller),
        Some(json!({"company_name": "Twin Racks", "country": "DE", "payout_reference": "DE89", "default_sla_tier": "gold"})), None).await;
    assert_eq!(status, 200);
    let (status, token) = call(
        &http,
        Method::POST,
        format!("{a}/api/v1/seller/install-tokens"),
        Some(&seller),
        Some(json!({"label": "rack", "zone": "eu-west-1a"})),
        None,
    )
    .await;
    assert_eq!(status, 201, "{token}");
    let state_dir = dir.path().join("agent");
    let register = Command::new(binary("sparecloud-agent"))
        .args([
            "register",
            "--driver",
            "sim",
            "--api",
            &a,
            "--token",
            token["secret"].as_str().unwrap(),
            "--capacity",
            "4,8,80",
        ])
        .env("SPARECLOUD_AGENT_STATE_DIR", &state_dir)
        .output()
        .unwrap();
    assert!(
        register.status.success(),
        "{}",
        String::from_utf8_lossy(&register.stderr)
    );
    let mut agent = Process(
        Command::new(binary("sparecloud-agent"))
            .args(["run", "--sim-boot-secs", "1"])
            .env("SPARECLOUD_AGENT_STATE_DIR", &state_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // The offer is made on B and listed by A (the index follows the other
    // process's changes).
    let (status, offer) = call(&http, Method::POST, format!("{b}/api/v1/seller/offers"), Some(&seller),
        Some(json!({"zone": "eu-west-1a", "sla_tier": "gold", "prices": [{"flavor_id": "s1.small", "hourly_cents": 3600}]})), None).await;
    assert_eq!(status, 201, "{offer}");
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    wait_until(
        "server A lists the offer made on B",
        Duration::from_secs(5),
        || {
            let (http, a, offer_id) = (http.clone(), a.clone(), offer_id.clone());
            async move {
                let (_, page) = call(
                    &http,
                    Method::GET,
                    format!("{a}/api/v1/offers"),
                    None,
                    None,
                    None,
                )
                .await;
                page["items"]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|o| o["id"] == offer_id.as_str()))
            }
        },
    )
    .await;

    // Twelve buyers at once, alternately on A and B, each quote then order.
    let mut buyers = Vec::new();
    for i in 0..12 {
        let server = &servers[i % 2];
        let (status, buyer) = call(&http, Method::POST, format!("{server}/api/v1/accounts"), None,
            Some(json!({"email": format!("b{i}@example.com"), "password": "correct horse battery", "display_name": "B", "roles": ["buyer"]})), None).await;
        assert_eq!(status, 201);
        let buyer = buyer["token"].as_str().unwrap().to_owned();
        let (status, intent) = call(
            &http,
            Method::POST,
            format!("{server}/api/v1/payment-methods/setup-intents"),
            Some(&buyer),
            None,
            None,
        )
        .await;
        assert_eq!(status, 201, "{intent}");
        // What Stripe.js does with the card, at localstripe.
        let setup_intent = intent["id"].as_str().unwrap();
        let (status, _) = call(&http, Method::POST, format!("{}/v1/setup_intents/{setup_intent}/confirm", common::stripe_api_base()), None,
            Some(json!({"key": "pk_test_sparecloud", "client_secret": intent["client_secret"],
                        "payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2039, "cvc": "123"}}})), None).await;
        assert_eq!(status, 200);
        let (status, card) = call(
            &http,
            Method::POST,
            format!("{server}/api/v1/payment-methods"),
            Some(&buyer),
            Some(json!({"holder_name": "B", "setup_intent_id": setup_intent})),
            None,
        )
        .await;
        assert_eq!(status, 201, "{card}");
        buyers.push((
            server.clone(),
            buyer,
            card["id"].as_str().unwrap().to_owned(),
        ));
    }
    let attempts: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(i, (server, buyer, card))| {
            let (http, offer_id) = (http.clone(), offer_id.clone());
            tokio::spawn(async move {
                let (status, quote) = call(&http, Method::POST, format!("{server}/api/v1/quotes"), Some(&buyer),
                    Some(json!({"offer_id": offer_id, "image_id": "debian-12", "sla_tier": "gold", "flavor_id": "s1.small", "count": 1})), None).await;
                if status != 201 {
                    assert_eq!(status, 409, "{quote}");
                    return None;
                }
                let (status, order) = call(&http, Method::POST, format!("{server}/api/v1/orders"), Some(&buyer),
                    Some(json!({"quote_id": quote["id"], "payment_method_id": card, "ssh_public_key": SSH_KEY})),
                    Some(&format!("order-{i}"))).await;
                assert_eq!(status, 201, "{order}");
                Some((server, buyer, order["instances"][0]["id"].as_str().unwrap().to_owned()))
            })
        })
        .collect();
    let mut placed = Vec::new();
    for attempt in attempts {
        if let Some(instance) = attempt.await.unwrap() {
            placed.push(instance);
        }
    }
    assert_eq!(
        placed.len(),
        4,
        "exactly the host's room for four, never more"
    );
    let db = sqlx::PgPool::connect(&database_url).await.unwrap();
    let (vcpu, alloc): (i64, i64) = sqlx::query_as("SELECT vcpu, alloc_vcpu FROM hosts")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!((vcpu, alloc), (4, 4));

    // Running, then billed every second by both servers: each instance's
    // ledger periods follow one another with no overlap and no gap.
    for (server, buyer, id) in &placed {
        wait_until("the instance runs", Duration::from_secs(20), || {
            let (http, server, buyer, id) =
                (http.clone(), server.clone(), buyer.clone(), id.clone());
            async move {
                let (_, detail) = call(
                    &http,
                    Method::GET,
                    format!("{server}/api/v1/instances/{id}"),
                    Some(&buyer),
                    None,
                    None,
                )
                .await;
                detail["instance"]["status"] == "running"
            }
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (_, _, id) in &placed {
        let periods: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT period_start_ms, period_end_ms FROM ledger_entries WHERE instance_id = $1 ORDER BY period_start_ms",
        )
        .bind(id)
        .fetch_all(&db)
        .await
        .unwrap();
        assert!(periods.len() >= 2, "billed every second: {periods:?}");
        for pair in periods.windows(2) {
            assert_eq!(
                pair[0].1, pair[1].0,
                "no period billed twice or skipped: {periods:?}"
            );
        }
    }

    // The agent dies: both servers notice, the host goes offline once.
    let _ = agent.0.kill();
    let _ = agent.0.wait();
    wait_until("the host is offline", Duration::from_secs(15), || {
        let db = db.clone();
        async move {
            let (status,): (String,) = sqlx::query_as("SELECT status FROM hosts")
                .fetch_one(&db)
                .await
                .unwrap();
            status == "offline"
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (outages,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM host_outages")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(outages, 1, "one outage, recorded by one of the two servers");
    db.close().await;
}

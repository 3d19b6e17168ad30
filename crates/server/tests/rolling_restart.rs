//! A rolling restart under load: two server processes on one PostgreSQL
//! database while buyers keep ordering; one is stopped with SIGTERM and
//! started again on the same address. A client retries a request that
//! failed on the way (the connection refused or cut) on the other server
//! with the same Idempotency-Key, as a load balancer or our web app would.
//! Every order ends placed exactly once (none lost, none doubled) and the
//! stopped process exits 0.
//!
//! Runs on PostgreSQL only, so it is ignored by default: `make test`'s
//! PostgreSQL pass (`scripts/test-postgres.sh`) includes it.

mod common;

use common::process::{
    add_card, call, new_postgres_database, seller_with_host, sign_up, start_server,
    start_server_on, terminate, test_dist, wait_healthy,
};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";
const BUYERS: usize = 6;
const ORDERS_EACH: usize = 8;

/// One request; `None` when it is worth retrying elsewhere: it did not get
/// an answer (refused, or cut by the restart), or the answer says to retry.
async fn attempt(
    http: &reqwest::Client,
    url: String,
    token: &str,
    body: &Value,
    key: Option<&str>,
) -> Option<(u16, Value)> {
    let mut request = http.post(url).bearer_auth(token).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.ok()?;
    let in_progress =
        status == 409 && body["type"] == "https://sparecloud.dev/problems/idempotency-key";
    if status == 503 || in_progress {
        return None;
    }
    Some((status, body))
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run by make test's PostgreSQL pass (scripts/test-postgres.sh)"]
async fn a_rolling_restart_loses_no_order() {
    let database_url = new_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let dist = test_dist(dir.path());
    let http = reqwest::Client::new();
    let (mut first, a) = start_server(&database_url, &dist);
    wait_healthy(&http, &a).await;
    let (_second, b) = start_server(&database_url, &dist);
    wait_healthy(&http, &b).await;

    // Room for every order: 48 s1.small on one host.
    let (seller, _agent) =
        seller_with_host(&http, &a, &dir.path().join("agent"), "64,128,2560").await;
    let (status, offer) = call(&http, reqwest::Method::POST, format!("{a}/api/v1/seller/offers"), Some(&seller),
        Some(json!({"zone": "eu-west-1a", "sla_tier": "gold", "prices": [{"flavor_id": "s1.small", "hourly_cents": 3600}]})), None).await;
    assert_eq!(status, 201, "{offer}");
    let offer_id = offer["id"].as_str().expect("an offer").to_owned();
    let mut buyers = Vec::new();
    for i in 0..BUYERS {
        let buyer = sign_up(&http, &b, &format!("b{i}@example.com"), &["buyer"]).await;
        let card = add_card(&http, &b, &buyer).await;
        buyers.push((buyer, card));
    }

    let servers = [a.clone(), b.clone()];
    let placed = Arc::new(AtomicUsize::new(0));
    let retried = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(i, (buyer, card))| {
            let (http, servers, offer_id) = (http.clone(), servers.clone(), offer_id.clone());
            let (placed, retried) = (Arc::clone(&placed), Arc::clone(&retried));
            tokio::spawn(async move {
                let mut orders = Vec::new();
                let mut turn = i;
                for n in 0..ORDERS_EACH {
                    let quote = json!({"offer_id": offer_id, "image_id": "debian-12", "sla_tier": "gold", "flavor_id": "s1.small", "count": 1});
                    let quote = loop {
                        turn += 1;
                        match attempt(&http, format!("{}/api/v1/quotes", servers[turn % 2]), &buyer, &quote, None).await {
                            Some((201, quote)) => break quote,
                            Some((status, body)) => panic!("quote refused ({status}): {body}"),
                            None => retried.fetch_add(1, Ordering::Relaxed),
                        };
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    };
                    let key = format!("order-{i}-{n}");
                    let order = json!({"quote_id": quote["id"], "payment_method_id": card, "ssh_public_key": SSH_KEY});
                    let order = loop {
                        turn += 1;
                        match attempt(&http, format!("{}/api/v1/orders", servers[turn % 2]), &buyer, &order, Some(&key)).await {
                            Some((200 | 201, order)) => break order,
                            Some((status, body)) => panic!("order refused ({status}): {body}"),
                            None => retried.fetch_add(1, Ordering::Relaxed),
                        };
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    };
                    orders.push(order["id"].as_str().unwrap().to_owned());
                    placed.fetch_add(1, Ordering::Relaxed);
                    // A steady load rather than a burst, so that the
                    // restart falls in the middle of it.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                orders
            })
        })
        .collect();

    // A quarter in, the first server is restarted in place.
    while placed.load(Ordering::Relaxed) < BUYERS * ORDERS_EACH / 4 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exit = terminate(&mut first);
    assert!(exit.success(), "SIGTERM ends the server cleanly: {exit}");
    let at_restart = placed.load(Ordering::Relaxed);
    let port = a.rsplit_once(':').unwrap().1.parse().unwrap();
    let (_restarted, _) = start_server_on(&database_url, &dist, port);
    wait_healthy(&http, &a).await;

    let mut ids = Vec::new();
    for buyer in load {
        ids.extend(buyer.await.expect("every buyer's orders placed"));
    }
    assert!(
        at_restart < BUYERS * ORDERS_EACH,
        "the restart fell within the load ({at_restart} placed by then)"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), BUYERS * ORDERS_EACH, "one order per key");

    let db = sqlx::PgPool::connect(&database_url).await.unwrap();
    let (orders, instances): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM instances)")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        orders as usize,
        BUYERS * ORDERS_EACH,
        "no order lost or doubled"
    );
    assert_eq!(
        instances as usize,
        BUYERS * ORDERS_EACH,
        "one instance per order"
    );
    let (completed,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM orders WHERE status = 'completed'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(completed, orders);
    db.close().await;
    eprintln!(
        "{} orders, {at_restart} placed before the restart, {} requests retried",
        BUYERS * ORDERS_EACH,
        retried.load(Ordering::Relaxed)
    );
}

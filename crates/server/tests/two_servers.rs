//! Two server processes on one PostgreSQL database with one real agent:
//! orders sent alternately to both never overbook the host, a listing made
//! on one shows on the other, and the background jobs that both run (billing
//! every second here, marking a silent host offline) do each piece of work
//! exactly once.
//!
//! Runs on PostgreSQL only, so it is ignored by default: `make test`'s
//! PostgreSQL pass (`scripts/test-postgres.sh`) includes it.

mod common;

use common::process::{
    add_card, call, new_postgres_database, seller_with_host, sign_up, start_server, test_dist,
    wait_healthy, wait_until,
};

use std::time::Duration;

use serde_json::json;

const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";

#[tokio::test]
#[ignore = "needs PostgreSQL: run by make test's PostgreSQL pass (scripts/test-postgres.sh)"]
async fn two_servers_one_database_one_agent() {
    let database_url = new_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let dist = test_dist(dir.path());

    // Start one, let it migrate, then the other.
    let http = reqwest::Client::new();
    let (_a, a) = start_server(&database_url, &dist);
    wait_healthy(&http, &a).await;
    let (_b, b) = start_server(&database_url, &dist);
    wait_healthy(&http, &b).await;
    let servers = [a.clone(), b.clone()];
    use reqwest::Method;

    // A seller on A, its host registered by the real agent (room for four
    // s1.small: 1 vCPU, 2 GiB, 20 GiB each).
    let (seller, mut agent) =
        seller_with_host(&http, &a, &dir.path().join("agent"), "4,8,80").await;

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
        let buyer = sign_up(&http, server, &format!("b{i}@example.com"), &["buyer"]).await;
        let card = add_card(&http, server, &buyer).await;
        buyers.push((server.clone(), buyer, card));
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

//! High availability: spread placement across hosts, zones and sellers;
//! cold migration off draining hosts; failure and auto-recovery. Every
//! move keeps the instance's id and its order's spread.

mod common;

use axum::http::StatusCode;
use common::{Seller, TestApp};
use serde_json::Value;
use sparecloud_server::jobs;

const HOST: (u32, u32, u32) = (8, 16, 200);

/// Four zones. A: two gold hosts of one seller (€1.00 an hour for an
/// s1.small); B: gold at €0.90; C: only silver, at €0.80; D: gold at €0.95.
struct Market {
    a: Seller,
    /// Seller A's second host in zone A: (host id, credential).
    a2: (String, String),
    b: Seller,
    c: Seller,
    d: Seller,
    offer_a: String,
    buyer: String,
    card: String,
}

const A: &str = "eu-central-1a";
const B: &str = "eu-west-1a";
const C: &str = "us-central-1a";
const D: &str = "eu-north-1a";

async fn market(app: &TestApp) -> Market {
    let a = app.seller_with_host("a@example.com", A, HOST).await;
    let install = app.install_token(&a.token, A).await;
    let a2 = app.register_host(&install, "a-host-2", HOST).await;
    let b = app.seller_with_host("b@example.com", B, HOST).await;
    let c = app.seller_with_host("c@example.com", C, HOST).await;
    let d = app.seller_with_host("d@example.com", D, HOST).await;
    let offer_a = app.offer(&a.token, A, "gold", &[("s1.small", 100)]).await;
    app.offer(&b.token, B, "gold", &[("s1.small", 90)]).await;
    app.offer(&c.token, C, "silver", &[("s1.small", 80)]).await;
    app.offer(&d.token, D, "gold", &[("s1.small", 95)]).await;
    let buyer = app.sign_up("buyer@example.com", &["buyer"]).await;
    let card = app.card(&buyer, "4242 4242 4242 4242").await;
    Market {
        a,
        a2,
        b,
        c,
        d,
        offer_a,
        buyer,
        card,
    }
}

impl Market {
    /// Every host as (id, credential).
    fn hosts(&self) -> [(&str, &str); 5] {
        [
            (&self.a.host_id, &self.a.host_credential),
            (&self.a2.0, &self.a2.1),
            (&self.b.host_id, &self.b.host_credential),
            (&self.c.host_id, &self.c.host_credential),
            (&self.d.host_id, &self.d.host_credential),
        ]
    }

    fn credential(&self, host_id: &str) -> String {
        let (_, credential) = self
            .hosts()
            .into_iter()
            .find(|(id, _)| *id == host_id)
            .unwrap();
        credential.to_owned()
    }

    /// Seller A's host in zone A that is not `host_id`, as (id, credential).
    fn other_a(&self, host_id: &str) -> (String, String) {
        let (id, credential) = if host_id == self.a.host_id {
            (&self.a2.0, &self.a2.1)
        } else {
            (&self.a.host_id, &self.a.host_credential)
        };
        (id.clone(), credential.clone())
    }

    /// The credentials of every host but `host_id` (to keep them online).
    fn credentials_but(&self, host_id: &str) -> Vec<String> {
        self.hosts()
            .into_iter()
            .filter(|(id, _)| *id != host_id)
            .map(|(_, credential)| credential.to_owned())
            .collect()
    }
}

/// The instance of `ids` placed in `zone`, with its host.
async fn in_zone(app: &TestApp, ids: &[String], zone: &str) -> (String, String) {
    for id in ids {
        let (host, placed_in, ..) = whereabouts(app, id).await;
        if placed_in == zone {
            return (id.clone(), host);
        }
    }
    panic!("no instance in {zone}");
}

async fn gold_quote(
    app: &TestApp,
    m: &Market,
    count: u32,
    placement: &str,
    auto_recover: bool,
) -> common::TestResponse {
    app.post(
        "/api/v1/quotes",
        Some(&m.buyer),
        serde_json::json!({"offer_id": m.offer_a, "image_id": "debian-12", "sla_tier": "gold",
                           "flavor_id": "s1.small", "count": count, "placement": placement,
                           "auto_recover": auto_recover}),
    )
    .await
}

/// Quotes and orders; returns the instance ids in slot order.
async fn gold_order(
    app: &TestApp,
    m: &Market,
    count: u32,
    placement: &str,
    auto_recover: bool,
) -> Vec<String> {
    let quote = gold_quote(app, m, count, placement, auto_recover).await;
    assert_eq!(quote.status, StatusCode::CREATED, "{}", quote.text());
    let quote_id = quote.json()["id"].as_str().unwrap().to_owned();
    let order = app
        .order(&m.buyer, &quote_id, &m.card, &format!("k-{quote_id}"))
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());
    sorted_pairs(&order.json()["instances"], "name", "id")
        .into_iter()
        .map(|(_, id)| id)
        .collect()
}

/// The (`a`, `b`) string fields of each item of a JSON array, sorted.
fn sorted_pairs(items: &Value, a: &str, b: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i[a].as_str().unwrap().to_owned(),
                i[b].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// (host id, zone, status, seller id) of an instance, read from the database.
async fn whereabouts(app: &TestApp, id: &str) -> (String, String, String, String) {
    sqlx::query_as("SELECT host_id, zone, status, seller_id FROM instances WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db)
        .await
        .unwrap()
}

async fn detail(app: &TestApp, buyer: &str, id: &str) -> Value {
    let res = app
        .send("GET", &format!("/api/v1/instances/{id}"), Some(buyer), None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

/// The states a heartbeat's answer asks for, by instance id.
fn desired(res: &common::TestResponse) -> Vec<(String, String)> {
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    sorted_pairs(&res.json()["instances"], "id", "state")
}

async fn host_view(app: &TestApp, seller_token: &str, host_id: &str) -> Value {
    let res = app
        .send("GET", "/api/v1/seller/hosts", Some(seller_token), None)
        .await;
    res.json()
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == host_id)
        .cloned()
        .expect("the seller's host")
}

async fn drain(app: &TestApp, seller_token: &str, host_id: &str) -> Value {
    host_action(app, seller_token, host_id, "drain").await
}

async fn resume(app: &TestApp, seller_token: &str, host_id: &str) -> Value {
    host_action(app, seller_token, host_id, "resume").await
}

/// `POST /seller/hosts/{id}/{action}`, which must succeed; the host.
async fn host_action(app: &TestApp, seller_token: &str, host_id: &str, action: &str) -> Value {
    let res = app
        .post(
            &format!("/api/v1/seller/hosts/{host_id}/{action}"),
            Some(seller_token),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

/// A heartbeat from each host, with nothing running.
async fn keep_alive(app: &TestApp, credentials: &[String]) {
    for credential in credentials {
        app.heartbeat(credential, HOST, &[]).await;
    }
}

async fn report(
    app: &TestApp,
    credential: &str,
    ids: &[String],
    state: &str,
) -> common::TestResponse {
    let observed: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), state)).collect();
    app.heartbeat(credential, HOST, &observed).await
}

#[tokio::test]
async fn a_zone_spread_uses_other_sellers_of_the_tier_at_their_price() {
    let app = TestApp::new().await;
    let m = market(&app).await;

    let quote = gold_quote(&app, &m, 3, "distinct_zones", false).await;
    assert_eq!(quote.status, StatusCode::CREATED, "{}", quote.text());
    let quote = quote.json();
    // The chosen offer first, then the cheapest other gold offers; never
    // zone C, whose offer is only silver.
    assert_eq!(quote["zones"], serde_json::json!([A, D, B]), "sorted");
    assert_eq!(quote["hosts"], 3);
    let placements: Vec<(String, u64, u64)> = quote["placements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["zone"].as_str().unwrap().to_owned(),
                p["count"].as_u64().unwrap(),
                p["unit_hourly_cents"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        placements,
        [
            (A.to_owned(), 1, 100),
            (B.to_owned(), 1, 90),
            (D.to_owned(), 1, 95)
        ]
    );
    assert_eq!(quote["hourly_total_cents"], 285);
    assert_eq!(quote["estimated_month_cents"], 285 * 730);

    let quote_id = quote["id"].as_str().unwrap();
    let order = app.order(&m.buyer, quote_id, &m.card, "spread-1").await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());
    let order = order.json();
    let mut zones: Vec<(String, u64)> = order["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["zone"].as_str().unwrap().to_owned(),
                i["hourly_cents"].as_u64().unwrap(),
            )
        })
        .collect();
    zones.sort();
    assert_eq!(
        zones,
        [(A.to_owned(), 100), (D.to_owned(), 95), (B.to_owned(), 90)]
    );
    // Each instance is on its zone's seller's host, held there.
    for (seller, host) in [(&m.b, &m.b.host_id), (&m.d, &m.d.host_id)] {
        assert_eq!(app.allocated(host).await, (1, 2, 20));
        let hosted = desired(&report(&app, &seller.host_credential, &[], "running").await);
        assert_eq!(hosted.len(), 1);
    }
    assert_eq!(app.allocated(&m.c.host_id).await, (0, 0, 0));

    // Distinct hosts: seller A's two hosts, then the cheapest other gold.
    let hosts = gold_quote(&app, &m, 3, "distinct_hosts", false)
        .await
        .json();
    assert_eq!(hosts["hosts"], 3);
    assert_eq!(hosts["zones"], serde_json::json!([A, B]));
}

#[tokio::test]
async fn an_impossible_spread_is_refused_before_any_charge() {
    let app = TestApp::new().await;
    let m = market(&app).await;

    // Three gold zones have room; zone C is only silver.
    let res = gold_quote(&app, &m, 4, "distinct_zones", false).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert!(res.content_type.starts_with("application/problem+json"));
    let problem = res.json();
    assert_eq!(
        problem["type"],
        "https://sparecloud.dev/problems/spread-unavailable"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("Only 3 zones"),
        "{problem}"
    );
    // Nothing held, nothing ordered, nothing charged.
    for host in [
        &m.a.host_id,
        &m.a2.0,
        &m.b.host_id,
        &m.c.host_id,
        &m.d.host_id,
    ] {
        assert_eq!(app.allocated(host).await, (0, 0, 0));
    }
    let (quotes, orders, ledger): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM quotes), (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM ledger_entries)",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!((quotes, orders, ledger), (0, 0, 0));

    // Five distinct hosts of gold or better do not exist either (A has two,
    // B and D one each).
    let res = gold_quote(&app, &m, 5, "distinct_hosts", false).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert!(
        res.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Only 4 distinct hosts")
    );
}

#[tokio::test]
async fn draining_migrates_every_instance_keeping_ids_and_spread() {
    let app = TestApp::new().await;
    let m = market(&app).await;
    // Two instances anywhere, and two spread over zones (A and B).
    let anywhere = gold_order(&app, &m, 2, "any", false).await;
    let spread = gold_order(&app, &m, 2, "distinct_zones", false).await;
    let (first_host, ..) = whereabouts(&app, &anywhere[0]).await;
    let (spread_a, spread_a_host) = in_zone(&app, &spread, A).await;
    assert_eq!(spread_a_host, first_host);
    let (drained, drained_cred) = (&first_host, &m.credential(&first_host));
    let (other, other_cred) = &m.other_a(drained);
    let on_drained = vec![anywhere[0].clone(), anywhere[1].clone(), spread_a.clone()];
    for id in &on_drained {
        assert_eq!(&whereabouts(&app, id).await.0, drained);
    }
    report(&app, drained_cred, &on_drained, "running").await;

    // Drain: every instance gets a place on seller A's other host (same
    // zone, so the spread over A and B holds) and is told to stop here.
    let host = drain(&app, &m.a.token, drained).await;
    assert_eq!(host["status"], "draining");
    assert_eq!(
        host["drain"],
        serde_json::json!({"moved": 0, "migrating": 3, "waiting": 0})
    );
    assert_eq!(app.allocated(other).await, (3, 6, 60));
    let asked = desired(&report(&app, drained_cred, &on_drained, "running").await);
    assert!(
        asked.iter().all(|(_, state)| state == "stopped"),
        "{asked:?}"
    );
    assert_eq!(whereabouts(&app, &spread_a).await.2, "stopping");

    // Stopped there: moved, same ids, starting on the other host.
    report(&app, drained_cred, &on_drained, "stopped").await;
    for id in &on_drained {
        let (host, zone, status, _) = whereabouts(&app, id).await;
        assert_eq!(
            (&host, zone.as_str(), status.as_str()),
            (other, A, "pending")
        );
    }
    assert_eq!(app.allocated(drained).await, (0, 0, 0));
    assert_eq!(
        host_view(&app, &m.a.token, drained).await["drain"],
        serde_json::json!({"moved": 3, "migrating": 0, "waiting": 0})
    );
    let asked = desired(&report(&app, other_cred, &[], "running").await);
    assert_eq!(asked.len(), 3);
    assert!(
        asked.iter().all(|(_, state)| state == "running"),
        "{asked:?}"
    );
    // The drained host is no longer asked to keep them.
    assert!(desired(&report(&app, drained_cred, &[], "running").await).is_empty());
    report(&app, other_cred, &on_drained, "running").await;
    let log = common::event_kinds(&detail(&app, &m.buyer, &spread_a).await);
    assert!(
        log.ends_with(&["migrating".into(), "migrated".into(), "running".into()]),
        "{log:?}"
    );

    // Drain seller A's last host in zone A: the spread instance cannot go
    // to B (its sibling is there) nor C (silver), so it goes to D; the
    // others go to the cheapest gold host, in B. The buyer's price stays.
    drain(&app, &m.a.token, other).await;
    report(&app, other_cred, &on_drained, "stopped").await;
    let (_, zone, status, seller) = whereabouts(&app, &spread_a).await;
    assert_eq!((zone.as_str(), status.as_str()), (D, "pending"));
    let (d_seller,): (String,) = sqlx::query_as("SELECT seller_id FROM hosts WHERE id = $1")
        .bind(&m.d.host_id)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(seller, d_seller);
    for id in &anywhere {
        assert_eq!(whereabouts(&app, id).await.1, B);
    }
    let mut zones = Vec::new();
    for id in &spread {
        zones.push(whereabouts(&app, id).await.1);
    }
    zones.sort();
    assert_eq!(zones, [D, B], "sorted");
    let spread_detail = detail(&app, &m.buyer, &spread_a).await;
    assert_eq!(spread_detail["instance"]["id"], spread_a.as_str());
    assert_eq!(spread_detail["instance"]["hourly_cents"], 100);
}

#[tokio::test]
async fn drained_instances_wait_when_no_host_keeps_the_spread() {
    let app = TestApp::new().await;
    let m = market(&app).await;
    let spread = gold_order(&app, &m, 3, "distinct_zones", false).await;
    let (id, host) = in_zone(&app, &spread, A).await;
    let (token, (other, _)) = (&m.a.token, &m.other_a(&host));
    // Seller A's other host is in maintenance too: zones B and D are taken
    // by the siblings and C is silver, so the instance keeps running.
    drain(&app, token, other).await;
    drain(&app, token, &host).await;
    assert_eq!(
        host_view(&app, token, &host).await["drain"],
        serde_json::json!({"moved": 0, "migrating": 0, "waiting": 1})
    );
    let log = common::event_kinds(&detail(&app, &m.buyer, &id).await);
    assert_eq!(log.last().unwrap(), "migration_waiting");
    jobs::run_once(&app.state).await.unwrap();
    assert_eq!(whereabouts(&app, &id).await.0, host);

    // The other host comes back: the next jobs pass moves it there.
    resume(&app, token, other).await;
    for seller in [&m.a, &m.b, &m.c, &m.d] {
        report(&app, &seller.host_credential, &[], "running").await;
    }
    jobs::run_once(&app.state).await.unwrap();
    let (moved_to, zone, status, _) = whereabouts(&app, &id).await;
    // It was never running: it moves at once.
    assert_eq!(
        (&moved_to, zone.as_str(), status.as_str()),
        (other, A, "pending")
    );
}

#[tokio::test]
async fn a_lost_host_fails_its_instances_and_auto_recovery_keeps_the_spread() {
    let app = TestApp::new().await;
    let m = market(&app).await;
    let recovering = gold_order(&app, &m, 2, "distinct_zones", true).await;
    let plain = gold_order(&app, &m, 1, "any", false).await;
    let (recovered_id, lost_host) = in_zone(&app, &recovering, A).await;
    assert_eq!(whereabouts(&app, &plain[0]).await.0, lost_host);
    let lost_cred = m.credential(&lost_host);
    let (other_a, _) = &m.other_a(&lost_host);
    // Seller A's other host is in maintenance: recovery must leave zone A,
    // and zone B holds the sibling.
    drain(&app, &m.a.token, other_a).await;
    let on_lost = vec![recovered_id.clone(), plain[0].clone()];
    report(&app, &lost_cred, &on_lost, "running").await;

    // A minute of running, then the host goes silent for good.
    let healthy = m.credentials_but(&lost_host);
    app.state.clock.advance(60_000);
    report(&app, &lost_cred, &on_lost, "running").await;
    let silent_since = app.state.clock.now();

    // Offline after missed heartbeats, but within the grace period: nothing fails.
    app.state.clock.advance(20_000);
    keep_alive(&app, &healthy).await;
    jobs::run_once(&app.state).await.unwrap();
    assert_eq!(whereabouts(&app, &recovered_id).await.2, "running");

    // Past the grace period: both fail; the one whose order asked for it
    // starts again in zone D (not B: its sibling is there), same id.
    app.state.clock.advance(5 * 60_000);
    keep_alive(&app, &healthy).await;
    jobs::run_once(&app.state).await.unwrap();
    let (host, zone, status, _) = whereabouts(&app, &recovered_id).await;
    assert_eq!(
        (host.as_str(), zone.as_str(), status.as_str()),
        (m.d.host_id.as_str(), D, "pending")
    );
    assert_eq!(whereabouts(&app, &plain[0]).await.2, "failed");
    let log = common::event_kinds(&detail(&app, &m.buyer, &recovered_id).await);
    assert!(
        log.ends_with(&["failed".into(), "recovered".into()]),
        "{log:?}"
    );
    // Billed up to the last heartbeat, not through the outage.
    let (billed_ms,): (i64,) = sqlx::query_as("SELECT billed_ms FROM instances WHERE id = $1")
        .bind(&plain[0])
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    let (running_at,): (i64,) = sqlx::query_as(
        "SELECT MIN(at_ms) FROM instance_events WHERE instance_id = $1 AND kind = 'running'",
    )
    .bind(&plain[0])
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(billed_ms, silent_since - running_at);
    // The lost host's capacity is free; D holds the recovered instance.
    assert_eq!(app.allocated(&lost_host).await, (0, 0, 0));
    assert_eq!(app.allocated(&m.d.host_id).await, (1, 2, 20));

    // The recovered instance runs on D; when the lost host comes back it is
    // not asked to run anything.
    report(
        &app,
        &m.d.host_credential,
        std::slice::from_ref(&recovered_id),
        "running",
    )
    .await;
    assert_eq!(whereabouts(&app, &recovered_id).await.2, "running");
    let back = report(&app, &lost_cred, &on_lost, "running").await;
    assert!(desired(&back).is_empty());
    assert_eq!(whereabouts(&app, &recovered_id).await.2, "running");
    // Its availability this month counts the outage while it was on the
    // lost host (from silence to recovery), not after.
    let recovered = detail(&app, &m.buyer, &recovered_id).await;
    let sla = &recovered["sla"];
    assert!(sla["availability_bp"].as_u64().unwrap() < 10_000, "{sla}");
    assert_eq!(recovered["instance"]["placement"], "distinct_zones");
    assert_eq!(recovered["instance"]["auto_recover"], true);
    // The seller sees this month's measured availability of each host.
    let lost_view = host_view(&app, &m.a.token, &lost_host).await;
    assert!(lost_view["month_availability_bp"].as_u64().unwrap() < 10_000);
    assert_eq!(
        host_view(&app, &m.a.token, other_a).await["month_availability_bp"],
        10_000
    );
}

#[tokio::test]
async fn resuming_a_host_calls_off_moves_not_yet_made() {
    let app = TestApp::new().await;
    let m = market(&app).await;
    let ids = gold_order(&app, &m, 1, "any", false).await;
    let (host, ..) = whereabouts(&app, &ids[0]).await;
    let cred = &m.credential(&host);
    let (other, _) = &m.other_a(&host);
    report(&app, cred, &ids, "running").await;
    drain(&app, &m.a.token, &host).await;
    assert_eq!(app.allocated(other).await, (1, 2, 20), "held for the move");

    resume(&app, &m.a.token, &host).await;
    assert_eq!(app.allocated(other).await, (0, 0, 0), "the hold is freed");
    let asked = desired(&report(&app, cred, &ids, "running").await);
    assert_eq!(asked, [(ids[0].clone(), "running".to_owned())]);
    let (now_on, _, status, _) = whereabouts(&app, &ids[0]).await;
    assert_eq!((now_on, status.as_str()), (host, "running"));
    let log = common::event_kinds(&detail(&app, &m.buyer, &ids[0]).await);
    assert!(
        log.ends_with(&[
            "migrating".into(),
            "migration_cancelled".into(),
            "running".into()
        ]),
        "{log:?}"
    );
}

#[tokio::test]
async fn a_failed_instance_waiting_for_recovery_can_be_terminated() {
    let app = TestApp::new().await;
    let m = market(&app).await;
    // Spread over the three gold zones: when A's host fails there is no
    // fourth zone to recover into (A's other host is in maintenance).
    let ids = gold_order(&app, &m, 3, "distinct_zones", true).await;
    let (id, host) = in_zone(&app, &ids, A).await;
    let (other, _) = &m.other_a(&host);
    drain(&app, &m.a.token, other).await;
    let healthy = m.credentials_but(&host);
    app.state.clock.advance(6 * 60_000);
    keep_alive(&app, &healthy).await;
    jobs::run_once(&app.state).await.unwrap();
    jobs::run_once(&app.state).await.unwrap();
    assert_eq!(whereabouts(&app, &id).await.2, "failed");
    let (waiting,): (i64,) =
        sqlx::query_as("SELECT awaiting_recovery FROM instances WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!(waiting, 1);
    let seen = detail(&app, &m.buyer, &id).await;
    assert_eq!(seen["instance"]["recovering"], true);

    let res = app.instance_action(&m.buyer, &id, "terminate").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["status"], "terminated");
    assert_eq!(res.json()["recovering"], false);
    // It is not recovered later.
    resume(&app, &m.a.token, other).await;
    keep_alive(&app, &healthy).await;
    jobs::run_once(&app.state).await.unwrap();
    assert_eq!(whereabouts(&app, &id).await.2, "terminated");
    // Terminating it again is refused: it is over.
    let again = app.instance_action(&m.buyer, &id, "terminate").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

async fn seller_of(app: &TestApp, host_id: &str) -> String {
    let (seller,): (String,) = sqlx::query_as("SELECT seller_id FROM hosts WHERE id = $1")
        .bind(host_id)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    seller
}

#[tokio::test]
async fn a_month_credit_is_paid_by_the_seller_whose_host_was_down() {
    let app = TestApp::new().await;
    let m = market(&app).await;
    let ids = gold_order(&app, &m, 1, "any", true).await;
    let id = &ids[0];
    let (lost, ..) = whereabouts(&app, id).await;
    let lost_cred = m.credential(&lost);
    let (other_a, _) = m.other_a(&lost);
    // Nowhere to recover to for now.
    drain(&app, &m.a.token, &other_a).await;
    drain(&app, &m.b.token, &m.b.host_id).await;
    drain(&app, &m.d.token, &m.d.host_id).await;
    let healthy = m.credentials_but(&lost);
    report(&app, &lost_cred, &ids, "running").await;
    app.state.clock.advance(60_000);
    report(&app, &lost_cred, &ids, "running").await;

    // The host goes silent; the instance fails and waits an hour for room,
    // then B's host is back in service and it is recovered there.
    app.state.clock.advance(20_000);
    keep_alive(&app, &healthy).await;
    jobs::run_once(&app.state).await.unwrap();
    app.state.clock.advance(5 * 60_000);
    keep_alive(&app, &healthy).await;
    jobs::run_once(&app.state).await.unwrap();
    assert_eq!(whereabouts(&app, id).await.2, "failed");
    app.state.clock.advance(3_600_000);
    keep_alive(&app, &healthy).await;
    resume(&app, &m.b.token, &m.b.host_id).await;
    jobs::run_once(&app.state).await.unwrap();
    assert_eq!(whereabouts(&app, id).await.0, m.b.host_id);
    report(&app, &m.b.host_credential, &ids, "running").await;
    app.state.clock.advance(3_600_000);
    keep_alive(&app, &healthy).await;
    report(&app, &m.b.host_credential, &ids, "running").await;
    jobs::run_once(&app.state).await.unwrap();

    // November ends. The buyer gets one credit for the month; seller A,
    // whose host was down, pays it, not seller B, where it runs now.
    let (_, december, _) = sparecloud_server::domain::uptime::month_of(app.state.clock.now());
    app.state
        .clock
        .advance(december - app.state.clock.now() + 3_600_000);
    jobs::run_once(&app.state).await.unwrap();
    let (percent, credit, credited_seller): (i64, i64, String) = sqlx::query_as(
        "SELECT credit_percent, credit_cents, seller_id FROM sla_month_credits WHERE instance_id = $1",
    )
    .bind(id)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(percent, 10, "about an hour down in November: under 99.9 %");
    assert!(credit > 0);
    let (seller_a, seller_b) = (
        seller_of(&app, &lost).await,
        seller_of(&app, &m.b.host_id).await,
    );
    assert_eq!(credited_seller, seller_b, "the instance's seller now");
    let shares: Vec<(String, i64)> = sqlx::query_as(
        "SELECT seller_id, credit_cents FROM sla_credit_shares WHERE instance_id = $1",
    )
    .bind(id)
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    assert_eq!(shares, [(seller_a, credit)]);
}

#[tokio::test]
async fn concurrent_passes_fail_and_recover_each_instance_once() {
    let app = TestApp::new().await;
    let m = market(&app).await;
    let ids = gold_order(&app, &m, 3, "any", true).await;
    let (lost, ..) = whereabouts(&app, &ids[0]).await;
    let lost_cred = m.credential(&lost);
    report(&app, &lost_cred, &ids, "running").await;
    let healthy = m.credentials_but(&lost);
    app.state.clock.advance(20_000);
    keep_alive(&app, &healthy).await;
    jobs::run_once(&app.state).await.unwrap();
    app.state.clock.advance(5 * 60_000);
    keep_alive(&app, &healthy).await;

    // Eight passes at once, as from eight server processes.
    app.all_jobs_at_once().await;
    let mut held = 0;
    for id in &ids {
        let (host, _, status, _) = whereabouts(&app, id).await;
        assert_ne!(host, lost);
        assert_eq!(status, "pending");
        let log = common::event_kinds(&detail(&app, &m.buyer, id).await);
        assert_eq!(log.iter().filter(|k| *k == "failed").count(), 1, "{log:?}");
        assert_eq!(
            log.iter().filter(|k| *k == "recovered").count(),
            1,
            "{log:?}"
        );
        let (placements,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM instance_placements WHERE instance_id = $1")
                .bind(id)
                .fetch_one(&app.state.db)
                .await
                .unwrap();
        assert_eq!(placements, 2);
        held += 1;
    }
    // Capacity: nothing left on the lost host, exactly one s1.small per
    // recovered instance elsewhere.
    assert_eq!(app.allocated(&lost).await, (0, 0, 0));
    let (vcpu,): (i64,) = sqlx::query_as("SELECT CAST(SUM(alloc_vcpu) AS BIGINT) FROM hosts")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(vcpu, held);
}

#[tokio::test]
async fn a_search_pages_through_other_offers_cheapest_first_whatever_the_page_size() {
    use sparecloud_api::catalog::Capacity;
    use sparecloud_api::checkout::Placement;
    use sparecloud_server::domain::placement::{self, First, Search};

    let app = TestApp::new().await;
    let m = market(&app).await;
    let mut conn = app.state.db.acquire().await.unwrap();
    let need = Capacity {
        vcpu: 1,
        ram_gib: 2,
        disk_gib: 20,
    };
    for (placement, count, bronze_or_gold) in [
        (Placement::DistinctZones, 4, 9900),
        (Placement::DistinctZones, 3, 9990),
        (Placement::DistinctHosts, 5, 9900),
        (Placement::DistinctHosts, 5, 9990),
        (Placement::Any, 2, 9990),
    ] {
        let mut found = Vec::new();
        for page_size in [1, 2, placement::PAGE] {
            let search = Search {
                flavor_id: "s1.small",
                image_id: "debian-12",
                min_availability_bp: bronze_or_gold,
                need,
                count,
                placement,
                apart_from: &[],
                first: First::Offer(&m.offer_a),
                others_up_to: placement.is_spread().then_some(i64::MAX),
                exclude_host: None,
                page_size,
            };
            let hosts: Result<Vec<(String, i64)>, usize> = placement::find(&mut conn, &search)
                .await
                .unwrap()
                .map(|chosen| {
                    chosen
                        .into_iter()
                        .map(|c| (c.zone, c.hourly_cents))
                        .collect()
                });
            found.push(hosts);
        }
        assert!(
            found.windows(2).all(|w| w[0] == w[1]),
            "{placement:?} {count}: {found:?}"
        );
        let expected: Result<Vec<(String, i64)>, usize> = match (placement, count, bronze_or_gold) {
            // Zone C's silver offer (the cheapest) counts at bronze only.
            (Placement::DistinctZones, 4, _) => Ok(vec![
                (A.into(), 100),
                (C.into(), 80),
                (B.into(), 90),
                (D.into(), 95),
            ]),
            (Placement::DistinctZones, 3, _) => {
                Ok(vec![(A.into(), 100), (B.into(), 90), (D.into(), 95)])
            }
            (Placement::DistinctHosts, 5, 9900) => Ok(vec![
                (A.into(), 100),
                (A.into(), 100),
                (C.into(), 80),
                (B.into(), 90),
                (D.into(), 95),
            ]),
            // Only four gold hosts.
            (Placement::DistinctHosts, 5, _) => Err(4),
            _ => Ok(vec![(A.into(), 100), (A.into(), 100)]),
        };
        assert_eq!(
            found[0], expected,
            "{placement:?} {count} at {bronze_or_gold}"
        );
    }
}

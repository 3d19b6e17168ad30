//! Background jobs run in every server process at once: each piece of work
//! must be done exactly once whoever gets to it (on PostgreSQL, through row
//! locks; on SQLite, one writer at a time).

mod common;

use axum::http::StatusCode;
use common::TestApp;
use sparecloud_server::domain::ledger;
use sparecloud_server::jobs;

const HOST: (u32, u32, u32) = (8, 16, 200);

#[tokio::test]
async fn concurrent_billing_passes_bill_each_period_once() {
    let app = TestApp::new().await;
    let (seller, offer, buyer, card) = app.shop(HOST, 360).await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 3).await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());
    let ids: Vec<String> = order.json()["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    let observed: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "running")).collect();
    app.heartbeat(&seller.host_credential, HOST, &observed)
        .await;

    // An hour later, eight billing passes at once (as from eight processes).
    app.state.clock.advance(3_600_000);
    let now = app.state.clock.now();
    let passes: Vec<_> = (0..8)
        .map(|_| {
            let db = app.state.db.clone();
            tokio::spawn(async move { ledger::accrue_running(&db, now, 0).await })
        })
        .collect();
    for pass in passes {
        pass.await.unwrap().unwrap();
    }
    let (entries, charged): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(buyer_charge_cents), 0) AS BIGINT) FROM ledger_entries",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(entries, 3, "one entry per instance for the hour");
    assert_eq!(charged, 3 * 360, "each hour charged once");
}

#[tokio::test]
async fn a_silent_host_goes_offline_once_whoever_notices() {
    let app = TestApp::new().await;
    let seller = app
        .seller_with_host("s@example.com", "eu-west-1a", HOST)
        .await;
    app.state.clock.advance(60_000);
    app.all_jobs_at_once().await;
    let (outages,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM host_outages WHERE host_id = $1")
        .bind(&seller.host_id)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(outages, 1);
}

#[tokio::test]
async fn an_expired_quote_gives_its_capacity_back_once() {
    let app = TestApp::new().await;
    let (seller, offer, buyer, card) = app.shop(HOST, 360).await;
    // One instance ordered (1 vCPU kept), one quote left to expire (1 vCPU
    // held): releasing the hold twice would take the kept vCPU too.
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());
    let quote = app.quote(&buyer, &offer, "s1.small", 1).await;
    assert_eq!(quote.status, StatusCode::CREATED);
    assert_eq!(app.allocated(&seller.host_id).await.0, 2);

    app.state.clock.advance(11 * 60_000);
    // Keep the host online while time jumps.
    app.heartbeat(&seller.host_credential, HOST, &[]).await;
    app.all_jobs_at_once().await;
    assert_eq!(app.allocated(&seller.host_id).await.0, 1, "released once");
}

#[tokio::test]
async fn a_months_availability_and_credit_come_from_the_heartbeat_history() {
    let app = TestApp::new().await;
    let (seller, offer, buyer, card) = app.shop(HOST, 360).await;
    // At the offer's own tier, gold (99.9 %).
    let quote = app
        .post(
            "/api/v1/quotes",
            Some(&buyer),
            serde_json::json!({"offer_id": offer, "image_id": "debian-12", "sla_tier": "gold",
                               "flavor_id": "s1.small", "count": 1}),
        )
        .await
        .json();
    let order = app
        .order(&buyer, quote["id"].as_str().unwrap(), &card, "gold-1")
        .await
        .json();
    let id = order["instances"][0]["id"].as_str().unwrap().to_owned();
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;

    // 100 hours up, then silent: offline a minute later, back an hour after.
    app.state.clock.advance(100 * 3_600_000);
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;
    app.state.clock.advance(60_000);
    jobs::run_once(&app.state).await.unwrap();
    app.state.clock.advance(3_600_000);
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;
    ledger::accrue_running(&app.state.db, app.state.clock.now(), 0)
        .await
        .unwrap();

    let detail = app.instance_detail(&buyer, &id).await;
    let sla = &detail["sla"];
    assert_eq!(sla["month"], "2026-11");
    assert_eq!(sla["target_bp"], 9990);
    // Down 1 hour of 101 hours and a minute: 99.01 %, under gold's 99.9 %
    // (10 % credit) but not under 99 % (30 %).
    assert_eq!(sla["availability_bp"], 9901);
    assert_eq!(sla["credit_percent"], 10);
    let (charged,): (i64,) = sqlx::query_as(
        "SELECT CAST(SUM(buyer_charge_cents) AS BIGINT) FROM ledger_entries WHERE instance_id = $1",
    )
    .bind(&id)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(charged > 0);
    assert_eq!(sla["credit_cents"], charged / 10);

    // November ends: the month's credit is applied once, however many
    // passes (server processes) run the job, and the seller pays it.
    let (_, december, _) = sparecloud_server::domain::uptime::month_of(app.state.clock.now());
    app.state
        .clock
        .advance(december - app.state.clock.now() + 3_600_000);
    app.all_jobs_at_once().await;
    let credits: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT month, availability_bp, credit_percent, credit_cents FROM sla_month_credits WHERE instance_id = $1",
    )
    .bind(&id)
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    assert_eq!(credits.len(), 1, "{credits:?}");
    let (month, availability, percent, credit) = credits[0].clone();
    assert_eq!(month, "2026-11");
    // One hour down out of November from the order on: under 99.9 %, not
    // under 99 %.
    assert!((9900..9990).contains(&availability), "{availability}");
    assert_eq!(percent, 10);
    assert_eq!(credit, charged / 10, "10 % of November's charges");

    // Sessions last a week: sign in again.
    let sign_in = |email: &'static str| {
        let app = app.clone();
        async move {
            let session = app
                .post(
                    "/api/v1/sessions",
                    None,
                    serde_json::json!({"email": email, "password": "correct horse battery"}),
                )
                .await
                .json();
            session["token"].as_str().unwrap().to_owned()
        }
    };
    let buyer = sign_in("b@example.com").await;
    let seller_token = sign_in("s@example.com").await;
    let detail = app.instance_detail(&buyer, &id).await;
    assert_eq!(detail["credits"][0]["month"], "2026-11");
    assert_eq!(detail["credits"][0]["credit_cents"], credit);
    assert_eq!(detail["sla"]["month"], "2026-12");
    let earnings = app
        .send("GET", "/api/v1/seller/earnings", Some(&seller_token), None)
        .await
        .json();
    assert_eq!(earnings["sla_credits_cents"], credit);
    let gross = earnings["gross_cents"].as_i64().unwrap();
    let commission = earnings["commission_cents"].as_i64().unwrap();
    assert_eq!(earnings["net_cents"], gross - commission - credit);
}

#[tokio::test]
async fn expired_sessions_and_old_sign_in_counts_are_purged() {
    let app = TestApp::new().await;
    let token = app.sign_up("b@example.com", &["buyer"]).await;
    let wrong = app
        .post(
            "/api/v1/sessions",
            None,
            serde_json::json!({"email": "b@example.com", "password": "not the password"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let count = |table: &'static str| {
        let db = app.state.db.clone();
        async move {
            sqlx::query_as::<_, (i64,)>(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&db)
                .await
                .unwrap()
                .0
        }
    };
    jobs::run_once(&app.state).await.unwrap();
    assert_eq!(
        (count("sessions").await, count("login_failures").await),
        (1, 1),
        "kept while they matter"
    );
    // Past the session's week and the count's window.
    app.state.clock.advance(8 * 24 * 3_600_000);
    jobs::run_once(&app.state).await.unwrap();
    assert_eq!(
        (count("sessions").await, count("login_failures").await),
        (0, 0)
    );
    let me = app.send("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

//! The seller's side, ownership checks across accounts, and the ledger.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

const HOST: (u32, u32, u32) = (8, 16, 200);

#[tokio::test]
async fn seller_endpoints_need_a_seller_with_a_profile() {
    let app = TestApp::new().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let res = app
        .send("GET", "/api/v1/seller/hosts", Some(&buyer), None)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let seller = app.sign_up("s@example.com", &["seller"]).await;
    let res = app
        .send("GET", "/api/v1/seller/hosts", Some(&seller), None)
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.json()["detail"].as_str().unwrap().contains("profile"));
    let res = app
        .post("/api/v1/seller/profile", Some(&seller),
              json!({"company_name": "", "country": "Germany", "payout_reference": "x", "default_sla_tier": "platinum"}))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json()["errors"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn offers_are_validated() {
    let app = TestApp::new().await;
    let seller = app.seller_account("s@example.com").await;
    let res = app
        .post("/api/v1/seller/offers", Some(&seller),
              json!({"zone": "eu-west-1a", "sla_tier": "gold",
                     "prices": [{"flavor_id": "s1.small", "hourly_cents": 0}, {"flavor_id": "x9", "hourly_cents": 5},
                                {"flavor_id": "s1.large", "hourly_cents": 5}, {"flavor_id": "s1.large", "hourly_cents": 6}]}))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.json();
    let fields = common::error_fields(&body);
    assert_eq!(
        fields,
        ["prices[0]", "prices[1]", "prices[3]"],
        "zero price, unknown size, priced twice"
    );
}

#[tokio::test]
async fn nobody_sees_or_changes_another_accounts_resources() {
    let app = TestApp::new().await;
    let seller = app
        .seller_with_host("s@example.com", "eu-west-1a", HOST)
        .await;
    let rival = app
        .seller_with_host("r@example.com", "eu-west-1a", HOST)
        .await;
    let offer = app
        .offer(&seller.token, "eu-west-1a", "gold", &[("s1.small", 100)])
        .await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let snoop = app.sign_up("snoop@example.com", &["buyer"]).await;
    let card = app.card(&buyer, "4242 4242 4242 4242").await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await.json();
    let order_id = order["id"].as_str().unwrap();
    let instance = order["instances"][0]["id"].as_str().unwrap();

    // Another buyer: 404 on the instance, its actions and the order.
    for (method, path) in [
        ("GET", format!("/api/v1/instances/{instance}")),
        ("POST", format!("/api/v1/instances/{instance}/stop")),
        ("POST", format!("/api/v1/instances/{instance}/start")),
        ("POST", format!("/api/v1/instances/{instance}/terminate")),
        ("GET", format!("/api/v1/orders/{order_id}")),
    ] {
        let res = app.send(method, &path, Some(&snoop), None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    assert_eq!(
        app.send("GET", "/api/v1/instances", Some(&snoop), None)
            .await
            .json(),
        json!([])
    );
    assert_eq!(
        app.send("GET", "/api/v1/payment-methods", Some(&snoop), None)
            .await
            .json(),
        json!([])
    );

    // Another seller: 404 on the offer, the host and the token; nothing listed.
    let res = app
        .patch(
            &format!("/api/v1/seller/offers/{offer}"),
            Some(&rival.token),
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = app
        .send(
            "POST",
            &format!("/api/v1/seller/hosts/{}/drain", seller.host_id),
            Some(&rival.token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let tokens = app
        .send(
            "GET",
            "/api/v1/seller/install-tokens",
            Some(&seller.token),
            None,
        )
        .await
        .json();
    let token_id = tokens[0]["id"].as_str().unwrap();
    let res = app
        .send(
            "DELETE",
            &format!("/api/v1/seller/install-tokens/{token_id}"),
            Some(&rival.token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let hosts = app
        .send("GET", "/api/v1/seller/hosts", Some(&rival.token), None)
        .await
        .json();
    assert_eq!(hosts.as_array().unwrap().len(), 1);
    assert_eq!(hosts[0]["id"], rival.host_id.as_str());
    // The offer is untouched.
    assert_eq!(
        app.get(&format!("/api/v1/offers/{offer}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn draining_stops_new_placements() {
    let app = TestApp::new().await;
    let (seller, offer) = app.gold_offer(HOST, 100).await;
    let res = app
        .send(
            "POST",
            &format!("/api/v1/seller/hosts/{}/drain", seller.host_id),
            Some(&seller.token),
            None,
        )
        .await;
    assert_eq!(res.json()["status"], "draining");
    assert_eq!(app.get("/api/v1/offers").await.json()["total"], 0);
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    assert_eq!(
        app.quote(&buyer, &offer, "s1.small", 1).await.status,
        StatusCode::CONFLICT
    );
    let res = app
        .send(
            "POST",
            &format!("/api/v1/seller/hosts/{}/resume", seller.host_id),
            Some(&seller.token),
            None,
        )
        .await;
    assert_eq!(res.json()["status"], "online");
    assert_eq!(
        app.quote(&buyer, &offer, "s1.small", 1).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn running_time_is_billed_per_second_with_the_commission_split() {
    let app = TestApp::new().await;
    // €36 an hour: a cent a second.
    let (seller, offer, buyer, card) = app.shop(HOST, 3600).await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await.json();
    let id = order["instances"][0]["id"].as_str().unwrap().to_owned();
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;

    // 90 seconds, billed by the background job at 60 s and then on stop
    // (the host heartbeats: an unreachable host's time is not billed).
    app.state.clock.advance(60_000);
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;
    sparecloud_server::jobs::run_once(&app.state).await.unwrap();
    app.state.clock.advance(30_000);
    let res = app.instance_action(&buyer, &id, "stop").await;
    assert_eq!(res.json()["status"], "stopping");
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "stopped")])
        .await;
    // Stopped time is free (the host keeps heartbeating: a host lost for
    // longer than the grace period fails its instances).
    app.state.clock.advance(3_600_000);
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "stopped")])
        .await;
    sparecloud_server::jobs::run_once(&app.state).await.unwrap();

    let detail = app.instance_detail(&buyer, &id).await;
    assert_eq!(detail["instance"]["status"], "stopped");
    assert_eq!(detail["instance"]["cost_so_far_cents"], 90);
    let (entries, charged, commission, earned): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(buyer_charge_cents) AS BIGINT), CAST(SUM(commission_cents) AS BIGINT),
                CAST(SUM(seller_earnings_cents) AS BIGINT) FROM ledger_entries",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(
        (entries, charged, commission, earned),
        (2, 90, 13, 77),
        "15 % of 90 rounds down to 13"
    );
    let earnings = app
        .send("GET", "/api/v1/seller/earnings", Some(&seller.token), None)
        .await
        .json();
    assert_eq!(earnings["gross_cents"], 90);
    assert_eq!(earnings["commission_cents"], 13);
    assert_eq!(earnings["net_cents"], 77);
    assert_eq!(earnings["days"][0]["date"], "2026-11-18");

    // Start again: billing resumes from the restart.
    let res = app.instance_action(&buyer, &id, "start").await;
    assert_eq!(res.json()["status"], "provisioning");
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;
    app.state.clock.advance(10_000);
    let detail = app.instance_detail(&buyer, &id).await;
    assert_eq!(detail["instance"]["cost_so_far_cents"], 100);
}

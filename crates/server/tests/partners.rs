//! Partner portals: the public embed config, framing rules of embed pages,
//! orders through an embed and the partner's share in the ledger.

mod common;

use axum::http::{Request, StatusCode, header};
use common::TestApp;
use serde_json::{Value, json};
use sparecloud_server::domain::ledger;
use sparecloud_server::domain::partners::{self, DEFAULT_SHARE_BP, NewPartner};

const HOST: (u32, u32, u32) = (8, 32, 500);

async fn acme(app: &TestApp) -> String {
    partners::add(
        &app.state.db,
        &NewPartner {
            id: "acme".into(),
            name: "Acme Hosting".into(),
            origins: vec![
                "https://portal.acme.example".into(),
                "http://127.0.0.1:8081/".into(),
            ],
            share_bp: DEFAULT_SHARE_BP,
            accent_color: "#AA3300".into(),
            logo_url: Some("https://portal.acme.example/logo.svg".into()),
        },
        app.state.clock.now(),
    )
    .await
    .unwrap()
}

fn csp(res: &common::TestResponse) -> String {
    res.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn embed_config_is_public_and_only_partners_origins_may_frame_the_embed() {
    let app = TestApp::new().await;
    acme(&app).await;
    let res = app.get("/api/v1/partners/acme/embed-config").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.json(),
        json!({"id": "acme", "name": "Acme Hosting", "accent_color": "#aa3300",
               "logo_url": "https://portal.acme.example/logo.svg",
               "allowed_origins": ["https://portal.acme.example", "http://127.0.0.1:8081"]})
    );
    assert_eq!(
        app.get("/api/v1/partners/nobody/embed-config").await.status,
        StatusCode::NOT_FOUND
    );

    let embed = app.get("/embed/acme/marketplace").await;
    assert_eq!(embed.status, StatusCode::OK);
    assert!(embed.text().contains("app shell"), "the app's page");
    assert!(
        csp(&embed)
            .ends_with("; frame-ancestors https://portal.acme.example http://127.0.0.1:8081"),
        "{}",
        csp(&embed)
    );
    assert_eq!(csp(&app.get("/embed/acme").await), csp(&embed));
    assert!(csp(&app.get("/embed/nobody/marketplace").await).ends_with("; frame-ancestors 'none'"));
    for path in ["/", "/marketplace", "/checkout/off_1", "/api/v1/health"] {
        let policy = csp(&app.get(path).await);
        assert!(
            policy.ends_with("; frame-ancestors 'none'"),
            "{path}: {policy}"
        );
    }
}

/// The embed session acme's embed page carries in its head.
async fn embed_session(app: &TestApp, partner: &str) -> String {
    let page = app.get(&format!("/embed/{partner}/marketplace")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let start = html
        .find(r#"<meta name="sparecloud-embed-session" content=""#)
        .unwrap_or_else(|| panic!("no embed session in {html}"))
        + r#"<meta name="sparecloud-embed-session" content=""#.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn orders_through_an_embed_credit_the_partner_out_of_the_commission() {
    let app = TestApp::new().await;
    let key = acme(&app).await;
    let (seller, offer) = app.gold_offer(HOST, 1000).await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let card = app.card(&buyer, "4242 4242 4242 4242").await;
    let quote = app.quote(&buyer, &offer, "s1.small", 1).await.json();
    let order_with = |fields: Value, key: &'static str| {
        let mut body = json!({"quote_id": quote["id"], "payment_method_id": card,
                              "ssh_public_key": common::ED25519_KEY});
        for (name, value) in fields.as_object().unwrap() {
            body[name] = value.clone();
        }
        Request::post("/api/v1/orders")
            .header(header::AUTHORIZATION, format!("Bearer {buyer}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", key)
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };

    // A forged, tampered or expired session is refused.
    let session = embed_session(&app, "acme").await;
    let (signed, signature) = session.rsplit_once('.').unwrap();
    let other_partner = signed.replace(".acme", ".zeta");
    for forged in [
        "v1.99999999999999.acme.00".to_owned(),
        format!("{other_partner}.{signature}"),
        format!("{signed}.{}", "0".repeat(signature.len())),
    ] {
        let res = app
            .request(order_with(json!({"embed_session": forged}), "k-0"))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{forged}");
        assert_eq!(res.json()["errors"][0]["field"], "embed_session");
    }
    // A partner id of the buyer's own choosing attributes nothing.
    let res = app
        .request(order_with(json!({"partner_id": "acme"}), "k-own"))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert!(res.json()["partner_id"].is_null(), "{}", res.text());
    let quote = app.quote(&buyer, &offer, "s1.small", 1).await.json();
    let order_with = |fields: Value, key: &'static str| {
        let mut body = json!({"quote_id": quote["id"], "payment_method_id": card,
                              "ssh_public_key": common::ED25519_KEY});
        for (name, value) in fields.as_object().unwrap() {
            body[name] = value.clone();
        }
        Request::post("/api/v1/orders")
            .header(header::AUTHORIZATION, format!("Bearer {buyer}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", key)
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };

    // Through acme's embed page: its signed session.
    let res = app
        .request(order_with(json!({"embed_session": session}), "k-1"))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let order = res.json();
    assert_eq!(order["partner_id"], "acme");
    let id = order["instances"][0]["id"].as_str().unwrap().to_owned();
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;

    // Ten hours at €10.00: €100.00 charged, €15.00 commission, of which the
    // partner's 20 % is €3.00.
    app.state.clock.advance(10 * 3_600_000);
    ledger::accrue_running(&app.state.db, app.state.clock.now(), 0)
        .await
        .unwrap();
    let res = app
        .send("GET", "/api/v1/partner/ledger", Some(&key), None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let ledger = res.json();
    assert_eq!(ledger["share_bp"], 2000);
    assert_eq!(ledger["total_share_cents"], 300);
    assert_eq!(ledger["entries"][0]["instance_id"], id.as_str());
    assert_eq!(ledger["entries"][0]["buyer_charge_cents"], 10_000);
    assert_eq!(ledger["entries"][0]["commission_cents"], 1500);

    // The seller still earns charge minus the whole commission.
    let earnings = app
        .send("GET", "/api/v1/seller/earnings", Some(&seller.token), None)
        .await
        .json();
    assert_eq!(earnings["net_cents"], 8500);

    // The ledger is the partner's only.
    assert_eq!(
        app.send("GET", "/api/v1/partner/ledger", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.send("GET", "/api/v1/partner/ledger", Some(&buyer), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

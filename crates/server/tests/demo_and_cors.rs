//! `--demo` seeding, CORS for partner origins, and the per-address
//! sign-in limit.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::TestApp;
use serde_json::json;
use sparecloud_server::{AppState, Settings, app, demo};

#[tokio::test]
async fn the_demo_can_add_a_host_of_this_machine_that_runs_real_machines_once() {
    let app = TestApp::new().await;
    let agents = app.dir.path().join("demo-agents");
    demo::seed(&app.state, &agents, true).await.unwrap();
    demo::seed(&app.state, &agents, true).await.unwrap();
    let offers = app.get("/api/v1/offers").await.json();
    assert_eq!(offers["total"], 4, "the three demo sellers and the lab");
    for host in ["lab-qemu-01", "lab-qemu-02"] {
        let lab = agents.join(host);
        assert_eq!(std::fs::read_to_string(lab.join("driver")).unwrap(), "qemu");
    }
    assert!(
        !agents.join("nordlicht-fra-01/driver").exists(),
        "the others are simulated"
    );
    let images = app.get("/api/v1/images").await.json();
    assert!(
        images
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == "sparecloud-test" && i["name"] == "Sparecloud test image (busybox)")
    );
}

#[tokio::test]
async fn demo_data_is_a_living_marketplace_seeded_once() {
    let app = TestApp::new().await;
    let agents = app.dir.path().join("demo-agents");
    demo::seed(&app.state, &agents, false).await.unwrap();
    demo::seed(&app.state, &agents, false).await.unwrap();

    let offers = app.get("/api/v1/offers").await.json();
    assert_eq!(offers["total"], 3);
    let zones = app.get("/api/v1/zones").await.json();
    assert_eq!(zones.as_array().unwrap().len(), 3);
    let (hosts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM hosts")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(hosts, 5);

    // Every demo host has agent state its simulated agent can run from.
    let dirs: Vec<_> = std::fs::read_dir(&agents).unwrap().collect();
    assert_eq!(dirs.len(), 5);
    let host = dirs[0].as_ref().unwrap().path().join("host.json");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&host).unwrap()).unwrap();
    assert!(state["credential"].as_str().unwrap().starts_with("sc_h_"));
    assert!(state["declared_capacity"]["vcpu"].as_u64().unwrap() >= 16);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&host).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The credential works for heartbeats.
    let res = app
        .heartbeat(state["credential"].as_str().unwrap(), (32, 128, 2000), &[])
        .await;
    assert_eq!(res.status, StatusCode::OK);

    let signed_in = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": demo::DEMO_BUYER_EMAIL, "password": demo::DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::CREATED);
}

#[tokio::test]
async fn configured_origins_may_call_the_api_and_others_may_not() {
    let base = TestApp::new().await;
    let mut settings = Settings::new(base.dir.path().join("dist"));
    settings.cors_origins = vec!["https://portal.example".into()];
    let router = app(AppState {
        settings: std::sync::Arc::new(settings),
        ..base.state.clone()
    });
    let preflight = |origin: &'static str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/v1/offers")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .unwrap()
    };
    use tower::ServiceExt;
    let allowed = router
        .clone()
        .oneshot(preflight("https://portal.example"))
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://portal.example"
    );
    let other = router
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // Without configured origins there are no CORS headers at all.
    let res = base.send("GET", "/api/v1/health", None, None).await;
    assert!(res.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn one_address_failing_many_sign_ins_is_slowed_down() {
    let app = TestApp::new().await;
    let attempt = |email: String| {
        let mut request = Request::post("/api/v1/sessions")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"email": email, "password": "wrong password!"}).to_string(),
            ))
            .unwrap();
        let addr: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        app.request(request)
    };
    // Twenty failures spread over twenty accounts: no account limit is hit.
    for i in 0..20 {
        assert_eq!(
            attempt(format!("user{i}@example.com")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let res = attempt("fresh@example.com".into()).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text());
}

/// Behind our own proxy every request comes from the proxy's address: the
/// per-address limit counts the client the proxy names in X-Forwarded-For,
/// and a client cannot name itself anyone else.
#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_limited_not_the_proxy() {
    let app = TestApp::with_settings(|s| {
        s.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    let attempt = |peer: &str, forwarded: &str, email: String| {
        let mut request = Request::post("/api/v1/sessions")
            .header("content-type", "application/json")
            .header("x-forwarded-for", forwarded)
            .body(Body::from(
                json!({"email": email, "password": "wrong password!"}).to_string(),
            ))
            .unwrap();
        let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        app.request(request)
    };
    // Twenty failures from one client, through the proxy.
    for i in 0..20 {
        let res = attempt("10.0.0.2", "198.51.100.1", format!("user{i}@example.com")).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let limited = attempt("10.0.0.2", "198.51.100.1", "fresh@example.com".into()).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    // Another client through the same proxy is not held back; nor is one
    // that claims a different address left of what the proxy appended.
    let other = attempt("10.0.0.2", "198.51.100.2", "fresh@example.com".into()).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{}", other.text());
    let spoofed = attempt(
        "10.0.0.2",
        "203.0.113.50, 198.51.100.1",
        "fresh@example.com".into(),
    )
    .await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS);
    // From outside our proxies the header is nobody's word: twenty
    // failures from one peer naming twenty different clients are one address.
    for i in 0..20 {
        let res = attempt(
            "203.0.113.9",
            &format!("198.51.100.{}", 100 + i),
            format!("other{i}@example.com"),
        )
        .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let outside = attempt("203.0.113.9", "198.51.100.250", "fresh@example.com".into()).await;
    assert_eq!(outside.status, StatusCode::TOO_MANY_REQUESTS);
}

//! API keys: made signed in, shown once, stored hashed; a `read` key may
//! only read, a `full` key may order; revoked and expired keys are refused
//! with a problem that says so; keys never manage keys or sessions.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{Value, json};
use sparecloud_server::auth::token_hash;
use sparecloud_server::clock::rfc3339;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn create_key(app: &TestApp, session: &str, body: Value) -> Value {
    let res = app.post("/api/v1/api-keys", Some(session), body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()
}

#[tokio::test]
async fn a_key_is_shown_once_stored_hashed_and_listed_without_its_secret() {
    let app = TestApp::new().await;
    let session = app.sign_up("ada@example.com", &["buyer"]).await;
    let created = create_key(
        &app,
        &session,
        json!({"name": "CI deploys", "scope": "read"}),
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("sck_") && secret.len() == 4 + 64,
        "{secret}"
    );
    assert_eq!(created["key"]["scope"], "read");
    assert_eq!(created["key"]["prefix"], &secret[..12]);
    assert_eq!(created["key"]["last_used_at"], Value::Null);
    // 90 days by default.
    let now = app.state.clock.now();
    assert_eq!(created["key"]["created_at"], rfc3339(now));
    assert_eq!(created["key"]["expires_at"], rfc3339(now + 90 * DAY_MS));

    let (stored,): (String,) = sqlx::query_as("SELECT key_hash FROM api_keys")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(stored, token_hash(secret), "only the hash is kept");

    // It works as the account, and its use is noted.
    let me = app.send("GET", "/api/v1/me", Some(secret), None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json()["email"], "ada@example.com");
    let listed = app
        .send("GET", "/api/v1/api-keys", Some(&session), None)
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(secret), "{listed}");
    assert_eq!(listed[0]["last_used_at"], rfc3339(now));
}

#[tokio::test]
async fn a_read_key_only_reads_and_a_full_key_acts() {
    let app = TestApp::new().await;
    let session = app.sign_up("ada@example.com", &["buyer"]).await;
    let read = create_key(
        &app,
        &session,
        json!({"name": "dashboards", "scope": "read"}),
    )
    .await;
    let read = read["secret"].as_str().unwrap();
    let full = create_key(
        &app,
        &session,
        json!({"name": "fleet", "scope": "full", "expires_in_days": 7}),
    )
    .await;
    let full = full["secret"].as_str().unwrap();
    let quote = json!({"offer_id": "off_none", "image_id": "debian-12", "sla_tier": "gold", "flavor_id": "s1.small", "count": 1});

    assert_eq!(
        app.send("GET", "/api/v1/instances", Some(read), None)
            .await
            .status,
        StatusCode::OK
    );
    let refused = app.post("/api/v1/quotes", Some(read), quote.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json()["type"],
        "https://sparecloud.dev/problems/api-key-scope"
    );
    let refused = app
        .send("POST", "/api/v1/orders", Some(read), Some(json!({})))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a read key never orders"
    );

    // A full key gets as far as the quote itself (no such offer here).
    let tried = app.post("/api/v1/quotes", Some(full), quote).await;
    assert_eq!(tried.status, StatusCode::NOT_FOUND, "{}", tried.text());

    // Keys and sessions are a person's business, never a key's.
    for (method, path) in [
        ("GET", "/api/v1/api-keys"),
        ("DELETE", "/api/v1/sessions"),
        ("DELETE", "/api/v1/sessions/current"),
    ] {
        let res = app.send(method, path, Some(full), None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    let res = app
        .post(
            "/api/v1/api-keys",
            Some(full),
            json!({"name": "more", "scope": "full"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn revoked_and_expired_keys_are_refused_saying_why() {
    let app = TestApp::new().await;
    let session = app.sign_up("ada@example.com", &["buyer"]).await;
    let other = app.sign_up("eve@example.com", &["buyer"]).await;
    let revoked = create_key(
        &app,
        &session,
        json!({"name": "old laptop", "scope": "full"}),
    )
    .await;
    let id = revoked["key"]["id"].as_str().unwrap();
    // Only its owner revokes it.
    let res = app
        .send(
            "DELETE",
            &format!("/api/v1/api-keys/{id}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = app
        .send(
            "DELETE",
            &format!("/api/v1/api-keys/{id}"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = app
        .send("GET", "/api/v1/me", revoked["secret"].as_str(), None)
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json()["type"],
        "https://sparecloud.dev/problems/api-key-revoked"
    );
    let listed = app
        .send("GET", "/api/v1/api-keys", Some(&session), None)
        .await
        .json();
    assert_eq!(listed, json!([]), "revoked keys leave the list");

    let short = create_key(
        &app,
        &session,
        json!({"name": "one day", "scope": "read", "expires_in_days": 1}),
    )
    .await;
    app.state.clock.advance(DAY_MS);
    let res = app
        .send("GET", "/api/v1/me", short["secret"].as_str(), None)
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json()["type"],
        "https://sparecloud.dev/problems/api-key-expired"
    );

    let res = app
        .send(
            "GET",
            "/api/v1/me",
            Some(&format!("sck_{}", "0".repeat(64))),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json()["type"],
        "https://sparecloud.dev/problems/unauthorized"
    );
}

#[tokio::test]
async fn bad_key_requests_get_field_errors() {
    let app = TestApp::new().await;
    let session = app.sign_up("ada@example.com", &["buyer"]).await;
    let res = app
        .post(
            "/api/v1/api-keys",
            Some(&session),
            json!({"name": "   ", "scope": "full", "expires_in_days": 366}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        common::error_fields(&res.json()),
        ["name", "expires_in_days"]
    );
    let res = app
        .post(
            "/api/v1/api-keys",
            Some(&session),
            json!({"name": "x", "scope": "admin"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .post(
            "/api/v1/api-keys",
            None,
            json!({"name": "x", "scope": "read"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

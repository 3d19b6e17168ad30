//! What an attacker tries in parallel: each case runs on SQLite and, under
//! `make test`, again on PostgreSQL.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

/// 40 wrong passwords at once: the limit (5 free attempts per account, then
/// a growing wait) holds, because every attempt is counted before its
/// password is checked.
#[tokio::test]
async fn parallel_sign_in_guesses_are_limited_like_serial_ones() {
    let app = TestApp::new().await;
    app.sign_up("victim@example.com", &["buyer"]).await;
    let guesses: Vec<_> = (0..40)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post(
                    "/api/v1/sessions",
                    None,
                    json!({"email": "victim@example.com", "password": format!("guess number {i}")}),
                )
                .await
                .status
            })
        })
        .collect();
    let mut checked = 0;
    let mut refused = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(checked, 5, "only five passwords were checked");
    assert_eq!(refused, 35);
}

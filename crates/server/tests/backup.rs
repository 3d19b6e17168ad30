//! Backing up the SQLite database while the server writes, and restoring
//! the backup into a new database that a server answers from.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestApp;
use http_body_util::BodyExt;
use serde_json::Value;
use sparecloud_server::{AppState, Settings, app, cli, db};
use tower::ServiceExt;

async fn get(router: &axum::Router, path: &str) -> (StatusCode, Value) {
    let res = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_backup_taken_under_load_restores_into_a_server_that_answers_the_same() {
    let app_under_test = TestApp::new().await;
    let file = app_under_test.dir.path().join("backup.sqlite");
    if !db::is_sqlite(&app_under_test.state.db) {
        // The PostgreSQL pass: the command says what to use instead.
        let refused = cli::backup(&app_under_test.state.db, &file)
            .await
            .unwrap_err();
        assert!(refused.contains("pg_dump"), "{refused}");
        return;
    }
    let (_seller, offer) = app_under_test.small_gold_offer().await;
    app_under_test.sign_up("b@example.com", &["buyer"]).await;

    // Sign-ups keep writing while the backup is taken.
    let writer = {
        let app = app_under_test.clone();
        tokio::spawn(async move {
            for i in 0..8 {
                app.sign_up(&format!("w{i}@example.com"), &["buyer"]).await;
            }
        })
    };
    cli::backup(&app_under_test.state.db, &file).await.unwrap();
    writer.await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "it holds password hashes");
    let again = cli::backup(&app_under_test.state.db, &file)
        .await
        .unwrap_err();
    assert!(again.contains("exists already"), "{again}");

    // Restored into a new database, a server answers the same offer, and
    // the buyer signs in.
    let restored_path = app_under_test.dir.path().join("restored/db.sqlite");
    let url = format!("sqlite://{}", restored_path.display());
    let pool = cli::restore(&url, &file).await.unwrap();
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let (accounts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        (2..=10).contains(&accounts),
        "a consistent moment: {accounts}"
    );
    let restored = app(AppState::new(
        pool,
        Settings::new(app_under_test.dir.path().join("dist")),
    ));
    let path = format!("/api/v1/offers/{offer}");
    let original = app_under_test.get(&path).await;
    let (status, answer) = get(&restored, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["id"], original.json()["id"]);
    assert_eq!(answer["prices"], original.json()["prices"]);
    assert_eq!(answer["seller_name"], original.json()["seller_name"]);
    let signed_in = restored
        .clone()
        .oneshot(
            Request::post("/api/v1/sessions")
                .header("content-type", "application/json")
                .body(Body::from(
                    r#"{"email":"b@example.com","password":"correct horse battery"}"#,
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::CREATED);

    // Never over an existing database, and never from a file that is not
    // a Sparecloud backup.
    let over = cli::restore(&url, &file).await.unwrap_err();
    assert!(over.contains("exists already"), "{over}");
    let junk = app_under_test.dir.path().join("junk.sqlite");
    std::fs::write(&junk, "not a database").unwrap();
    let other = format!(
        "sqlite://{}",
        app_under_test.dir.path().join("other/db.sqlite").display()
    );
    assert!(cli::restore(&other, &junk).await.is_err());
    assert!(!app_under_test.dir.path().join("other/db.sqlite").exists());
}

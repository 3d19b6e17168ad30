//! Card numbers and CVCs are neither stored nor logged. In a test binary of
//! its own: the log capture uses a thread-scoped subscriber, which other
//! tests running in parallel in the same process can keep from seeing
//! events (tracing caches each callsite's interest process-wide).

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

/// Collects every log line the server writes during a test.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether `needle` stands in `haystack` as a value of its own (not inside
/// a longer run of letters and digits, such as a hex id).
fn contains_standalone(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .enumerate()
        .any(|(i, window)| {
            window == needle
                && (i == 0 || !haystack[i - 1].is_ascii_alphanumeric())
                && haystack
                    .get(i + needle.len())
                    .is_none_or(|b| !b.is_ascii_alphanumeric())
        })
}

#[tokio::test]
async fn card_numbers_and_cvcs_are_neither_stored_nor_logged() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::new().await;
    let (_, offer) = app.small_gold_offer().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let number = "3782 822463 10005";
    let cvc = "7391";
    // Our API takes no card data in any shape: the card goes to Stripe.
    for body in [
        json!({"holder_name": "Ada Lovelace", "number": number, "exp_month": 11, "exp_year": 2031, "cvc": cvc}),
        json!({"holder_name": "Ada Lovelace", "setup_intent_id": "seti_x", "cvc": cvc}),
        json!({"holder_name": "Ada", "card": {"number": "4242 4242 4242 4241", "cvc": "8642"}}),
    ] {
        let rejected = app
            .post("/api/v1/payment-methods", Some(&buyer), body)
            .await;
        assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            rejected.json()["type"],
            "https://sparecloud.dev/problems/card-data-refused"
        );
        assert!(!rejected.text().contains("822463"));
        assert!(!rejected.text().contains("4241"));
    }
    // The real path: the card confirmed at Stripe, saved by its id.
    let card = app.card(&buyer, "4242 4242 4242 4242").await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());

    let mut stored = Vec::new();
    if !sparecloud_server::db::is_sqlite(&app.state.db) {
        // PostgreSQL: every row of every table, as text.
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(&app.state.db)
        .await
        .unwrap();
        for (table,) in tables {
            let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT t::text FROM {table} t"))
                .fetch_all(&app.state.db)
                .await
                .unwrap();
            for (row,) in rows {
                stored.extend(row.into_bytes());
                stored.push(b'\n');
            }
        }
    }
    app.state.db.close().await;
    for entry in std::fs::read_dir(app.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("test.db")
        {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(!stored.is_empty());
    let logged = logs.0.lock().unwrap().clone();
    assert!(!logged.is_empty(), "the test captured the server's logs");
    for (what, bytes) in [("database", &stored), ("logs", &logged)] {
        for digits in [
            "378282246310005",
            "3782 822463 10005",
            "4242424242424241",
            "4242 4242 4242 4241",
        ] {
            assert!(
                !contains_standalone(bytes, digits.as_bytes()),
                "card number in the {what}"
            );
        }
        for code in [cvc, "8642"] {
            assert!(
                !contains_standalone(bytes, code.as_bytes()),
                "CVC in the {what}"
            );
        }
    }
}

/// Every request body the API documents, walked for anything shaped like
/// card data: no schema has a card number, CVC or expiry field.
#[tokio::test]
async fn no_request_body_the_api_accepts_has_a_card_field() {
    let app = TestApp::new().await;
    let doc = app.get("/api/v1/openapi.json").await.json();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut bodies = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if let Some(body) = operation.get("requestBody") {
                bodies.push((format!("{method} {path}"), body.clone()));
            }
        }
    }
    assert!(bodies.len() > 10, "{} bodies", bodies.len());
    fn fields(
        value: &serde_json::Value,
        schemas: &serde_json::Map<String, serde_json::Value>,
        seen: &mut Vec<String>,
        out: &mut Vec<String>,
    ) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(|r| r.as_str()) {
                    let name = reference.rsplit('/').next().unwrap().to_owned();
                    if !seen.contains(&name) {
                        seen.push(name.clone());
                        fields(&schemas[&name], schemas, seen, out);
                    }
                }
                if let Some(properties) = map.get("properties").and_then(|p| p.as_object()) {
                    out.extend(properties.keys().cloned());
                }
                for child in map.values() {
                    fields(child, schemas, seen, out);
                }
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|i| fields(i, schemas, seen, out))
            }
            _ => {}
        }
    }
    for (operation, body) in bodies {
        let mut names = Vec::new();
        fields(&body, schemas, &mut Vec::new(), &mut names);
        for name in names {
            let lower = name.to_lowercase();
            assert!(
                ![
                    "number",
                    "card_number",
                    "cvc",
                    "cvv",
                    "exp_month",
                    "exp_year",
                    "pan"
                ]
                .contains(&lower.as_str()),
                "{operation} accepts a {name} field"
            );
        }
    }
}

/// A malformed body is refused naming the field and what it should be,
/// never echoing the value (a card number sent where it does not belong).
#[tokio::test]
async fn malformed_bodies_are_refused_without_their_values() {
    let app = TestApp::new().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let bodies = [
        (
            "/api/v1/payment-methods",
            r#"{"holder_name": 4242424242424242, "setup_intent_id": "seti_1"}"#,
        ),
        (
            "/api/v1/quotes",
            r#"{"offer_id": "o", "image_id": "i", "sla_tier": "gold", "flavor_id": "f", "count": "4242 4242 4242 4242"}"#,
        ),
    ];
    for (path, body) in bodies {
        let request = axum::http::Request::post(path)
            .header("authorization", format!("Bearer {buyer}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap();
        let res = app.request(request).await;
        assert!(res.status.is_client_error(), "{path}: {}", res.status);
        let text = res.text();
        assert!(!text.contains("4242"), "{path}: {text}");
        assert!(text.contains("invalid type"), "{path}: {text}");
    }
}

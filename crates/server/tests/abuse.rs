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

/// Quotes are free and hold capacity: one buyer holds at most five at once,
/// even asking for eight at the same moment; a new quote for the same
/// offer replaces the buyer's older one, whose capacity comes back.
#[tokio::test]
async fn a_buyer_holds_at_most_five_open_quotes_and_one_per_offer() {
    let app = TestApp::new().await;
    let mut offers = Vec::new();
    for i in 0..8 {
        let seller = app
            .seller_with_host(&format!("s{i}@example.com"), "eu-west-1a", (4, 8, 80))
            .await;
        offers.push(
            app.offer(&seller.token, "eu-west-1a", "gold", &[("s1.small", 100)])
                .await,
        );
    }
    let buyer = app.sign_up("hoarder@example.com", &["buyer"]).await;
    let attempts: Vec<_> = offers
        .iter()
        .map(|offer| {
            let (app, buyer, offer) = (app.clone(), buyer.clone(), offer.clone());
            tokio::spawn(async move { app.quote(&buyer, &offer, "s1.small", 4).await.status })
        })
        .collect();
    let mut held = 0;
    let mut refused = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            StatusCode::CREATED => held += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((held, refused), (5, 3));

    // The same offer again: the older quote is released, not added to.
    let held_quotes = || async {
        sqlx::query_as::<_, (String, String)>(
            "SELECT q.id, q.offer_id FROM quotes q JOIN accounts a ON a.id = q.buyer_id
             WHERE a.email = 'hoarder@example.com' AND q.status = 'held' ORDER BY q.id",
        )
        .fetch_all(&app.state.db)
        .await
        .unwrap()
    };
    let before = held_quotes().await;
    let (old_quote, offer) = before[0].clone();
    let again = app.quote(&buyer, &offer, "s1.small", 4).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text());
    let after = held_quotes().await;
    assert_eq!(after.len(), 5, "still five open quotes");
    assert!(
        !after.iter().any(|(id, _)| *id == old_quote),
        "the old one went"
    );

    // Search shows the room really left: the five hosts held in full are
    // not offered.
    assert_eq!(app.get("/api/v1/offers").await.json()["total"], 3);

    // Another buyer can quote every offer the hoarder does not hold.
    let other = app.sign_up("other@example.com", &["buyer"]).await;
    let mut free = 0;
    for offer in &offers {
        if app.quote(&other, offer, "s1.small", 1).await.status == StatusCode::CREATED {
            free += 1;
        }
    }
    assert_eq!(free, 3, "the three offers the hoarder was refused");
}

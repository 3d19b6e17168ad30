//! Quotes, payments and orders: binding prices, capacity holds, no
//! overbooking under concurrency, idempotent orders, declined cards, and
//! card data that is never stored or logged.

mod common;

use axum::http::StatusCode;
use common::{SMALL_HOST, TestApp};
use serde_json::{Value, json};

#[tokio::test]
async fn a_quote_prices_the_order_and_holds_the_capacity() {
    let app = TestApp::new().await;
    let (seller, offer) = app.small_gold_offer().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;

    let res = app.quote(&buyer, &offer, "s1.small", 3).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let quote = res.json();
    assert_eq!(quote["unit_hourly_cents"], 120);
    assert_eq!(quote["hourly_total_cents"], 360);
    assert_eq!(quote["commission_hourly_cents"], 54, "15 % included");
    assert_eq!(quote["estimated_month_cents"], 360 * 730);
    assert_eq!(quote["zones"], json!(["eu-west-1a"]));
    assert_eq!(app.allocated(&seller.host_id).await, (3, 6, 60));

    // Only one more small instance fits while the hold lasts.
    let other = app.sign_up("o@example.com", &["buyer"]).await;
    let res = app.quote(&other, &offer, "s1.small", 2).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(
        res.json()["type"],
        "https://sparecloud.dev/problems/capacity-unavailable"
    );

    // After ten minutes the hold is released.
    app.state.clock.advance(10 * 60 * 1000);
    let released = sparecloud_server::domain::quotes::release_expired_quotes(&app.state)
        .await
        .unwrap();
    assert_eq!(released, 1);
    assert_eq!(app.allocated(&seller.host_id).await, (0, 0, 0));
    assert_eq!(
        app.quote(&buyer, &offer, "s1.small", 4).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn quotes_are_validated() {
    let app = TestApp::new().await;
    let seller = app
        .seller_with_host("s@example.com", "eu-west-1a", SMALL_HOST)
        .await;
    let offer = app
        .offer(&seller.token, "eu-west-1a", "silver", &[("s1.small", 100)])
        .await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let res = app
        .post(
            "/api/v1/quotes",
            Some(&buyer),
            json!({"offer_id": offer, "image_id": "windows-95", "sla_tier": "gold",
                   "flavor_id": "s1.large", "count": 0}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = res.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["image_id", "sla_tier", "flavor_id", "count"]);
    let missing = app.quote(&buyer, "off_nope", "s1.small", 1).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let anonymous = app.post("/api/v1/quotes", None, json!({})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_order_creates_pending_instances_on_the_held_host() {
    let app = TestApp::new().await;
    let (seller, offer) = app.small_gold_offer().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let card = app.card(&buyer, "4242 4242 4242 4242").await;

    let res = app.buy(&buyer, &card, &offer, "s1.small", 2).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let order = res.json();
    assert_eq!(order["status"], "completed");
    let instances = order["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2);
    assert!(
        instances
            .iter()
            .all(|i| i["status"] == "pending" && i["zone"] == "eu-west-1a")
    );
    // The held capacity is now the instances'.
    assert_eq!(app.allocated(&seller.host_id).await, (2, 4, 40));
    let listed = app
        .send("GET", "/api/v1/instances", Some(&buyer), None)
        .await;
    assert_eq!(listed.json().as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_order_and_never_charges_twice() {
    let app = TestApp::new().await;
    let (_, offer) = app.small_gold_offer().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let card = app.card(&buyer, "4242424242424242").await;
    let quote = app.quote(&buyer, &offer, "s1.small", 1).await.json();
    let quote_id = quote["id"].as_str().unwrap();

    let first = app.order(&buyer, quote_id, &card, "attempt-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let again = app.order(&buyer, quote_id, &card, "attempt-1").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(first.json()["id"], again.json()["id"]);
    assert_eq!(first.json()["instances"], again.json()["instances"]);

    // Concurrent retries of one key: one order, one authorisation.
    let quote2 = app.quote(&buyer, &offer, "s1.small", 1).await.json();
    let quote2_id = quote2["id"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (app, buyer, card, quote2_id) =
            (app.clone(), buyer.clone(), card.clone(), quote2_id.clone());
        tasks.push(tokio::spawn(async move {
            app.order(&buyer, &quote2_id, &card, "attempt-2")
                .await
                .status
        }));
    }
    let mut created = 0;
    for task in tasks {
        let status = task.await.unwrap();
        assert!(
            [StatusCode::CREATED, StatusCode::OK, StatusCode::CONFLICT].contains(&status),
            "{status}"
        );
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 1);

    let (orders, authorisations): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT authorization_id) FROM orders WHERE status = 'completed'",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!((orders, authorisations), (2, 2));
    // Stripe holds exactly those two authorisations, uncaptured.
    let intents = app.payment_intents("b@example.com").await;
    assert_eq!(intents.len(), 2, "{intents:#?}");
    assert!(intents.iter().all(|pi| pi["status"] == "requires_capture"));
    let (instances,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM instances")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(instances, 2);

    // A key reused for another request is refused.
    let quote3 = app.quote(&buyer, &offer, "s1.small", 1).await.json();
    let reused = app
        .order(&buyer, quote3["id"].as_str().unwrap(), &card, "attempt-1")
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reused.json()["type"],
        "https://sparecloud.dev/problems/idempotency-key"
    );
}

#[tokio::test]
async fn cards_stripe_refuses_are_never_saved() {
    let app = TestApp::new().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    for number in ["4000 0000 0000 0002", "4000 0000 0000 9995"] {
        let (status, setup_intent, answer) = app.confirm_card(&buyer, number).await;
        assert_eq!(status, 402, "{answer}");
        assert_eq!(answer["error"]["code"], "card_declined");
        let saved = app
            .post(
                "/api/v1/payment-methods",
                Some(&buyer),
                json!({"holder_name": "Ada", "setup_intent_id": setup_intent}),
            )
            .await;
        assert_eq!(
            saved.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            saved.text()
        );
        assert_eq!(saved.json()["errors"][0]["field"], "setup_intent_id");
    }
    let cards = app
        .send("GET", "/api/v1/payment-methods", Some(&buyer), None)
        .await
        .json();
    assert_eq!(cards, json!([]));
}

/// A removed card is detached at Stripe, no longer listed, and cannot pay
/// an order; only its buyer can remove it.
#[tokio::test]
async fn a_buyer_removes_a_saved_card_and_it_is_never_charged_again() {
    let app = TestApp::new().await;
    let (_seller, offer, buyer, card) = app.shop((8, 16, 200), 100).await;
    let other = app.sign_up("o@example.com", &["buyer"]).await;
    let path = format!("/api/v1/payment-methods/{card}");
    let remove = |token: String| {
        let (app, path) = (app.clone(), path.clone());
        async move { app.send("DELETE", &path, Some(&token), None).await }
    };
    assert_eq!(remove(other.clone()).await.status, StatusCode::NOT_FOUND);

    let (stripe_id,): (String,) =
        sqlx::query_as("SELECT stripe_payment_method_id FROM payment_methods WHERE id = $1")
            .bind(&card)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    let before = app
        .stripe_get(&format!("/v1/payment_methods/{stripe_id}"))
        .await;
    assert!(before["customer"].is_string(), "{before}");
    let removed = remove(buyer.clone()).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
    assert!(
        app.stripe_get(&format!("/v1/payment_methods/{stripe_id}"))
            .await["customer"]
            .is_null(),
        "detached from the customer at Stripe"
    );
    assert_eq!(
        app.send("GET", "/api/v1/payment-methods", Some(&buyer), None)
            .await
            .json(),
        json!([])
    );
    assert_eq!(remove(buyer.clone()).await.status, StatusCode::NOT_FOUND);
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await;
    assert!(order.status.is_client_error(), "{}", order.text());
    assert!(
        app.payment_intents("b@example.com").await.is_empty(),
        "nothing was charged"
    );
}

#[tokio::test]
async fn saved_cards_hold_only_what_stripe_shows_and_belong_to_their_buyer() {
    let app = TestApp::new().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let other = app.sign_up("o@example.com", &["buyer"]).await;
    let (status, setup_intent, _) = app.confirm_card(&buyer, "4242 4242 4242 4242").await;
    assert_eq!(status, 200);
    // Another buyer cannot save it, nor can an unknown id be saved.
    for (token, id) in [
        (&other, setup_intent.as_str()),
        (&buyer, "seti_nonexistent"),
    ] {
        let res = app
            .post(
                "/api/v1/payment-methods",
                Some(token),
                json!({"holder_name": "Eve", "setup_intent_id": id}),
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    }
    let first = app.save_card(&buyer, &setup_intent).await;
    // Saving it again (the webhook may have) returns the same card.
    let again = app.save_card(&buyer, &setup_intent).await;
    assert_eq!(first, again);
    let cards = app
        .send("GET", "/api/v1/payment-methods", Some(&buyer), None)
        .await
        .json();
    assert_eq!(
        cards,
        json!([{"id": first, "brand": "Visa", "last4": "4242", "exp_month": 12, "exp_year": 2030,
                "holder_name": "Ada Lovelace"}])
    );
}

#[tokio::test]
async fn declined_cards_keep_the_quote_for_another_card() {
    let app = TestApp::new().await;
    let (_, offer) = app.small_gold_offer().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    // Stripe's test card that is saved fine but declined when charged.
    let declined = app.card(&buyer, "4000 0000 0000 0341").await;
    let good = app.card(&buyer, "4242 4242 4242 4242").await;
    let quote = app.quote(&buyer, &offer, "s1.small", 1).await.json();
    let quote_id = quote["id"].as_str().unwrap();

    let res = app.order(&buyer, quote_id, &declined, "a1").await;
    assert_eq!(res.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(
        res.json()["type"],
        "https://sparecloud.dev/problems/card-declined"
    );
    // Retrying the same attempt gives the same answer.
    let again = app.order(&buyer, quote_id, &declined, "a1").await;
    assert_eq!(again.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(again.json(), res.json());

    let res = app.order(&buyer, quote_id, &good, "a3").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    // The quote is used up now.
    let res = app.order(&buyer, quote_id, &good, "a4").await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(
        res.json()["type"],
        "https://sparecloud.dev/problems/quote-used"
    );
}

#[tokio::test]
async fn orders_need_a_valid_ssh_key_an_own_card_and_an_own_live_quote() {
    let app = TestApp::new().await;
    let (_, offer) = app.small_gold_offer().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let other = app.sign_up("o@example.com", &["buyer"]).await;
    let others_card = app.card(&other, "4242 4242 4242 4242").await;
    let card = app.card(&buyer, "4242 4242 4242 4242").await;
    let quote = app.quote(&buyer, &offer, "s1.small", 1).await.json();
    let quote_id = quote["id"].as_str().unwrap();

    let order = |key: &'static str, body: serde_json::Value| {
        let request = axum::http::Request::post("/api/v1/orders")
            .header("authorization", format!("Bearer {buyer}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        app.request(request)
    };
    let bad_key = order("k1", json!({"quote_id": quote_id, "payment_method_id": card,
        "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9"})).await;
    assert_eq!(
        bad_key.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_key.text()
    );
    assert_eq!(bad_key.json()["errors"][0]["field"], "ssh_public_key");
    let empty_key = order(
        "k2",
        json!({"quote_id": quote_id, "payment_method_id": card, "ssh_public_key": ""}),
    )
    .await;
    assert_eq!(empty_key.status, StatusCode::UNPROCESSABLE_ENTITY);

    let foreign_card = order(
        "k3",
        json!({"quote_id": quote_id, "payment_method_id": others_card,
        "ssh_public_key": common::ED25519_KEY}),
    )
    .await;
    assert_eq!(foreign_card.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        foreign_card.json()["errors"][0]["field"],
        "payment_method_id"
    );

    // Another buyer cannot order this buyer's quote.
    let other_card = app.card(&other, "4242 4242 4242 4242").await;
    let stolen = app.order(&other, quote_id, &other_card, "k4").await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND);

    let no_key = app
        .post(
            "/api/v1/orders",
            Some(&buyer),
            json!({"quote_id": quote_id, "payment_method_id": card,
            "ssh_public_key": common::ED25519_KEY}),
        )
        .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);

    app.state.clock.advance(10 * 60 * 1000 + 1);
    let expired = app.order(&buyer, quote_id, &card, "k5").await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert_eq!(
        expired.json()["type"],
        "https://sparecloud.dev/problems/quote-expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_orders_never_overbook_a_small_host() {
    let app = TestApp::new().await;
    // Room for exactly four s1.small (1 vCPU, 2 GiB, 20 GiB).
    let (seller, offer) = app.small_gold_offer().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let card = app.card(&buyer, "4242 4242 4242 4242").await;

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, buyer, card, offer) = (app.clone(), buyer.clone(), card.clone(), offer.clone());
        tasks.push(tokio::spawn(async move {
            app.buy(&buyer, &card, &offer, "s1.small", 1).await.status
        }));
    }
    let mut placed = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::CREATED => placed += 1,
            // No room left, or the quote was replaced by the buyer's next
            // one for the same offer before it was ordered.
            StatusCode::CONFLICT | StatusCode::GONE => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!((1..=4).contains(&placed), "{placed} placed");
    // What is left is bought one by one: the host ends exactly full.
    while placed < 4 {
        let res = app.buy(&buyer, &card, &offer, "s1.small", 1).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        placed += 1;
    }
    assert_eq!(
        app.buy(&buyer, &card, &offer, "s1.small", 1).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(app.allocated(&seller.host_id).await, (4, 8, 80));
    let (instances,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM instances")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(instances, 4);
}

/// As Stripe.js does for a card whose bank wants 3-D Secure: the buyer
/// completes (or fails) the challenge, at localstripe.
async fn authenticate(app: &TestApp, payment_intent: &str, client_secret: &str, success: bool) {
    let config = app.state.stripe.config();
    let res = reqwest::Client::new()
        .post(format!(
            "{}/v1/payment_intents/{payment_intent}/_authenticate?success={success}",
            config.api_base
        ))
        .json(&json!({"key": config.publishable_key, "client_secret": client_secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn an_order_the_bank_wants_confirmed_completes_with_the_same_key_once_confirmed() {
    let app = TestApp::new().await;
    let (_, offer) = app.small_gold_offer().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    // A card that needs 3-D Secure: set up after the challenge.
    let (status, setup_intent, answer) = app.confirm_card(&buyer, "4000 0025 0000 3155").await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "requires_action");
    let config = app.state.stripe.config();
    let done: Value = reqwest::Client::new()
        .post(format!(
            "{}/v1/setup_intents/{setup_intent}/confirm",
            config.api_base
        ))
        .json(&json!({"key": config.publishable_key, "client_secret": answer["client_secret"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "succeeded");
    let card = app.save_card(&buyer, &setup_intent).await;

    for (key, success) in [("3ds-fails", false), ("3ds-passes", true)] {
        let quote = app.quote(&buyer, &offer, "s1.small", 1).await.json();
        let quote_id = quote["id"].as_str().unwrap();
        let first = app.order(&buyer, quote_id, &card, key).await;
        assert_eq!(
            first.status,
            StatusCode::PAYMENT_REQUIRED,
            "{}",
            first.text()
        );
        let problem = first.json();
        assert_eq!(
            problem["type"],
            "https://sparecloud.dev/problems/payment-action-required"
        );
        let secret = problem["client_secret"].as_str().unwrap();
        let intent = secret.split("_secret_").next().unwrap();
        // Asking again before the buyer answers: the same question.
        let again = app.order(&buyer, quote_id, &card, key).await;
        assert_eq!(again.json()["client_secret"], secret);
        authenticate(&app, intent, secret, success).await;
        let retried = app.order(&buyer, quote_id, &card, key).await;
        if success {
            assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text());
            assert_eq!(retried.json()["instances"].as_array().unwrap().len(), 1);
            assert_eq!(retried.json()["payment"]["status"], "authorized");
            let replay = app.order(&buyer, quote_id, &card, key).await;
            assert_eq!(replay.status, StatusCode::OK);
        } else {
            assert_eq!(
                retried.status,
                StatusCode::PAYMENT_REQUIRED,
                "{}",
                retried.text()
            );
            assert_eq!(
                retried.json()["type"],
                "https://sparecloud.dev/problems/card-declined"
            );
        }
    }
}

/// A server died in the middle of an order: the key claimed, the quote
/// taken, the card authorised at Stripe, no instances. A job recovers it:
/// the key answers "interrupted, order again" instead of "in progress" for
/// ever, the authorisation is voided, and the capacity comes back.
#[tokio::test]
async fn an_order_stranded_by_a_crash_is_recovered_by_a_job() {
    use sparecloud_server::domain::payments;
    use sparecloud_server::stripe::NewPaymentIntent;

    let app = TestApp::new().await;
    let (seller, offer) = app.small_gold_offer().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let card = app.card(&buyer, "4242 4242 4242 4242").await;
    // Four s1.small: all the room of the small host.
    let quote = app.quote(&buyer, &offer, "s1.small", 4).await;
    assert_eq!(quote.status, StatusCode::CREATED, "{}", quote.text());
    let quote = quote.json();
    let quote_id = quote["id"].as_str().unwrap().to_owned();
    let other = app.sign_up("o@example.com", &["buyer"]).await;
    assert_eq!(
        app.quote(&other, &offer, "s1.small", 1).await.status,
        StatusCode::CONFLICT,
        "the quote holds the host's only room"
    );

    // What `place` had done when the process died.
    let (buyer_id,): (String,) =
        sqlx::query_as("SELECT id FROM accounts WHERE email = 'b@example.com'")
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    let fingerprint = sparecloud_server::auth::token_hash(&format!(
        "{quote_id}\n{card}\n{}\n",
        common::ED25519_KEY.trim()
    ));
    let now = app.state.clock.now();
    sqlx::query("UPDATE quotes SET status = 'ordering' WHERE id = $1")
        .bind(&quote_id)
        .execute(&app.state.db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO orders (id, buyer_id, idempotency_key, request_fingerprint, quote_id, payment_method_id,
           ssh_public_key, status, created_at_ms, processing_since_ms)
         VALUES ('ord_crashed', $1, 'crash-key', $2, $3, $4, $5, 'processing', $6, $6)",
    )
    .bind(&buyer_id)
    .bind(&fingerprint)
    .bind(&quote_id)
    .bind(&card)
    .bind(common::ED25519_KEY.trim())
    .bind(now)
    .execute(&app.state.db)
    .await
    .unwrap();
    let charge = payments::chargeable(&app.state, &buyer_id, &card)
        .await
        .unwrap()
        .unwrap();
    let authorization = app
        .state
        .stripe
        .create_payment_intent(
            NewPaymentIntent {
                amount_cents: quote["estimated_month_cents"].as_i64().unwrap(),
                customer: &charge.customer,
                payment_method: &charge.payment_method,
                manual_capture: true,
                off_session: false,
                metadata: &[("order_id", "ord_crashed")],
            },
            "order-ord_crashed-authorize",
        )
        .await
        .unwrap();
    assert_eq!(authorization.status, "requires_capture");

    let retry = || app.order(&buyer, &quote_id, &card, "crash-key");
    let stuck = retry().await;
    assert_eq!(stuck.status, StatusCode::CONFLICT);
    assert_eq!(stuck.json()["title"], "Order in progress");

    // Not before the time an order may take...
    app.state.clock.advance(60_000);
    sparecloud_server::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(retry().await.json()["title"], "Order in progress");
    // ... but after it.
    app.state.clock.advance(5 * 60_000);
    sparecloud_server::jobs::run_once(&app.state).await.unwrap();
    let answer = retry().await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.text());
    assert_eq!(
        answer.json()["type"],
        "https://sparecloud.dev/problems/order-interrupted"
    );
    let intent = app
        .stripe_get(&format!("/v1/payment_intents/{}", authorization.id))
        .await;
    assert_eq!(intent["status"], "canceled", "the authorisation is voided");

    // The quote is held again, and released at its expiry: another buyer
    // gets the room (of a host that kept heartbeating).
    app.state.clock.advance(10 * 60_000);
    app.heartbeat(&seller.host_credential, SMALL_HOST, &[])
        .await;
    sparecloud_server::jobs::run_once(&app.state).await.unwrap();
    let theirs = app.quote(&other, &offer, "s1.small", 1).await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.text());
}

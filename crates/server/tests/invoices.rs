//! Invoices and the money they collect, against a real localstripe: a month
//! close captures the order's authorisation for the per-second usage less
//! the service credit; a refused renewal goes past due, is retried, stops
//! the buyer's instances and is paid from "Pay now"; orders no host started
//! are refunded; webhooks are verified and idempotent.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{TestApp, WEBHOOK_SECRET};
use serde_json::{Value, json};
use sparecloud_server::domain::ledger;
use sparecloud_server::domain::uptime::month_of;
use sparecloud_server::{jobs, stripe};

const HOST: (u32, u32, u32) = (8, 16, 200);
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Moves the clock, with the host heartbeating (so it stays online).
async fn run_for(app: &TestApp, credential: &str, id: &str, ms: i64, state: &str) {
    app.state.clock.advance(ms);
    app.heartbeat(credential, HOST, &[(id, state)]).await;
}

/// Moves the clock to `at` plus a minute and runs every job.
async fn jobs_at(app: &TestApp, credential: &str, id: &str, at: i64, state: &str) {
    let now = app.state.clock.now();
    run_for(app, credential, id, at - now + 60_000, state).await;
    app.all_jobs_at_once().await;
}

async fn desired(app: &TestApp, id: &str) -> String {
    sqlx::query_as::<_, (String,)>("SELECT desired_state FROM instances WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db)
        .await
        .unwrap()
        .0
}

/// A new session of the buyer (b@example.com): months pass in these tests,
/// longer than a session lasts.
async fn sign_in(app: &TestApp) -> String {
    let res = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "b@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["token"].as_str().unwrap().to_owned()
}

async fn invoices(app: &TestApp, _: &str) -> Vec<Value> {
    let buyer = sign_in(app).await;
    let res = app
        .send("GET", "/api/v1/invoices", Some(&buyer), None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json().as_array().unwrap().clone()
}

/// `GET /balance` for the given session.
async fn balance(app: &TestApp, token: &str) -> Value {
    let res = app.send("GET", "/api/v1/balance", Some(token), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

async fn ledger_totals(app: &TestApp) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT CAST(SUM(buyer_charge_cents) AS BIGINT), CAST(SUM(commission_cents) AS BIGINT),
                CAST(SUM(seller_earnings_cents) AS BIGINT) FROM ledger_entries",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap()
}

/// A gold order of one s1.small at €3.60 an hour, running from now.
async fn running_gold_instance(app: &TestApp) -> (common::Seller, String, String, String) {
    let (seller, offer, buyer, card) = app.shop(HOST, 360).await;
    let quote = app
        .post(
            "/api/v1/quotes",
            Some(&buyer),
            json!({"offer_id": offer, "image_id": "debian-12", "sla_tier": "gold", "flavor_id": "s1.small", "count": 1}),
        )
        .await
        .json();
    let order = app
        .order(&buyer, quote["id"].as_str().unwrap(), &card, "gold-1")
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());
    let order = order.json();
    let id = order["instances"][0]["id"].as_str().unwrap().to_owned();
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;
    (seller, buyer, order["id"].as_str().unwrap().to_owned(), id)
}

#[tokio::test]
async fn a_month_close_captures_the_per_second_usage_less_the_service_credit() {
    let app = TestApp::new().await;
    let (seller, buyer, order_id, id) = running_gold_instance(&app).await;
    let started = app.state.clock.now();
    let credential = seller.host_credential.clone();
    // 100 hours up, an hour's outage (gold promises 99.9 %), then up again.
    run_for(&app, &credential, &id, 100 * HOUR, "running").await;
    app.state.clock.advance(60_000);
    jobs::run_once(&app.state).await.unwrap();
    run_for(&app, &credential, &id, HOUR, "running").await;
    // Odd seconds, to see per-second billing.
    run_for(&app, &credential, &id, 7_777_123, "running").await;
    jobs::run_once(&app.state).await.unwrap();
    assert!(
        invoices(&app, &buyer).await.is_empty(),
        "nothing before the month ends"
    );

    // November ends; eight passes at once, twice.
    let (_, december, _) = month_of(app.state.clock.now());
    jobs_at(&app, &credential, &id, december, "running").await;
    app.all_jobs_at_once().await;
    let ledger_before = ledger_totals(&app).await;

    let all = invoices(&app, &buyer).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    let invoice = &all[0];
    assert_eq!(invoice["kind"], "monthly");
    assert_eq!(invoice["period"], "2026-11");
    assert_eq!(invoice["status"], "paid");
    assert!(invoice["number"].as_str().unwrap().starts_with("SC-"));
    let lines = invoice["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    // Usage to the second, from the first heartbeat to midnight UTC, less
    // the outage (an offline host's time is not billed).
    let (used_ms,): (i64,) = sqlx::query_as(
        "SELECT CAST(SUM(period_end_ms - period_start_ms) AS BIGINT) FROM ledger_entries WHERE instance_id = $1 AND period_end_ms <= $2",
    )
    .bind(&id)
    .bind(december)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(used_ms < december - started - 3_600_000 && used_ms > december - started - 3_700_000);
    assert_eq!(lines[0]["kind"], "usage");
    assert_eq!(lines[0]["used_seconds"], used_ms / 1000);
    assert_eq!(lines[0]["hourly_cents"], 360);
    let usage = ledger::totals(360, 1500, used_ms).charge_cents;
    assert_eq!(lines[0]["amount_cents"], usage);
    // The month's service credit, as a negative line.
    let (credit,): (i64,) = sqlx::query_as(
        "SELECT credit_cents FROM sla_month_credits WHERE instance_id = $1 AND month = '2026-11'",
    )
    .bind(&id)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(credit > 0);
    assert_eq!(lines[1]["kind"], "sla_credit");
    assert_eq!(lines[1]["amount_cents"], -credit);
    assert_eq!(invoice["total_cents"], usage - credit);

    // Stripe: the order's authorisation captured for exactly the total,
    // nothing else charged.
    let intents = app.payment_intents("b@example.com").await;
    assert_eq!(intents.len(), 1, "{intents:#?}");
    assert_eq!(intents[0]["status"], "succeeded");
    assert_eq!(intents[0]["metadata"]["order_id"], order_id.as_str());
    let charge = &intents[0]["charges"]["data"][0];
    assert_eq!(
        charge["amount"].as_i64().unwrap() - charge["amount_refunded"].as_i64().unwrap(),
        usage - credit
    );
    let buyer = sign_in(&app).await;
    let order = app
        .send(
            "GET",
            &format!("/api/v1/orders/{order_id}"),
            Some(&buyer),
            None,
        )
        .await
        .json();
    assert_eq!(order["payment"]["status"], "captured");
    assert_eq!(order["payment"]["captured_cents"], usage - credit);

    // The ledger (commission, the seller's net) is as billing made it.
    app.all_jobs_at_once().await;
    assert_eq!(ledger_totals(&app).await, ledger_before);
    assert_eq!(invoices(&app, &buyer).await.len(), 1);
    assert_eq!(app.payment_intents("b@example.com").await.len(), 1);
}

#[tokio::test]
async fn a_refused_renewal_goes_past_due_is_retried_stops_the_instances_and_pay_now_resumes_them() {
    let app = TestApp::new().await;
    let (seller, buyer, _, id) = running_gold_instance(&app).await;
    let credential = seller.host_credential.clone();
    let (_, december, _) = month_of(app.state.clock.now());
    jobs_at(&app, &credential, &id, december, "running").await;
    assert_eq!(
        invoices(&app, &buyer).await[0]["status"],
        "paid",
        "November: captured"
    );

    // A card that is saved fine but refused when charged becomes the
    // newest: December's invoice goes to it, off-session.
    let good = sqlx::query_as::<_, (String,)>("SELECT id FROM payment_methods")
        .fetch_one(&app.state.db)
        .await
        .unwrap()
        .0;
    app.state.clock.advance(1_000);
    let buyer = sign_in(&app).await;
    app.card(&buyer, "4000 0000 0000 0341").await;
    let (_, january, _) = month_of(december);
    jobs_at(&app, &credential, &id, january, "running").await;
    let december_invoice = invoices(&app, &buyer).await[0].clone();
    assert_eq!(december_invoice["period"], "2026-12");
    assert_eq!(december_invoice["status"], "past_due");
    assert_eq!(december_invoice["attempts"], 1);
    assert_eq!(
        balance(&app, &sign_in(&app).await).await,
        json!({"past_due_invoices": 1, "past_due_cents": december_invoice["total_cents"], "currency": "EUR"}),
        "the banner's balance counts the past-due invoice"
    );
    let bystander = app.sign_up("p@example.com", &["buyer"]).await;
    assert_eq!(
        balance(&app, &bystander).await["past_due_invoices"],
        0,
        "another buyer's balance counts only their own"
    );
    assert_eq!(
        app.send("GET", "/api/v1/balance", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        december_invoice["failure_message"]
            .as_str()
            .unwrap()
            .contains("declined")
    );
    let invoice_id = december_invoice["id"].as_str().unwrap().to_owned();
    let count_attempts = || async {
        app.payment_intents("b@example.com")
            .await
            .into_iter()
            .filter(|pi| pi["metadata"]["invoice_id"] == invoice_id.as_str())
            .count()
    };
    assert_eq!(count_attempts().await, 1);
    // Passes before the retry is due charge nothing.
    app.all_jobs_at_once().await;
    assert_eq!(count_attempts().await, 1);

    // Retries 1, 3 and 5 days after: each once, then the instance stops.
    let made = january + 60_000;
    for (retry, days) in [(2, 1), (3, 3)] {
        jobs_at(&app, &credential, &id, made + days * DAY, "running").await;
        let buyer = sign_in(&app).await;
        let invoice = app
            .send(
                "GET",
                &format!("/api/v1/invoices/{invoice_id}"),
                Some(&buyer),
                None,
            )
            .await
            .json();
        assert_eq!(invoice["status"], "past_due");
        assert_eq!(invoice["attempts"], retry);
        assert_eq!(count_attempts().await, retry as usize);
        assert_eq!(
            desired(&app, &id).await,
            "running",
            "still running after retry {retry}"
        );
    }
    jobs_at(&app, &credential, &id, made + 5 * DAY, "running").await;
    assert_eq!(count_attempts().await, 4);
    let buyer = sign_in(&app).await;
    let invoice = app
        .send(
            "GET",
            &format!("/api/v1/invoices/{invoice_id}"),
            Some(&buyer),
            None,
        )
        .await
        .json();
    assert_eq!(invoice["status"], "past_due");
    assert!(invoice.get("next_attempt_at").is_none(), "no more retries");
    assert_eq!(desired(&app, &id).await, "stopped");
    let detail = app.instance_detail(&buyer, &id).await;
    assert!(common::event_kinds(&detail).contains(&"stop_requested".to_owned()));
    run_for(&app, &credential, &id, 60_000, "stopped").await;
    app.all_jobs_at_once().await;
    assert_eq!(count_attempts().await, 4, "no charge without the buyer now");

    // "Pay now" with the refused card fails and changes nothing; with the
    // good card the invoice is paid and the instance starts again.
    let refused_card =
        sqlx::query_as::<_, (String,)>("SELECT id FROM payment_methods WHERE last4 = '0341'")
            .fetch_one(&app.state.db)
            .await
            .unwrap()
            .0;
    let pay = |card: String| {
        let (app, buyer, invoice_id) = (app.clone(), buyer.clone(), invoice_id.clone());
        async move {
            app.post(
                &format!("/api/v1/invoices/{invoice_id}/pay"),
                Some(&buyer),
                json!({"payment_method_id": card}),
            )
            .await
        }
    };
    let refused = pay(refused_card).await;
    assert_eq!(
        refused.status,
        StatusCode::PAYMENT_REQUIRED,
        "{}",
        refused.text()
    );
    assert_eq!(
        refused.json()["type"],
        "https://sparecloud.dev/problems/card-declined"
    );
    let paid = pay(good.clone()).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text());
    assert_eq!(paid.json()["status"], "paid");
    assert_eq!(desired(&app, &id).await, "running");
    assert_eq!(balance(&app, &buyer).await["past_due_invoices"], 0);
    assert_eq!(balance(&app, &buyer).await["past_due_cents"], 0);
    // Paying again is refused; another buyer cannot see or pay it.
    assert_eq!(pay(good.clone()).await.status, StatusCode::CONFLICT);
    let other = app.sign_up("o@example.com", &["buyer"]).await;
    let res = app
        .post(
            &format!("/api/v1/invoices/{invoice_id}/pay"),
            Some(&other),
            json!({"payment_method_id": good}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.send(
            "GET",
            &format!("/api/v1/invoices/{invoice_id}"),
            Some(&other),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_terminated_instance_gets_its_final_invoice() {
    let app = TestApp::new().await;
    let (seller, buyer, _, id) = running_gold_instance(&app).await;
    run_for(&app, &seller.host_credential, &id, 2 * HOUR, "running").await;
    let res = app.instance_action(&buyer, &id, "terminate").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    run_for(&app, &seller.host_credential, &id, 1_000, "terminated").await;
    app.all_jobs_at_once().await;
    let all = invoices(&app, &buyer).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["kind"], "final");
    assert_eq!(all[0]["status"], "paid");
    assert_eq!(all[0]["lines"][0]["instance_id"], id.as_str());
    assert!(all[0]["total_cents"].as_i64().unwrap() >= 720);
}

async fn order_view(app: &TestApp, buyer: &str, order_id: &str) -> Value {
    app.send(
        "GET",
        &format!("/api/v1/orders/{order_id}"),
        Some(buyer),
        None,
    )
    .await
    .json()
}

#[tokio::test]
async fn an_order_no_host_starts_within_15_minutes_is_refunded() {
    let app = TestApp::new().await;
    let (seller, offer, buyer, card) = app.shop(HOST, 360).await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await.json();
    let order_id = order["id"].as_str().unwrap();
    // The host heartbeats but never runs it.
    app.state.clock.advance(14 * 60_000);
    app.heartbeat(&seller.host_credential, HOST, &[]).await;
    app.all_jobs_at_once().await;
    let view = order_view(&app, &buyer, order_id).await;
    assert_eq!(view["payment"]["status"], "authorized");
    app.state.clock.advance(2 * 60_000);
    app.heartbeat(&seller.host_credential, HOST, &[]).await;
    app.all_jobs_at_once().await;
    let view = order_view(&app, &buyer, order_id).await;
    assert_eq!(view["payment"]["status"], "refunded");
    assert!(
        view["payment"]["refund_reason"]
            .as_str()
            .unwrap()
            .contains("15 minutes")
    );
    assert_eq!(view["instances"][0]["status"], "terminated");
    let intents = app.payment_intents("b@example.com").await;
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0]["status"], "canceled");
    assert!(
        invoices(&app, &buyer).await.is_empty(),
        "nothing to invoice"
    );
}

/// POSTs `payload` to the webhook with `signature` (or none).
async fn webhook(app: &TestApp, payload: &str, signature: Option<String>) -> StatusCode {
    let mut request =
        Request::post("/api/v1/webhooks/stripe").header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    app.request(request.body(Body::from(payload.to_owned())).unwrap())
        .await
        .status
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn webhooks_are_verified_and_a_replay_changes_nothing() {
    let app = TestApp::new().await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    // A card confirmed at Stripe whose page closed before saving it.
    let (status, setup_intent, _) = app.confirm_card(&buyer, "4242 4242 4242 4242").await;
    assert_eq!(status, 200);
    let object = app
        .stripe_get(&format!("/v1/setup_intents/{setup_intent}"))
        .await;
    let payload =
        json!({"id": "evt_sparecloud_test_1", "object": "event", "type": "setup_intent.succeeded",
                         "data": {"object": object}})
        .to_string();
    let cards = || async {
        app.send("GET", "/api/v1/payment-methods", Some(&buyer), None)
            .await
            .json()
            .as_array()
            .unwrap()
            .len()
    };

    // Unsigned, signed with another secret, or too old: refused, nothing saved.
    assert_eq!(webhook(&app, &payload, None).await, StatusCode::BAD_REQUEST);
    let forged = stripe::sign(payload.as_bytes(), "whsec_someone_else", now_secs());
    assert_eq!(
        webhook(&app, &payload, Some(forged)).await,
        StatusCode::BAD_REQUEST
    );
    let old = stripe::sign(payload.as_bytes(), WEBHOOK_SECRET, now_secs() - 600);
    assert_eq!(
        webhook(&app, &payload, Some(old)).await,
        StatusCode::BAD_REQUEST
    );
    let tampered = payload.replace("setup_intent.succeeded", "charge.refunded");
    let signed_original = stripe::sign(payload.as_bytes(), WEBHOOK_SECRET, now_secs());
    assert_eq!(
        webhook(&app, &tampered, Some(signed_original.clone())).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(cards().await, 0);

    // Signed: the card is saved, once, however often the event comes.
    assert_eq!(
        webhook(&app, &payload, Some(signed_original)).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(cards().await, 1);
    let again = stripe::sign(payload.as_bytes(), WEBHOOK_SECRET, now_secs());
    assert_eq!(
        webhook(&app, &payload, Some(again)).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(cards().await, 1);
    let (events,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM stripe_events")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(events, 1);
    // Saving it from the page afterwards returns the same card.
    app.save_card(&buyer, &setup_intent).await;
    assert_eq!(cards().await, 1);
}

#[tokio::test]
async fn a_payment_intent_succeeded_event_pays_an_invoice_whose_answer_was_lost() {
    let app = TestApp::new().await;
    let (seller, buyer, _, id) = running_gold_instance(&app).await;
    let (_, december, _) = month_of(app.state.clock.now());
    jobs_at(&app, &seller.host_credential, &id, december, "running").await;
    let (_, january, _) = month_of(december);
    jobs_at(&app, &seller.host_credential, &id, january, "running").await;
    let invoice = invoices(&app, &buyer).await[0].clone();
    assert_eq!(invoice["period"], "2026-12");
    assert_eq!(invoice["status"], "paid", "charged off-session to the card");
    let invoice_id = invoice["id"].as_str().unwrap();
    // As if the charge's answer never came back.
    sqlx::query("UPDATE invoices SET status = 'past_due', paid_at_ms = NULL WHERE id = $1")
        .bind(invoice_id)
        .execute(&app.state.db)
        .await
        .unwrap();
    let intent = app
        .payment_intents("b@example.com")
        .await
        .into_iter()
        .find(|pi| pi["metadata"]["invoice_id"] == invoice_id)
        .expect("the invoice's charge");
    let events = app
        .stripe_get("/v1/events?type=payment_intent.succeeded&limit=100")
        .await;
    let event = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["object"]["id"] == intent["id"])
        .expect("localstripe's event")
        .clone();
    let payload = event.to_string();
    let signature = stripe::sign(payload.as_bytes(), WEBHOOK_SECRET, now_secs());
    assert_eq!(
        webhook(&app, &payload, Some(signature)).await,
        StatusCode::NO_CONTENT
    );
    let buyer = sign_in(&app).await;
    let after = app
        .send(
            "GET",
            &format!("/api/v1/invoices/{invoice_id}"),
            Some(&buyer),
            None,
        )
        .await
        .json();
    assert_eq!(after["status"], "paid");
}

/// A buyer stops, then terminates, an instance whose host keeps reporting
/// it running: the bill stops at each request, however long the host takes.
#[tokio::test]
async fn billing_stops_when_the_buyer_asks_not_when_the_host_obeys() {
    let app = TestApp::new().await;
    let (seller, buyer, _order, id) = running_gold_instance(&app).await;
    let cost = |app: &TestApp| {
        let (app, buyer, id) = (app.clone(), buyer.clone(), id.clone());
        async move {
            app.all_jobs_at_once().await;
            app.instance_detail(&buyer, &id).await["instance"]["cost_so_far_cents"]
                .as_u64()
                .unwrap()
        }
    };
    // An hour at €3.60.
    run_for(&app, &seller.host_credential, &id, HOUR, "running").await;
    assert_eq!(cost(&app).await, 360);

    let stop = app.instance_action(&buyer, &id, "stop").await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.text());
    // The host ignores it for an hour, still saying "running".
    for _ in 0..6 {
        run_for(&app, &seller.host_credential, &id, 10 * 60_000, "running").await;
    }
    assert_eq!(cost(&app).await, 360, "nothing billed after the stop");

    // Started again, then terminated, and the host ignores that too.
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "stopped")])
        .await;
    assert_eq!(
        app.instance_action(&buyer, &id, "start").await.status,
        StatusCode::OK
    );
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;
    run_for(&app, &seller.host_credential, &id, HOUR, "running").await;
    assert_eq!(cost(&app).await, 720);
    let terminate = app.instance_action(&buyer, &id, "terminate").await;
    assert_eq!(terminate.status, StatusCode::OK, "{}", terminate.text());
    for _ in 0..6 {
        run_for(&app, &seller.host_credential, &id, 10 * 60_000, "running").await;
    }
    assert_eq!(cost(&app).await, 720, "nothing billed after the terminate");
}

/// A host that does not destroy a terminated instance within the grace
/// period: the buyer sees it terminated (and was not billed since asking),
/// the host is still told to destroy it and its room stays taken, until the
/// host stops reporting it.
#[tokio::test]
async fn a_termination_the_host_ignores_is_marked_for_cleanup_and_never_billed() {
    let app = TestApp::new().await;
    let (seller, buyer, _order, id) = running_gold_instance(&app).await;
    run_for(&app, &seller.host_credential, &id, HOUR, "running").await;
    let terminate = app.instance_action(&buyer, &id, "terminate").await;
    assert_eq!(terminate.status, StatusCode::OK, "{}", terminate.text());
    let taken = app.allocated(&seller.host_id).await;
    assert_eq!(taken, (1, 2, 20));

    // Four minutes of "running": still stopping, as the buyer asked.
    run_for(&app, &seller.host_credential, &id, 4 * 60_000, "running").await;
    app.all_jobs_at_once().await;
    let detail = app.instance_detail(&buyer, &id).await;
    assert_eq!(detail["instance"]["status"], "stopping");
    // Past the five-minute grace: terminated for the buyer, cleanup pending.
    run_for(&app, &seller.host_credential, &id, 2 * 60_000, "running").await;
    app.all_jobs_at_once().await;
    let detail = app.instance_detail(&buyer, &id).await;
    assert_eq!(detail["instance"]["status"], "terminated");
    assert_eq!(detail["instance"]["cost_so_far_cents"], 360);
    assert!(
        common::event_kinds(&detail).contains(&"cleanup_pending".to_owned()),
        "{detail}"
    );
    assert_eq!(
        app.allocated(&seller.host_id).await,
        taken,
        "its room stays taken on the host"
    );
    let told = app
        .heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await
        .json();
    let told = told["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .cloned()
        .expect("the host is still told about it");
    assert_eq!(told["state"], "terminated", "{told}");

    // The host finally destroys it and stops reporting it.
    app.heartbeat(&seller.host_credential, HOST, &[]).await;
    assert_eq!(app.allocated(&seller.host_id).await, (0, 0, 0));
    let detail = app.instance_detail(&buyer, &id).await;
    assert!(common::event_kinds(&detail).contains(&"cleaned_up".to_owned()));
    assert_eq!(detail["instance"]["cost_so_far_cents"], 360);
}

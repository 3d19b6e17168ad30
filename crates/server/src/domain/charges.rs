//! Charging invoices. Charging first captures the authorisations of the
//! orders on an invoice (up to what their instances used), then charges the
//! rest off-session to the buyer's newest card. A refused charge makes the
//! invoice past due; it is retried 1, 3 and 5 days after it was made, and
//! after the last retry the buyer's instances are stopped until it is paid
//! ("Pay now"). Every Stripe call carries an idempotency key made of our
//! ids and the attempt number, and each attempt is claimed with a
//! conditional UPDATE, so a retried job never charges twice.

use http::StatusCode;
use sparecloud_api::invoices::{Invoice, InvoiceStatus, invoice_number};
use sparecloud_api::problem::kinds;

use crate::clock::{DAY_MS, Millis};
use crate::db;
use crate::domain::instance::{record_event, set_desired};
use crate::domain::invoices;
use crate::domain::payments::{self, Chargeable, stripe_problem};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::stripe::{NewPaymentIntent, StripeError};

/// Retries of a refused charge, after the invoice was made.
const RETRY_AFTER_MS: [Millis; 3] = [DAY_MS, 3 * DAY_MS, 5 * DAY_MS];
/// A charge claimed this long ago whose outcome was never recorded (the
/// process died) is tried again, with the same idempotency key.
const STALE_CHARGE_MS: Millis = 10 * 60_000;

/// Charges every invoice that is due: new ones, past-due ones whose retry
/// has come, and charges a dead process left unfinished.
pub async fn charge_due(state: &AppState) -> AppResult<()> {
    let now = state.clock.now();
    let due: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM invoices
         WHERE status = 'open' OR (status = 'past_due' AND next_attempt_at_ms <= $1)
            OR (status = 'charging' AND charging_since_ms < $2)
         ORDER BY number",
    )
    .bind(now)
    .bind(now - STALE_CHARGE_MS)
    .fetch_all(&state.db)
    .await?;
    for (id,) in due {
        if let Err(error) = charge(state, &id, None).await {
            tracing::error!(invoice = %id, error = %error.chain(), "charging an invoice failed");
        }
    }
    Ok(())
}

/// How a charge of an invoice ended.
pub enum Charged {
    Paid,
    /// The bank wants the buyer to authenticate (3-D Secure).
    RequiresAction {
        client_secret: String,
    },
    /// The card was refused; the invoice is past due.
    Refused(StripeError),
    /// Another process is charging it, or it is paid already.
    NotDue,
}

#[derive(sqlx::FromRow)]
struct Charging {
    buyer_id: String,
    number: i64,
    total_cents: i64,
    captured_cents: i64,
    attempts: i64,
    created_at_ms: i64,
}

/// Charges one invoice: off-session to the buyer's newest card (the jobs),
/// or on-session to `card` ("Pay now").
pub async fn charge(state: &AppState, id: &str, card: Option<Chargeable>) -> AppResult<Charged> {
    let now = state.clock.now();
    // Claim the attempt: a new one, or one a dead process left (whose
    // Stripe calls are repeated with the same keys). A past-due invoice is
    // claimed only when its retry is due or the buyer pays it now: another
    // process that listed it while it was still open must not try again
    // right after this one was refused.
    let claimed = sqlx::query(
        "UPDATE invoices SET status = 'charging', charging_since_ms = $2, attempts = attempts + 1
         WHERE id = $1 AND (status = 'open'
            OR (status = 'past_due' AND ($3 OR next_attempt_at_ms <= $2)))",
    )
    .bind(id)
    .bind(now)
    .bind(card.is_some())
    .execute(&state.db)
    .await?;
    if claimed.rows_affected() == 0 {
        let stale = sqlx::query(
            "UPDATE invoices SET charging_since_ms = $2 WHERE id = $1 AND status = 'charging' AND charging_since_ms < $3",
        )
        .bind(id)
        .bind(now)
        .bind(now - STALE_CHARGE_MS)
        .execute(&state.db)
        .await?;
        if stale.rows_affected() == 0 {
            return Ok(Charged::NotDue);
        }
    }
    let invoice: Charging = sqlx::query_as(
        "SELECT buyer_id, number, total_cents, captured_cents, attempts, created_at_ms FROM invoices WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&state.db)
    .await?;
    let captured = capture_orders(state, id, &invoice).await?;
    let remaining = invoice.total_cents - invoice.captured_cents - captured;
    if remaining <= 0 {
        mark_paid(state, id, None).await?;
        return Ok(Charged::Paid);
    }
    let on_session = card.is_some();
    let card = match card {
        Some(card) => Some(card),
        None => payments::default_chargeable(state, &invoice.buyer_id).await?,
    };
    let Some(card) = card else {
        let refused = StripeError::Card {
            code: "no_card".into(),
            message: "There is no saved card to charge.".into(),
        };
        mark_refused(state, id, &invoice, &refused).await?;
        return Ok(Charged::Refused(refused));
    };
    let attempt = state
        .stripe
        .create_payment_intent(
            NewPaymentIntent {
                amount_cents: remaining,
                customer: &card.customer,
                payment_method: &card.payment_method,
                manual_capture: false,
                off_session: !on_session,
                metadata: &[("invoice_id", id)],
            },
            &format!("invoice-{id}-attempt-{}", invoice.attempts),
        )
        .await;
    match attempt {
        Ok(intent) if intent.status == "succeeded" || intent.status == "processing" => {
            mark_paid(state, id, Some(&intent.id)).await?;
            Ok(Charged::Paid)
        }
        Ok(intent) if intent.status == "requires_action" && on_session => {
            // Paid once the buyer authenticates (the webhook says so).
            sqlx::query(
                "UPDATE invoices SET status = 'past_due', payment_intent_id = $2, charging_since_ms = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(&intent.id)
            .execute(&state.db)
            .await?;
            Ok(Charged::RequiresAction {
                client_secret: intent.client_secret.unwrap_or_default(),
            })
        }
        Ok(intent) => {
            let refused = StripeError::Card {
                code: intent.status.clone(),
                message: "Your bank asks you to confirm this payment: pay it from Invoices.".into(),
            };
            mark_refused(state, id, &invoice, &refused).await?;
            Ok(Charged::Refused(refused))
        }
        Err(error) if error.is_card() => {
            mark_refused(state, id, &invoice, &error).await?;
            Ok(Charged::Refused(error))
        }
        Err(error) => {
            // Stripe is unwell: the attempt does not count; the next pass
            // tries again.
            sqlx::query(
                "UPDATE invoices SET status = CASE WHEN attempts <= 1 THEN 'open' ELSE 'past_due' END,
                   attempts = attempts - 1, charging_since_ms = NULL WHERE id = $1 AND status = 'charging'",
            )
            .bind(id)
            .execute(&state.db)
            .await?;
            Err(AppError::internal_from("charging an invoice", error))
        }
    }
}

/// Captures, from each order on the invoice still holding an
/// authorisation, what its instances used (the rest goes back to the
/// card); releases authorisations with nothing to capture. Returns what
/// was captured now.
async fn capture_orders(state: &AppState, id: &str, invoice: &Charging) -> AppResult<i64> {
    let orders: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT o.id, o.authorization_id, o.authorized_cents, CAST(SUM(il.amount_cents) AS BIGINT)
         FROM invoice_lines il JOIN instances i ON i.id = il.instance_id JOIN orders o ON o.id = i.order_id
         WHERE il.invoice_id = $1 AND o.payment_status = 'authorized'
         GROUP BY o.id, o.authorization_id, o.authorized_cents ORDER BY o.id",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    let mut left = invoice.total_cents - invoice.captured_cents;
    let mut captured = 0;
    for (order_id, authorization, authorized, used) in orders {
        let amount = used.min(authorized).min(left).max(0);
        let outcome = if amount > 0 {
            state
                .stripe
                .capture(&authorization, amount, &format!("order-{order_id}-capture"))
                .await
                .map(|_| "captured")
        } else {
            state
                .stripe
                .cancel(&authorization, &format!("order-{order_id}-release"))
                .await
                .map(|_| "released")
        };
        let (status, amount) = match outcome {
            Ok(status) => (status, amount),
            Err(error) if error.is_card() || matches!(error, StripeError::Api { .. }) => {
                // Expired or refused: the invoice's own charge covers it.
                tracing::warn!(%order_id, %error, "authorisation not captured");
                ("released", 0)
            }
            Err(error) => return Err(AppError::internal_from("capturing an authorisation", error)),
        };
        let mut tx = db::begin_write(&state.db).await?;
        let updated = sqlx::query(
            "UPDATE orders SET payment_status = $2, captured_cents = $3 WHERE id = $1 AND payment_status = 'authorized'",
        )
        .bind(&order_id)
        .bind(status)
        .bind(amount)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 1 && amount > 0 {
            sqlx::query("UPDATE invoices SET captured_cents = captured_cents + $2 WHERE id = $1")
                .bind(id)
                .bind(amount)
                .execute(&mut *tx)
                .await?;
            captured += amount;
            left -= amount;
        }
        tx.commit().await?;
    }
    Ok(captured)
}

/// The invoice is paid; a buyer with nothing past due gets the instances
/// stopped for it back.
pub async fn mark_paid(state: &AppState, id: &str, payment_intent: Option<&str>) -> AppResult<()> {
    let now = state.clock.now();
    let mut tx = db::begin_write(&state.db).await?;
    let paid = sqlx::query(
        "UPDATE invoices SET status = 'paid', paid_at_ms = $2, payment_intent_id = COALESCE($3, payment_intent_id),
           failure_message = NULL, next_attempt_at_ms = NULL, charging_since_ms = NULL
         WHERE id = $1 AND status <> 'paid'",
    )
    .bind(id)
    .bind(now)
    .bind(payment_intent)
    .execute(&mut *tx)
    .await?;
    let mut collected = None;
    if paid.rows_affected() == 1 {
        let (buyer, total_cents): (String, i64) =
            sqlx::query_as("SELECT buyer_id, total_cents FROM invoices WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        collected = Some(total_cents);
        let (past_due,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM invoices WHERE buyer_id = $1 AND status = 'past_due'",
        )
        .bind(&buyer)
        .fetch_one(&mut *tx)
        .await?;
        if past_due == 0 {
            resume(&mut tx, &buyer, now).await?;
        }
        tracing::info!(invoice = %id, "invoice paid");
    }
    tx.commit().await?;
    // Counted once the payment is recorded, not before.
    if let Some(cents) = collected {
        crate::metrics::revenue_collected(cents);
    }
    Ok(())
}

/// A refused charge: past due, retried on schedule; after the last retry
/// the buyer's instances stop.
async fn mark_refused(
    state: &AppState,
    id: &str,
    invoice: &Charging,
    error: &StripeError,
) -> AppResult<()> {
    let now = state.clock.now();
    let next = RETRY_AFTER_MS
        .iter()
        .map(|after| invoice.created_at_ms + after)
        .find(|at| *at > now);
    let message = match error {
        StripeError::Card { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let mut tx = db::begin_write(&state.db).await?;
    sqlx::query(
        "UPDATE invoices SET status = 'past_due', failure_message = $2, next_attempt_at_ms = $3, charging_since_ms = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(&message)
    .bind(next)
    .execute(&mut *tx)
    .await?;
    if next.is_none() {
        suspend(&mut tx, &invoice.buyer_id, invoice.number, now).await?;
    }
    tx.commit().await?;
    tracing::warn!(invoice = %id, attempts = invoice.attempts, "invoice charge refused");
    Ok(())
}

/// Stops the buyer's instances (not terminated: their disks stay).
async fn suspend(tx: &mut db::Conn, buyer_id: &str, number: i64, now: Millis) -> AppResult<()> {
    let running: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM instances WHERE buyer_id = $1 AND desired_state = 'running'
           AND status NOT IN ('terminated', 'failed')",
    )
    .bind(buyer_id)
    .fetch_all(&mut *tx)
    .await?;
    let message = format!(
        "Stopped: invoice {} is unpaid. Paying it (Invoices, \"Pay now\") starts the instance again.",
        invoice_number(number)
    );
    for (id,) in running {
        set_desired(tx, &id, "stopped", Some("stopping"), now).await?;
        sqlx::query("UPDATE instances SET stopped_for_payment = 1 WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        record_event(tx, &id, "stop_requested", &message, now).await?;
    }
    Ok(())
}

/// Starts again the instances stopped for an unpaid invoice.
async fn resume(tx: &mut db::Conn, buyer_id: &str, now: Millis) -> AppResult<()> {
    let stopped: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM instances WHERE buyer_id = $1 AND stopped_for_payment = 1
           AND status NOT IN ('terminated', 'failed')",
    )
    .bind(buyer_id)
    .fetch_all(&mut *tx)
    .await?;
    for (id,) in stopped {
        set_desired(tx, &id, "running", Some("provisioning"), now).await?;
        sqlx::query("UPDATE instances SET stopped_for_payment = 0 WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        record_event(
            tx,
            &id,
            "start_requested",
            "Started again: the unpaid invoice is paid.",
            now,
        )
        .await?;
    }
    Ok(())
}

/// "Pay now": charges a past-due invoice of the buyer's to one of their
/// saved cards, with the buyer present.
pub async fn pay(
    state: &AppState,
    buyer_id: &str,
    id: &str,
    payment_method_id: &str,
) -> AppResult<Invoice> {
    let invoice = invoices::get(state, buyer_id, id).await?;
    if invoice.status == InvoiceStatus::Paid {
        return Err(AppError::problem(
            kinds::CONFLICT,
            "Already paid",
            StatusCode::CONFLICT,
            format!("Invoice {} is paid.", invoice.number),
        ));
    }
    let Some(card) = payments::chargeable(state, buyer_id, payment_method_id).await? else {
        return Err(AppError::validation(vec![crate::error::field(
            "payment_method_id",
            "Choose one of your saved cards, or add one.",
        )]));
    };
    match charge(state, id, Some(card)).await? {
        Charged::Paid => invoices::get(state, buyer_id, id).await,
        Charged::RequiresAction { client_secret } => Err(payments::action_required(client_secret)),
        Charged::Refused(error) => Err(stripe_problem(error)),
        Charged::NotDue => Err(AppError::problem(
            kinds::CONFLICT,
            "Payment in progress",
            StatusCode::CONFLICT,
            "This invoice is being charged right now: reload the page in a moment.",
        )),
    }
}

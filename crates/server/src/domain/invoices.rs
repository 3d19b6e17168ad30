//! Invoices, and the money they collect.
//!
//! The ledger bills running time per second; an invoice gathers a buyer's
//! uninvoiced ledger entries (one line per instance) and unclaimed service
//! credits (negative lines) when a UTC month ends, or an instance's when it
//! ends. Each entry and credit is marked with its invoice in the same
//! transaction, so a period is invoiced once.
//!
//! Charging an invoice first captures the authorisations of the orders on
//! it (up to what their instances used), then charges the rest off-session
//! to the buyer's newest card. A refused charge makes the invoice past due;
//! it is retried 1, 3 and 5 days after it was made, and after the last
//! retry the buyer's instances are stopped until it is paid ("Pay now").
//! Every Stripe call carries an idempotency key made of our ids and the
//! attempt number, and each attempt is claimed with a conditional UPDATE,
//! so a retried job never charges twice.

use http::StatusCode;
use sparecloud_api::invoices::{
    Invoice, InvoiceKind, InvoiceLine, InvoiceLineKind, InvoiceStatus, invoice_number,
};
use sparecloud_api::problem::kinds;

use crate::auth::new_id;
use crate::clock::{Millis, rfc3339};
use crate::db;
use crate::domain::instance::{finish, record_event, set_desired};
use crate::domain::ledger;
use crate::domain::payments::{self, Chargeable, stripe_problem};
use crate::domain::uptime::month_of;
use crate::error::{AppError, AppResult, inserted};
use crate::state::AppState;
use crate::stripe::{NewPaymentIntent, StripeError};

const DAY_MS: Millis = 86_400_000;
/// Retries of a refused charge, after the invoice was made.
const RETRY_AFTER_MS: [Millis; 3] = [DAY_MS, 3 * DAY_MS, 5 * DAY_MS];
/// A charge claimed this long ago whose outcome was never recorded (the
/// process died) is tried again, with the same idempotency key.
const STALE_CHARGE_MS: Millis = 10 * 60_000;
/// An order none of whose instances ever ran within this is refunded.
pub const UNSTARTED_REFUND_MS: Millis = 15 * 60_000;

/// One pass of the invoice jobs.
pub async fn run_jobs(state: &AppState) -> AppResult<()> {
    close_monthly(state).await?;
    close_finals(state).await?;
    charge_due(state).await?;
    release_unstarted_orders(state).await?;
    Ok(())
}

/// At a month's end, bills running instances up to it, so the month's
/// invoice (and its service credits) count all of its time.
pub async fn settle_month_end(state: &AppState) -> AppResult<()> {
    let (month_start, _, _) = month_of(state.clock.now());
    let due: Vec<(String,)> = sqlx::query_as(
        "SELECT i.id FROM instances i JOIN hosts h ON h.id = i.host_id
         WHERE i.running_since_ms IS NOT NULL AND i.running_since_ms < $1 AND h.status = 'online'",
    )
    .bind(month_start)
    .fetch_all(&state.db)
    .await?;
    for (id,) in due {
        let mut tx = db::begin_write(&state.db).await?;
        ledger::accrue(&mut tx, &id, month_start, true).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The monthly invoices of last month (and anything older not invoiced).
async fn close_monthly(state: &AppState) -> AppResult<()> {
    let (month_start, _, _) = month_of(state.clock.now());
    let (_, _, period) = month_of(month_start - 1);
    let buyers: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT buyer_id FROM ledger_entries WHERE invoice_id IS NULL AND period_end_ms <= $1
         UNION
         SELECT DISTINCT buyer_id FROM sla_month_credits WHERE invoice_id IS NULL AND credit_cents > 0 AND month <= $2",
    )
    .bind(month_start)
    .bind(&period)
    .fetch_all(&state.db)
    .await?;
    for (buyer,) in buyers {
        let scope = Scope {
            buyer_id: &buyer,
            kind: InvoiceKind::Monthly,
            period: &period,
            instance_id: "",
            end_ms: month_start,
        };
        make_invoice(state, scope).await?;
    }
    Ok(())
}

/// The last invoice of each instance that has ended.
async fn close_finals(state: &AppState) -> AppResult<()> {
    let now = state.clock.now();
    let (_, _, period) = month_of(now);
    let ended: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT l.buyer_id, l.instance_id FROM ledger_entries l JOIN instances i ON i.id = l.instance_id
         WHERE l.invoice_id IS NULL AND i.status IN ('terminated', 'failed') AND i.awaiting_recovery = 0",
    )
    .fetch_all(&state.db)
    .await?;
    for (buyer, instance) in ended {
        let scope = Scope {
            buyer_id: &buyer,
            kind: InvoiceKind::Final,
            period: &period,
            instance_id: &instance,
            end_ms: now,
        };
        make_invoice(state, scope).await?;
    }
    Ok(())
}

/// What one invoice covers.
struct Scope<'a> {
    buyer_id: &'a str,
    kind: InvoiceKind,
    period: &'a str,
    /// The instance of a final invoice; '' for a monthly one.
    instance_id: &'a str,
    /// Ledger entries that ended by then.
    end_ms: Millis,
}

fn kind_str(kind: InvoiceKind) -> &'static str {
    match kind {
        InvoiceKind::Monthly => "monthly",
        InvoiceKind::Final => "final",
    }
}

#[derive(sqlx::FromRow)]
struct UsageRow {
    instance_id: String,
    name: String,
    flavor_id: String,
    zone: String,
    hourly_cents: i64,
    charge_cents: i64,
    used_ms: i64,
}

/// Makes the invoice of `scope`, if there is anything to invoice and no
/// other process made it first. Returns its id.
async fn make_invoice(state: &AppState, scope: Scope<'_>) -> AppResult<Option<String>> {
    let now = state.clock.now();
    let mut tx = db::begin_write(&state.db).await?;
    let usage: Vec<UsageRow> = sqlx::query_as(
        "SELECT l.instance_id, i.name, i.flavor_id, i.zone, i.hourly_cents,
                CAST(SUM(l.buyer_charge_cents) AS BIGINT) AS charge_cents,
                CAST(SUM(l.period_end_ms - l.period_start_ms) AS BIGINT) AS used_ms
         FROM ledger_entries l JOIN instances i ON i.id = l.instance_id
         WHERE l.buyer_id = $1 AND l.invoice_id IS NULL AND l.period_end_ms <= $2 AND ($3 = '' OR l.instance_id = $3)
         GROUP BY l.instance_id, i.name, i.flavor_id, i.zone, i.hourly_cents
         ORDER BY l.instance_id",
    )
    .bind(scope.buyer_id)
    .bind(scope.end_ms)
    .bind(scope.instance_id)
    .fetch_all(&mut *tx)
    .await?;
    // Service credits go on monthly invoices.
    let credits: Vec<(String, String, i64, i64, i64)> = if scope.kind == InvoiceKind::Monthly {
        sqlx::query_as(
            "SELECT instance_id, month, credit_cents, availability_bp, target_bp FROM sla_month_credits
             WHERE buyer_id = $1 AND invoice_id IS NULL AND credit_cents > 0 AND month <= $2
             ORDER BY month, instance_id",
        )
        .bind(scope.buyer_id)
        .bind(scope.period)
        .fetch_all(&mut *tx)
        .await?
    } else {
        Vec::new()
    };
    if usage.is_empty() && credits.is_empty() {
        return Ok(None);
    }
    let usage_cents: i64 = usage.iter().map(|u| u.charge_cents).sum();
    let credit_cents: i64 = credits.iter().map(|c| c.2).sum();
    let total = (usage_cents - credit_cents).max(0);
    let id = new_id("inv");
    let (number,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(number), 0) + 1 FROM invoices")
        .fetch_one(&mut *tx)
        .await?;
    let insert = sqlx::query(
        "INSERT INTO invoices (id, number, buyer_id, kind, period, instance_id, period_end_ms, usage_cents, credit_cents,
           total_cents, status, created_at_ms, paid_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&id)
    .bind(number)
    .bind(scope.buyer_id)
    .bind(kind_str(scope.kind))
    .bind(scope.period)
    .bind(scope.instance_id)
    .bind(scope.end_ms)
    .bind(usage_cents)
    .bind(credit_cents)
    .bind(total)
    .bind(if total > 0 { "open" } else { "paid" })
    .bind(now)
    .bind((total == 0).then_some(now))
    .execute(&mut *tx)
    .await;
    if !inserted(insert)? {
        return Ok(None); // made by another process
    }
    let mut position = 0_i64;
    for u in &usage {
        let description = format!("{} ({}, {})", u.name, u.flavor_id, u.zone);
        insert_line(
            &mut tx,
            &id,
            position,
            "usage",
            &u.instance_id,
            &description,
            u.used_ms,
            u.hourly_cents,
            u.charge_cents,
        )
        .await?;
        position += 1;
    }
    for (instance_id, month, cents, availability_bp, target_bp) in &credits {
        let description = format!(
            "Service credit for {month}: availability {} below the {} committed",
            percent(*availability_bp),
            percent(*target_bp)
        );
        insert_line(
            &mut tx,
            &id,
            position,
            "sla_credit",
            instance_id,
            &description,
            0,
            0,
            -cents,
        )
        .await?;
        position += 1;
    }
    sqlx::query(
        "UPDATE ledger_entries SET invoice_id = $1
         WHERE buyer_id = $2 AND invoice_id IS NULL AND period_end_ms <= $3 AND ($4 = '' OR instance_id = $4)",
    )
    .bind(&id)
    .bind(scope.buyer_id)
    .bind(scope.end_ms)
    .bind(scope.instance_id)
    .execute(&mut *tx)
    .await?;
    if scope.kind == InvoiceKind::Monthly {
        sqlx::query(
            "UPDATE sla_month_credits SET invoice_id = $1
             WHERE buyer_id = $2 AND invoice_id IS NULL AND credit_cents > 0 AND month <= $3",
        )
        .bind(&id)
        .bind(scope.buyer_id)
        .bind(scope.period)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!(invoice = %id, number, total, "invoice made");
    Ok(Some(id))
}

#[allow(clippy::too_many_arguments)] // one column each
async fn insert_line(
    tx: &mut db::Conn,
    invoice_id: &str,
    position: i64,
    kind: &str,
    instance_id: &str,
    description: &str,
    used_ms: i64,
    hourly_cents: i64,
    amount_cents: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invoice_lines (invoice_id, position, kind, instance_id, description, used_ms, hourly_cents, amount_cents)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(invoice_id)
    .bind(position)
    .bind(kind)
    .bind(instance_id)
    .bind(description)
    .bind(used_ms)
    .bind(hourly_cents)
    .bind(amount_cents)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Basis points as a percentage: 9950 → "99.5 %".
fn percent(bp: i64) -> String {
    let text = format!("{:.2}", bp as f64 / 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} %")
}

/// Charges every invoice that is due: new ones, past-due ones whose retry
/// has come, and charges a dead process left unfinished.
async fn charge_due(state: &AppState) -> AppResult<()> {
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
    // Stripe calls are repeated with the same keys).
    let claimed = sqlx::query(
        "UPDATE invoices SET status = 'charging', charging_since_ms = $2, attempts = attempts + 1
         WHERE id = $1 AND status IN ('open', 'past_due')",
    )
    .bind(id)
    .bind(now)
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
    if paid.rows_affected() == 1 {
        let (buyer,): (String,) = sqlx::query_as("SELECT buyer_id FROM invoices WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
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

/// Orders none of whose instances ran within 15 minutes (no host took
/// them): the authorisation is released, the instances end, and the order
/// says why.
async fn release_unstarted_orders(state: &AppState) -> AppResult<()> {
    let now = state.clock.now();
    let stuck: Vec<(String, String)> = sqlx::query_as(
        "SELECT o.id, o.authorization_id FROM orders o
         WHERE o.payment_status = 'authorized' AND o.created_at_ms < $1
           AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.order_id = o.id
                             AND (i.billed_ms > 0 OR i.running_since_ms IS NOT NULL OR i.status IN ('running', 'stopping', 'stopped')))",
    )
    .bind(now - UNSTARTED_REFUND_MS)
    .fetch_all(&state.db)
    .await?;
    for (order_id, authorization) in stuck {
        let released = state
            .stripe
            .cancel(&authorization, &format!("order-{order_id}-release"))
            .await;
        // Captured already (it should not be): refund it instead.
        let status = match released {
            Ok(_) => "refunded",
            Err(StripeError::Api { .. }) => {
                match state
                    .stripe
                    .refund(&authorization, &format!("order-{order_id}-refund"))
                    .await
                {
                    Ok(_) => "refunded",
                    Err(error) => {
                        tracing::error!(%order_id, %error, "cannot refund an order");
                        continue;
                    }
                }
            }
            Err(error) => {
                tracing::error!(%order_id, %error, "cannot release an authorisation");
                continue;
            }
        };
        let mut tx = db::begin_write(&state.db).await?;
        let updated = sqlx::query(
            "UPDATE orders SET payment_status = $2, refund_reason = $3 WHERE id = $1 AND payment_status = 'authorized'",
        )
        .bind(&order_id)
        .bind(status)
        .bind("No host started your instances within 15 minutes: the payment was cancelled and nothing was charged.")
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 1 {
            let instances: Vec<(String,)> = sqlx::query_as(
                "SELECT id FROM instances WHERE order_id = $1 AND status NOT IN ('terminated', 'failed')",
            )
            .bind(&order_id)
            .fetch_all(&mut *tx)
            .await?;
            for (id,) in instances {
                finish(
                    &mut tx,
                    &id,
                    sparecloud_api::instances::InstanceStatus::Terminated,
                    "No host started it within 15 minutes: the order was refunded.",
                    now,
                )
                .await?;
            }
            tracing::info!(%order_id, "order refunded: never started");
        }
        tx.commit().await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    id: String,
    number: i64,
    kind: String,
    period: String,
    status: String,
    usage_cents: i64,
    credit_cents: i64,
    total_cents: i64,
    created_at_ms: i64,
    paid_at_ms: Option<i64>,
    next_attempt_at_ms: Option<i64>,
    failure_message: Option<String>,
    attempts: i64,
}

const INVOICE_COLUMNS: &str =
    "id, number, kind, period, status, usage_cents, credit_cents, total_cents, created_at_ms,
    paid_at_ms, next_attempt_at_ms, failure_message, attempts";

/// The buyer's invoices, newest first, with their lines.
pub async fn list(state: &AppState, buyer_id: &str) -> AppResult<Vec<Invoice>> {
    let rows: Vec<InvoiceRow> = sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE buyer_id = $1 ORDER BY number DESC"
    ))
    .bind(buyer_id)
    .fetch_all(&state.db)
    .await?;
    let mut invoices = Vec::with_capacity(rows.len());
    for row in rows {
        invoices.push(with_lines(state, row).await?);
    }
    Ok(invoices)
}

/// One of the buyer's invoices.
pub async fn get(state: &AppState, buyer_id: &str, id: &str) -> AppResult<Invoice> {
    let row: Option<InvoiceRow> = sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1 AND buyer_id = $2"
    ))
    .bind(id)
    .bind(buyer_id)
    .fetch_optional(&state.db)
    .await?;
    with_lines(state, row.ok_or_else(|| AppError::not_found("invoice"))?).await
}

async fn with_lines(state: &AppState, row: InvoiceRow) -> AppResult<Invoice> {
    let lines: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT kind, instance_id, description, used_ms, hourly_cents, amount_cents FROM invoice_lines
         WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(&row.id)
    .fetch_all(&state.db)
    .await?;
    Ok(Invoice {
        number: invoice_number(row.number),
        kind: if row.kind == "final" {
            InvoiceKind::Final
        } else {
            InvoiceKind::Monthly
        },
        period: row.period,
        status: match row.status.as_str() {
            "paid" => InvoiceStatus::Paid,
            "past_due" => InvoiceStatus::PastDue,
            "charging" => InvoiceStatus::Charging,
            _ => InvoiceStatus::Open,
        },
        currency: "EUR".into(),
        usage_cents: row.usage_cents.max(0) as u64,
        credit_cents: row.credit_cents.max(0) as u64,
        total_cents: row.total_cents.max(0) as u64,
        created_at: rfc3339(row.created_at_ms),
        paid_at: row.paid_at_ms.map(rfc3339),
        next_attempt_at: row.next_attempt_at_ms.map(rfc3339),
        failure_message: row.failure_message,
        attempts: row.attempts.max(0) as u32,
        lines: lines
            .into_iter()
            .map(
                |(kind, instance_id, description, used_ms, hourly, amount)| InvoiceLine {
                    kind: if kind == "sla_credit" {
                        InvoiceLineKind::SlaCredit
                    } else {
                        InvoiceLineKind::Usage
                    },
                    instance_id,
                    description,
                    used_seconds: (used_ms.max(0) / 1000) as u64,
                    hourly_cents: hourly.max(0) as u64,
                    amount_cents: amount,
                },
            )
            .collect(),
        id: row.id,
    })
}

/// "Pay now": charges a past-due invoice of the buyer's to one of their
/// saved cards, with the buyer present.
pub async fn pay(
    state: &AppState,
    buyer_id: &str,
    id: &str,
    payment_method_id: &str,
) -> AppResult<Invoice> {
    let invoice = get(state, buyer_id, id).await?;
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
        Charged::Paid => get(state, buyer_id, id).await,
        Charged::RequiresAction { client_secret } => {
            let mut error = AppError::problem(
                kinds::PAYMENT_ACTION_REQUIRED,
                "Confirm the payment with your bank",
                StatusCode::PAYMENT_REQUIRED,
                "Your bank asks you to confirm this payment.",
            );
            if let AppError::Client(problem) = &mut error {
                problem.client_secret = Some(client_secret.into());
            }
            Err(error)
        }
        Charged::Refused(error) => Err(stripe_problem(error)),
        Charged::NotDue => Err(AppError::problem(
            kinds::CONFLICT,
            "Payment in progress",
            StatusCode::CONFLICT,
            "This invoice is being charged right now: reload the page in a moment.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percentages_read_naturally() {
        assert_eq!(percent(9950), "99.5 %");
        assert_eq!(percent(9999), "99.99 %");
        assert_eq!(percent(10_000), "100 %");
    }
}

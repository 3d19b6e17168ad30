//! Stripe's webhook events, once their signature is checked (in `http`).
//! Each event id is recorded before it is handled, in the transaction that
//! handles it where it can be, so a replayed event changes nothing; events
//! about objects we do not know (another server's, on a shared Stripe
//! account) are acknowledged and ignored.

use serde::Deserialize;
use serde_json::Value;

use crate::domain::{charges, payments};
use crate::error::{AppResult, inserted};
use crate::state::AppState;
use crate::stripe;

#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// What handling an event did.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Done,
    /// Seen before: nothing changed.
    Replayed,
    Ignored,
}

pub async fn handle(state: &AppState, event: Event) -> AppResult<Handled> {
    let fresh = inserted(
        sqlx::query("INSERT INTO stripe_events (id, type, received_at_ms) VALUES ($1, $2, $3)")
            .bind(&event.id)
            .bind(&event.kind)
            .bind(state.clock.now())
            .execute(&state.db)
            .await,
    )?;
    if !fresh {
        return Ok(Handled::Replayed);
    }
    let outcome = match event.kind.as_str() {
        "payment_intent.succeeded" => payment_succeeded(state, &event.data.object).await,
        "payment_intent.payment_failed" => payment_failed(state, &event.data.object).await,
        "setup_intent.succeeded" => setup_succeeded(state, &event.data.object).await,
        "charge.refunded" => charge_refunded(state, &event.data.object).await,
        _ => Ok(Handled::Ignored),
    };
    if outcome.is_err() {
        // Not handled: Stripe sends it again later, and it must not be
        // taken for a replay then.
        sqlx::query("DELETE FROM stripe_events WHERE id = $1")
            .bind(&event.id)
            .execute(&state.db)
            .await?;
    }
    outcome
}

fn text<'a>(object: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(object, |value, key| value.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An invoice's charge that succeeded after we last looked (3-D Secure
/// completed by the buyer, or a charge whose answer we never got).
async fn payment_succeeded(state: &AppState, intent: &Value) -> AppResult<Handled> {
    let (Some(invoice_id), Some(intent_id)) = (
        text(intent, &["metadata", "invoice_id"]),
        text(intent, &["id"]),
    ) else {
        return Ok(Handled::Ignored);
    };
    let known: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM invoices WHERE id = $1 AND (payment_intent_id = $2 OR status IN ('charging', 'past_due', 'open'))",
    )
    .bind(invoice_id)
    .bind(intent_id)
    .fetch_optional(&state.db)
    .await?;
    if known.is_none() {
        return Ok(Handled::Ignored);
    }
    charges::mark_paid(state, invoice_id, Some(intent_id)).await?;
    Ok(Handled::Done)
}

/// A charge refused after the fact: recorded on the invoice (its retries
/// follow their schedule).
async fn payment_failed(state: &AppState, intent: &Value) -> AppResult<Handled> {
    let Some(invoice_id) = text(intent, &["metadata", "invoice_id"]) else {
        return Ok(Handled::Ignored);
    };
    let message = text(intent, &["last_payment_error", "message"]).unwrap_or("The charge failed.");
    let updated = sqlx::query(
        "UPDATE invoices SET failure_message = $2 WHERE id = $1 AND status IN ('past_due', 'charging')",
    )
    .bind(invoice_id)
    .bind(message)
    .execute(&state.db)
    .await?;
    Ok(if updated.rows_affected() == 1 {
        Handled::Done
    } else {
        Handled::Ignored
    })
}

/// A card set up in the browser whose page closed before saving it.
async fn setup_succeeded(state: &AppState, intent: &Value) -> AppResult<Handled> {
    let (Some(customer), Some(method_id)) = (
        text(intent, &["customer"]),
        text(intent, &["payment_method"]),
    ) else {
        return Ok(Handled::Ignored);
    };
    let account: Option<(String,)> =
        sqlx::query_as("SELECT id FROM accounts WHERE stripe_customer_id = $1")
            .bind(customer)
            .fetch_optional(&state.db)
            .await?;
    let Some((account_id,)) = account else {
        return Ok(Handled::Ignored);
    };
    let method: stripe::PaymentMethod = state
        .stripe
        .payment_method(method_id)
        .await
        .map_err(|e| crate::error::AppError::internal_from("reading a payment method", e))?;
    let holder = method
        .billing_details
        .as_ref()
        .and_then(|b| b.name.clone())
        .unwrap_or_default();
    let holder: String = holder
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    payments::record_card(state, &account_id, method, holder.trim()).await?;
    Ok(Handled::Done)
}

/// A refund made outside our jobs (from Stripe's dashboard): the order
/// says so.
async fn charge_refunded(state: &AppState, charge: &Value) -> AppResult<Handled> {
    let Some(intent) = text(charge, &["payment_intent"]) else {
        return Ok(Handled::Ignored);
    };
    let updated = sqlx::query(
        "UPDATE orders SET payment_status = 'refunded', refund_reason = COALESCE(refund_reason, $2)
         WHERE authorization_id = $1 AND payment_status <> 'refunded'",
    )
    .bind(intent)
    .bind("Refunded.")
    .execute(&state.db)
    .await?;
    Ok(if updated.rows_affected() >= 1 {
        Handled::Done
    } else {
        Handled::Ignored
    })
}

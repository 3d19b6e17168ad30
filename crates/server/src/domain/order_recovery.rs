//! Orders a crash left half-done: still `processing` long after an order
//! takes, with no instances (those are made in the same transaction that
//! completes the order). A job fails them, voids their card authorisation
//! and gives their quote's room back.

use http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::problem::kinds;

use crate::clock::Millis;
use crate::domain::orders::release_quote;
use crate::error::AppResult;
use crate::state::AppState;

/// How long an order may stay `processing` (a card authorisation and one
/// write transaction take seconds) before a job takes it for stranded.
const STRANDED_AFTER_MS: Millis = 5 * 60 * 1000;

/// Recovers orders a crash left `processing`: each is failed with a problem
/// its key answers from then on (so a retry is told to order again rather
/// than "in progress" for ever), its card authorisation, if one was made,
/// is voided, and its quote is held again, so its capacity is released when
/// the quote expires. Returns how many were recovered.
pub async fn recover_stranded(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let cutoff = now - STRANDED_AFTER_MS;
    let stranded: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, buyer_id, quote_id, authorization_id FROM orders
         WHERE status = 'processing' AND processing_since_ms < $1",
    )
    .bind(cutoff)
    .fetch_all(&state.db)
    .await?;
    let problem = Problem::new(
        kinds::ORDER_INTERRUPTED,
        "Order interrupted",
        StatusCode::CONFLICT.as_u16(),
    )
    .with_detail(
        "This order was interrupted before it completed and nothing was charged: review your order for a new quote and place it again.",
    );
    let failure = serde_json::to_string(&problem).unwrap_or_default();
    let mut recovered = 0;
    for (order_id, buyer_id, quote_id, authorization_id) in stranded {
        // The claim: of several servers, one recovers it; and an order that
        // completed meanwhile is left alone.
        let claimed = sqlx::query(
            "UPDATE orders SET status = 'failed', failure_type = $2, failure_detail = $3
             WHERE id = $1 AND status = 'processing' AND processing_since_ms < $4",
        )
        .bind(&order_id)
        .bind(&problem.kind)
        .bind(&failure)
        .bind(cutoff)
        .execute(&state.db)
        .await?;
        if claimed.rows_affected() != 1 {
            continue;
        }
        void_authorization(state, &order_id, &buyer_id, authorization_id).await;
        release_quote(state, &quote_id).await?;
        tracing::warn!(%order_id, "stranded order recovered: failed, authorisation voided, quote released");
        recovered += 1;
    }
    Ok(recovered)
}

/// Voids the order's card authorisation, found by its recorded id or, if
/// the crash came before it was recorded, among the buyer's PaymentIntents
/// by the order id in their metadata. Failures are logged: an authorisation
/// left behind lapses at Stripe after 7 days.
async fn void_authorization(
    state: &AppState,
    order_id: &str,
    buyer_id: &str,
    recorded: Option<String>,
) {
    let found = match recorded {
        Some(id) => Ok(Some(id)),
        None => authorization_of(state, order_id, buyer_id).await,
    };
    let outcome = match found {
        Ok(Some(id)) => state
            .stripe
            .cancel(&id, &format!("order-{order_id}-void"))
            .await
            .map(|_| ()),
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    if let Err(error) = outcome {
        tracing::error!(%order_id, %error, "could not void a stranded order's authorisation");
    }
}

async fn authorization_of(
    state: &AppState,
    order_id: &str,
    buyer_id: &str,
) -> Result<Option<String>, crate::stripe::StripeError> {
    let customer: Option<(Option<String>,)> =
        sqlx::query_as("SELECT stripe_customer_id FROM accounts WHERE id = $1")
            .bind(buyer_id)
            .fetch_optional(&state.db)
            .await
            .ok()
            .flatten();
    let Some((Some(customer),)) = customer else {
        return Ok(None);
    };
    let intents = state.stripe.payment_intents_of(&customer).await?;
    Ok(intents
        .into_iter()
        .find(|pi| {
            pi.metadata.get("order_id").map(String::as_str) == Some(order_id)
                && pi.customer.as_deref() == Some(customer.as_str())
                && matches!(
                    pi.status.as_str(),
                    "requires_capture"
                        | "requires_action"
                        | "requires_confirmation"
                        | "requires_payment_method"
                )
        })
        .map(|pi| pi.id))
}

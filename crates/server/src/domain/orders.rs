//! Orders: an idempotent card authorisation for a quote, then the
//! instances on the hosts the quote held. The `Idempotency-Key` is claimed
//! by a UNIQUE (buyer, key) constraint, so exactly one request with it
//! does the work; the others answer from what it recorded.

use http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::checkout::{Order, OrderRequest};
use sparecloud_api::problem::kinds;

use crate::auth::{new_id, token_hash};
use crate::domain::order_instances;
use crate::domain::order_view::load_order;
use crate::domain::partners;
use crate::domain::payments::{self, Chargeable, action_required, stripe_problem};
use crate::domain::ssh_keys::ssh_key_check;
use crate::error::{AppError, AppResult, field, inserted};
use crate::state::AppState;
use crate::stripe::NewPaymentIntent;

/// An order placed now, or the one its key placed before.
pub struct Placed {
    pub order: Order,
    pub replayed: bool,
}

/// Places an order for the buyer's quote under `key`: a retry with the
/// same key returns the same order (or the same failure) and never
/// charges twice.
pub async fn place(
    state: &AppState,
    buyer_id: &str,
    key: &str,
    request: &OrderRequest,
) -> AppResult<Placed> {
    let checked = check(state, buyer_id, request).await?;
    let fingerprint = fingerprint(request);
    let Some(order_id) = claim_key(
        state,
        buyer_id,
        key,
        &fingerprint,
        request,
        checked.partner_id.as_deref(),
    )
    .await?
    else {
        return replay(state, buyer_id, key, &fingerprint).await;
    };
    let outcome = pay_and_create(
        state,
        buyer_id,
        &order_id,
        &request.quote_id,
        &checked.card,
        checked.amount_cents,
    )
    .await;
    record_outcome(state, &order_id, outcome).await?;
    let order = load_order(state, buyer_id, &order_id).await?;
    tracing::info!(%order_id, instances = order.instances.len(), "order placed");
    Ok(Placed {
        order,
        replayed: false,
    })
}

/// What a valid order request pays with, and how much it authorises.
struct Checked {
    card: Chargeable,
    amount_cents: i64,
    /// The partner of a valid embed session.
    partner_id: Option<String>,
}

async fn check(state: &AppState, buyer_id: &str, request: &OrderRequest) -> AppResult<Checked> {
    let mut errors = Vec::new();
    if let Err(message) = ssh_key_check(&request.ssh_public_key) {
        errors.push(field("ssh_public_key", message));
    }
    let card = payments::chargeable(state, buyer_id, &request.payment_method_id).await?;
    if card.is_none() {
        errors.push(field(
            "payment_method_id",
            "Add a card, or choose one of your saved cards.",
        ));
    }
    let mut partner_id = None;
    if let Some(session) = &request.embed_session {
        partner_id =
            partners::partner_of_embed_session(&state.db, session, state.clock.now()).await?;
        if partner_id.is_none() {
            errors.push(field(
                "embed_session",
                "This embed session is not valid or has expired: reload the page and order again.",
            ));
        }
    }
    let quote: Option<(i64,)> =
        sqlx::query_as("SELECT estimated_month_cents FROM quotes WHERE id = $1 AND buyer_id = $2")
            .bind(&request.quote_id)
            .bind(buyer_id)
            .fetch_optional(&state.db)
            .await?;
    let Some((amount_cents,)) = quote else {
        return Err(AppError::not_found("quote"));
    };
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    Ok(Checked {
        card: card.expect("validated"),
        amount_cents,
        partner_id,
    })
}

/// What a key was used for: the same key with another request is refused.
fn fingerprint(request: &OrderRequest) -> String {
    token_hash(&format!(
        "{}\n{}\n{}\n{}",
        request.quote_id,
        request.payment_method_id,
        request.ssh_public_key.trim(),
        request.embed_session.as_deref().unwrap_or_default()
    ))
}

/// Records a new order under the key: its id, or `None` when the key was
/// used before.
async fn claim_key(
    state: &AppState,
    buyer_id: &str,
    key: &str,
    fingerprint: &str,
    request: &OrderRequest,
    partner_id: Option<&str>,
) -> AppResult<Option<String>> {
    let order_id = new_id("ord");
    let insert = sqlx::query(
        "INSERT INTO orders (id, buyer_id, idempotency_key, request_fingerprint, quote_id, payment_method_id,
           ssh_public_key, status, created_at_ms, processing_since_ms, partner_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'processing', $8, $8, $9)",
    )
    .bind(&order_id)
    .bind(buyer_id)
    .bind(key)
    .bind(fingerprint)
    .bind(&request.quote_id)
    .bind(&request.payment_method_id)
    .bind(request.ssh_public_key.trim())
    .bind(state.clock.now())
    .bind(partner_id)
    .execute(&state.db)
    .await;
    Ok(inserted(insert)?.then_some(order_id))
}

/// Keeps what a retry of the key must answer: a client problem is recorded
/// (the same key fails the same way); an internal error frees the key, as
/// the outcome is unknown and the buyer may retry it.
async fn record_outcome(state: &AppState, order_id: &str, outcome: AppResult<()>) -> AppResult<()> {
    match outcome {
        Ok(()) => {
            crate::metrics::order_placed("completed");
            Ok(())
        }
        Err(AppError::Client(problem)) => {
            // Waiting for the buyer's bank: the same key completes it later.
            let status = if problem.is(kinds::PAYMENT_ACTION_REQUIRED) {
                "requires_action"
            } else {
                "failed"
            };
            crate::metrics::order_placed(status);
            sqlx::query("UPDATE orders SET status = $4, failure_type = $2, failure_detail = $3 WHERE id = $1")
                .bind(order_id)
                .bind(&problem.kind)
                .bind(serde_json::to_string(&problem).unwrap_or_default())
                .bind(status)
                .execute(&state.db)
                .await?;
            Err(AppError::Client(problem))
        }
        Err(internal) => {
            crate::metrics::order_placed("error");
            sqlx::query("DELETE FROM orders WHERE id = $1 AND status = 'processing'")
                .bind(order_id)
                .execute(&state.db)
                .await?;
            Err(internal)
        }
    }
}

/// The answer for a key that was used before.
async fn replay(
    state: &AppState,
    buyer_id: &str,
    key: &str,
    fingerprint: &str,
) -> AppResult<Placed> {
    let (id, old_fingerprint, status, failure): (String, String, String, Option<String>) = sqlx::query_as(
        "SELECT id, request_fingerprint, status, failure_detail FROM orders WHERE buyer_id = $1 AND idempotency_key = $2",
    )
    .bind(buyer_id)
    .bind(key)
    .fetch_one(&state.db)
    .await?;
    if old_fingerprint != fingerprint {
        return Err(AppError::problem(
            kinds::IDEMPOTENCY_KEY,
            "Idempotency-Key reused",
            StatusCode::UNPROCESSABLE_ENTITY,
            "This Idempotency-Key was used for a different order: use a new key for each attempt.",
        ));
    }
    match status.as_str() {
        "completed" => Ok(Placed {
            order: load_order(state, buyer_id, &id).await?,
            replayed: true,
        }),
        "requires_action" => complete_after_action(state, buyer_id, &id).await,
        "failed" => {
            let problem: Problem = failure
                .and_then(|f| serde_json::from_str(&f).ok())
                .ok_or_else(|| {
                    AppError::internal(format!("order {id} failed without a recorded problem"))
                })?;
            Err(AppError::Client(problem))
        }
        _ => Err(AppError::problem(
            kinds::IDEMPOTENCY_KEY,
            "Order in progress",
            StatusCode::CONFLICT,
            "An order with this Idempotency-Key is still being processed: wait a moment and retry.",
        )),
    }
}

/// Holds the quote again (for another card, or after a crash).
pub(crate) async fn release_quote(state: &AppState, quote_id: &str) -> AppResult<()> {
    sqlx::query("UPDATE quotes SET status = 'held' WHERE id = $1 AND status = 'ordering'")
        .bind(quote_id)
        .execute(&state.db)
        .await?;
    Ok(())
}

/// The retry of an order that waited for the buyer's bank: once Stripe
/// holds the authorisation, the instances are created as for any order.
async fn complete_after_action(
    state: &AppState,
    buyer_id: &str,
    order_id: &str,
) -> AppResult<Placed> {
    let (quote_id, authorization, amount): (String, Option<String>, i64) = sqlx::query_as(
        "SELECT o.quote_id, o.authorization_id, q.estimated_month_cents FROM orders o JOIN quotes q ON q.id = o.quote_id
         WHERE o.id = $1 AND o.buyer_id = $2",
    )
    .bind(order_id)
    .bind(buyer_id)
    .fetch_one(&state.db)
    .await?;
    let authorization = authorization.unwrap_or_default();
    let intent = state
        .stripe
        .payment_intent(&authorization)
        .await
        .map_err(stripe_problem)?;
    let outcome = match intent.status.as_str() {
        "requires_action" => return Err(action_required(intent.client_secret.unwrap_or_default())),
        "requires_capture" => {
            let claimed = sqlx::query(
                "UPDATE orders SET status = 'processing', processing_since_ms = $2
                 WHERE id = $1 AND status = 'requires_action'",
            )
            .bind(order_id)
            .bind(state.clock.now())
            .execute(&state.db)
            .await?;
            if claimed.rows_affected() != 1 {
                return Err(AppError::problem(
                    kinds::IDEMPOTENCY_KEY,
                    "Order in progress",
                    StatusCode::CONFLICT,
                    "An order with this Idempotency-Key is still being processed: wait a moment and retry.",
                ));
            }
            match claim_quote(state, buyer_id, &quote_id).await {
                Ok(()) => {
                    create_or_release(state, buyer_id, order_id, &quote_id, &authorization, amount)
                        .await
                }
                Err(error) => {
                    let _ = state
                        .stripe
                        .cancel(&authorization, &format!("order-{order_id}-void"))
                        .await;
                    Err(error)
                }
            }
        }
        _ => Err(AppError::problem(
            kinds::CARD_DECLINED,
            "Card declined",
            StatusCode::PAYMENT_REQUIRED,
            "Your bank did not confirm the payment. Try again, or use another card.",
        )),
    };
    record_outcome(state, order_id, outcome).await?;
    Ok(Placed {
        order: load_order(state, buyer_id, order_id).await?,
        replayed: false,
    })
}

/// Claims the quote, authorises the card and creates the instances.
async fn pay_and_create(
    state: &AppState,
    buyer_id: &str,
    order_id: &str,
    quote_id: &str,
    card: &Chargeable,
    amount: i64,
) -> AppResult<()> {
    claim_quote(state, buyer_id, quote_id).await?;
    let authorization_id = authorize(state, order_id, quote_id, card, amount).await?;
    create_or_release(
        state,
        buyer_id,
        order_id,
        quote_id,
        &authorization_id,
        amount,
    )
    .await
}

/// Takes the quote for this order, or says why it cannot be.
async fn claim_quote(state: &AppState, buyer_id: &str, quote_id: &str) -> AppResult<()> {
    let now = state.clock.now();
    let claimed = sqlx::query(
        "UPDATE quotes SET status = 'ordering' WHERE id = $1 AND buyer_id = $2 AND status = 'held' AND expires_at_ms > $3",
    )
    .bind(quote_id)
    .bind(buyer_id)
    .bind(now)
    .execute(&state.db)
    .await?;
    if claimed.rows_affected() != 1 {
        let (status, expires_at_ms): (String, i64) =
            sqlx::query_as("SELECT status, expires_at_ms FROM quotes WHERE id = $1")
                .bind(quote_id)
                .fetch_one(&state.db)
                .await?;
        return Err(if status == "ordered" || status == "ordering" {
            AppError::problem(
                kinds::QUOTE_USED,
                "Quote already used",
                StatusCode::CONFLICT,
                "This quote has already been ordered: see your instances.",
            )
        } else if status == "released" && expires_at_ms > now {
            AppError::problem(
                kinds::QUOTE_EXPIRED,
                "Quote replaced",
                StatusCode::GONE,
                "A newer quote for this offer replaced this one and released its capacity: order the newest, or review your order again.",
            )
        } else {
            AppError::problem(
                kinds::QUOTE_EXPIRED,
                "Quote expired",
                StatusCode::GONE,
                "The price and capacity were held for 10 minutes and have been released: review your order again for a new quote.",
            )
        });
    }
    Ok(())
}

/// An authorisation at Stripe for the quoted first month: its
/// PaymentIntent's id. Refused, the quote is held again for another card.
async fn authorize(
    state: &AppState,
    order_id: &str,
    quote_id: &str,
    card: &Chargeable,
    amount: i64,
) -> AppResult<String> {
    // An authorisation at Stripe for the quoted first month, captured for
    // what was used when the first invoice closes.
    let authorization = state
        .stripe
        .create_payment_intent(
            NewPaymentIntent {
                amount_cents: amount,
                customer: &card.customer,
                payment_method: &card.payment_method,
                manual_capture: true,
                off_session: false,
                metadata: &[("order_id", order_id)],
            },
            &format!("order-{order_id}-authorize"),
        )
        .await;
    let authorization_id = match authorization {
        Ok(intent) if intent.status == "requires_capture" => intent.id,
        Ok(intent) if intent.status == "requires_action" => {
            // 3-D Secure: the app asks the bank (Stripe.js), then retries
            // the order with the same key, which completes it.
            sqlx::query("UPDATE orders SET authorization_id = $2 WHERE id = $1")
                .bind(order_id)
                .bind(&intent.id)
                .execute(&state.db)
                .await?;
            release_quote(state, quote_id).await?;
            return Err(action_required(intent.client_secret.unwrap_or_default()));
        }
        outcome => {
            // The quote stays held so the buyer can pay with another card.
            release_quote(state, quote_id).await?;
            return Err(match outcome {
                Err(error) => stripe_problem(error),
                Ok(intent) => {
                    tracing::warn!(payment_intent = %intent.id, status = %intent.status, "authorisation not granted");
                    AppError::problem(
                        kinds::CARD_DECLINED,
                        "Card declined",
                        StatusCode::PAYMENT_REQUIRED,
                        "Your bank did not authorise the payment. Try another card or contact your bank.",
                    )
                }
            });
        }
    };
    Ok(authorization_id)
}

/// Creates the order's instances; if that fails, the authorisation is
/// released and the quote held again.
async fn create_or_release(
    state: &AppState,
    buyer_id: &str,
    order_id: &str,
    quote_id: &str,
    authorization_id: &str,
    amount: i64,
) -> AppResult<()> {
    let now = state.clock.now();
    let created = order_instances::create_instances(
        state,
        buyer_id,
        order_id,
        quote_id,
        authorization_id,
        amount,
        now,
    )
    .await;
    if created.is_err() {
        // Nothing was created: release the money reserved on the card.
        if let Err(error) = state
            .stripe
            .cancel(authorization_id, &format!("order-{order_id}-void"))
            .await
        {
            tracing::error!(%order_id, %error, "could not release an authorisation");
        }
        release_quote(state, quote_id).await?;
    }
    created
}

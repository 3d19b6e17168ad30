//! Orders: an idempotent card authorisation for a quote, then the
//! instances on the hosts the quote held. The `Idempotency-Key` is claimed
//! by a UNIQUE (buyer, key) constraint, so exactly one request with it
//! does the work; the others answer from what it recorded.

use http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::checkout::{Order, OrderRequest};
use sparecloud_api::problem::kinds;

use crate::auth::{new_id, token_hash};
use crate::clock::Millis;
use crate::db;
use crate::domain::instance::{placed_on, record_event};
use crate::domain::order_view::load_order;
use crate::domain::partners;
use crate::domain::payments::{self, Chargeable, stripe_problem};
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
    let Some(order_id) = claim_key(state, buyer_id, key, &fingerprint, request).await? else {
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
    if let Some(partner) = &request.partner_id
        && partners::share_bp(&state.db, partner).await?.is_none()
    {
        errors.push(field("partner_id", "There is no such partner."));
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
    })
}

/// What a key was used for: the same key with another request is refused.
fn fingerprint(request: &OrderRequest) -> String {
    token_hash(&format!(
        "{}\n{}\n{}\n{}",
        request.quote_id,
        request.payment_method_id,
        request.ssh_public_key.trim(),
        request.partner_id.as_deref().unwrap_or_default()
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
) -> AppResult<Option<String>> {
    let order_id = new_id("ord");
    let insert = sqlx::query(
        "INSERT INTO orders (id, buyer_id, idempotency_key, request_fingerprint, quote_id, payment_method_id,
           ssh_public_key, status, created_at_ms, partner_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'processing', $8, $9)",
    )
    .bind(&order_id)
    .bind(buyer_id)
    .bind(key)
    .bind(fingerprint)
    .bind(&request.quote_id)
    .bind(&request.payment_method_id)
    .bind(request.ssh_public_key.trim())
    .bind(state.clock.now())
    .bind(&request.partner_id)
    .execute(&state.db)
    .await;
    Ok(inserted(insert)?.then_some(order_id))
}

/// Keeps what a retry of the key must answer: a client problem is recorded
/// (the same key fails the same way); an internal error frees the key, as
/// the outcome is unknown and the buyer may retry it.
async fn record_outcome(state: &AppState, order_id: &str, outcome: AppResult<()>) -> AppResult<()> {
    match outcome {
        Ok(()) => Ok(()),
        Err(AppError::Client(problem)) => {
            sqlx::query("UPDATE orders SET status = 'failed', failure_type = $2, failure_detail = $3 WHERE id = $1")
                .bind(order_id)
                .bind(&problem.kind)
                .bind(serde_json::to_string(&problem).unwrap_or_default())
                .execute(&state.db)
                .await?;
            Err(AppError::Client(problem))
        }
        Err(internal) => {
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

/// Claims the quote, authorises the card and creates the instances.
async fn pay_and_create(
    state: &AppState,
    buyer_id: &str,
    order_id: &str,
    quote_id: &str,
    card: &Chargeable,
    amount: i64,
) -> AppResult<()> {
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
        let (status,): (String,) = sqlx::query_as("SELECT status FROM quotes WHERE id = $1")
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
        } else {
            AppError::problem(
                kinds::QUOTE_EXPIRED,
                "Quote expired",
                StatusCode::GONE,
                "The price and capacity were held for 10 minutes and have been released: review your order again for a new quote.",
            )
        });
    }

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
        outcome => {
            // The quote stays held so the buyer can pay with another card.
            sqlx::query("UPDATE quotes SET status = 'held' WHERE id = $1 AND status = 'ordering'")
                .bind(quote_id)
                .execute(&state.db)
                .await?;
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

    let created = create_instances(
        state,
        buyer_id,
        order_id,
        quote_id,
        &authorization_id,
        amount,
        now,
    )
    .await;
    if created.is_err() {
        // Nothing was created: release the money reserved on the card.
        if let Err(error) = state
            .stripe
            .cancel(&authorization_id, &format!("order-{order_id}-void"))
            .await
        {
            tracing::error!(%order_id, %error, "could not release an authorisation");
        }
        sqlx::query("UPDATE quotes SET status = 'held' WHERE id = $1 AND status = 'ordering'")
            .bind(quote_id)
            .execute(&state.db)
            .await?;
    }
    created
}

/// One instance's place, as its quote held it.
#[derive(sqlx::FromRow)]
struct HoldRow {
    slot: i64,
    host_id: String,
    seller_id: String,
    zone: String,
    offer_id: String,
    image_id: String,
    flavor_id: String,
    sla_tier: String,
    vcpu: i64,
    ram_gib: i64,
    disk_gib: i64,
    hourly_cents: i64,
    placement: String,
    auto_recover: i64,
}

async fn create_instances(
    state: &AppState,
    buyer_id: &str,
    order_id: &str,
    quote_id: &str,
    authorization_id: &str,
    amount: i64,
    now: Millis,
) -> AppResult<()> {
    let mut tx = db::begin_write(&state.db).await?;
    // The partner's share is fixed at order time, like the commission.
    let (partner_id, partner_share_bp): (Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT o.partner_id, p.share_bp FROM orders o LEFT JOIN partners p ON p.id = o.partner_id WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE quotes SET status = 'ordered' WHERE id = $1 AND status = 'ordering'")
        .bind(quote_id)
        .execute(&mut *tx)
        .await?;
    let (ssh_key,): (String,) = sqlx::query_as("SELECT ssh_public_key FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?;
    let holds: Vec<HoldRow> = sqlx::query_as(
        "SELECT h.slot, h.host_id, hs.seller_id, hs.zone, h.offer_id, q.image_id, q.flavor_id, q.sla_tier,
                f.vcpu, f.ram_gib, f.disk_gib, h.hourly_cents, q.placement, q.auto_recover
         FROM quote_holds h JOIN quotes q ON q.id = h.quote_id JOIN hosts hs ON hs.id = h.host_id
         JOIN flavors f ON f.id = q.flavor_id
         WHERE h.quote_id = $1 ORDER BY h.slot",
    )
    .bind(quote_id)
    .fetch_all(&mut *tx)
    .await?;
    for hold in holds {
        let id = new_id("ins");
        let name = format!("{}-{}", hold.image_id, &id[id.len() - 4..]);
        sqlx::query(
            "INSERT INTO instances (id, order_id, buyer_id, seller_id, offer_id, host_id, name, image_id, flavor_id, sla_tier,
               zone, vcpu, ram_gib, disk_gib, hourly_cents, commission_bp, ssh_public_key, status, desired_state,
               created_at_ms, updated_at_ms, partner_id, partner_share_bp, placement, auto_recover)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'pending', 'running', $18, $18, $19, $20, $21, $22)",
        )
        .bind(&id)
        .bind(order_id)
        .bind(buyer_id)
        .bind(&hold.seller_id)
        .bind(&hold.offer_id)
        .bind(&hold.host_id)
        .bind(&name)
        .bind(&hold.image_id)
        .bind(&hold.flavor_id)
        .bind(&hold.sla_tier)
        .bind(&hold.zone)
        .bind(hold.vcpu)
        .bind(hold.ram_gib)
        .bind(hold.disk_gib)
        .bind(hold.hourly_cents)
        .bind(state.settings.commission_bp)
        .bind(&ssh_key)
        .bind(now)
        .bind(&partner_id)
        .bind(partner_share_bp.unwrap_or(0))
        .bind(&hold.placement)
        .bind(hold.auto_recover)
        .execute(&mut *tx)
        .await?;
        placed_on(&mut tx, &id, &hold.host_id, now).await?;
        record_event(
            &mut tx,
            &id,
            "created",
            &format!(
                "Ordered; placed on a host in {} (slot {}).",
                hold.zone,
                hold.slot + 1
            ),
            now,
        )
        .await?;
    }
    sqlx::query(
        "UPDATE orders SET status = 'completed', authorization_id = $2, payment_status = 'authorized',
           authorized_cents = $3 WHERE id = $1",
    )
    .bind(order_id)
    .bind(authorization_id)
    .bind(amount)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

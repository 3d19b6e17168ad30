//! Quotes (binding prices with capacity held) and orders (idempotent card
//! authorisation, then instances on the held hosts).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use sparecloud_api::catalog::Capacity;
use sparecloud_api::checkout::{
    IDEMPOTENCY_KEY_HEADER, Order, OrderRequest, OrderStatus, Placement, Quote, QuotePlacement,
    QuoteRequest,
};
use sparecloud_api::{FieldError, Problem, validate};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{AuthUser, new_id, token_hash};
use crate::capacity;
use crate::clock::{Millis, rfc3339};
use crate::error::{AppError, AppResult};
use crate::extract::Json;
use crate::instances::{load_instances, record_event};
use crate::payments::Decline;
use crate::placement::{self, Candidate};

/// How long a quote holds its capacity.
pub const QUOTE_HOLD_MS: Millis = 10 * 60 * 1000;
/// The month in "estimated month".
const HOURS_PER_MONTH: u64 = 730;
const MAX_INSTANCES_PER_ORDER: u32 = 20;

pub mod checkout_kinds {
    pub const CAPACITY: &str = "https://sparecloud.dev/problems/capacity-unavailable";
    pub const SPREAD: &str = "https://sparecloud.dev/problems/spread-unavailable";
    pub const QUOTE_EXPIRED: &str = "https://sparecloud.dev/problems/quote-expired";
    pub const QUOTE_USED: &str = "https://sparecloud.dev/problems/quote-used";
    pub const CARD_DECLINED: &str = "https://sparecloud.dev/problems/card-declined";
    pub const INSUFFICIENT_FUNDS: &str = "https://sparecloud.dev/problems/insufficient-funds";
    pub const PAYMENT_UNAVAILABLE: &str = "https://sparecloud.dev/problems/payment-unavailable";
    pub const IDEMPOTENCY: &str = "https://sparecloud.dev/problems/idempotency-key";
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_quote))
        .routes(routes!(create_order))
        .routes(routes!(get_order))
}

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

// ---- quotes ---------------------------------------------------------------

/// Prices an order and holds its capacity for ten minutes. A spread places
/// each instance on its own host or zone, on other offers of the tier or
/// better (each at its price) where the chosen one alone cannot.
#[utoipa::path(post, path = "/quotes", tag = "checkout", security(("bearer" = [])),
    request_body = QuoteRequest,
    responses(
        (status = 201, body = Quote),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough capacity, or a spread (distinct hosts or zones, across offers of the tier or better) that cannot be met: nothing is held", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_quote(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<QuoteRequest>,
) -> AppResult<(StatusCode, Json<Quote>)> {
    let offer: Option<(i64,)> = sqlx::query_as(
        "SELECT t.availability_bp FROM offers o JOIN sla_tiers t ON t.id = o.sla_tier
         WHERE o.id = $1 AND o.status = 'active'",
    )
    .bind(&request.offer_id)
    .fetch_optional(&state.db)
    .await?;
    let (offer_bp,) = offer.ok_or_else(|| AppError::not_found("offer"))?;

    let mut errors = Vec::new();
    let image: Option<(i64,)> = sqlx::query_as("SELECT min_disk_gib FROM images WHERE id = $1")
        .bind(&request.image_id)
        .fetch_optional(&state.db)
        .await?;
    if image.is_none() {
        errors.push(field("image_id", "Choose an image from the catalog."));
    }
    let tier: Option<(i64,)> =
        sqlx::query_as("SELECT availability_bp FROM sla_tiers WHERE id = $1")
            .bind(&request.sla_tier)
            .fetch_optional(&state.db)
            .await?;
    match tier {
        None => errors.push(field("sla_tier", "Choose bronze, silver or gold.")),
        Some((bp,)) if bp > offer_bp => errors.push(field(
            "sla_tier",
            "This offer does not commit to that service level.",
        )),
        _ => {}
    }
    let flavor: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT f.vcpu, f.ram_gib, f.disk_gib, p.hourly_cents FROM offer_prices p JOIN flavors f ON f.id = p.flavor_id
         WHERE p.offer_id = $1 AND p.flavor_id = $2",
    )
    .bind(&request.offer_id)
    .bind(&request.flavor_id)
    .fetch_optional(&state.db)
    .await?;
    match (&flavor, &image) {
        (None, _) => errors.push(field("flavor_id", "This offer does not sell that size.")),
        (Some((_, _, disk, _)), Some((min_disk,))) if disk < min_disk => errors.push(field(
            "flavor_id",
            format!("This image needs at least {min_disk} GiB of disk: choose a bigger size."),
        )),
        _ => {}
    }
    if !(1..=MAX_INSTANCES_PER_ORDER).contains(&request.count) {
        errors.push(field(
            "count",
            format!("Order 1 to {MAX_INSTANCES_PER_ORDER} instances at a time."),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let (vcpu, ram, disk, unit_cents) = flavor.expect("validated");
    let (tier_bp,) = tier.expect("validated");
    let need = Capacity {
        vcpu: vcpu as u32,
        ram_gib: ram as u32,
        disk_gib: disk as u32,
    };

    let now = state.clock.now();
    let mut tx = crate::db::begin_write(&state.db).await?;
    // The chosen offer's hosts first; a spread that needs more goes on to
    // other offers of the tier or better, cheapest first.
    let search = placement::Search {
        flavor_id: &request.flavor_id,
        min_availability_bp: tier_bp,
        need,
        count: request.count as usize,
        placement: request.placement,
        apart_from: &[],
        first: placement::First::Offer(&request.offer_id),
        others_up_to: request.placement.is_spread().then_some(i64::MAX),
        exclude_host: None,
        page_size: placement::PAGE,
    };
    let chosen: Vec<Candidate> = placement::find(&mut tx, &search)
        .await?
        .map_err(|placed| not_placeable(&request, placed))?;
    let hosts: Vec<&str> = chosen.iter().map(|c| c.host_id.as_str()).collect();
    if !placement::allocate(&mut tx, &hosts, need).await? {
        // Dropping the transaction rolls back every allocation made.
        return Err(AppError::problem(
            checkout_kinds::CAPACITY,
            "Capacity just changed",
            StatusCode::CONFLICT,
            "Another order took some of this capacity a moment ago: review your order again.",
        ));
    }

    let hourly_total: i64 = chosen.iter().map(|c| c.hourly_cents).sum();
    let placements = summarize(chosen.iter().map(|c| {
        (
            c.offer_id.clone(),
            c.seller_name.clone(),
            c.zone.clone(),
            c.hourly_cents,
        )
    }));
    let quote = Quote {
        id: new_id("quo"),
        offer_id: request.offer_id.clone(),
        image_id: request.image_id.clone(),
        sla_tier: request.sla_tier.clone(),
        flavor_id: request.flavor_id.clone(),
        count: request.count,
        placement: request.placement,
        auto_recover: request.auto_recover,
        hosts: distinct(chosen.iter().map(|c| c.host_id.clone())).len() as u32,
        zones: distinct(chosen.iter().map(|c| c.zone.clone())),
        placements,
        currency: "EUR".into(),
        unit_hourly_cents: unit_cents as u64,
        hourly_total_cents: hourly_total as u64,
        commission_hourly_cents: (hourly_total * state.settings.commission_bp / 10_000) as u64,
        estimated_month_cents: hourly_total as u64 * HOURS_PER_MONTH,
        expires_at: rfc3339(now + QUOTE_HOLD_MS),
    };
    sqlx::query(
        "INSERT INTO quotes (id, buyer_id, offer_id, image_id, sla_tier, flavor_id, instance_count, spread,
           unit_hourly_cents, hourly_total_cents, commission_hourly_cents, estimated_month_cents, currency,
           status, created_at_ms, expires_at_ms, placement, auto_recover)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'EUR', 'held', $13, $14, $15, $16)",
    )
    .bind(&quote.id)
    .bind(&user.account_id)
    .bind(&quote.offer_id)
    .bind(&quote.image_id)
    .bind(&quote.sla_tier)
    .bind(&quote.flavor_id)
    .bind(i64::from(quote.count))
    .bind(i64::from(quote.placement.is_spread()))
    .bind(unit_cents)
    .bind(hourly_total)
    .bind(quote.commission_hourly_cents as i64)
    .bind(quote.estimated_month_cents as i64)
    .bind(now)
    .bind(now + QUOTE_HOLD_MS)
    .bind(quote.placement.as_str())
    .bind(i64::from(quote.auto_recover))
    .execute(&mut *tx)
    .await?;
    for (slot, candidate) in chosen.iter().enumerate() {
        sqlx::query(
            "INSERT INTO quote_holds (quote_id, slot, host_id, offer_id, hourly_cents) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&quote.id)
        .bind(slot as i64)
        .bind(&candidate.host_id)
        .bind(&candidate.offer_id)
        .bind(candidate.hourly_cents)
        .execute(&mut *tx)
        .await?;
    }
    for (seller_id, zone) in distinct(chosen.iter().map(|c| (c.seller_id.clone(), c.zone.clone())))
    {
        capacity::refresh_offers(&mut tx, &seller_id, &zone, now).await?;
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(quote)))
}

/// The 409 for a quote that cannot be placed, saying what would work.
fn not_placeable(request: &QuoteRequest, placed: usize) -> AppError {
    let flavor = &request.flavor_id;
    let detail = match request.placement {
        Placement::Any => format!(
            "This offer has room for {placed} more {flavor} now. Lower the count or pick a smaller size."
        ),
        Placement::DistinctHosts => format!(
            "Only {placed} distinct hosts (of this offer and other offers at this service level or better) can take a {flavor} now, so {} instances cannot each have their own host. Lower the count or choose another placement.",
            request.count
        ),
        Placement::DistinctZones => format!(
            "Only {placed} zones have a host (of this offer or another at this service level or better) that can take a {flavor} now, so {} instances cannot each be in their own zone. Lower the count or spread over distinct hosts instead.",
            request.count
        ),
    };
    let (kind, title) = if request.placement.is_spread() {
        (checkout_kinds::SPREAD, "Spread not possible")
    } else {
        (checkout_kinds::CAPACITY, "Not enough capacity")
    };
    AppError::problem(kind, title, StatusCode::CONFLICT, detail)
}

fn distinct<T: Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut all: Vec<T> = items.collect();
    all.sort();
    all.dedup();
    all
}

/// Groups placed instances `(offer, seller name, zone, price)` by offer, in
/// the order first placed.
fn summarize(placed: impl Iterator<Item = (String, String, String, i64)>) -> Vec<QuotePlacement> {
    let mut out: Vec<QuotePlacement> = Vec::new();
    for (offer_id, seller_name, zone, cents) in placed {
        match out.iter_mut().find(|p| p.offer_id == offer_id) {
            Some(p) => p.count += 1,
            None => out.push(QuotePlacement {
                offer_id,
                seller_name,
                zone,
                count: 1,
                unit_hourly_cents: cents.max(0) as u64,
            }),
        }
    }
    out
}

/// Frees the capacity of quotes past their expiry that no order took.
/// Returns how many it released.
pub async fn release_expired_quotes(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let expired: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM quotes WHERE status = 'held' AND expires_at_ms <= $1")
            .bind(now)
            .fetch_all(&state.db)
            .await?;
    let mut released = 0;
    for (quote_id,) in expired {
        let mut tx = crate::db::begin_write(&state.db).await?;
        // Only the process whose UPDATE flips the status releases the holds.
        let claimed = sqlx::query("UPDATE quotes SET status = 'released' WHERE id = $1 AND status = 'held' AND expires_at_ms <= $2")
            .bind(&quote_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if claimed.rows_affected() == 1 {
            release_holds(&mut tx, &quote_id, now).await?;
            released += 1;
        }
        tx.commit().await?;
    }
    Ok(released)
}

async fn release_holds(conn: &mut capacity::Conn, quote_id: &str, now: Millis) -> AppResult<()> {
    let holds: Vec<(String, i64, i64, i64, String, String)> = sqlx::query_as(
        "SELECT h.host_id, f.vcpu, f.ram_gib, f.disk_gib, hs.seller_id, hs.zone
         FROM quote_holds h JOIN quotes q ON q.id = h.quote_id JOIN flavors f ON f.id = q.flavor_id
         JOIN hosts hs ON hs.id = h.host_id WHERE h.quote_id = $1",
    )
    .bind(quote_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut refreshed = Vec::new();
    for (host_id, vcpu, ram, disk, seller_id, zone) in holds {
        capacity::release(
            conn,
            &host_id,
            Capacity {
                vcpu: vcpu as u32,
                ram_gib: ram as u32,
                disk_gib: disk as u32,
            },
        )
        .await?;
        if !refreshed.contains(&(seller_id.clone(), zone.clone())) {
            refreshed.push((seller_id, zone));
        }
    }
    for (seller_id, zone) in refreshed {
        capacity::refresh_offers(conn, &seller_id, &zone, now).await?;
    }
    Ok(())
}

// ---- orders ---------------------------------------------------------------

/// Places an order from a quote: authorises the card for the estimated month
/// and creates the instances on the held hosts. Send a fresh
/// `Idempotency-Key` per attempt: a retry with the same key returns the same
/// order (or the same failure) and never charges twice.
#[utoipa::path(post, path = "/orders", tag = "checkout", security(("bearer" = [])),
    request_body = OrderRequest,
    params(("Idempotency-Key" = String, Header, description = "A unique key per order attempt (1 to 255 characters)")),
    responses(
        (status = 201, description = "Order placed", body = Order),
        (status = 200, description = "The order this key already placed", body = Order),
        (status = 402, description = "Card declined or insufficient funds", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such quote", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Quote already used, or the same key is still being processed", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Quote expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_order(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    Json(request): Json<OrderRequest>,
) -> AppResult<(StatusCode, Json<Order>)> {
    let key = headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| {
            AppError::problem(
                checkout_kinds::IDEMPOTENCY,
                "Idempotency-Key required",
                StatusCode::BAD_REQUEST,
                "Send an Idempotency-Key header (1 to 255 characters), new for each order attempt.",
            )
        })?
        .to_owned();

    let mut errors = Vec::new();
    if let Err(message) = ssh_key_check(&request.ssh_public_key) {
        errors.push(field("ssh_public_key", message));
    }
    let method: Option<(String,)> = sqlx::query_as(
        "SELECT gateway_token FROM payment_methods WHERE id = $1 AND account_id = $2",
    )
    .bind(&request.payment_method_id)
    .bind(&user.account_id)
    .fetch_optional(&state.db)
    .await?;
    if method.is_none() {
        errors.push(field(
            "payment_method_id",
            "Add a card, or choose one of your saved cards.",
        ));
    }
    if let Some(partner) = &request.partner_id
        && crate::partners::share_bp(&state.db, partner)
            .await?
            .is_none()
    {
        errors.push(field("partner_id", "There is no such partner."));
    }
    let quote: Option<(i64,)> =
        sqlx::query_as("SELECT estimated_month_cents FROM quotes WHERE id = $1 AND buyer_id = $2")
            .bind(&request.quote_id)
            .bind(&user.account_id)
            .fetch_optional(&state.db)
            .await?;
    let Some((amount,)) = quote else {
        return Err(AppError::not_found("quote"));
    };
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let (gateway_token,) = method.expect("validated");
    let fingerprint = token_hash(&format!(
        "{}\n{}\n{}\n{}",
        request.quote_id,
        request.payment_method_id,
        request.ssh_public_key.trim(),
        request.partner_id.as_deref().unwrap_or_default()
    ));

    // Claim the key: the UNIQUE (buyer, key) constraint lets exactly one
    // request through; the others answer from what it recorded.
    let order_id = new_id("ord");
    let now = state.clock.now();
    let inserted = sqlx::query(
        "INSERT INTO orders (id, buyer_id, idempotency_key, request_fingerprint, quote_id, payment_method_id,
           ssh_public_key, status, created_at_ms, partner_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'processing', $8, $9)",
    )
    .bind(&order_id)
    .bind(&user.account_id)
    .bind(&key)
    .bind(&fingerprint)
    .bind(&request.quote_id)
    .bind(&request.payment_method_id)
    .bind(request.ssh_public_key.trim())
    .bind(now)
    .bind(&request.partner_id)
    .execute(&state.db)
    .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return replay(&state, &user, &key, &fingerprint).await;
        }
        Err(e) => return Err(e.into()),
    }

    match place(
        &state,
        &user,
        &order_id,
        &request.quote_id,
        &gateway_token,
        amount,
    )
    .await
    {
        Ok(()) => {
            let order = load_order(&state, &user.account_id, &order_id).await?;
            tracing::info!(%order_id, instances = order.instances.len(), "order placed");
            Ok((StatusCode::CREATED, Json(order)))
        }
        Err(AppError::Client(problem)) => {
            sqlx::query("UPDATE orders SET status = 'failed', failure_type = $2, failure_detail = $3 WHERE id = $1")
                .bind(&order_id)
                .bind(&problem.kind)
                .bind(serde_json::to_string(&problem).unwrap_or_default())
                .execute(&state.db)
                .await?;
            Err(AppError::Client(problem))
        }
        Err(internal) => {
            // Unknown outcome: free the key so the buyer can retry it.
            sqlx::query("DELETE FROM orders WHERE id = $1 AND status = 'processing'")
                .bind(&order_id)
                .execute(&state.db)
                .await?;
            Err(internal)
        }
    }
}

/// The answer for a key that was used before.
async fn replay(
    state: &AppState,
    user: &AuthUser,
    key: &str,
    fingerprint: &str,
) -> AppResult<(StatusCode, Json<Order>)> {
    let (id, old_fingerprint, status, failure): (String, String, String, Option<String>) = sqlx::query_as(
        "SELECT id, request_fingerprint, status, failure_detail FROM orders WHERE buyer_id = $1 AND idempotency_key = $2",
    )
    .bind(&user.account_id)
    .bind(key)
    .fetch_one(&state.db)
    .await?;
    if old_fingerprint != fingerprint {
        return Err(AppError::problem(
            checkout_kinds::IDEMPOTENCY,
            "Idempotency-Key reused",
            StatusCode::UNPROCESSABLE_ENTITY,
            "This Idempotency-Key was used for a different order: use a new key for each attempt.",
        ));
    }
    match status.as_str() {
        "completed" => Ok((
            StatusCode::OK,
            Json(load_order(state, &user.account_id, &id).await?),
        )),
        "failed" => {
            let problem: Problem = failure
                .and_then(|f| serde_json::from_str(&f).ok())
                .ok_or_else(|| {
                    AppError::Internal(format!("order {id} failed without a recorded problem"))
                })?;
            Err(AppError::Client(problem))
        }
        _ => Err(AppError::problem(
            checkout_kinds::IDEMPOTENCY,
            "Order in progress",
            StatusCode::CONFLICT,
            "An order with this Idempotency-Key is still being processed: wait a moment and retry.",
        )),
    }
}

/// Claims the quote, authorises the card and creates the instances.
async fn place(
    state: &AppState,
    user: &AuthUser,
    order_id: &str,
    quote_id: &str,
    gateway_token: &str,
    amount: i64,
) -> AppResult<()> {
    let now = state.clock.now();
    let claimed = sqlx::query(
        "UPDATE quotes SET status = 'ordering' WHERE id = $1 AND buyer_id = $2 AND status = 'held' AND expires_at_ms > $3",
    )
    .bind(quote_id)
    .bind(&user.account_id)
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
                checkout_kinds::QUOTE_USED,
                "Quote already used",
                StatusCode::CONFLICT,
                "This quote has already been ordered: see your instances.",
            )
        } else {
            AppError::problem(
                checkout_kinds::QUOTE_EXPIRED,
                "Quote expired",
                StatusCode::GONE,
                "The price and capacity were held for 10 minutes and have been released: review your order again for a new quote.",
            )
        });
    }

    let authorization = state
        .gateway
        .authorize(gateway_token, amount, "EUR", order_id)
        .await;
    let authorization_id = match authorization {
        Ok(id) => id,
        Err(decline) => {
            // The quote stays held so the buyer can pay with another card.
            sqlx::query("UPDATE quotes SET status = 'held' WHERE id = $1 AND status = 'ordering'")
                .bind(quote_id)
                .execute(&state.db)
                .await?;
            return Err(match decline {
                Decline::Declined => AppError::problem(
                    checkout_kinds::CARD_DECLINED,
                    "Card declined",
                    StatusCode::PAYMENT_REQUIRED,
                    "Your card was declined. Try another card or contact your bank.",
                ),
                Decline::InsufficientFunds => AppError::problem(
                    checkout_kinds::INSUFFICIENT_FUNDS,
                    "Insufficient funds",
                    StatusCode::PAYMENT_REQUIRED,
                    "The card has insufficient funds for this order. Try another card.",
                ),
                Decline::Unavailable(reason) => {
                    tracing::error!(%reason, "payment gateway unavailable");
                    AppError::problem(
                        checkout_kinds::PAYMENT_UNAVAILABLE,
                        "Payments unavailable",
                        StatusCode::SERVICE_UNAVAILABLE,
                        "We could not reach the payment processor. Nothing was charged: please try again.",
                    )
                }
            });
        }
    };

    let created = create_instances(state, user, order_id, quote_id, &authorization_id, now).await;
    if created.is_err() {
        // Nothing was created: release the money reserved on the card.
        let _ = state.gateway.void(&authorization_id).await;
        sqlx::query("UPDATE quotes SET status = 'held' WHERE id = $1 AND status = 'ordering'")
            .bind(quote_id)
            .execute(&state.db)
            .await?;
    }
    created
}

async fn create_instances(
    state: &AppState,
    user: &AuthUser,
    order_id: &str,
    quote_id: &str,
    authorization_id: &str,
    now: Millis,
) -> AppResult<()> {
    let mut tx = crate::db::begin_write(&state.db).await?;
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
    type HoldRow = (
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        i64,
        i64,
        String,
        i64,
    );
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
    for (
        slot,
        host_id,
        seller_id,
        zone,
        offer_id,
        image_id,
        flavor_id,
        sla_tier,
        vcpu,
        ram,
        disk,
        hourly,
        placement,
        auto_recover,
    ) in holds
    {
        let id = new_id("ins");
        let name = format!("{image_id}-{}", &id[id.len() - 4..]);
        sqlx::query(
            "INSERT INTO instances (id, order_id, buyer_id, seller_id, offer_id, host_id, name, image_id, flavor_id, sla_tier,
               zone, vcpu, ram_gib, disk_gib, hourly_cents, commission_bp, ssh_public_key, status, desired_state,
               created_at_ms, updated_at_ms, partner_id, partner_share_bp, placement, auto_recover)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'pending', 'running', $18, $18, $19, $20, $21, $22)",
        )
        .bind(&id)
        .bind(order_id)
        .bind(&user.account_id)
        .bind(&seller_id)
        .bind(&offer_id)
        .bind(&host_id)
        .bind(&name)
        .bind(&image_id)
        .bind(&flavor_id)
        .bind(&sla_tier)
        .bind(&zone)
        .bind(vcpu)
        .bind(ram)
        .bind(disk)
        .bind(hourly)
        .bind(state.settings.commission_bp)
        .bind(&ssh_key)
        .bind(now)
        .bind(&partner_id)
        .bind(partner_share_bp.unwrap_or(0))
        .bind(&placement)
        .bind(auto_recover)
        .execute(&mut *tx)
        .await?;
        crate::ha::placed_on(&mut tx, &id, &host_id, now).await?;
        record_event(
            &mut tx,
            &id,
            "created",
            &format!("Ordered; placed on a host in {zone} (slot {}).", slot + 1),
            now,
        )
        .await?;
    }
    sqlx::query("UPDATE orders SET status = 'completed', authorization_id = $2 WHERE id = $1")
        .bind(order_id)
        .bind(authorization_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// One of the buyer's orders with its instances.
#[utoipa::path(get, path = "/orders/{id}", tag = "checkout", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, body = Order),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_order(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Order>> {
    Ok(Json(load_order(&state, &user.account_id, &id).await?))
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    status: String,
    payment_method_id: String,
    created_at_ms: i64,
    partner_id: Option<String>,
    quote_id: String,
    offer_id: String,
    image_id: String,
    sla_tier: String,
    instance_count: i64,
    placement: String,
    auto_recover: i64,
    unit_hourly_cents: i64,
    hourly_total_cents: i64,
    commission_hourly_cents: i64,
    estimated_month_cents: i64,
    expires_at_ms: i64,
    flavor_id: String,
}

async fn load_order(state: &AppState, buyer_id: &str, order_id: &str) -> AppResult<Order> {
    let row: Option<OrderRow> = sqlx::query_as(
        "SELECT o.status, o.payment_method_id, o.created_at_ms, o.partner_id,
                q.id AS quote_id, q.offer_id, q.image_id, q.sla_tier, q.instance_count, q.placement, q.auto_recover,
                q.unit_hourly_cents, q.hourly_total_cents, q.commission_hourly_cents, q.estimated_month_cents,
                q.expires_at_ms, q.flavor_id
         FROM orders o JOIN quotes q ON q.id = o.quote_id WHERE o.id = $1 AND o.buyer_id = $2",
    )
    .bind(order_id)
    .bind(buyer_id)
    .fetch_optional(&state.db)
    .await?;
    let OrderRow {
        status,
        payment_method_id,
        created_at_ms: created,
        partner_id,
        quote_id,
        offer_id,
        image_id,
        sla_tier,
        instance_count: count,
        placement,
        auto_recover,
        unit_hourly_cents: unit,
        hourly_total_cents: total,
        commission_hourly_cents: commission,
        estimated_month_cents: month,
        expires_at_ms: expires,
        flavor_id,
    } = row.ok_or_else(|| AppError::not_found("order"))?;
    let instances = load_instances(state, buyer_id, Some(order_id)).await?;
    let holds: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT h.host_id, h.offer_id, s.company_name, hs.zone, h.hourly_cents
         FROM quote_holds h JOIN hosts hs ON hs.id = h.host_id JOIN sellers s ON s.account_id = hs.seller_id
         WHERE h.quote_id = $1 ORDER BY h.slot",
    )
    .bind(&quote_id)
    .fetch_all(&state.db)
    .await?;
    let hosts = distinct(holds.iter().map(|h| h.0.clone())).len() as u32;
    let zones = distinct(holds.iter().map(|h| h.3.clone()));
    let placements = summarize(holds.into_iter().map(|(_, o, s, z, c)| (o, s, z, c)));
    Ok(Order {
        partner_id,
        id: order_id.to_owned(),
        status: match status.as_str() {
            "completed" => OrderStatus::Completed,
            "failed" => OrderStatus::Failed,
            _ => OrderStatus::Processing,
        },
        quote: Quote {
            id: quote_id,
            offer_id,
            image_id,
            sla_tier,
            flavor_id,
            count: count as u32,
            placement: Placement::parse(&placement).unwrap_or_default(),
            auto_recover: auto_recover != 0,
            hosts,
            zones,
            placements,
            currency: "EUR".into(),
            unit_hourly_cents: unit as u64,
            hourly_total_cents: total as u64,
            commission_hourly_cents: commission as u64,
            estimated_month_cents: month as u64,
            expires_at: rfc3339(expires),
        },
        payment_method_id,
        instances,
        created_at: rfc3339(created),
    })
}

/// Parses an OpenSSH public key in full; ed25519, ECDSA and RSA (2048 bits
/// or more) are accepted.
pub fn ssh_key_check(value: &str) -> Result<(), String> {
    validate::ssh_public_key(value)?;
    let key = ssh_key::PublicKey::from_openssh(value.trim()).map_err(|_| {
        "This is not a valid SSH public key: copy the whole line of your .pub file.".to_string()
    })?;
    match key.key_data() {
        ssh_key::public::KeyData::Ed25519(_) | ssh_key::public::KeyData::Ecdsa(_) => Ok(()),
        ssh_key::public::KeyData::Rsa(rsa) => {
            let bits = rsa.n.as_positive_bytes().map_or(0, |n| n.len() * 8);
            if bits >= 2048 {
                Ok(())
            } else {
                Err("RSA keys must have at least 2048 bits: use an ed25519 key instead.".into())
            }
        }
        _ => Err("Use an ed25519, ECDSA or RSA key.".into()),
    }
}

//! The seller's offers: publishing, repricing, pausing and resuming them.
//! An offer is listed while one of its flavors fits on one of the seller's
//! online hosts in its zone (`capacity::refresh_offers`).

use sparecloud_api::FieldError;
use sparecloud_api::seller::{
    CreateOfferRequest, FlavorPrice, OfferStatus, SellerOffer, UpdateOfferRequest,
};
use sparecloud_api::validate;

use crate::auth;
use crate::clock::rfc3339;
use crate::db::{self, Conn};
use crate::domain::capacity;
use crate::domain::catalog::{self, CatalogTable};
use crate::error::{AppError, AppResult, field, field_errors};
use crate::state::AppState;

/// Prices are per instance-hour in cents: at most €10,000 an hour.
const MAX_HOURLY_CENTS: u64 = 1_000_000;

/// Publishes an offer.
pub async fn create(
    state: &AppState,
    seller_id: &str,
    request: &CreateOfferRequest,
) -> AppResult<SellerOffer> {
    let mut errors = field_errors(vec![("zone", validate::zone(&request.zone))]);
    errors.extend(check_tier(state, &request.sla_tier).await?);
    errors.extend(check_prices(state, &request.prices).await?);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let id = auth::new_id("off");
    let now = state.clock.now();
    let mut tx = db::begin_write(&state.db).await?;
    sqlx::query(
        "INSERT INTO offers (id, seller_id, zone, sla_tier, status, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, 'active', $5, $5)",
    )
    .bind(&id)
    .bind(seller_id)
    .bind(&request.zone)
    .bind(&request.sla_tier)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    write_prices(&mut tx, &id, &request.prices).await?;
    capacity::refresh_offers(&mut tx, seller_id, &request.zone, now).await?;
    tx.commit().await?;
    Ok(load_offers(state, seller_id, Some(&id)).await?.remove(0))
}

/// Changes an offer's prices or service level, or pauses and resumes it.
pub async fn update(
    state: &AppState,
    seller_id: &str,
    id: &str,
    request: &UpdateOfferRequest,
) -> AppResult<SellerOffer> {
    let mut errors = Vec::new();
    if let Some(tier) = &request.sla_tier {
        errors.extend(check_tier(state, tier).await?);
    }
    if let Some(prices) = &request.prices {
        errors.extend(check_prices(state, prices).await?);
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let now = state.clock.now();
    let mut tx = db::begin_write(&state.db).await?;
    let status = request.status.map(|s| match s {
        OfferStatus::Active => "active",
        OfferStatus::Paused => "paused",
    });
    let zone: Option<(String,)> = sqlx::query_as(
        "UPDATE offers SET sla_tier = COALESCE($3, sla_tier), status = COALESCE($4, status), updated_at_ms = $5
         WHERE id = $1 AND seller_id = $2 RETURNING zone",
    )
    .bind(id)
    .bind(seller_id)
    .bind(request.sla_tier.as_deref())
    .bind(status)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let (zone,) = zone.ok_or_else(|| AppError::not_found("offer"))?;
    if let Some(prices) = &request.prices {
        sqlx::query("DELETE FROM offer_prices WHERE offer_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        write_prices(&mut tx, id, prices).await?;
    }
    capacity::refresh_offers(&mut tx, seller_id, &zone, now).await?;
    tx.commit().await?;
    Ok(load_offers(state, seller_id, Some(id)).await?.remove(0))
}

async fn check_tier(state: &AppState, tier: &str) -> AppResult<Vec<FieldError>> {
    Ok(
        if catalog::exists(state, CatalogTable::SlaTiers, tier).await? {
            Vec::new()
        } else {
            vec![field("sla_tier", "Choose bronze, silver or gold.")]
        },
    )
}

async fn check_prices(state: &AppState, prices: &[FlavorPrice]) -> AppResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    if prices.is_empty() {
        errors.push(FieldError {
            field: "prices".into(),
            message: "Price at least one size.".into(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for (i, price) in prices.iter().enumerate() {
        let field = format!("prices[{i}]");
        if !catalog::exists(state, CatalogTable::Flavors, &price.flavor_id).await? {
            errors.push(FieldError {
                field,
                message: format!("There is no size called {:?}.", price.flavor_id),
            });
        } else if !seen.insert(price.flavor_id.as_str()) {
            errors.push(FieldError {
                field,
                message: format!("{} is priced twice.", price.flavor_id),
            });
        } else if price.hourly_cents == 0 || price.hourly_cents > MAX_HOURLY_CENTS {
            errors.push(FieldError {
                field,
                message: "Set an hourly price between €0.01 and €10,000.".into(),
            });
        }
    }
    Ok(errors)
}

async fn write_prices(conn: &mut Conn, offer_id: &str, prices: &[FlavorPrice]) -> AppResult<()> {
    for price in prices {
        sqlx::query(
            "INSERT INTO offer_prices (offer_id, flavor_id, hourly_cents) VALUES ($1, $2, $3)",
        )
        .bind(offer_id)
        .bind(&price.flavor_id)
        .bind(price.hourly_cents as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct OfferRow {
    id: String,
    zone: String,
    sla_tier: String,
    status: String,
    from_price_cents: Option<i64>,
    free_vcpu: i64,
    free_ram_gib: i64,
    free_disk_gib: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

/// The seller's offers (or the one `only` names), newest first.
pub async fn load_offers(
    state: &AppState,
    seller_id: &str,
    only: Option<&str>,
) -> AppResult<Vec<SellerOffer>> {
    let rows: Vec<OfferRow> = sqlx::query_as(
        "SELECT id, zone, sla_tier, status, from_price_cents, free_vcpu, free_ram_gib, free_disk_gib, created_at_ms, updated_at_ms
         FROM offers WHERE seller_id = $1 AND ($2 = '' OR id = $2) ORDER BY created_at_ms DESC, id DESC",
    )
    .bind(seller_id)
    .bind(only.unwrap_or(""))
    .fetch_all(&state.db)
    .await?;
    let mut offers = Vec::with_capacity(rows.len());
    for row in rows {
        let OfferRow {
            id, zone, sla_tier, ..
        } = row;
        let prices: Vec<(String, i64)> = sqlx::query_as(
            "SELECT p.flavor_id, p.hourly_cents FROM offer_prices p JOIN flavors f ON f.id = p.flavor_id
             WHERE p.offer_id = $1 ORDER BY f.sort_order",
        )
        .bind(&id)
        .fetch_all(&state.db)
        .await?;
        let status = if row.status == "paused" {
            OfferStatus::Paused
        } else {
            OfferStatus::Active
        };
        offers.push(SellerOffer {
            listed: status == OfferStatus::Active && row.from_price_cents.is_some(),
            status,
            prices: prices
                .into_iter()
                .map(|(flavor_id, cents)| FlavorPrice {
                    flavor_id,
                    hourly_cents: cents as u64,
                })
                .collect(),
            free: catalog::capacity_from_row(row.free_vcpu, row.free_ram_gib, row.free_disk_gib),
            id,
            zone,
            sla_tier,
            created_at: rfc3339(row.created_at_ms),
            updated_at: rfc3339(row.updated_at_ms),
        });
    }
    Ok(offers)
}

//! Sellers: the profile that makes an account a seller (company, country,
//! payout reference, default service level).

use sparecloud_api::seller::{SellerProfile, SellerProfileRequest};
use sparecloud_api::validate;

use crate::clock::rfc3339;
use crate::db;
use crate::domain::capacity;
use crate::domain::catalog::{self, CatalogTable};
use crate::error::{AppError, AppResult, field_errors};
use crate::state::AppState;

/// Whether the account has completed a seller profile.
pub async fn has_profile(state: &AppState, account_id: &str) -> AppResult<bool> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sellers WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(&state.db)
        .await?;
    Ok(count > 0)
}

/// Creates or replaces the account's seller profile.
pub async fn save_profile(
    state: &AppState,
    account_id: &str,
    request: &SellerProfileRequest,
) -> AppResult<SellerProfile> {
    let tier_ok = catalog::exists(state, CatalogTable::SlaTiers, &request.default_sla_tier).await?;
    let errors = field_errors(vec![
        (
            "company_name",
            validate::short_text(&request.company_name, 120, "your company's name"),
        ),
        ("country", validate::country(&request.country)),
        (
            "payout_reference",
            validate::short_text(&request.payout_reference, 64, "where payouts go"),
        ),
        (
            "default_sla_tier",
            if tier_ok {
                Ok(())
            } else {
                Err("Choose bronze, silver or gold.".into())
            },
        ),
    ]);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let now = state.clock.now();
    let mut tx = db::begin_write(&state.db).await?;
    sqlx::query(
        "INSERT INTO sellers (account_id, company_name, country, payout_reference, default_sla_tier, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (account_id) DO UPDATE SET company_name = $2, country = $3,
           payout_reference = $4, default_sla_tier = $5, updated_at_ms = $6",
    )
    .bind(account_id)
    .bind(request.company_name.trim())
    .bind(&request.country)
    .bind(request.payout_reference.trim())
    .bind(&request.default_sla_tier)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // Listings show the company's name.
    capacity::stamp_seller_offers(&mut tx, account_id).await?;
    tx.commit().await?;
    load_profile(state, account_id).await
}

pub async fn load_profile(state: &AppState, account_id: &str) -> AppResult<SellerProfile> {
    let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT company_name, country, payout_reference, default_sla_tier, created_at_ms FROM sellers WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(&state.db)
    .await?;
    let (company_name, country, payout_reference, default_sla_tier, created) =
        row.ok_or_else(|| AppError::not_found("seller profile"))?;
    Ok(SellerProfile {
        account_id: account_id.to_owned(),
        company_name,
        country,
        payout_reference,
        default_sla_tier,
        created_at: rfc3339(created),
    })
}

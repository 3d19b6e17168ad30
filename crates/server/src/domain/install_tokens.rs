//! Install tokens: issued to a seller for one host, shown once, stored
//! hashed, single use, expiring and revocable. An agent trades one for a
//! host credential (`agents::register`).

use sparecloud_api::seller::{
    CreatedInstallToken, InstallToken, InstallTokenRequest, InstallTokenStatus,
};
use sparecloud_api::validate;

use crate::auth;
use crate::clock::{Millis, rfc3339};
use crate::error::{AppError, AppResult, field_errors};
use crate::state::AppState;

const DEFAULT_TOKEN_HOURS: u32 = 24;
const MAX_TOKEN_HOURS: u32 = 7 * 24;

/// Issues a token for one host; `api` is the URL the install command
/// points the agent at. The secret is in the answer only.
pub async fn create(
    state: &AppState,
    seller_id: &str,
    request: &InstallTokenRequest,
    api: &str,
) -> AppResult<CreatedInstallToken> {
    let hours = request.expires_in_hours.unwrap_or(DEFAULT_TOKEN_HOURS);
    let errors = field_errors(vec![
        (
            "label",
            validate::short_text(&request.label, 64, "a label for this host"),
        ),
        ("zone", validate::zone(&request.zone)),
        (
            "expires_in_hours",
            if (1..=MAX_TOKEN_HOURS).contains(&hours) {
                Ok(())
            } else {
                Err(format!("Choose between 1 and {MAX_TOKEN_HOURS} hours."))
            },
        ),
    ]);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let secret = auth::new_token("sc_it");
    let id = auth::new_id("itk");
    let now = state.clock.now();
    sqlx::query(
        "INSERT INTO install_tokens (id, seller_id, label, zone, token_hash, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(seller_id)
    .bind(request.label.trim())
    .bind(&request.zone)
    .bind(auth::token_hash(&secret))
    .bind(now)
    .bind(now + Millis::from(hours) * 3_600_000)
    .execute(&state.db)
    .await?;
    let install_command = format!(
        "sparecloud-agent register --api {api} --token {secret} --zone {} && sparecloud-agent run",
        request.zone
    );
    let token = load_tokens(state, seller_id, Some(&id)).await?.remove(0);
    Ok(CreatedInstallToken {
        install_token: token,
        secret,
        install_command,
    })
}

/// Revokes an unused token: an agent can no longer register with it.
pub async fn revoke(state: &AppState, seller_id: &str, id: &str) -> AppResult<InstallToken> {
    sqlx::query(
        "UPDATE install_tokens SET revoked_at_ms = $3
         WHERE id = $1 AND seller_id = $2 AND revoked_at_ms IS NULL AND used_at_ms IS NULL",
    )
    .bind(id)
    .bind(seller_id)
    .bind(state.clock.now())
    .execute(&state.db)
    .await?;
    let mut tokens = load_tokens(state, seller_id, Some(id)).await?;
    tokens
        .pop()
        .ok_or_else(|| AppError::not_found("install token"))
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    label: String,
    zone: String,
    created_at_ms: i64,
    expires_at_ms: i64,
    used_at_ms: Option<i64>,
    revoked_at_ms: Option<i64>,
    host_id: Option<String>,
}

/// The seller's install tokens (or the one `only` names), newest first.
pub async fn load_tokens(
    state: &AppState,
    seller_id: &str,
    only: Option<&str>,
) -> AppResult<Vec<InstallToken>> {
    let rows: Vec<TokenRow> = sqlx::query_as(
        "SELECT id, label, zone, created_at_ms, expires_at_ms, used_at_ms, revoked_at_ms, host_id
         FROM install_tokens WHERE seller_id = $1 AND ($2 = '' OR id = $2)
         ORDER BY created_at_ms DESC, id DESC",
    )
    .bind(seller_id)
    .bind(only.unwrap_or(""))
    .fetch_all(&state.db)
    .await?;
    let now = state.clock.now();
    Ok(rows
        .into_iter()
        .map(|t| InstallToken {
            status: token_status(t.used_at_ms, t.revoked_at_ms, t.expires_at_ms, now),
            id: t.id,
            label: t.label,
            zone: t.zone,
            created_at: rfc3339(t.created_at_ms),
            expires_at: rfc3339(t.expires_at_ms),
            used_at: t.used_at_ms.map(rfc3339),
            revoked_at: t.revoked_at_ms.map(rfc3339),
            host_id: t.host_id,
        })
        .collect())
}

pub fn token_status(
    used: Option<Millis>,
    revoked: Option<Millis>,
    expires: Millis,
    now: Millis,
) -> InstallTokenStatus {
    if used.is_some() {
        InstallTokenStatus::Used
    } else if revoked.is_some() {
        InstallTokenStatus::Revoked
    } else if expires <= now {
        InstallTokenStatus::Expired
    } else {
        InstallTokenStatus::Unused
    }
}

//! API keys: made by a signed-in account holder, shown once, stored hashed,
//! scoped (`read` or `full`), expiring and revocable. A request that sends
//! one is that account's, within the key's scope (`http::extract`).

use sparecloud_api::api_keys::{
    API_KEY_PREFIX, ApiKey, ApiKeyScope, CreateApiKeyRequest, CreatedApiKey, DEFAULT_API_KEY_DAYS,
    MAX_API_KEY_DAYS,
};
use sparecloud_api::validate;

use crate::auth;
use crate::clock::{DAY_MS, Millis, rfc3339};
use crate::error::{AppError, AppResult, field_errors};
use crate::state::AppState;

/// Keys' last use is kept to the minute: a busy script does not write on
/// every request.
const LAST_USED_RESOLUTION_MS: Millis = 60 * 1000;
/// How much of the key a list shows: the prefix and 8 hex digits.
const SHOWN_CHARS: usize = API_KEY_PREFIX.len() + 8;
/// Keys an account may hold at once (revoked ones apart).
const MAX_KEYS: i64 = 50;

/// The account behind a key sent as a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    Valid {
        account_id: String,
        key_id: String,
        scope: ApiKeyScope,
        is_buyer: bool,
        is_seller: bool,
    },
    Revoked,
    Expired,
    Unknown,
}

pub async fn create(
    state: &AppState,
    account_id: &str,
    request: &CreateApiKeyRequest,
) -> AppResult<CreatedApiKey> {
    let days = request.expires_in_days.unwrap_or(DEFAULT_API_KEY_DAYS);
    let errors = field_errors(vec![
        (
            "name",
            validate::short_text(&request.name, 64, "a name for this key"),
        ),
        (
            "expires_in_days",
            if (1..=MAX_API_KEY_DAYS).contains(&days) {
                Ok(())
            } else {
                Err(format!("Choose between 1 and {MAX_API_KEY_DAYS} days."))
            },
        ),
    ]);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let now = state.clock.now();
    let (held,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM api_keys WHERE account_id = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2",
    )
    .bind(account_id)
    .bind(now)
    .fetch_one(&state.db)
    .await?;
    if held >= MAX_KEYS {
        return Err(AppError::validation(vec![crate::error::field(
            "name",
            format!("An account holds at most {MAX_KEYS} keys: revoke one you no longer use."),
        )]));
    }
    let secret = auth::new_token(API_KEY_PREFIX.trim_end_matches('_'));
    let expires_at_ms = now + Millis::from(days) * DAY_MS;
    let key = ApiKey {
        id: auth::new_id("key"),
        name: request.name.trim().to_owned(),
        scope: request.scope,
        prefix: secret[..SHOWN_CHARS].to_owned(),
        created_at: rfc3339(now),
        expires_at: rfc3339(expires_at_ms),
        last_used_at: None,
    };
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, name, key_hash, prefix, scope, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&key.id)
    .bind(account_id)
    .bind(&key.name)
    .bind(auth::token_hash(&secret))
    .bind(&key.prefix)
    .bind(key.scope.as_str())
    .bind(now)
    .bind(expires_at_ms)
    .execute(&state.db)
    .await?;
    Ok(CreatedApiKey { key, secret })
}

/// The account's keys that still work, newest first.
pub async fn list(state: &AppState, account_id: &str) -> AppResult<Vec<ApiKey>> {
    type KeyRow = (String, String, String, String, i64, i64, Option<i64>);
    let rows: Vec<KeyRow> = sqlx::query_as(
        "SELECT id, name, prefix, scope, created_at_ms, expires_at_ms, last_used_at_ms FROM api_keys
         WHERE account_id = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2
         ORDER BY created_at_ms DESC, id DESC",
    )
    .bind(account_id)
    .bind(state.clock.now())
    .fetch_all(&state.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, prefix, scope, created, expires, used)| ApiKey {
            id,
            name,
            scope: parse_scope(&scope),
            prefix,
            created_at: rfc3339(created),
            expires_at: rfc3339(expires),
            last_used_at: used.map(rfc3339),
        })
        .collect())
}

/// Revokes one of the account's keys; it is refused from the next request.
pub async fn revoke(state: &AppState, account_id: &str, key_id: &str) -> AppResult<()> {
    let revoked = sqlx::query(
        "UPDATE api_keys SET revoked_at_ms = $3 WHERE id = $1 AND account_id = $2 AND revoked_at_ms IS NULL",
    )
    .bind(key_id)
    .bind(account_id)
    .bind(state.clock.now())
    .execute(&state.db)
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(AppError::not_found("API key"));
    }
    Ok(())
}

/// Who a key is (its account's roles read in the same query, as a
/// session's are), and notes its use (to the minute).
pub async fn check(state: &AppState, secret: &str) -> AppResult<KeyCheck> {
    let row: Option<CheckRow> = sqlx::query_as(
        "SELECT k.id, k.account_id, k.scope, k.expires_at_ms, k.last_used_at_ms, k.revoked_at_ms,
                a.is_buyer, a.is_seller
         FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = $1",
    )
    .bind(auth::token_hash(secret))
    .fetch_optional(&state.db)
    .await?;
    let Some(CheckRow {
        id: key_id,
        account_id,
        scope,
        expires_at_ms: expires_at,
        last_used_at_ms: last_used,
        revoked_at_ms: revoked_at,
        is_buyer,
        is_seller,
    }) = row
    else {
        return Ok(KeyCheck::Unknown);
    };
    let now = state.clock.now();
    if revoked_at.is_some() {
        return Ok(KeyCheck::Revoked);
    }
    if expires_at <= now {
        return Ok(KeyCheck::Expired);
    }
    if last_used.is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS) {
        sqlx::query("UPDATE api_keys SET last_used_at_ms = $2 WHERE id = $1")
            .bind(&key_id)
            .bind(now)
            .execute(&state.db)
            .await?;
    }
    Ok(KeyCheck::Valid {
        account_id,
        key_id,
        scope: parse_scope(&scope),
        is_buyer: is_buyer != 0,
        is_seller: is_seller != 0,
    })
}

#[derive(sqlx::FromRow)]
struct CheckRow {
    id: String,
    account_id: String,
    scope: String,
    expires_at_ms: i64,
    last_used_at_ms: Option<i64>,
    revoked_at_ms: Option<i64>,
    is_buyer: i64,
    is_seller: i64,
}

fn parse_scope(scope: &str) -> ApiKeyScope {
    if scope == "full" {
        ApiKeyScope::Full
    } else {
        ApiKeyScope::Read
    }
}

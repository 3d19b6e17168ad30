//! Accounts and sessions: sign-up, sign-in with its rate limit, session
//! tokens (stored hashed) and the account a token belongs to.

use std::collections::HashSet;
use std::sync::LazyLock;

use http::StatusCode;
use sparecloud_api::accounts::{Account, Role, Session, SignInRequest, SignUpRequest};
use sparecloud_api::problem::kinds;
use sparecloud_api::{Problem, validate};

use crate::auth;
use crate::clock::{DAY_MS, Millis, rfc3339};
use crate::error::{AppError, AppResult, field, field_errors, inserted};
use crate::state::AppState;

/// How long a session token stays valid.
const SESSION_TTL_MS: Millis = 7 * DAY_MS;
/// Sign-in limits. An address gets this many attempts per window, then
/// waits for the window's end. An account is never locked (anyone could
/// lock anyone's): after its first few attempts each next one waits twice
/// as long as the last, up to a cap, which lets the owner in after a short
/// wait and an attacker only a trickle of guesses.
const LOGIN_WINDOW_MS: Millis = 15 * 60 * 1000;
const MAX_FAILURES_PER_ADDRESS: i64 = 20;
const FREE_ATTEMPTS_PER_ACCOUNT: i64 = 5;
const FIRST_ACCOUNT_DELAY_MS: Millis = 1000;
const MAX_ACCOUNT_DELAY_MS: Millis = 5 * 60 * 1000;

/// The account behind a valid, unexpired session token.
#[derive(Debug, Clone)]
pub struct SessionAccount {
    pub account_id: String,
    pub session_id: String,
    pub is_buyer: bool,
    pub is_seller: bool,
}

/// Creates an account (the email must be new) and signs it in.
pub async fn sign_up(state: &AppState, request: SignUpRequest) -> AppResult<Session> {
    let roles = if request.roles.is_empty() {
        Err("Choose buying, selling or both.".to_owned())
    } else {
        Ok(())
    };
    let errors = field_errors([
        ("email", validate::email(&request.email)),
        (
            "password",
            validate::password(&request.password).and_then(|()| not_common(&request.password)),
        ),
        (
            "display_name",
            validate::display_name(&request.display_name),
        ),
        ("roles", roles),
    ]);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }

    let email = validate::normalise_email(&request.email);
    let password_hash = auth::hash_password_off_thread(request.password).await?;
    let id = auth::new_id("acc");
    let now = state.clock.now();
    let is_buyer = request.roles.contains(&Role::Buyer);
    let is_seller = request.roles.contains(&Role::Seller);
    let insert = sqlx::query(
        "INSERT INTO accounts (id, email, password_hash, display_name, is_buyer, is_seller, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&email)
    .bind(&password_hash)
    .bind(request.display_name.trim())
    .bind(i64::from(is_buyer))
    .bind(i64::from(is_seller))
    .bind(now)
    .execute(&state.db)
    .await;
    if !inserted(insert)? {
        let mut problem = Problem::new(kinds::CONFLICT, "Email already registered", 409)
            .with_detail("An account with this email exists already: sign in instead.");
        problem
            .errors
            .push(field("email", "This email is already registered."));
        return Err(AppError::Client(problem));
    }
    let account = load_account(state, &id).await?;
    start_session(state, account).await
}

/// The 10,000 most common passwords (see the file's header), lowercase.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect()
});

/// Refuses a password that the first guesses of any attacker would try.
fn not_common(password: &str) -> Result<(), String> {
    if COMMON_PASSWORDS.contains(password.to_lowercase().as_str()) {
        Err("This password is one of the most common ones: choose another.".into())
    } else {
        Ok(())
    }
}

/// Trades email and password for a session, counting failures per account
/// and per address (`ip`, when known).
pub async fn sign_in(
    state: &AppState,
    request: SignInRequest,
    ip: Option<std::net::IpAddr>,
) -> AppResult<Session> {
    let email = validate::normalise_email(&request.email);
    let now = state.clock.now();
    let account_key = format!("account:{email}");
    let address_key = ip.map(|ip| format!("address:{ip}"));
    // Each attempt is counted before the password is checked, in one
    // statement: parallel guesses cannot all slip under the limit.
    if let Some(key) = &address_key {
        claim_attempt(state, key, MAX_FAILURES_PER_ADDRESS, now).await?;
    }
    claim_account_attempt(state, &account_key, now).await?;

    let row: Option<(String, String)> =
        sqlx::query_as("SELECT id, password_hash FROM accounts WHERE email = $1")
            .bind(&email)
            .fetch_optional(&state.db)
            .await?;
    // Verify against a dummy hash for unknown emails, so timing does not tell
    // which emails have accounts.
    let (id, hash) = row.unwrap_or_default();
    let hash = if id.is_empty() {
        auth::dummy_password_hash().to_owned()
    } else {
        hash
    };
    let verified = auth::verify_password_off_thread(request.password, hash).await?;
    if id.is_empty() || !verified {
        return Err(AppError::problem(
            kinds::UNAUTHORIZED,
            "Wrong email or password",
            StatusCode::UNAUTHORIZED,
            "The email or the password is not right.",
        ));
    }
    // Signed in: the account's count starts again, and the address's
    // attempt was not a failure.
    sqlx::query("DELETE FROM login_failures WHERE key = $1")
        .bind(&account_key)
        .execute(&state.db)
        .await?;
    if let Some(key) = &address_key {
        sqlx::query(
            "UPDATE login_failures SET failures = failures - 1 WHERE key = $1 AND failures > 0",
        )
        .bind(key)
        .execute(&state.db)
        .await?;
    }
    let account = load_account(state, &id).await?;
    start_session(state, account).await
}

/// Deletes expired sessions and sign-in counts whose window has passed
/// (a job): neither is of use any more. Returns how many rows went.
pub async fn purge_expired(state: &AppState) -> AppResult<u64> {
    let now = state.clock.now();
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at_ms < $1")
        .bind(now)
        .execute(&state.db)
        .await?;
    let counts = sqlx::query("DELETE FROM login_failures WHERE window_start_ms < $1")
        .bind(now - LOGIN_WINDOW_MS)
        .execute(&state.db)
        .await?;
    Ok(sessions.rows_affected() + counts.rows_affected())
}

/// Ends one session: its token is useless afterwards.
pub async fn sign_out(state: &AppState, session_id: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id)
        .execute(&state.db)
        .await?;
    Ok(())
}

/// Ends every session of the account.
pub async fn sign_out_everywhere(state: &AppState, account_id: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(account_id)
        .execute(&state.db)
        .await?;
    Ok(())
}

/// The account a session token belongs to, if the session is still valid.
pub async fn by_session_token(state: &AppState, token: &str) -> AppResult<Option<SessionAccount>> {
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT s.id, a.id, a.is_buyer, a.is_seller
         FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.token_hash = $1 AND s.expires_at_ms > $2",
    )
    .bind(auth::token_hash(token))
    .bind(state.clock.now())
    .fetch_optional(&state.db)
    .await?;
    Ok(row.map(
        |(session_id, account_id, is_buyer, is_seller)| SessionAccount {
            account_id,
            session_id,
            is_buyer: is_buyer != 0,
            is_seller: is_seller != 0,
        },
    ))
}

pub async fn load_account(state: &AppState, id: &str) -> AppResult<Account> {
    let (id, email, display_name, is_buyer, is_seller, created_at_ms): (String, String, String, i64, i64, i64) =
        sqlx::query_as(
            "SELECT id, email, display_name, is_buyer, is_seller, created_at_ms FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    let mut roles = Vec::new();
    if is_buyer != 0 {
        roles.push(Role::Buyer);
    }
    if is_seller != 0 {
        roles.push(Role::Seller);
    }
    Ok(Account {
        id,
        email,
        display_name,
        roles,
        created_at: rfc3339(created_at_ms),
    })
}

pub async fn start_session(state: &AppState, account: Account) -> AppResult<Session> {
    let token = auth::new_token("sc_s");
    let now = state.clock.now();
    let expires_at_ms = now + SESSION_TTL_MS;
    sqlx::query(
        "INSERT INTO sessions (id, account_id, token_hash, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(auth::new_id("ses"))
    .bind(&account.id)
    .bind(auth::token_hash(&token))
    .bind(now)
    .bind(expires_at_ms)
    .execute(&state.db)
    .await?;
    Ok(Session {
        token,
        expires_at: rfc3339(expires_at_ms),
        account,
    })
}

/// How long an account's next sign-in attempt waits after `attempts`
/// unsuccessful ones: nothing for the first few, then 1 s, 2 s, 4 s… up to
/// the cap.
fn account_delay_ms(attempts: i64) -> Millis {
    let doublings = attempts - FREE_ATTEMPTS_PER_ACCOUNT;
    if doublings < 0 {
        0
    } else if doublings >= 20 {
        MAX_ACCOUNT_DELAY_MS
    } else {
        (FIRST_ACCOUNT_DELAY_MS << doublings).min(MAX_ACCOUNT_DELAY_MS)
    }
}

/// Counts an attempt on an account if its delay has passed, refusing it
/// otherwise. `window_start_ms` holds the last attempt here. The count is a
/// compare-and-swap on the previous count, so of parallel attempts only as
/// many get through as serial ones would.
async fn claim_account_attempt(state: &AppState, key: &str, now: Millis) -> AppResult<()> {
    loop {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT window_start_ms, failures FROM login_failures WHERE key = $1")
                .bind(key)
                .fetch_optional(&state.db)
                .await?;
        let claimed = match row {
            None => sqlx::query(
                "INSERT INTO login_failures (key, window_start_ms, failures) VALUES ($1, $2, 1)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(now)
            .execute(&state.db)
            .await?
            .rows_affected(),
            Some((last_attempt, attempts)) => {
                let allowed_at = last_attempt + account_delay_ms(attempts);
                if now < allowed_at {
                    let wait_secs = (allowed_at - now + 999) / 1000;
                    return Err(AppError::problem(
                        kinds::TOO_MANY_REQUESTS,
                        "Too many failed sign-ins",
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "Several wrong passwords were tried for this account: try again in {wait_secs} second(s)."
                        ),
                    ));
                }
                sqlx::query(
                    "UPDATE login_failures SET failures = failures + 1, window_start_ms = $2
                     WHERE key = $1 AND failures = $3",
                )
                .bind(key)
                .bind(now)
                .bind(attempts)
                .execute(&state.db)
                .await?
                .rows_affected()
            }
        };
        if claimed == 1 {
            return Ok(());
        }
        // Another attempt counted first: look again.
    }
}

/// Counts a sign-in attempt under `key` (an upsert that returns the new
/// count, so concurrent attempts are counted one by one) and refuses it
/// when the window already holds `max`.
async fn claim_attempt(state: &AppState, key: &str, max: i64, now: Millis) -> AppResult<()> {
    let (start, attempts): (i64, i64) = sqlx::query_as(
        "INSERT INTO login_failures (key, window_start_ms, failures) VALUES ($1, $2, 1)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN login_failures.window_start_ms > $3 THEN login_failures.failures + 1 ELSE 1 END,
           window_start_ms = CASE WHEN login_failures.window_start_ms > $3 THEN login_failures.window_start_ms ELSE $2 END
         RETURNING window_start_ms, failures",
    )
    .bind(key)
    .bind(now)
    .bind(now - LOGIN_WINDOW_MS)
    .fetch_one(&state.db)
    .await?;
    if attempts > max {
        let wait_min = ((start + LOGIN_WINDOW_MS - now) / 60_000).max(1);
        return Err(AppError::problem(
            kinds::TOO_MANY_REQUESTS,
            "Too many failed sign-ins",
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed attempts: try again in {wait_min} minute(s)."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accounts_delay_doubles_after_the_free_attempts_up_to_the_cap() {
        let delays: Vec<_> = (0..12).map(account_delay_ms).collect();
        assert_eq!(
            delays,
            [
                0, 0, 0, 0, 0, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000
            ]
        );
        assert_eq!(account_delay_ms(14), 300_000);
        assert_eq!(account_delay_ms(i64::MAX), 300_000);
    }
}

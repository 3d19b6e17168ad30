//! Accounts and sessions.

use axum::extract::State;
use axum::http::StatusCode;
use sparecloud_api::accounts::{Account, Role, Session, SignInRequest, SignUpRequest};
use sparecloud_api::problem::kinds;
use sparecloud_api::{FieldError, Problem, validate};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{self, AuthUser};
use crate::clock::{Millis, rfc3339};
use crate::error::{AppError, AppResult, field_errors};
use crate::extract::{ClientIp, Json};

/// How long a session token stays valid.
const SESSION_TTL_MS: Millis = 7 * 24 * 3600 * 1000;
/// Sign-in rate limit: this many failures per window lock the key out until
/// the window ends.
const LOGIN_WINDOW_MS: Millis = 15 * 60 * 1000;
const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
const MAX_FAILURES_PER_ADDRESS: i64 = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(me))
}

/// Sign up: creates an account and signs it in.
#[utoipa::path(post, path = "/accounts", tag = "accounts",
    request_body = SignUpRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = Session),
        (status = 409, description = "The email is already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sign_up(
    State(state): State<AppState>,
    Json(request): Json<SignUpRequest>,
) -> AppResult<(StatusCode, Json<Session>)> {
    let roles = if request.roles.is_empty() {
        Err("Choose buying, selling or both.".to_owned())
    } else {
        Ok(())
    };
    let errors = field_errors([
        ("email", validate::email(&request.email)),
        ("password", validate::password(&request.password)),
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
    let password_hash = auth::hash_password(&request.password)?;
    let id = auth::new_id("acc");
    let now = state.clock.now();
    let is_buyer = request.roles.contains(&Role::Buyer);
    let is_seller = request.roles.contains(&Role::Seller);
    let inserted = sqlx::query(
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
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            let mut problem = Problem::new(kinds::CONFLICT, "Email already registered", 409)
                .with_detail("An account with this email exists already: sign in instead.");
            problem.errors.push(FieldError {
                field: "email".into(),
                message: "This email is already registered.".into(),
            });
            return Err(AppError::Client(problem));
        }
        Err(e) => return Err(e.into()),
    }
    let account = load_account(&state, &id).await?;
    let session = start_session(&state, account).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// Sign in: trades email and password for a bearer token.
#[utoipa::path(post, path = "/sessions", tag = "accounts",
    request_body = SignInRequest,
    responses(
        (status = 201, description = "Signed in", body = Session),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<SignInRequest>,
) -> AppResult<(StatusCode, Json<Session>)> {
    let email = validate::normalise_email(&request.email);
    let now = state.clock.now();
    let account_key = format!("account:{email}");
    let address_key = ip.map(|ip| format!("address:{ip}"));
    check_rate_limit(&state, &account_key, MAX_FAILURES_PER_ACCOUNT, now).await?;
    if let Some(key) = &address_key {
        check_rate_limit(&state, key, MAX_FAILURES_PER_ADDRESS, now).await?;
    }

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
    let password = request.password;
    let verified = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(format!("password check panicked: {e}")))?;
    if id.is_empty() || !verified {
        record_failure(&state, &account_key, now).await?;
        if let Some(key) = &address_key {
            record_failure(&state, key, now).await?;
        }
        return Err(auth::unauthorized_with(
            "Wrong email or password",
            "The email or the password is not right.",
        ));
    }
    sqlx::query("DELETE FROM login_failures WHERE key = $1")
        .bind(&account_key)
        .execute(&state.db)
        .await?;
    let account = load_account(&state, &id).await?;
    let session = start_session(&state, account).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// Sign out: ends the session whose token made the request.
#[utoipa::path(delete, path = "/sessions/current", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sign_out(State(state): State<AppState>, user: AuthUser) -> AppResult<StatusCode> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(&user.session_id)
        .execute(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(get, path = "/me", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in account", body = Account),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
async fn me(State(state): State<AppState>, user: AuthUser) -> AppResult<Json<Account>> {
    Ok(Json(load_account(&state, &user.account_id).await?))
}

async fn load_account(state: &AppState, id: &str) -> AppResult<Account> {
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

async fn start_session(state: &AppState, account: Account) -> AppResult<Session> {
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

async fn check_rate_limit(state: &AppState, key: &str, max: i64, now: Millis) -> AppResult<()> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT window_start_ms, failures FROM login_failures WHERE key = $1")
            .bind(key)
            .fetch_optional(&state.db)
            .await?;
    match row {
        Some((start, failures)) if failures >= max && start + LOGIN_WINDOW_MS > now => {
            let wait_min = ((start + LOGIN_WINDOW_MS - now) / 60_000).max(1);
            Err(AppError::problem(
                kinds::TOO_MANY_REQUESTS,
                "Too many failed sign-ins",
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many failed attempts: try again in {wait_min} minute(s)."),
            ))
        }
        _ => Ok(()),
    }
}

async fn record_failure(state: &AppState, key: &str, now: Millis) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO login_failures (key, window_start_ms, failures) VALUES ($1, $2, 1)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN login_failures.window_start_ms > $3 THEN login_failures.failures + 1 ELSE 1 END,
           window_start_ms = CASE WHEN login_failures.window_start_ms > $3 THEN login_failures.window_start_ms ELSE $2 END",
    )
    .bind(key)
    .bind(now)
    .bind(now - LOGIN_WINDOW_MS)
    .execute(&state.db)
    .await?;
    Ok(())
}

//! `/accounts`, `/sessions`, `/me`: sign up, sign in, sign out.

use axum::extract::State;
use axum::http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::accounts::{Account, Session, SignInRequest, SignUpRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::accounts;
use crate::error::AppResult;
use crate::http::extract::{AuthUser, ClientIp, Json};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(sign_out_everywhere))
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
    let session = accounts::sign_up(&state, request).await?;
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
    let session = accounts::sign_in(&state, request, ip).await?;
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
    user.require_session()?;
    accounts::sign_out(&state, &user.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign out everywhere: ends every session of the account, this one too
/// (a lost laptop, a shared computer).
#[utoipa::path(delete, path = "/sessions", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sign_out_everywhere(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<StatusCode> {
    user.require_session()?;
    accounts::sign_out_everywhere(&state, &user.account_id).await?;
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
    Ok(Json(
        accounts::load_account(&state, &user.account_id).await?,
    ))
}

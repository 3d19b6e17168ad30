//! `POST /quotes`.

use axum::extract::State;
use axum::http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::checkout::{Quote, QuoteRequest};

use crate::domain::quotes;
use crate::error::AppResult;
use crate::http::extract::{AuthUser, ClientIp, Json};
use crate::state::AppState;

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
        (status = 429, description = "The buyer, or its address, holds the most open quotes allowed", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_quote(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    Json(request): Json<QuoteRequest>,
) -> AppResult<(StatusCode, Json<Quote>)> {
    let quote = quotes::create(&state, &user.account_id, ip, &request).await?;
    Ok((StatusCode::CREATED, Json(quote)))
}

//! `/payment-methods`: the buyer's saved cards.

use axum::extract::State;
use axum::http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::checkout::{CardRequest, PaymentMethod};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::payments;
use crate::error::AppResult;
use crate::http::extract::{AuthUser, Json};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_payment_method, list_payment_methods))
}

/// Tokenises a card. The number and the CVC are sent to the gateway and
/// never stored or logged.
#[utoipa::path(post, path = "/payment-methods", tag = "checkout", security(("bearer" = [])),
    request_body = CardRequest,
    responses(
        (status = 201, body = PaymentMethod),
        (status = 422, description = "Invalid card details", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_payment_method(
    State(state): State<AppState>,
    user: AuthUser,
    Json(card): Json<CardRequest>,
) -> AppResult<(StatusCode, Json<PaymentMethod>)> {
    let method = payments::add_card(&state, &user.account_id, card).await?;
    Ok((StatusCode::CREATED, Json(method)))
}

/// The signed-in account's saved cards, newest first.
#[utoipa::path(get, path = "/payment-methods", tag = "checkout", security(("bearer" = [])),
    responses((status = 200, body = Vec<PaymentMethod>)))]
async fn list_payment_methods(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<Vec<PaymentMethod>>> {
    Ok(Json(payments::list(&state, &user.account_id).await?))
}

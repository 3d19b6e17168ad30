//! `/payment-methods`: the buyer's saved cards, set up through Stripe;
//! `/payments/config`: what the web app needs to load Stripe.js.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::checkout::{PaymentMethod, PaymentsConfig, SavePaymentMethod, SetupIntent};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::payments::{self, SaveRequest};
use crate::error::AppResult;
use crate::http::extract::{AuthUser, Json};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_payment_method, list_payment_methods))
        .routes(routes!(remove_payment_method))
        .routes(routes!(create_setup_intent))
        .routes(routes!(payments_config))
}

/// Stripe's publishable key and where Stripe.js is.
#[utoipa::path(get, path = "/payments/config", tag = "checkout",
    responses((status = 200, body = PaymentsConfig)))]
async fn payments_config(State(state): State<AppState>) -> Json<PaymentsConfig> {
    Json(payments::config(&state))
}

/// A SetupIntent whose `client_secret` Stripe.js confirms with the card the
/// buyer types into Stripe's card element.
#[utoipa::path(post, path = "/payment-methods/setup-intents", tag = "checkout", security(("bearer" = [])),
    responses(
        (status = 201, body = SetupIntent),
        (status = 503, description = "Stripe is unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_setup_intent(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<(StatusCode, Json<SetupIntent>)> {
    let intent = payments::start_setup(&state, &user.account_id).await?;
    Ok((StatusCode::CREATED, Json(intent)))
}

/// Saves the card of a confirmed SetupIntent: its brand, last four digits
/// and expiry. A body carrying a card number or CVC is refused (422).
#[utoipa::path(post, path = "/payment-methods", tag = "checkout", security(("bearer" = [])),
    request_body = SavePaymentMethod,
    responses(
        (status = 201, body = PaymentMethod),
        (status = 404, description = "No such SetupIntent of yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a confirmed SetupIntent of yours, or card data sent", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_payment_method(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<SaveRequest>,
) -> AppResult<(StatusCode, Json<PaymentMethod>)> {
    let method = payments::save_card(&state, &user.account_id, request).await?;
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

/// Removes a saved card: it is detached at Stripe and never charged again
/// (orders and invoices that used it still name it).
#[utoipa::path(delete, path = "/payment-methods/{id}", tag = "checkout", security(("bearer" = [])),
    params(("id" = String, Path, description = "Payment method id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such card of yours", body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_payment_method(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    payments::remove_card(&state, &user.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `POST /orders` (with an `Idempotency-Key`) and `GET /orders/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::checkout::{Order, OrderRequest};

use crate::domain::{order_view, orders};
use crate::error::AppResult;
use crate::http::extract::{AuthUser, IdempotencyKey, Json};
use crate::state::AppState;

/// Places an order from a quote: authorises the card for the estimated month
/// and creates the instances on the held hosts. Send a fresh
/// `Idempotency-Key` per attempt: a retry with the same key returns the same
/// order (or the same failure) and never charges twice.
#[utoipa::path(post, path = "/orders", tag = "checkout", security(("bearer" = [])),
    request_body = OrderRequest,
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, description = "A unique key per order attempt (1 to 255 characters)")),
    responses(
        (status = 201, description = "Order placed", body = Order),
        (status = 200, description = "The order this key already placed", body = Order),
        (status = 402, description = "Card declined or insufficient funds", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such quote", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Quote already used, or the same key is still being processed", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Quote expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_order(
    State(state): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    Json(request): Json<OrderRequest>,
) -> AppResult<(StatusCode, Json<Order>)> {
    let placed = orders::place(&state, &user.account_id, &key, &request).await?;
    let status = if placed.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(placed.order)))
}

/// One of the buyer's orders with its instances.
#[utoipa::path(get, path = "/orders/{id}", tag = "checkout", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, body = Order),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_order(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Order>> {
    Ok(Json(
        order_view::load_order(&state, &user.account_id, &id).await?,
    ))
}

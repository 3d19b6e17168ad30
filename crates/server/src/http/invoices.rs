//! `/invoices`: the buyer's invoices and "Pay now"; `/balance`: what they owe.

use axum::extract::{Path, State};
use sparecloud_api::Problem;
use sparecloud_api::invoices::{Balance, Invoice, PayInvoiceRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{charges, invoices};
use crate::error::AppResult;
use crate::http::extract::{AuthUser, Json};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invoices))
        .routes(routes!(get_invoice))
        .routes(routes!(pay_invoice))
        .routes(routes!(get_balance))
}

/// The signed-in buyer's invoices, newest first, with their lines.
#[utoipa::path(get, path = "/invoices", tag = "invoices", security(("bearer" = [])),
    responses((status = 200, body = Vec<Invoice>)))]
async fn list_invoices(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<Vec<Invoice>>> {
    Ok(Json(invoices::list(&state, &user.account_id).await?))
}

/// One invoice.
#[utoipa::path(get, path = "/invoices/{id}", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice id")),
    responses(
        (status = 200, body = Invoice),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_invoice(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Invoice>> {
    Ok(Json(invoices::get(&state, &user.account_id, &id).await?))
}

/// Pays an unpaid invoice now with one of the buyer's saved cards; once
/// nothing is past due, instances stopped for it start again.
#[utoipa::path(post, path = "/invoices/{id}/pay", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice id")),
    request_body = PayInvoiceRequest,
    responses(
        (status = 200, body = Invoice),
        (status = 402, description = "Card refused, or the bank wants the buyer to confirm (client_secret)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Paid already", body = Problem, content_type = "application/problem+json"),
    ))]
async fn pay_invoice(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(request): Json<PayInvoiceRequest>,
) -> AppResult<Json<Invoice>> {
    Ok(Json(
        charges::pay(&state, &user.account_id, &id, &request.payment_method_id).await?,
    ))
}

/// What the signed-in buyer owes now: how many invoices are past due and
/// their total.
#[utoipa::path(get, path = "/balance", tag = "invoices", security(("bearer" = [])),
    responses((status = 200, body = Balance)))]
async fn get_balance(State(state): State<AppState>, user: AuthUser) -> AppResult<Json<Balance>> {
    Ok(Json(invoices::balance(&state, &user.account_id).await?))
}

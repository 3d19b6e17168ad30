//! `/seller/earnings`.

use axum::extract::State;
use sparecloud_api::seller::Earnings;

use crate::domain::earnings as ledger_view;
use crate::error::AppResult;
use crate::http::extract::{Json, Seller};
use crate::state::AppState;

/// Gross charges, platform commission and net earnings, in total and per day.
#[utoipa::path(get, path = "/seller/earnings", tag = "seller", security(("bearer" = [])),
    responses((status = 200, body = Earnings)))]
pub(super) async fn earnings(
    State(state): State<AppState>,
    seller: Seller,
) -> AppResult<Json<Earnings>> {
    Ok(Json(
        ledger_view::earnings(&state, &seller.account_id).await?,
    ))
}

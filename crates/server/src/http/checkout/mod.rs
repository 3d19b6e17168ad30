//! Checkout: `/quotes` (a binding price with capacity held) and `/orders`
//! (an idempotent card authorisation, then the instances).

mod orders;
mod quotes;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(quotes::create_quote))
        .routes(routes!(orders::create_order))
        .routes(routes!(orders::get_order))
}

//! `POST /webhooks/stripe`: Stripe's events, accepted only with a valid
//! `Stripe-Signature` (HMAC-SHA256 of `t.payload` with our endpoint's
//! secret, at most five minutes old); anything else is refused with 400
//! and changes nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sparecloud_api::Problem;
use sparecloud_api::problem::kinds;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::Clock;
use crate::domain::webhooks::{self, Event};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::stripe;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stripe_webhook))
}

/// A Stripe event (payment_intent.succeeded, payment_intent.payment_failed,
/// setup_intent.succeeded, charge.refunded). Replays change nothing.
#[utoipa::path(post, path = "/webhooks/stripe", tag = "payments",
    request_body(content = String, description = "The event as Stripe signed it", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "`t=TIMESTAMP,v1=HMAC-SHA256` with the endpoint's signing secret")),
    responses(
        (status = 204, description = "Handled, ignored or seen before"),
        (status = 400, description = "Missing or bad signature", body = Problem, content_type = "application/problem+json"),
    ))]
async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<StatusCode> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Stripe's timestamps are wall-clock time, whatever the app's clock.
    let now_secs = Clock::System.now() / 1000;
    let secret = &state.stripe.config().webhook_secret;
    if let Err(error) = stripe::verify_signature(&body, signature, secret, now_secs) {
        tracing::warn!(%error, "refused a Stripe webhook");
        return Err(refused(format!(
            "The Stripe-Signature is not valid: {error}."
        )));
    }
    let event: Event = serde_json::from_slice(&body)
        .map_err(|_| refused("The event is not one Stripe sends.".into()))?;
    let handled = webhooks::handle(&state, event).await?;
    tracing::debug!(?handled, "Stripe webhook");
    Ok(StatusCode::NO_CONTENT)
}

fn refused(detail: String) -> AppError {
    AppError::problem(
        kinds::WEBHOOK_SIGNATURE,
        "Webhook refused",
        StatusCode::BAD_REQUEST,
        detail,
    )
}

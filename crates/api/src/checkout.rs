//! Checkout: `POST /quotes`, `POST /payment-methods`, `GET /payment-methods`,
//! `POST /orders` (with an `Idempotency-Key` header), `GET /orders/{id}`.

use serde::{Deserialize, Serialize};

use crate::instances::Instance;
pub use crate::placement::Placement;

/// The header that makes `POST /orders` safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuoteRequest {
    pub offer_id: String,
    pub image_id: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^(bronze|silver|gold)$"))]
    pub sla_tier: String,
    pub flavor_id: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub count: u32,
    /// Where the instances may go relative to each other.
    #[serde(default)]
    pub placement: Placement,
    /// Start an instance again on another host (keeping the placement) when
    /// its host fails.
    #[serde(default)]
    pub auto_recover: bool,
}

/// Where a quote put some of its instances: one row per offer used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotePlacement {
    pub offer_id: String,
    pub seller_name: String,
    pub zone: String,
    pub count: u32,
    pub unit_hourly_cents: u64,
}

/// A binding price, with the capacity held until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quote {
    pub id: String,
    pub offer_id: String,
    pub image_id: String,
    pub sla_tier: String,
    pub flavor_id: String,
    pub count: u32,
    pub placement: Placement,
    pub auto_recover: bool,
    /// How many distinct hosts the instances are placed on.
    pub hosts: u32,
    pub zones: Vec<String>,
    /// Which offers the instances go to, the chosen one first.
    pub placements: Vec<QuotePlacement>,
    pub currency: String,
    /// The chosen offer's price for one instance.
    pub unit_hourly_cents: u64,
    /// The sum over the placements (a spread may use other offers).
    pub hourly_total_cents: u64,
    /// The platform's commission, included in the hourly total.
    pub commission_hourly_cents: u64,
    /// The platform's commission rate, basis points (1500 = 15 %).
    #[serde(default)]
    pub commission_bp: u32,
    /// 730 hours of the hourly total.
    pub estimated_month_cents: u64,
    pub expires_at: String,
}

/// `GET /payments/config`: what the web app needs to load Stripe.js.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentsConfig {
    pub publishable_key: String,
    /// Stripe.js (localstripe's stand-in in tests and the demo).
    pub js_url: String,
}

/// `POST /payment-methods/setup-intents`: a Stripe SetupIntent for the
/// buyer, which Stripe.js confirms with the card the buyer types into
/// Stripe's card element: the card goes from the browser to Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupIntent {
    pub id: String,
    pub client_secret: String,
}

/// `POST /payment-methods`: saves the card a confirmed SetupIntent set up.
/// There is no card number or CVC here, and a body carrying one is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavePaymentMethod {
    pub setup_intent_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub holder_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentMethod {
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub holder_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderRequest {
    pub quote_id: String,
    pub payment_method_id: String,
    pub ssh_public_key: String,
    /// The signed session of a partner's embed page (its
    /// `sparecloud-embed-session` meta tag): the partner it names earns a
    /// share of the commission. Nothing else attributes an order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_session: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Processing,
    Completed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: String,
    pub status: OrderStatus,
    pub quote: Quote,
    pub payment_method_id: String,
    pub instances: Vec<Instance>,
    pub created_at: String,
    /// The partner whose embed the order came through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// What became of the card authorisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<OrderPayment>,
}

/// An order's card authorisation at Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPayment {
    /// `authorized` (held on the card), `captured` (by the first invoice),
    /// `released` (nothing to capture) or `refunded`.
    pub status: String,
    pub authorized_cents: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_cents: Option<u64>,
    /// Why the order was refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_clients_get_the_default_placement() {
        // Older clients send no placement: anywhere, no recovery.
        let request: QuoteRequest = serde_json::from_str(
            r#"{"offer_id":"o","image_id":"i","sla_tier":"gold","flavor_id":"f","count":1}"#,
        )
        .unwrap();
        assert_eq!(request.placement, Placement::Any);
        assert!(!request.auto_recover);
    }
}

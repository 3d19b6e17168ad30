//! Checkout: `POST /quotes`, `POST /payment-methods`, `GET /payment-methods`,
//! `POST /orders` (with an `Idempotency-Key` header), `GET /orders/{id}`.

use serde::{Deserialize, Serialize};

use crate::instances::Instance;

/// The header that makes `POST /orders` safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuoteRequest {
    pub offer_id: String,
    pub image_id: String,
    pub sla_tier: String,
    pub flavor_id: String,
    pub count: u32,
    /// Put every instance on a different host.
    #[serde(default)]
    pub spread: bool,
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
    pub spread: bool,
    /// How many distinct hosts the instances are placed on.
    pub hosts: u32,
    pub zones: Vec<String>,
    pub currency: String,
    pub unit_hourly_cents: u64,
    pub hourly_total_cents: u64,
    /// The platform's commission, included in the hourly total.
    pub commission_hourly_cents: u64,
    /// 730 hours of the hourly total.
    pub estimated_month_cents: u64,
    pub expires_at: String,
}

/// `POST /payment-methods`: card details, sent only here and never stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardRequest {
    pub holder_name: String,
    /// Digits, spaces allowed.
    pub number: String,
    pub exp_month: u32,
    /// Four digits, e.g. 2029.
    pub exp_year: u32,
    pub cvc: String,
}

/// Never prints the number or the CVC.
impl std::fmt::Debug for CardRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardRequest")
            .field("holder_name", &self.holder_name)
            .field("number", &"<redacted>")
            .field("exp_month", &self.exp_month)
            .field("exp_year", &self.exp_year)
            .field("cvc", &"<redacted>")
            .finish()
    }
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
    /// Set by a partner's embed: the partner earns a share of the commission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
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
}

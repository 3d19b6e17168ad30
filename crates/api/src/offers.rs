//! The marketplace: `GET /offers`, `GET /offers/{id}`.

use serde::{Deserialize, Serialize};

use crate::catalog::{Capacity, Flavor};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfferSort {
    #[default]
    PriceAsc,
    PriceDesc,
    Newest,
    Uptime,
}

/// `GET /offers` query. Every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct OfferQuery {
    pub zone: Option<String>,
    pub sla: Option<String>,
    pub min_vcpu: Option<u32>,
    pub min_ram_gib: Option<u32>,
    /// The most a buyer will pay per instance-hour, in cents.
    pub max_price: Option<u64>,
    /// Only offers with a flavor big enough for this image.
    pub image: Option<String>,
    pub sort: Option<OfferSort>,
    /// 1-based.
    pub page: Option<u32>,
    /// 1 to 100, 20 when absent.
    pub per_page: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferFlavorPrice {
    pub flavor: Flavor,
    pub hourly_cents: u64,
}

/// A listing as buyers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    pub id: String,
    pub seller_name: String,
    pub zone: String,
    pub sla_tier: String,
    /// The tier's committed availability, basis points.
    pub availability_bp: u32,
    /// Measured availability of the seller's hosts over 30 days, basis points.
    pub uptime_bp: u32,
    pub free: Capacity,
    /// Only the flavors that fit on a host right now, cheapest first.
    pub prices: Vec<OfferFlavorPrice>,
    pub from_hourly_cents: u64,
    pub currency: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferPage {
    pub items: Vec<Offer>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

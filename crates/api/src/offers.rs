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
    #[cfg_attr(feature = "openapi", param(pattern = "^(bronze|silver|gold)$"))]
    pub sla: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<u64>, maximum = 4_294_967_295_u64))]
    pub min_vcpu: Option<u32>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<u64>, maximum = 4_294_967_295_u64))]
    pub min_ram_gib: Option<u32>,
    /// The most a buyer will pay per instance-hour, in cents.
    #[cfg_attr(feature = "openapi", param(maximum = 9_223_372_036_854_775_807_u64))]
    pub max_price: Option<u64>,
    /// Only offers with a flavor big enough for this image.
    #[cfg_attr(feature = "openapi", param(min_length = 1))]
    pub image: Option<String>,
    pub sort: Option<OfferSort>,
    /// 1-based.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1_000_000))]
    pub page: Option<u32>,
    /// 1 to 100, 20 when absent.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
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
    /// The catalog images the offer's hosts can run (only on `GET
    /// /offers/{id}`; absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferPage {
    pub items: Vec<Offer>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// `GET /market` query: the zone and service level a seller prices for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct MarketQuery {
    pub zone: Option<String>,
    pub sla: Option<String>,
}

/// What sellers charge for one flavor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarketPrice {
    pub flavor: Flavor,
    /// The median hourly price among active offers; none when nobody sells it.
    pub median_hourly_cents: Option<u64>,
    pub offers: u32,
    /// A price to start from, from the nearest data there is (see
    /// `suggested_from`).
    #[serde(default)]
    pub suggested_hourly_cents: u64,
    #[serde(default)]
    pub suggested_from: PriceSource,
}

/// Where a suggested price comes from, nearest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// The median of offers in the zone and service level asked for.
    Here,
    /// The median of the same service level in other zones.
    SameTierElsewhere,
    /// The median of every offer of the size.
    WholeMarket,
    /// Nobody sells the size yet: a list price from its cores and memory.
    #[default]
    ListPrice,
}

/// The list price of a size nobody sells yet, cents per hour: 2 cents per
/// core and 1 per GiB of memory, about what the demo market charges.
pub fn list_price_cents(flavor: &Flavor) -> u64 {
    (2 * u64::from(flavor.vcpu) + u64::from(flavor.ram_gib)).max(1)
}

/// `GET /market`: the platform's terms and the going prices, for sellers
/// pricing an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Market {
    /// The platform's commission on sales, basis points.
    pub commission_bp: u32,
    pub currency: String,
    /// Every flavor of the catalog, smallest first.
    pub prices: Vec<MarketPrice>,
}

/// The median of `values` (sorted in place), rounded down; none when empty.
pub fn median(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    })
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [7]), Some(7));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [10, 1, 4, 6]), Some(5));
    }
}

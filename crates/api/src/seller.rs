//! The seller's side: profile, install tokens, hosts, offers, earnings.

use serde::{Deserialize, Serialize};

use crate::catalog::Capacity;

/// `POST /seller/profile` (creates or replaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SellerProfileRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub company_name: String,
    /// ISO 3166-1 alpha-2, e.g. "DE".
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Z]{2}$"))]
    pub country: String,
    /// Where payouts go (an IBAN or an account reference).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub payout_reference: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^(bronze|silver|gold)$"))]
    pub default_sla_tier: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SellerProfile {
    pub account_id: String,
    pub company_name: String,
    pub country: String,
    pub payout_reference: String,
    pub default_sla_tier: String,
    pub created_at: String,
}

/// `POST /seller/install-tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstallTokenRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub label: String,
    /// The zone the host joins unless its agent names another.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9-]{1,31}$"))]
    pub zone: String,
    /// Hours until the token expires: 1 to 168, 24 when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 168))]
    pub expires_in_hours: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InstallTokenStatus {
    Unused,
    Used,
    Expired,
    Revoked,
}

impl InstallTokenStatus {
    /// The wire name, also what the seller reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unused => "unused",
            Self::Used => "used",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstallToken {
    pub id: String,
    pub label: String,
    pub zone: String,
    pub status: InstallTokenStatus,
    pub created_at: String,
    pub expires_at: String,
    #[serde(default)]
    pub used_at: Option<String>,
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// The host that registered with it.
    #[serde(default)]
    pub host_id: Option<String>,
}

/// The answer to creating a token: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedInstallToken {
    pub install_token: InstallToken,
    pub secret: String,
    /// The command to run on the host, secret included.
    pub install_command: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    Online,
    Offline,
    Draining,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Host {
    pub id: String,
    pub name: String,
    pub zone: String,
    pub status: HostStatus,
    pub capacity: Capacity,
    pub allocated: Capacity,
    pub free: Capacity,
    pub instances: u32,
    pub last_heartbeat_at: String,
    /// Measured availability over the last 30 days, basis points.
    pub uptime_bp: u32,
    /// Measured availability this calendar month (UTC) so far, basis
    /// points: what service credits are computed from.
    pub month_availability_bp: u32,
    pub registered_at: String,
    /// How the host runs instances, as its agent last said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervisor: Option<crate::agent::Hypervisor>,
    /// The disk its instances and images really take, bytes, as its agent
    /// last measured (simulated hosts do not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_used_bytes: Option<u64>,
    /// While the host drains: how moving its instances off is going.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainProgress>,
    /// When the seller revoked the host's credential: its agent is refused
    /// from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_revoked_at: Option<String>,
}

/// Cold migration off a draining host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrainProgress {
    /// Moved to other hosts since the drain began.
    pub moved: u32,
    /// Stopping here, with a place held on another host.
    pub migrating: u32,
    /// No host that keeps the tier and spread has room yet (retried).
    pub waiting: u32,
}

impl DrainProgress {
    pub fn is_done(&self) -> bool {
        self.migrating == 0 && self.waiting == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlavorPrice {
    pub flavor_id: String,
    /// Per instance-hour, in cents.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub hourly_cents: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Active,
    Paused,
}

/// `POST /seller/offers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateOfferRequest {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9-]{1,31}$"))]
    pub zone: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^(bronze|silver|gold)$"))]
    pub sla_tier: String,
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub prices: Vec<FlavorPrice>,
}

/// `PATCH /seller/offers/{id}`: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateOfferRequest {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(bronze|silver|gold)$"))]
    pub sla_tier: Option<String>,
    /// Replaces the whole price list.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub prices: Option<Vec<FlavorPrice>>,
    #[serde(default)]
    pub status: Option<OfferStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SellerOffer {
    pub id: String,
    pub zone: String,
    pub sla_tier: String,
    pub status: OfferStatus,
    pub prices: Vec<FlavorPrice>,
    /// Whether buyers see it now: active, with a flavor that fits a host.
    pub listed: bool,
    pub free: Capacity,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Earnings {
    pub currency: String,
    pub gross_cents: u64,
    pub commission_cents: u64,
    /// Service credits given to buyers for months a host missed its tier.
    #[serde(default)]
    pub sla_credits_cents: u64,
    /// Gross minus commission minus service credits.
    pub net_cents: u64,
    /// Oldest first, one per UTC day with usage.
    pub days: Vec<EarningsDay>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EarningsDay {
    /// YYYY-MM-DD, UTC.
    pub date: String,
    pub gross_cents: u64,
    pub commission_cents: u64,
    pub net_cents: u64,
}

#[cfg(test)]
mod tests {
    use super::InstallTokenStatus;

    #[test]
    fn a_token_status_reads_as_its_wire_name() {
        for status in [
            InstallTokenStatus::Unused,
            InstallTokenStatus::Used,
            InstallTokenStatus::Expired,
            InstallTokenStatus::Revoked,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                status.as_str(),
                "{status:?}"
            );
        }
    }
}

//! The catalog: `GET /images`, `GET /flavors`, `GET /sla-tiers`, `GET /zones`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Image {
    pub id: String,
    pub name: String,
    pub os: String,
    pub description: String,
    pub min_disk_gib: u32,
}

/// An instance size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flavor {
    pub id: String,
    pub vcpu: u32,
    pub ram_gib: u32,
    pub disk_gib: u32,
}

/// A service level. Availabilities are in basis points of a percent:
/// 9990 is 99.90 %.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaTier {
    pub id: String,
    pub name: String,
    pub availability_bp: u32,
    /// Highest threshold first.
    pub credits: Vec<SlaCredit>,
}

/// A month whose measured availability is below `below_bp` earns
/// `credit_percent` of that month's charges back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaCredit {
    pub below_bp: u32,
    pub credit_percent: u32,
}

/// An availability zone (or pool) with capacity in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Zone {
    pub id: String,
    pub hosts_online: u32,
    pub sellers: u32,
}

/// Compute capacity: cores, memory and disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capacity {
    pub vcpu: u32,
    pub ram_gib: u32,
    pub disk_gib: u32,
}

impl Capacity {
    pub fn fits(&self, need: &Capacity) -> bool {
        need.vcpu <= self.vcpu && need.ram_gib <= self.ram_gib && need.disk_gib <= self.disk_gib
    }
}

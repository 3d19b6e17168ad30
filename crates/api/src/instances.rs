//! Instances: `GET /instances`, `GET /instances/{id}`, and the actions
//! `POST /instances/{id}/stop`, `/start`, `/terminate`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    Pending,
    Provisioning,
    Running,
    Stopping,
    Stopped,
    Terminated,
    Failed,
}

impl InstanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Pending => "pending",
            InstanceStatus::Provisioning => "provisioning",
            InstanceStatus::Running => "running",
            InstanceStatus::Stopping => "stopping",
            InstanceStatus::Stopped => "stopped",
            InstanceStatus::Terminated => "terminated",
            InstanceStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "pending" => InstanceStatus::Pending,
            "provisioning" => InstanceStatus::Provisioning,
            "running" => InstanceStatus::Running,
            "stopping" => InstanceStatus::Stopping,
            "stopped" => InstanceStatus::Stopped,
            "terminated" => InstanceStatus::Terminated,
            "failed" => InstanceStatus::Failed,
            _ => return None,
        })
    }

    /// No further change will happen.
    pub fn is_final(self) -> bool {
        matches!(self, InstanceStatus::Terminated | InstanceStatus::Failed)
    }
}

fn default_ssh_user() -> String {
    "root".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Instance {
    pub id: String,
    pub order_id: String,
    pub name: String,
    pub status: InstanceStatus,
    pub image_id: String,
    pub flavor_id: String,
    pub sla_tier: String,
    pub zone: String,
    pub vcpu: u32,
    pub ram_gib: u32,
    pub disk_gib: u32,
    /// Reachable address once running.
    #[serde(default)]
    pub address: Option<String>,
    /// Who to log in as over SSH (the image's default user).
    #[serde(default = "default_ssh_user")]
    pub ssh_user: String,
    pub hourly_cents: u64,
    /// Charges so far, per second of running time.
    pub cost_so_far_cents: u64,
    pub currency: String,
    pub created_at: String,
    pub updated_at: String,
    /// How its order is spread; moves keep it.
    #[serde(default)]
    pub placement: crate::placement::Placement,
    /// Started again on another host if its host fails.
    #[serde(default)]
    pub auto_recover: bool,
    /// Failed with its host, and auto-recovery is waiting for another host
    /// with room that keeps the spread (it can still be terminated).
    #[serde(default)]
    pub recovering: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceEvent {
    pub at: String,
    pub kind: String,
    pub message: String,
}

/// `GET /instances/{id}/console`: the end of the instance's serial console
/// output, as its host last sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceConsole {
    pub output: String,
    /// When the host last sent it; none yet for an instance whose host has
    /// sent nothing (or a simulated one).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `GET /instances/{id}`: the instance and its event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceDetail {
    pub instance: Instance,
    pub events: Vec<InstanceEvent>,
    /// The service level this calendar month so far.
    #[serde(default)]
    pub sla: Option<InstanceSla>,
    /// Credits applied for past months, newest first (only months that
    /// missed the commitment).
    #[serde(default)]
    pub credits: Vec<InstanceSla>,
}

/// An instance's measured availability this month against its tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceSla {
    /// "YYYY-MM", UTC.
    pub month: String,
    /// The tier's committed availability, basis points.
    pub target_bp: u32,
    /// Measured from the host's heartbeats over the month so far.
    pub availability_bp: u32,
    /// What the tier's credit schedule gives for that availability.
    pub credit_percent: u32,
    /// That share of this month's charges.
    pub credit_cents: u64,
}

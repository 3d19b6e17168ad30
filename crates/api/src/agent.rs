//! The agent protocol: `POST /agent/register`, `POST /agent/heartbeat`.
//! The agent dials out; the host credential goes in `Authorization: Bearer`.

use serde::{Deserialize, Serialize};

use crate::catalog::Capacity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// The install token the seller generated.
    pub token: String,
    /// The host's name (its hostname by default).
    pub name: String,
    /// Overrides the token's zone.
    #[serde(default)]
    pub zone: Option<String>,
    /// Sellable capacity: the machine minus the agent's reserve.
    pub capacity: Capacity,
    pub agent_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterResponse {
    pub host_id: String,
    /// The long-lived host credential: store it, it is not shown again.
    pub credential: String,
    pub zone: String,
    pub heartbeat_interval_secs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObservedState {
    Provisioning,
    Running,
    Stopping,
    Stopped,
    /// Destroyed on the host.
    Terminated,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObservedInstance {
    pub id: String,
    pub state: ObservedState,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatRequest {
    pub capacity: Capacity,
    pub instances: Vec<ObservedInstance>,
    pub agent_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DesiredState {
    Running,
    Stopped,
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DesiredInstance {
    pub id: String,
    pub image_id: String,
    pub vcpu: u32,
    pub ram_gib: u32,
    pub disk_gib: u32,
    pub ssh_public_key: String,
    pub state: DesiredState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    pub heartbeat_interval_secs: u32,
    /// Every instance the host should have, in the state it should be in.
    pub instances: Vec<DesiredInstance>,
}

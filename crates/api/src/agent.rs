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
    /// The end of the serial console's output (at most
    /// `CONSOLE_TAIL_BYTES`), sent when it changed since the last heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<String>,
}

/// How much of an instance's console output the marketplace keeps: the
/// last 64 KiB, as EC2's "Get system log".
pub const CONSOLE_TAIL_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatRequest {
    pub capacity: Capacity,
    pub instances: Vec<ObservedInstance>,
    pub agent_version: String,
    /// How the host runs its instances (older agents do not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervisor: Option<Hypervisor>,
    /// The catalog images the host can run; none said means any (a
    /// simulation, or an older agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// The disk its instances and cached images really take, bytes
    /// (thin overlays take far less than their size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_used_bytes: Option<u64>,
    /// The host moves disks in a cold migration: it uploads a stopped
    /// instance's disk when asked (`upload_disk`) and fetches a moved
    /// one's (`disk`). Older agents and simulations do not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub moves_disks: bool,
}

/// The checksum of an uploaded disk (`PUT /agent/instances/{id}/disk`),
/// SHA-256 in lowercase hex.
pub const DISK_SHA256_HEADER: &str = "x-disk-sha256";
/// The short-lived token of a disk download.
pub const TRANSFER_TOKEN_HEADER: &str = "x-transfer-token";

/// Where the new host of a moved instance fetches its disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskTransfer {
    /// A path of the marketplace's API (`/api/v1/agent/instances/{id}/disk`).
    pub url: String,
    /// Sent as `X-Transfer-Token`; valid for a few minutes (each heartbeat
    /// brings a fresh one while the move lasts).
    pub token: String,
    pub sha256: String,
    pub size_bytes: u64,
}

/// How a host runs its instances: the agent's driver and, for real
/// machines, the accelerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hypervisor {
    pub driver: HypervisorDriver,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel: Option<Accelerator>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HypervisorDriver {
    /// Real virtual machines under QEMU.
    Qemu,
    /// A simulation (demo hosts).
    Sim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Accelerator {
    /// Hardware virtualisation.
    Kvm,
    /// Software emulation: works anywhere, much slower.
    Tcg,
}

impl HypervisorDriver {
    pub fn as_str(self) -> &'static str {
        match self {
            HypervisorDriver::Qemu => "qemu",
            HypervisorDriver::Sim => "sim",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Qemu, Self::Sim]
            .into_iter()
            .find(|d| d.as_str() == value)
    }
}

impl Accelerator {
    pub fn as_str(self) -> &'static str {
        match self {
            Accelerator::Kvm => "kvm",
            Accelerator::Tcg => "tcg",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Kvm, Self::Tcg]
            .into_iter()
            .find(|a| a.as_str() == value)
    }
}

impl Hypervisor {
    /// How the seller reads it.
    pub fn describe(&self) -> &'static str {
        match (self.driver, self.accel) {
            (HypervisorDriver::Sim, _) => "Simulated",
            (HypervisorDriver::Qemu, Some(Accelerator::Kvm)) => "QEMU with KVM",
            (HypervisorDriver::Qemu, _) => "QEMU, software emulation (slow)",
        }
    }
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
    /// Moved here from another host: its disk, to fetch instead of
    /// starting from the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskTransfer>,
    /// Moving away: upload its disk once it has stopped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub upload_disk: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    pub heartbeat_interval_secs: u32,
    /// Every instance the host should have, in the state it should be in.
    pub instances: Vec<DesiredInstance>,
    /// Where the catalog's images come from, for hosts that fetch them
    /// (older servers send none).
    #[serde(default)]
    pub images: Vec<ImageSource>,
}

/// Where to get a catalog image's disk, and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageSource {
    pub image_id: String,
    /// An absolute `https://` (or `http://`) URL, or a path that starts
    /// with `/`, resolved against the marketplace's own API address.
    pub url: String,
    /// The disk's SHA-256, lowercase hex: what is fetched must match it.
    pub sha256: String,
    pub format: ImageFormat,
    /// The user the buyer's SSH key is installed for.
    pub login_user: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    Qcow2,
    Raw,
}

impl ImageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Qcow2 => "qcow2",
            ImageFormat::Raw => "raw",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Qcow2, Self::Raw]
            .into_iter()
            .find(|f| f.as_str() == value)
    }
}

/// Whether `sha256` is a SHA-256 as an image source carries it.
pub fn is_sha256_hex(sha256: &str) -> bool {
    sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypervisors_read_as_sellers_expect_and_older_agents_still_parse() {
        let kvm = Hypervisor {
            driver: HypervisorDriver::Qemu,
            accel: Some(Accelerator::Kvm),
        };
        assert_eq!(kvm.describe(), "QEMU with KVM");
        let tcg = Hypervisor {
            accel: Some(Accelerator::Tcg),
            ..kvm
        };
        assert_eq!(tcg.describe(), "QEMU, software emulation (slow)");
        let json = serde_json::to_value(tcg).unwrap();
        assert_eq!(json, serde_json::json!({"driver": "qemu", "accel": "tcg"}));
        for driver in [HypervisorDriver::Qemu, HypervisorDriver::Sim] {
            assert_eq!(HypervisorDriver::parse(driver.as_str()), Some(driver));
        }
        assert_eq!(Accelerator::parse("hvf"), None);
        let old: HeartbeatRequest = serde_json::from_str(
            r#"{"capacity":{"vcpu":1,"ram_gib":1,"disk_gib":1},"instances":[],"agent_version":"0.1.0"}"#,
        )
        .unwrap();
        assert_eq!(old.hypervisor, None);
        let bad = serde_json::from_str::<Hypervisor>(r#"{"driver":"xen"}"#);
        assert!(bad.is_err(), "unknown drivers are refused");
    }
}

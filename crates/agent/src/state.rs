//! The agent's state directory: `host.json` (the host credential, 0600),
//! `status.json` (the last heartbeat) and the driver's own files.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sparecloud_api::catalog::Capacity;

use crate::error::AgentError;

/// What registration leaves behind: enough to heartbeat as this host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostState {
    pub api: String,
    pub host_id: String,
    pub credential: String,
    pub zone: String,
    pub name: String,
    /// Capacity to report instead of the machine's (for simulated hosts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_capacity: Option<Capacity>,
    /// GiB of disk to sell instead of the free space measured here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_disk_gib: Option<u32>,
    /// The driver chosen at `register` (`qemu`, `sim`); none: a host
    /// registered before the choice was kept, which ran `sim`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    /// RFC 3339-ish UTC seconds since the epoch of the last good heartbeat.
    pub last_heartbeat_unix: Option<u64>,
    pub last_error: Option<String>,
    pub heartbeat_interval_secs: u32,
}

pub struct StateDir {
    pub path: PathBuf,
}

impl StateDir {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn host_file(&self) -> PathBuf {
        self.path.join("host.json")
    }

    pub fn load_host(&self) -> Result<HostState, AgentError> {
        let file = self.host_file();
        let bytes = std::fs::read(&file).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AgentError::NotRegistered(self.path.clone())
            } else {
                AgentError::State(file.clone(), e.to_string())
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| AgentError::State(file, e.to_string()))
    }

    pub fn save_host(&self, host: &HostState) -> Result<(), AgentError> {
        let file = self.host_file();
        let json = serde_json::to_vec_pretty(host).expect("serialisable");
        write_private(&file, &json).map_err(|e| AgentError::State(file, e.to_string()))
    }

    pub fn load_status(&self) -> Status {
        std::fs::read(self.path.join("status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save_status(&self, status: &Status) -> Result<(), AgentError> {
        let file = self.path.join("status.json");
        let json = serde_json::to_vec_pretty(status).expect("serialisable");
        write_private(&file, &json).map_err(|e| AgentError::State(file, e.to_string()))
    }
}

/// Writes a file only its owner can read or write, atomically (a crash
/// never leaves half a credential).
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("nested"));
        assert!(matches!(
            state.load_host(),
            Err(AgentError::NotRegistered(_))
        ));
        let host = HostState {
            driver: Some("qemu".into()),
            api: "http://127.0.0.1:8080".into(),
            host_id: "hst_1".into(),
            credential: "sc_h_secret".into(),
            zone: "eu-west-1a".into(),
            name: "rack-1".into(),
            declared_capacity: None,
            declared_disk_gib: Some(500),
        };
        state.save_host(&host).unwrap();
        let loaded = state.load_host().unwrap();
        assert_eq!(loaded.credential, "sc_h_secret");
        assert_eq!(loaded.declared_disk_gib, Some(500));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("nested/host.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}

//! Where the CLI finds the API and its key: flags, then the environment
//! (`SPARECLOUD_API`, `SPARECLOUD_API_KEY`), then the file `sparecloud login`
//! writes (`$XDG_CONFIG_HOME/sparecloud/config.json`, else
//! `~/.config/sparecloud/config.json`), readable by its owner only.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub const DEFAULT_API: &str = "http://127.0.0.1:8080";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Config {
    pub api: Option<String>,
    pub api_key: Option<String>,
}

pub fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("sparecloud").join("config.json"))
}

pub fn load() -> Config {
    path()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Writes the file with mode 0600 (it holds a key), its directory 0700.
pub fn save(config: &Config) -> std::io::Result<PathBuf> {
    let path =
        path().ok_or_else(|| std::io::Error::other("neither XDG_CONFIG_HOME nor HOME is set"))?;
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        // An existing file keeps its mode on open: set it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(&serde_json::to_vec_pretty(config)?)?;
    }
    #[cfg(not(unix))]
    std::fs::write(&path, serde_json::to_vec_pretty(config)?)?;
    Ok(path)
}

//! A cold migration's disk, on the two hosts: the old host uploads a
//! stopped instance's overlay (with its SHA-256) to the marketplace; the
//! new host fetches it with the token of its latest heartbeat, checks the
//! checksum and that it is a qcow2 overlay no larger than the flavor's
//! disk, and points it at its own copy of the image (`qemu-img rebase -u`:
//! the path the old host's overlay names is never opened here). Each
//! transfer runs on a thread of its own, as image fetches do.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::Duration;

use sparecloud_api::API_PREFIX;
use sparecloud_api::agent::{DISK_SHA256_HEADER, DiskTransfer, ImageFormat, TRANSFER_TOKEN_HEADER};

use super::images::copy_hashing;
use std::io::Read;

/// How a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Running,
    Done,
    Failed(String),
}

pub struct Transfers {
    api_base: Option<String>,
    credential: Option<String>,
    jobs: BTreeMap<String, JoinHandle<Result<(), String>>>,
}

impl Transfers {
    pub fn new(api_base: Option<String>, credential: Option<String>) -> Self {
        Self {
            api_base,
            credential,
            jobs: BTreeMap::new(),
        }
    }

    fn client(&self) -> Result<(String, String), String> {
        match (&self.api_base, &self.credential) {
            (Some(api), Some(credential)) => {
                Ok((api.trim_end_matches('/').to_owned(), credential.clone()))
            }
            _ => Err("this agent has no marketplace credential to move disks with".into()),
        }
    }

    /// Starts (once) or follows a transfer (`key`: its direction and
    /// instance).
    fn follow(
        &mut self,
        key: String,
        start: impl FnOnce() -> Result<(), String> + Send + 'static,
    ) -> Progress {
        match self.jobs.remove(&key) {
            Some(job) if !job.is_finished() => {
                self.jobs.insert(key, job);
                Progress::Running
            }
            Some(job) => match job.join() {
                Ok(Ok(())) => Progress::Done,
                Ok(Err(reason)) => Progress::Failed(reason),
                Err(_) => Progress::Failed("the transfer crashed".into()),
            },
            None => {
                self.jobs.insert(key, std::thread::spawn(start));
                Progress::Running
            }
        }
    }

    /// Forgets instance `id`'s transfers (it is destroyed): an upload that
    /// ended unheard is not taken for a later download of the same id.
    pub fn forget(&mut self, id: &str) {
        self.jobs.remove(&format!("up {id}"));
        self.jobs.remove(&format!("down {id}"));
    }

    /// Uploads `disk`, the overlay of stopped instance `id`.
    pub fn upload(&mut self, id: &str, disk: &Path) -> Progress {
        let (api, credential) = match self.client() {
            Ok(client) => client,
            Err(reason) => return Progress::Failed(reason),
        };
        let url = format!("{api}{API_PREFIX}/agent/instances/{id}/disk");
        let disk = disk.to_owned();
        self.follow(format!("up {id}"), move || {
            let file = std::fs::File::open(&disk).map_err(|e| e.to_string())?;
            let sha256 = copy_hashing(file, &mut std::io::sink())?;
            let file = std::fs::File::open(&disk).map_err(|e| e.to_string())?;
            client()?
                .put(&url)
                .bearer_auth(&credential)
                .header(DISK_SHA256_HEADER, sha256)
                .header("content-type", "application/octet-stream")
                .body(file)
                .send()
                .and_then(|r| r.error_for_status())
                .map_err(|e| format!("uploading the disk: {e}"))?;
            Ok(())
        })
    }

    /// Fetches the disk of instance `id`, moved here, into `dest` (checked:
    /// checksum, a qcow2 overlay at most `max_bytes` large).
    pub fn download(
        &mut self,
        id: &str,
        transfer: &DiskTransfer,
        dest: &Path,
        qemu_img: &Path,
        max_bytes: u64,
    ) -> Progress {
        let (api, credential) = match self.client() {
            Ok(client) => client,
            Err(reason) => return Progress::Failed(reason),
        };
        if !transfer.url.starts_with('/') {
            return Progress::Failed(format!("unusable disk URL {:?}", transfer.url));
        }
        let url = format!("{api}{}", transfer.url);
        let (token, sha256) = (transfer.token.clone(), transfer.sha256.clone());
        let (dest, qemu_img) = (dest.to_owned(), qemu_img.to_owned());
        self.follow(format!("down {id}"), move || {
            let part = dest.with_extension("part");
            let outcome = (|| {
                let response = client()?
                    .get(&url)
                    .bearer_auth(&credential)
                    .header(TRANSFER_TOKEN_HEADER, token)
                    .send()
                    .and_then(|r| r.error_for_status())
                    .map_err(|e| format!("fetching the disk: {e}"))?;
                let mut file = std::fs::File::create(&part).map_err(|e| e.to_string())?;
                let got = copy_hashing(response.take(max_bytes + 1), &mut file)?;
                if got != sha256 {
                    return Err(format!("the disk's SHA-256 is {got}, not {sha256}"));
                }
                check_overlay(&qemu_img, &part, max_bytes)?;
                std::fs::rename(&part, &dest).map_err(|e| e.to_string())
            })();
            if outcome.is_err() {
                let _ = std::fs::remove_file(&part);
            }
            outcome
        })
    }
}

fn client() -> Result<reqwest::blocking::Client, String> {
    reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(None)
        .user_agent(concat!("sparecloud-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

#[derive(Debug, serde::Deserialize)]
struct OverlayInfo {
    format: String,
    #[serde(rename = "virtual-size")]
    virtual_size: u64,
}

/// A moved disk must be a qcow2 image no larger than the flavor's disk.
/// (Its backing file names the old host's path: it is replaced, never
/// opened; `qemu-img info` does not open it either.)
pub fn check_overlay(qemu_img: &Path, path: &Path, max_bytes: u64) -> Result<(), String> {
    let output = Command::new(qemu_img)
        .args(["info", "--output=json", "-f", "qcow2"])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run qemu-img: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the moved disk is not a qcow2 image: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let info: OverlayInfo = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("unreadable qemu-img info: {e}"))?;
    if info.format != "qcow2" || info.virtual_size > max_bytes {
        return Err(format!(
            "the moved disk is a {} image of {} bytes, not a qcow2 disk of at most {max_bytes}",
            info.format, info.virtual_size
        ));
    }
    Ok(())
}

/// Points the moved overlay `disk` at this host's copy of its image.
pub fn rebase(
    qemu_img: &Path,
    disk: &Path,
    base: &Path,
    format: ImageFormat,
) -> Result<(), String> {
    let output = Command::new(qemu_img)
        .args(["rebase", "-u", "-f", "qcow2", "-F", format.as_str(), "-b"])
        .arg(base)
        .arg(disk)
        .output()
        .map_err(|e| format!("cannot run qemu-img: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "qemu-img rebase failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(transfers: &mut Transfers, key: &str, job: fn() -> Result<(), String>) -> Progress {
        for _ in 0..200 {
            match transfers.follow(key.to_owned(), job) {
                Progress::Running => std::thread::sleep(Duration::from_millis(5)),
                done => return done,
            }
        }
        panic!("the transfer did not end");
    }

    #[test]
    fn an_upload_never_passes_for_a_later_download_of_the_same_instance() {
        let mut transfers = Transfers::new(None, None);
        // An upload ends while no one asks any more (the move was made).
        assert_eq!(
            transfers.follow("up ins_1".into(), || Ok(())),
            Progress::Running
        );
        std::thread::sleep(Duration::from_millis(50));
        // The instance comes back later: its download is a transfer of its own.
        assert_eq!(
            settle(&mut transfers, "down ins_1", || Err(
                "fetched nothing".into()
            )),
            Progress::Failed("fetched nothing".into())
        );
        // Destroying the instance forgets what was left.
        transfers.forget("ins_1");
        assert!(transfers.jobs.is_empty());
        // Without a credential nothing is even tried.
        assert!(matches!(
            transfers.upload("ins_2", Path::new("/nonexistent")),
            Progress::Failed(reason) if reason.contains("credential")
        ));
    }
}

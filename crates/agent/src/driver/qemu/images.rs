//! The image cache: each catalog image's disk, fetched once from its
//! source into `<sha256>.<format>`, checked, and kept read-only as the
//! base of the instances' overlays.
//!
//! A fetch runs on a thread of its own (a cloud image is hundreds of
//! megabytes; the heartbeat must go on meanwhile) into `<sha256>.part`,
//! hashing as it writes; only a file whose SHA-256 matches the source and
//! that `qemu-img info` reads as the source's format *with no backing file
//! of its own* (which would let an image read any file on the host) is
//! moved into place. A base is deleted only when no instance uses it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};
use sparecloud_api::agent::{ImageFormat, ImageSource, is_sha256_hex};

/// Whether an image's base is there to build on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Ready(PathBuf),
    Fetching,
    Failed(String),
}

pub struct ImageCache {
    dir: PathBuf,
    qemu_img: PathBuf,
    /// What relative source URLs (`/api/v1/…`) are resolved against.
    api_base: Option<String>,
    fetches: BTreeMap<String, Fetch>,
}

enum Fetch {
    Running(JoinHandle<Result<(), String>>),
    Failed(String),
}

impl ImageCache {
    pub fn new(dir: PathBuf, qemu_img: PathBuf, api_base: Option<String>) -> Self {
        Self {
            dir,
            qemu_img,
            api_base,
            fetches: BTreeMap::new(),
        }
    }

    /// Where the base of an image with this checksum and format lives.
    pub fn base_path(&self, sha256: &str, format: ImageFormat) -> PathBuf {
        self.dir.join(format!("{sha256}.{}", format.as_str()))
    }

    /// The image's base if it is in the cache; otherwise starts fetching
    /// it (once) and says how that goes.
    pub fn get(&mut self, source: &ImageSource) -> Availability {
        if !is_sha256_hex(&source.sha256) {
            return Availability::Failed(format!(
                "the image {} has no valid SHA-256",
                source.image_id
            ));
        }
        let base = self.base_path(&source.sha256, source.format);
        if base.is_file() {
            return Availability::Ready(base);
        }
        match self.fetches.remove(&source.sha256) {
            Some(Fetch::Running(handle)) if !handle.is_finished() => {
                self.fetches
                    .insert(source.sha256.clone(), Fetch::Running(handle));
                Availability::Fetching
            }
            Some(Fetch::Running(handle)) => {
                let outcome = handle
                    .join()
                    .unwrap_or_else(|_| Err("the fetch crashed".to_owned()));
                match outcome {
                    Ok(()) if base.is_file() => Availability::Ready(base),
                    Ok(()) => self.failed(source, "the fetched image vanished".into()),
                    Err(reason) => self.failed(source, reason),
                }
            }
            // A failed fetch is not retried in a loop: the instance fails
            // and says why; a later instance of the image tries again.
            Some(Fetch::Failed(reason)) => Availability::Failed(reason),
            None => {
                let url = match self.resolve(&source.url) {
                    Ok(url) => url,
                    Err(reason) => return self.failed(source, reason),
                };
                let job = FetchJob {
                    url,
                    sha256: source.sha256.clone(),
                    format: source.format,
                    part: self.dir.join(format!("{}.part", source.sha256)),
                    base,
                    qemu_img: self.qemu_img.clone(),
                };
                tracing::info!(image = %source.image_id, url = %job.url, "fetching the image");
                let handle = std::thread::spawn(move || job.run());
                self.fetches
                    .insert(source.sha256.clone(), Fetch::Running(handle));
                Availability::Fetching
            }
        }
    }

    /// Forgets a failed fetch so that the next `get` tries again.
    pub fn retry(&mut self, sha256: &str) {
        if matches!(self.fetches.get(sha256), Some(Fetch::Failed(_))) {
            self.fetches.remove(sha256);
        }
    }

    fn failed(&mut self, source: &ImageSource, reason: String) -> Availability {
        let reason = format!("cannot fetch the image {}: {reason}", source.image_id);
        tracing::error!(%reason);
        self.fetches
            .insert(source.sha256.clone(), Fetch::Failed(reason.clone()));
        Availability::Failed(reason)
    }

    fn resolve(&self, url: &str) -> Result<String, String> {
        if url.starts_with("https://") || url.starts_with("http://") || url.starts_with("file:///")
        {
            return Ok(url.to_owned());
        }
        match (&self.api_base, url.starts_with('/')) {
            (Some(api), true) => Ok(format!("{}{url}", api.trim_end_matches('/'))),
            _ => Err(format!("unusable source URL {url:?}")),
        }
    }

    /// Deletes every base no instance uses (`in_use`: their checksums) and
    /// leftovers of interrupted fetches, but never one being fetched.
    /// Returns the files it deleted.
    pub fn remove_unused(&self, in_use: &BTreeSet<String>) -> Vec<PathBuf> {
        let mut removed = Vec::new();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Some(sha) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if !is_sha256_hex(sha) || in_use.contains(sha) || self.fetches.contains_key(sha) {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                tracing::info!(file = %path.display(), "removed an unused image");
                removed.push(path);
            }
        }
        removed
    }

    /// Bytes the cache holds on disk.
    pub fn disk_used(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| super::disk::allocated_bytes(&entry.path()))
            .sum()
    }
}

struct FetchJob {
    url: String,
    sha256: String,
    format: ImageFormat,
    part: PathBuf,
    base: PathBuf,
    qemu_img: PathBuf,
}

impl FetchJob {
    fn run(self) -> Result<(), String> {
        let outcome = self.fetch_and_check();
        if outcome.is_err() {
            let _ = std::fs::remove_file(&self.part);
        }
        outcome
    }

    fn fetch_and_check(&self) -> Result<(), String> {
        if let Some(dir) = self.part.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let mut file = std::fs::File::create(&self.part).map_err(|e| e.to_string())?;
        let got = if let Some(path) = self.url.strip_prefix("file://") {
            let source = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
            copy_hashing(source, &mut file)?
        } else {
            let response = reqwest::blocking::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .timeout(None)
                .user_agent(concat!("sparecloud-agent/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())?
                .get(&self.url)
                .send()
                .and_then(|r| r.error_for_status())
                .map_err(|e| e.to_string())?;
            copy_hashing(response, &mut file)?
        };
        file.sync_all().map_err(|e| e.to_string())?;
        drop(file);
        if got != self.sha256 {
            return Err(format!(
                "its SHA-256 is {got}, not the catalog's {}",
                self.sha256
            ));
        }
        check_image(&self.qemu_img, &self.part, self.format)?;
        set_read_only(&self.part).map_err(|e| e.to_string())?;
        std::fs::rename(&self.part, &self.base).map_err(|e| e.to_string())
    }
}

/// Copies `from` into `to` and returns the SHA-256 of what went through.
pub(super) fn copy_hashing(mut from: impl Read, to: &mut impl Write) -> Result<String, String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = from.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        to.write_all(&buffer[..n]).map_err(|e| e.to_string())?;
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// What `qemu-img info --output=json` says of an image that matters here.
#[derive(Debug, serde::Deserialize)]
struct ImageInfo {
    format: String,
    #[serde(rename = "backing-filename")]
    backing_filename: Option<String>,
}

/// Refuses a file that is not an image of `format` or that names a backing
/// file (an image must stand alone: a backing file would be read from the
/// host's disk).
pub fn check_image(qemu_img: &Path, path: &Path, format: ImageFormat) -> Result<(), String> {
    let output = Command::new(qemu_img)
        .args(["info", "--output=json", "-f", format.as_str()])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run qemu-img: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "it is not a {} image: {}",
            format.as_str(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let info: ImageInfo = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("unreadable qemu-img info: {e}"))?;
    if info.format != format.as_str() {
        return Err(format!(
            "it is a {} image, not {}",
            info.format,
            format.as_str()
        ));
    }
    if let Some(backing) = info.backing_filename {
        return Err(format!("it has a backing file of its own ({backing})"));
    }
    Ok(())
}

fn set_read_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(url: String, bytes: &[u8], format: ImageFormat) -> ImageSource {
        ImageSource {
            image_id: "tiny".into(),
            url,
            sha256: format!("{:x}", Sha256::digest(bytes)),
            format,
            login_user: "root".into(),
        }
    }

    fn wait(cache: &mut ImageCache, source: &ImageSource) -> Availability {
        for _ in 0..200 {
            match cache.get(source) {
                Availability::Fetching => std::thread::sleep(std::time::Duration::from_millis(20)),
                done => return done,
            }
        }
        panic!("the fetch did not end");
    }

    fn raw_image(dir: &Path) -> (PathBuf, Vec<u8>) {
        let path = dir.join("disk.raw");
        let bytes = vec![7u8; 64 * 1024];
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }

    #[test]
    fn an_image_is_fetched_once_checked_and_kept_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = raw_image(dir.path());
        let mut cache = ImageCache::new(dir.path().join("cache"), "qemu-img".into(), None);
        let src = source(
            format!("file://{}", path.display()),
            &bytes,
            ImageFormat::Raw,
        );
        let Availability::Ready(base) = wait(&mut cache, &src) else {
            panic!("not fetched");
        };
        assert_eq!(base, dir.path().join(format!("cache/{}.raw", src.sha256)));
        assert_eq!(std::fs::read(&base).unwrap(), bytes);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&base).unwrap().permissions().mode() & 0o777,
            0o444
        );
        // Cached: the source can go away.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(cache.get(&src), Availability::Ready(base));
    }

    #[test]
    fn a_file_whose_checksum_differs_is_refused_and_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = raw_image(dir.path());
        let mut cache = ImageCache::new(dir.path().join("cache"), "qemu-img".into(), None);
        let src = source(
            format!("file://{}", path.display()),
            b"other",
            ImageFormat::Raw,
        );
        let Availability::Failed(reason) = wait(&mut cache, &src) else {
            panic!("accepted");
        };
        assert!(reason.contains("not the catalog's"), "{reason}");
        assert_eq!(
            std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
            0
        );
    }

    #[test]
    fn an_image_with_a_backing_file_of_its_own_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (raw, _) = raw_image(dir.path());
        let sneaky = dir.path().join("sneaky.qcow2");
        let made = Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
            .arg(&raw)
            .arg(&sneaky)
            .status();
        assert!(made.is_ok_and(|s| s.success()), "qemu-img create");
        let bytes = std::fs::read(&sneaky).unwrap();
        let mut cache = ImageCache::new(dir.path().join("cache"), "qemu-img".into(), None);
        let src = source(
            format!("file://{}", sneaky.display()),
            &bytes,
            ImageFormat::Qcow2,
        );
        let Availability::Failed(reason) = wait(&mut cache, &src) else {
            panic!("accepted");
        };
        assert!(reason.contains("backing file"), "{reason}");
        // A raw file is not taken for a qcow2 image either.
        let (raw_path, raw_bytes) = (raw.clone(), std::fs::read(&raw).unwrap());
        let src = source(
            format!("file://{}", raw_path.display()),
            &raw_bytes,
            ImageFormat::Qcow2,
        );
        let Availability::Failed(reason) = wait(&mut cache, &src) else {
            panic!("accepted");
        };
        assert!(reason.contains("not a qcow2 image"), "{reason}");
    }

    #[test]
    fn relative_urls_are_the_marketplace_s_own() {
        let cache = ImageCache::new(
            "/c".into(),
            "qemu-img".into(),
            Some("http://api:8080/".into()),
        );
        assert_eq!(
            cache.resolve("/api/v1/images/x/disk").unwrap(),
            "http://api:8080/api/v1/images/x/disk"
        );
        assert!(cache.resolve("ftp://x/y").is_err());
        assert!(cache.resolve("images/x").is_err());
        let offline = ImageCache::new("/c".into(), "qemu-img".into(), None);
        assert!(offline.resolve("/api/v1/images/x/disk").is_err());
    }

    #[test]
    fn only_unused_bases_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::new(dir.path().to_owned(), "qemu-img".into(), None);
        let (used, unused) = ("a".repeat(64), "b".repeat(64));
        for name in [
            format!("{used}.qcow2"),
            format!("{unused}.qcow2"),
            format!("{unused}.part"),
            "notes.txt".into(),
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let removed = cache.remove_unused(&BTreeSet::from([used.clone()]));
        assert_eq!(removed.len(), 2);
        assert!(dir.path().join(format!("{used}.qcow2")).exists());
        assert!(dir.path().join("notes.txt").exists());
    }
}

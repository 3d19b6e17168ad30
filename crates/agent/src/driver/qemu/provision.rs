//! Making a machine's disk: once its image's base is in the cache, a
//! qcow2 overlay on it sized to the flavor, or the disk it brought from
//! the host it moved off, pointed at this host's copy of the image.

use std::process::Command;

use sparecloud_api::agent::ImageFormat;

use super::images::Availability;
use super::transfer::{self, Progress};
use super::{MAX_DISK_FETCHES, QemuDriver};

impl QemuDriver {
    /// Makes the instance's disk once its image's base is in the cache,
    /// and starts it if it should run. Until then it is provisioning.
    pub(super) fn advance(&mut self, id: &str) -> std::io::Result<()> {
        let Some(vm) = self.vms.get(id).cloned() else {
            return Ok(());
        };
        if vm.built || vm.failed.is_some() {
            return Ok(());
        }
        let Some(source) = vm.image else {
            return self.fail(
                id,
                format!(
                    "this host was given no source for the image {}",
                    vm.image_id
                ),
            );
        };
        match self.cache.get(&source) {
            Availability::Fetching => Ok(()),
            Availability::Failed(reason) => {
                // The next instance of the image tries the fetch again.
                self.cache.retry(&source.sha256);
                self.fail(id, reason)
            }
            Availability::Ready(base) => {
                let disk = self.paths(id).disk();
                if let Some(moved) = &vm.incoming {
                    // Its own disk, from the host it moved off.
                    let max = (u64::from(vm.disk_gib.max(1)) + 1) << 30;
                    match self
                        .transfers
                        .download(id, moved, &disk, &self.config.qemu_img, max)
                    {
                        Progress::Running => return Ok(()),
                        // Tried again (with the latest token) a few times.
                        Progress::Failed(reason) => {
                            let tries = self.fetch_failures.entry(id.to_owned()).or_default();
                            *tries += 1;
                            if *tries < MAX_DISK_FETCHES {
                                tracing::warn!(%id, %reason, "cannot fetch the moved disk; trying again");
                                return Ok(());
                            }
                            return self.fail(id, reason);
                        }
                        Progress::Done => {}
                    }
                    if let Err(reason) =
                        transfer::rebase(&self.config.qemu_img, &disk, &base, source.format)
                    {
                        return self.fail(id, reason);
                    }
                } else if let Err(error) = self.make_disk(id, &base, source.format, vm.disk_gib) {
                    return self.fail(id, error.to_string());
                }
                if let Some(vm) = self.vms.get_mut(id) {
                    vm.built = true;
                    vm.incoming = None;
                }
                self.save(id)?;
                if vm.running
                    && let Err(error) = self.spawn(id)
                {
                    return self.fail(id, format!("cannot start QEMU: {error}"));
                }
                Ok(())
            }
        }
    }

    pub(super) fn fail(&mut self, id: &str, reason: String) -> std::io::Result<()> {
        tracing::error!(%id, %reason, "the instance cannot run");
        if let Some(vm) = self.vms.get_mut(id) {
            vm.failed = Some(reason);
        }
        self.save(id)
    }

    /// The instance's disk: a qcow2 overlay on `base`, sized to the flavor.
    pub(super) fn make_disk(
        &self,
        id: &str,
        base: &std::path::Path,
        format: ImageFormat,
        disk_gib: u32,
    ) -> std::io::Result<()> {
        let output = Command::new(&self.config.qemu_img)
            .args(["create", "-q", "-f", "qcow2", "-F", format.as_str(), "-b"])
            .arg(std::fs::canonicalize(base)?)
            .arg(self.paths(id).disk())
            .arg(format!("{}G", disk_gib.max(1)))
            .output()?;
        if !output.status.success() {
            return Err(std::io::Error::other(format!(
                "qemu-img create failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    }

    /// Deletes the cached images no machine is built on any more.
    pub(super) fn remove_unused_images(&self) {
        let in_use = self
            .vms
            .values()
            .filter_map(|vm| vm.image.as_ref().map(|i| i.sha256.clone()))
            .collect();
        self.cache.remove_unused(&in_use);
    }
}

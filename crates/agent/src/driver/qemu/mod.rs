//! The `qemu` driver: every instance a real virtual machine.
//!
//! An instance lives in `vms/<id>/`: a qcow2 overlay on its image's
//! read-only base (fetched once into the image cache, `images/`) sized to
//! the flavor, a
//! cloud-init seed with the buyer's SSH key, and `vm.json` (what the agent
//! wants of it). QEMU runs detached in a session of its own with a pidfile,
//! a QMP socket and the serial console logged to `console.log`, so the
//! machine outlives an agent restart; a restarted agent recognises its
//! process by the pid in the pidfile *and* the guest's name on that
//! process's command line, and never starts a second copy. Stopping is
//! ACPI (QMP `system_powerdown`), then `quit` after a grace period. The
//! guest's SSH port is forwarded from a port of the seller's range.

pub mod command;
pub mod disk;
pub mod host_check;
pub mod images;
pub mod isolation;
pub mod observe;
pub mod process;
pub mod provision;
pub mod qmp;
pub mod seed;
pub mod transfer;

pub use host_check::{choose_accel, preflight, probe_boot};
pub use observe::console_tail;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sparecloud_api::agent::{
    Accelerator, DesiredInstance, DiskTransfer, Hypervisor, HypervisorDriver, ImageSource,
    ObservedInstance, ObservedState,
};

use super::{Driver, UnixMillis};
use crate::state::write_private;
use command::{Accel, VmPaths};
use images::ImageCache;
use isolation::{Cgroups, VmUser};
use process::is_guest_process;
use qmp::Qmp;
use transfer::{Progress, Transfers};

/// How long a guest has to power off after the ACPI button before QEMU is
/// told to quit.
const STOP_GRACE_MS: UnixMillis = 30_000;
/// How many times a moved disk's fetch is tried before the instance fails.
const MAX_DISK_FETCHES: u32 = 5;
/// How long a started QEMU may take to write its pidfile.
const START_GRACE_MS: UnixMillis = 15_000;

/// Where and how the driver runs machines.
#[derive(Debug, Clone)]
pub struct QemuConfig {
    pub qemu: PathBuf,
    pub qemu_img: PathBuf,
    /// The image cache: `<sha256>.<format>`, fetched from the catalog's
    /// sources.
    pub images_dir: PathBuf,
    /// The marketplace's address, for image sources given as paths.
    pub api_base: Option<String>,
    pub vms_dir: PathBuf,
    pub accel: Accel,
    /// The address QEMU listens on for forwarded SSH ports.
    pub ssh_bind: String,
    /// The host name or address buyers reach those ports at.
    pub ssh_host: String,
    pub ssh_ports: RangeInclusive<u16>,
    /// Who QEMU runs as (none: as the agent).
    pub vm_user: Option<VmUser>,
    /// Guests may reach the internet: only with a VM user, whose
    /// connections the firewall (`isolation::install_firewall`) confines.
    pub internet: bool,
    /// Where machines get their CPU and memory limits (none: no limits).
    pub cgroups: Option<Cgroups>,
    /// The host credential, for moving disks in a cold migration.
    pub credential: Option<String>,
}

impl QemuConfig {
    /// Machines under `dir` (`images/`, `vms/`) in software emulation, with
    /// SSH forwarded on loopback from `ssh_ports`: a laptop's set-up, and
    /// the tests'.
    pub fn on_loopback(dir: &std::path::Path, ssh_ports: RangeInclusive<u16>) -> Self {
        QemuConfig {
            qemu: "qemu-system-x86_64".into(),
            qemu_img: "qemu-img".into(),
            images_dir: dir.join("images"),
            api_base: None,
            vms_dir: dir.join("vms"),
            accel: Accel::Tcg,
            ssh_bind: "127.0.0.1".into(),
            ssh_host: "127.0.0.1".into(),
            ssh_ports,
            vm_user: None,
            internet: false,
            cgroups: None,
            credential: None,
        }
    }
}

/// What the agent wants of one machine, kept in `vm.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VmRecord {
    image_id: String,
    /// Where its image's base comes from (none: the marketplace named no
    /// source, and the machine failed).
    #[serde(default)]
    image: Option<ImageSource>,
    /// Whether its disk is made (it waits for its image until then).
    #[serde(default)]
    built: bool,
    /// Moved here from another host: its disk, to fetch.
    #[serde(default)]
    incoming: Option<DiskTransfer>,
    /// Moving away: its disk is uploaded.
    #[serde(default)]
    uploaded: bool,
    vcpu: u32,
    ram_gib: u32,
    disk_gib: u32,
    ssh_port: u16,
    /// Whether it should run (false once a stop was asked).
    running: bool,
    #[serde(default)]
    started_at: Option<UnixMillis>,
    #[serde(default)]
    stopping_since: Option<UnixMillis>,
    /// Why it cannot run, when it cannot.
    #[serde(default)]
    failed: Option<String>,
}

pub struct QemuDriver {
    config: QemuConfig,
    cache: ImageCache,
    transfers: Transfers,
    /// Failed fetches of a moved disk, per instance.
    fetch_failures: BTreeMap<String, u32>,
    /// The catalog's image sources, as the marketplace last sent them.
    sources: BTreeMap<String, ImageSource>,
    vms: BTreeMap<String, VmRecord>,
    /// QEMU processes this agent started (reaped when they exit).
    children: BTreeMap<String, Child>,
    last: BTreeMap<String, ObservedState>,
    /// The console log's length when it was last sent, per instance.
    console_sent: BTreeMap<String, u64>,
    /// Destroyed, not yet reported.
    gone: Vec<String>,
}

impl QemuDriver {
    /// Loads the machines recorded under `config.vms_dir`.
    pub fn load(config: QemuConfig) -> std::io::Result<Self> {
        std::fs::create_dir_all(&config.vms_dir)?;
        let mut vms = BTreeMap::new();
        for entry in std::fs::read_dir(&config.vms_dir)? {
            let dir = entry?.path();
            let record = VmPaths::new(dir.clone()).record();
            let Ok(bytes) = std::fs::read(&record) else {
                continue;
            };
            let Some(id) = dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            match serde_json::from_slice::<VmRecord>(&bytes) {
                Ok(vm) => {
                    vms.insert(id.to_owned(), vm);
                }
                Err(error) => tracing::warn!(%id, %error, "unreadable vm.json: ignored"),
            }
        }
        let cache = ImageCache::new(
            config.images_dir.clone(),
            config.qemu_img.clone(),
            config.api_base.clone(),
        );
        let transfers = Transfers::new(config.api_base.clone(), config.credential.clone());
        Ok(Self {
            config,
            cache,
            transfers,
            fetch_failures: BTreeMap::new(),
            sources: BTreeMap::new(),
            vms,
            children: BTreeMap::new(),
            last: BTreeMap::new(),
            console_sent: BTreeMap::new(),
            gone: Vec::new(),
        })
    }

    fn paths(&self, id: &str) -> VmPaths {
        VmPaths::new(self.config.vms_dir.join(id))
    }

    fn save(&self, id: &str) -> std::io::Result<()> {
        if let Some(vm) = self.vms.get(id) {
            let json = serde_json::to_vec_pretty(vm).map_err(std::io::Error::other)?;
            write_private(&self.paths(id).record(), &json)?;
        }
        Ok(())
    }

    /// The pid of the instance's QEMU, if it runs.
    pub fn pid(&mut self, id: &str) -> Option<u32> {
        if let Some(child) = self.children.get_mut(id)
            && let Ok(Some(_)) = child.try_wait()
        {
            self.children.remove(id);
        }
        let pid: u32 = std::fs::read_to_string(self.paths(id).pidfile())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        is_guest_process(pid, id).then_some(pid)
    }

    /// The lowest port of the range that no machine has and that is free.
    fn free_port(&self) -> std::io::Result<u16> {
        let taken: Vec<u16> = self.vms.values().map(|vm| vm.ssh_port).collect();
        pick_port(&self.config.ssh_ports, &taken, |port| {
            TcpListener::bind((self.config.ssh_bind.as_str(), port)).is_ok()
        })
        .ok_or_else(|| std::io::Error::other("no free SSH port left in the range"))
    }
}

/// The lowest port of `range` not in `taken` for which `free` holds.
fn pick_port(
    range: &RangeInclusive<u16>,
    taken: &[u16],
    free: impl Fn(u16) -> bool,
) -> Option<u16> {
    range
        .clone()
        .find(|port| !taken.contains(port) && free(*port))
}

impl Driver for QemuDriver {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn images(&self) -> Option<Vec<String>> {
        // Any image the marketplace says where to get: it is fetched on
        // first use.
        Some(self.sources.keys().cloned().collect())
    }

    fn moves_disks(&self) -> bool {
        true
    }

    fn update(&mut self, want: &DesiredInstance) {
        // A moved disk not fetched yet: the latest token is the valid one.
        if let (Some(vm), Some(disk)) = (self.vms.get_mut(&want.id), &want.disk)
            && vm.incoming.is_some()
        {
            vm.incoming = Some(disk.clone());
        }
    }

    fn upload_disk(&mut self, id: &str) -> std::io::Result<()> {
        let Some(vm) = self.vms.get(id) else {
            return Ok(());
        };
        if vm.uploaded || !vm.built || self.pid(id).is_some() {
            return Ok(());
        }
        match self.transfers.upload(id, &self.paths(id).disk()) {
            Progress::Running => Ok(()),
            Progress::Done => {
                tracing::info!(%id, "disk uploaded for the move");
                if let Some(vm) = self.vms.get_mut(id) {
                    vm.uploaded = true;
                }
                self.save(id)
            }
            // Tried again at the next heartbeat.
            Progress::Failed(reason) => {
                tracing::warn!(%id, %reason, "cannot upload the disk");
                Ok(())
            }
        }
    }

    fn disk_used_bytes(&self) -> Option<u64> {
        Some(disk::allocated_bytes(&self.config.vms_dir) + self.cache.disk_used())
    }

    fn catalog(&mut self, images: &[ImageSource]) {
        self.sources = images
            .iter()
            .map(|source| (source.image_id.clone(), source.clone()))
            .collect();
    }

    fn hypervisor(&self) -> Hypervisor {
        Hypervisor {
            driver: HypervisorDriver::Qemu,
            accel: Some(match self.config.accel {
                Accel::Kvm => Accelerator::Kvm,
                Accel::Tcg => Accelerator::Tcg,
            }),
        }
    }

    fn create(&mut self, spec: &DesiredInstance, now: UnixMillis) -> std::io::Result<()> {
        let port = self.free_port()?;
        let image = self.sources.get(&spec.image_id).cloned();
        let record = VmRecord {
            image_id: spec.image_id.clone(),
            image: image.clone(),
            built: false,
            incoming: spec.disk.clone(),
            uploaded: false,
            vcpu: spec.vcpu,
            ram_gib: spec.ram_gib,
            disk_gib: spec.disk_gib,
            ssh_port: port,
            running: true,
            started_at: Some(now),
            stopping_since: None,
            failed: None,
        };
        let paths = self.paths(&spec.id);
        std::fs::create_dir_all(&paths.dir)?;
        self.vms.insert(spec.id.clone(), record);
        self.save(&spec.id)?;
        self.last
            .insert(spec.id.clone(), ObservedState::Provisioning);
        // The seed now; the disk once the image is in the cache.
        if let Some(image) = image
            && let Err(error) = seed::write_seed(
                &paths.dir,
                &paths.seed(),
                &spec.id,
                &image.login_user,
                &spec.ssh_public_key,
            )
        {
            return self.fail(
                &spec.id,
                format!("cannot write the cloud-init seed: {error}"),
            );
        }
        self.advance(&spec.id)
    }

    fn start(&mut self, id: &str, now: UnixMillis) -> std::io::Result<()> {
        if let Some(vm) = self.vms.get_mut(id) {
            vm.running = true;
            vm.started_at = Some(now);
            vm.stopping_since = None;
        }
        self.save(id)?;
        self.last.insert(id.to_owned(), ObservedState::Provisioning);
        // Never a second copy of a machine that still runs (and a machine
        // still waiting for its image starts once it is built).
        if self.vms.get(id).is_some_and(|vm| vm.built) && self.pid(id).is_none() {
            self.spawn(id)?;
        }
        Ok(())
    }

    fn stop(&mut self, id: &str, now: UnixMillis) -> std::io::Result<()> {
        if let Some(vm) = self.vms.get_mut(id) {
            vm.running = false;
            vm.stopping_since = Some(now);
        }
        self.save(id)?;
        self.last.insert(id.to_owned(), ObservedState::Stopping);
        if self.pid(id).is_some()
            && let Ok(mut qmp) = Qmp::connect(&self.paths(id).qmp(), Duration::from_secs(2))
        {
            qmp.execute("system_powerdown", None)?;
        }
        Ok(())
    }

    fn destroy(&mut self, id: &str) -> std::io::Result<()> {
        self.kill(id);
        if let Some(cgroups) = &self.config.cgroups {
            cgroups.remove(id);
        }
        let dir = self.paths(id).dir;
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        self.vms.remove(id);
        self.last.remove(id);
        self.transfers.forget(id);
        self.fetch_failures.remove(id);
        self.gone.push(id.to_owned());
        self.remove_unused_images();
        Ok(())
    }

    fn observe(&mut self, now: UnixMillis) -> std::io::Result<Vec<ObservedInstance>> {
        let ids: Vec<String> = self.vms.keys().cloned().collect();
        let mut observed = Vec::with_capacity(ids.len() + self.gone.len());
        for id in ids {
            let state = self.observe_one(&id, now);
            self.last.insert(id.clone(), state);
            let address =
                (state == ObservedState::Running).then(|| self.address(self.vms[&id].ssh_port));
            let console = self.console_if_changed(&id);
            observed.push(ObservedInstance {
                id,
                state,
                address,
                console,
            });
        }
        for id in self.gone.drain(..) {
            self.console_sent.remove(&id);
            observed.push(ObservedInstance {
                id,
                state: ObservedState::Terminated,
                address: None,
                console: None,
            });
        }
        Ok(observed)
    }

    fn state(&self, id: &str) -> Option<ObservedState> {
        let vm = self.vms.get(id)?;
        Some(match self.last.get(id) {
            Some(state) => *state,
            None if vm.failed.is_some() => ObservedState::Failed,
            None if vm.running => ObservedState::Provisioning,
            None => ObservedState::Stopped,
        })
    }

    fn ids(&self) -> Vec<String> {
        self.vms.keys().cloned().collect()
    }

    fn report_gone(&mut self, id: &str) {
        self.gone.push(id.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::observe::ssh_banner;
    use super::process::is_guest_process;
    use super::*;
    use std::path::Path;

    #[test]
    fn the_console_tail_is_the_end_of_the_log_as_clean_text() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("console.log");
        let mut bytes = b"old line\n".repeat(100);
        bytes.extend_from_slice(b"\x1b[2Jboot\r\nready \xff\tok\n");
        std::fs::write(&log, &bytes).unwrap();
        let tail = console_tail(&log, 24).unwrap();
        assert!(tail.ends_with("[2Jboot\nready \u{fffd}\tok\n"), "{tail:?}");
        assert!(!tail.contains('\x1b') && !tail.contains('\r'));
        assert_eq!(
            console_tail(&log, 1 << 20)
                .unwrap()
                .matches("old line")
                .count(),
            100
        );
    }

    #[test]
    fn preflight_says_what_is_missing_and_how_to_install_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = QemuConfig {
            qemu: "/nonexistent/qemu-system-x86_64".into(),
            qemu_img: "/nonexistent/qemu-img".into(),
            // A file where the cache should be: it cannot be created.
            images_dir: dir.path().join("a-file"),
            ..QemuConfig::on_loopback(dir.path(), 22000..=22009)
        };
        std::fs::write(dir.path().join("a-file"), b"").unwrap();
        let missing = preflight(&config);
        assert!(
            missing
                .iter()
                .any(|m| m.contains("apt-get install qemu-system-x86")),
            "{missing:#?}"
        );
        assert!(
            missing
                .iter()
                .any(|m| m.contains("apt-get install qemu-utils"))
        );
        assert!(
            missing
                .iter()
                .any(|m| m.contains("a-file cannot be created"))
        );
        // Every port of the range busy: said too.
        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = busy.local_addr().unwrap().port();
        config.ssh_ports = port..=port;
        assert!(
            preflight(&config)
                .iter()
                .any(|m| m.contains("No port of --ssh-ports"))
        );
    }

    #[test]
    fn ports_come_from_the_range_skipping_taken_and_busy_ones() {
        let range = 22000..=22003;
        assert_eq!(pick_port(&range, &[], |_| true), Some(22000));
        assert_eq!(pick_port(&range, &[22000, 22001], |_| true), Some(22002));
        assert_eq!(pick_port(&range, &[22000], |p| p != 22001), Some(22002));
        assert_eq!(
            pick_port(&range, &[22000, 22001, 22002, 22003], |_| true),
            None
        );
    }

    #[test]
    fn a_process_is_the_guest_only_if_its_command_line_names_it() {
        let own = std::process::id();
        assert!(
            !is_guest_process(own, "ins_1"),
            "the test runner is no guest"
        );
        assert!(!is_guest_process(u32::MAX, "ins_1"));
    }

    #[test]
    fn only_an_ssh_banner_counts_as_an_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().take(2).enumerate() {
                let mut stream = stream.unwrap();
                let reply: &[u8] = if i == 0 {
                    b"HTTP/1.1 400\r\n"
                } else {
                    b"SSH-2.0-dropbear\r\n"
                };
                std::io::Write::write_all(&mut stream, reply).unwrap();
            }
        });
        assert!(!ssh_banner(addr, Duration::from_secs(1)));
        assert!(ssh_banner(addr, Duration::from_secs(1)));
    }

    fn driver(dir: &Path) -> QemuDriver {
        QemuDriver::load(QemuConfig::on_loopback(dir, 22000..=22009)).unwrap()
    }

    #[test]
    fn an_instance_of_an_image_the_host_lacks_fails_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut driver = driver(dir.path());
        let spec = DesiredInstance {
            id: "ins_x".into(),
            image_id: "debian-12".into(),
            vcpu: 1,
            ram_gib: 1,
            disk_gib: 10,
            ssh_public_key: "ssh-ed25519 AAAA".into(),
            state: sparecloud_api::agent::DesiredState::Running,
            disk: None,
            upload_disk: false,
        };
        driver.create(&spec, 0).unwrap();
        let seen = driver.observe(1).unwrap();
        assert_eq!(seen[0].state, ObservedState::Failed);
        let record: VmRecord =
            serde_json::from_slice(&std::fs::read(dir.path().join("vms/ins_x/vm.json")).unwrap())
                .unwrap();
        assert!(
            record
                .failed
                .unwrap()
                .contains("given no source for the image debian-12")
        );
        // A restarted agent knows it failed.
        let again = super::tests::driver(dir.path());
        assert_eq!(again.state("ins_x"), Some(ObservedState::Failed));
        // Destroying it removes its files and reports it gone once.
        let mut driver = again;
        driver.destroy("ins_x").unwrap();
        assert!(!dir.path().join("vms/ins_x").exists());
        let seen = driver.observe(2).unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].state, ObservedState::Terminated);
        assert!(driver.observe(3).unwrap().is_empty());
    }
}

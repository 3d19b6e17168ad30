//! The hypervisor behind the agent: the `Driver` trait, and `reconcile`,
//! which brings what runs on the host in line with what the marketplace
//! wants. `qemu` runs real virtual machines; `sim` simulates them.

pub mod qemu;
pub mod sim;

use sparecloud_api::agent::{
    DesiredInstance, DesiredState, Hypervisor, ImageSource, ObservedInstance, ObservedState,
};

pub use sim::SimDriver;

/// Milliseconds since the Unix epoch.
pub type UnixMillis = u64;

pub trait Driver {
    /// A short name for logs ("sim").
    fn name(&self) -> &'static str;
    /// What the host tells the marketplace about how it runs instances.
    fn hypervisor(&self) -> Hypervisor;
    /// The catalog images the host can run; `None` for any.
    fn images(&self) -> Option<Vec<String>>;
    /// The disk its instances and images really take, bytes (a
    /// simulation does not say).
    fn disk_used_bytes(&self) -> Option<u64> {
        None
    }
    /// What the marketplace says of an instance the host has, each
    /// heartbeat (a moved disk's fresh transfer token).
    fn update(&mut self, _want: &DesiredInstance) {}
    /// Whether it moves instances' disks in a cold migration.
    fn moves_disks(&self) -> bool {
        false
    }
    /// Uploads a stopped instance's disk for its move (once; it may take
    /// several calls, one per heartbeat, while it runs).
    fn upload_disk(&mut self, _id: &str) -> std::io::Result<()> {
        Ok(())
    }
    /// Where the catalog's images come from, as the marketplace says.
    fn catalog(&mut self, _images: &[ImageSource]) {}
    fn create(&mut self, spec: &DesiredInstance, now: UnixMillis) -> std::io::Result<()>;
    fn start(&mut self, id: &str, now: UnixMillis) -> std::io::Result<()>;
    fn stop(&mut self, id: &str, now: UnixMillis) -> std::io::Result<()>;
    fn destroy(&mut self, id: &str) -> std::io::Result<()>;
    /// The state of every instance, after whatever has happened by `now`.
    /// Destroyed instances are reported as terminated once.
    fn observe(&mut self, now: UnixMillis) -> std::io::Result<Vec<ObservedInstance>>;
    /// The state an instance is in, if this host has it.
    fn state(&self, id: &str) -> Option<ObservedState>;
    /// The ids of the instances this host has.
    fn ids(&self) -> Vec<String>;
    /// Makes `id` be reported as terminated once (the host never had it).
    fn report_gone(&mut self, id: &str);
}

/// Brings what runs on the host in line with what the marketplace wants.
/// Returns how many changes it made.
pub fn reconcile(
    driver: &mut dyn Driver,
    desired: &[DesiredInstance],
    now: UnixMillis,
) -> std::io::Result<usize> {
    let mut changes = 0;
    for want in desired {
        let have = driver.state(&want.id);
        if have.is_some() {
            driver.update(want);
        }
        match (want.state, have) {
            (DesiredState::Running, None) => driver.create(want, now)?,
            (DesiredState::Running, Some(ObservedState::Stopped)) => driver.start(&want.id, now)?,
            // Moving away: its disk goes first (in the background).
            (DesiredState::Stopped, Some(ObservedState::Stopped)) if want.upload_disk => {
                driver.upload_disk(&want.id)?;
                continue;
            }
            (DesiredState::Stopped, Some(ObservedState::Provisioning | ObservedState::Running)) => {
                driver.stop(&want.id, now)?
            }
            (DesiredState::Terminated, Some(_)) => driver.destroy(&want.id)?,
            (DesiredState::Terminated, None) => driver.report_gone(&want.id),
            _ => continue,
        }
        changes += 1;
    }
    // Whatever the marketplace no longer lists has no business running here.
    let wanted: Vec<&str> = desired.iter().map(|d| d.id.as_str()).collect();
    let orphans: Vec<String> = driver
        .ids()
        .into_iter()
        .filter(|id| !wanted.contains(&id.as_str()))
        .collect();
    for id in orphans {
        driver.destroy(&id)?;
        changes += 1;
    }
    Ok(changes)
}

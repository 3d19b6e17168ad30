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

#[cfg(test)]
mod tests {
    use super::*;
    use sparecloud_api::agent::DiskTransfer;

    /// A driver that records what reconcile asks of it.
    #[derive(Default)]
    struct Recorder {
        have: Vec<(String, ObservedState)>,
        calls: Vec<String>,
        tokens: Vec<String>,
    }

    impl Driver for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn hypervisor(&self) -> Hypervisor {
            Hypervisor {
                driver: sparecloud_api::agent::HypervisorDriver::Qemu,
                accel: None,
            }
        }
        fn images(&self) -> Option<Vec<String>> {
            None
        }
        fn update(&mut self, want: &DesiredInstance) {
            if let Some(disk) = &want.disk {
                self.tokens.push(disk.token.clone());
            }
        }
        fn upload_disk(&mut self, id: &str) -> std::io::Result<()> {
            self.calls.push(format!("upload {id}"));
            Ok(())
        }
        fn create(&mut self, spec: &DesiredInstance, _: UnixMillis) -> std::io::Result<()> {
            self.calls.push(format!("create {}", spec.id));
            Ok(())
        }
        fn start(&mut self, id: &str, _: UnixMillis) -> std::io::Result<()> {
            self.calls.push(format!("start {id}"));
            Ok(())
        }
        fn stop(&mut self, id: &str, _: UnixMillis) -> std::io::Result<()> {
            self.calls.push(format!("stop {id}"));
            Ok(())
        }
        fn destroy(&mut self, id: &str) -> std::io::Result<()> {
            self.calls.push(format!("destroy {id}"));
            Ok(())
        }
        fn observe(&mut self, _: UnixMillis) -> std::io::Result<Vec<ObservedInstance>> {
            Ok(Vec::new())
        }
        fn state(&self, id: &str) -> Option<ObservedState> {
            self.have.iter().find(|(i, _)| i == id).map(|(_, s)| *s)
        }
        fn ids(&self) -> Vec<String> {
            self.have.iter().map(|(i, _)| i.clone()).collect()
        }
        fn report_gone(&mut self, id: &str) {
            self.calls.push(format!("gone {id}"));
        }
    }

    fn want(id: &str, state: DesiredState) -> DesiredInstance {
        DesiredInstance {
            id: id.into(),
            image_id: "sparecloud-test".into(),
            vcpu: 1,
            ram_gib: 1,
            disk_gib: 2,
            ssh_public_key: "ssh-ed25519 AAAA".into(),
            state,
            disk: None,
            upload_disk: false,
        }
    }

    #[test]
    fn a_moving_instance_is_stopped_then_uploaded_and_a_kept_one_left_alone() {
        let mut host = Recorder {
            have: vec![
                ("moving".into(), ObservedState::Running),
                ("kept".into(), ObservedState::Stopped),
            ],
            ..Recorder::default()
        };
        let moving = DesiredInstance {
            upload_disk: true,
            ..want("moving", DesiredState::Stopped)
        };
        let kept = want("kept", DesiredState::Stopped);
        // Still running: stopped first, no upload yet.
        let changes = reconcile(&mut host, &[moving.clone(), kept.clone()], 0).unwrap();
        assert_eq!(
            (changes, host.calls.clone()),
            (1, vec!["stop moving".to_owned()])
        );
        // Stopped: its disk is uploaded (in the background: no change to
        // report), every heartbeat until the move is made; the kept copy
        // of an instance that moved away is neither started nor destroyed.
        host.have[0].1 = ObservedState::Stopped;
        host.calls.clear();
        assert_eq!(
            reconcile(&mut host, &[moving.clone(), kept.clone()], 1).unwrap(),
            0
        );
        assert_eq!(host.calls, ["upload moving"]);
        // Once the marketplace no longer lists it, the copy goes.
        host.calls.clear();
        reconcile(&mut host, &[moving], 2).unwrap();
        assert_eq!(host.calls, ["upload moving", "destroy kept"]);
    }

    #[test]
    fn a_moved_instance_gets_each_fresh_transfer_token() {
        let disk = |token: &str| DiskTransfer {
            url: "/api/v1/agent/instances/moved/disk".into(),
            token: token.into(),
            sha256: "ab".repeat(32),
            size_bytes: 1,
        };
        let mut host = Recorder::default();
        let first = DesiredInstance {
            disk: Some(disk("sc_dt_1")),
            ..want("moved", DesiredState::Running)
        };
        reconcile(&mut host, std::slice::from_ref(&first), 0).unwrap();
        assert_eq!(host.calls, ["create moved"]);
        assert!(
            host.tokens.is_empty(),
            "the first token came with the creation"
        );
        host.have
            .push(("moved".into(), ObservedState::Provisioning));
        let later = DesiredInstance {
            disk: Some(disk("sc_dt_2")),
            ..first
        };
        reconcile(&mut host, &[later], 1).unwrap();
        assert_eq!(host.tokens, ["sc_dt_2"]);
        assert_eq!(host.calls, ["create moved"], "not created twice");
    }
}

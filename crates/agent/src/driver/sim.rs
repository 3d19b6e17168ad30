//! The `sim` driver: a simulated hypervisor for the demo's extra sellers.
//! It models boot and shutdown times and addresses, and keeps its instances
//! in the state directory, so a restarted agent finds them again. It starts
//! no real virtual machines.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sparecloud_api::agent::{
    DesiredInstance, Hypervisor, HypervisorDriver, ObservedInstance, ObservedState,
};

use super::{Driver, UnixMillis};
use crate::state::write_private;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum SimState {
    Booting { ready_at: UnixMillis },
    Running,
    ShuttingDown { done_at: UnixMillis },
    Stopped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SimInstance {
    image_id: String,
    vcpu: u32,
    ram_gib: u32,
    disk_gib: u32,
    address: String,
    #[serde(flatten)]
    state: SimState,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SimFile {
    instances: BTreeMap<String, SimInstance>,
    /// Destroyed, not yet reported.
    gone: Vec<String>,
}

pub struct SimDriver {
    file: PathBuf,
    boot_ms: UnixMillis,
    shutdown_ms: UnixMillis,
    data: SimFile,
}

impl SimDriver {
    /// Loads the simulated host from `state_dir` (empty when new).
    pub fn load(state_dir: &std::path::Path, boot_ms: UnixMillis) -> std::io::Result<Self> {
        let file = state_dir.join("sim-instances.json");
        let data = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SimFile::default(),
            Err(e) => return Err(e),
        };
        Ok(Self {
            file,
            boot_ms,
            shutdown_ms: boot_ms / 2,
            data,
        })
    }

    fn save(&self) -> std::io::Result<()> {
        write_private(
            &self.file,
            &serde_json::to_vec_pretty(&self.data).expect("serialisable"),
        )
    }

    fn instance(&mut self, id: &str) -> std::io::Result<&mut SimInstance> {
        self.data.instances.get_mut(id).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("no instance {id}"))
        })
    }
}

/// A documentation-range address (RFC 5737), derived from the id: the
/// simulation has no network.
fn sim_address(id: &str) -> String {
    let n = id
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("198.51.100.{}", n % 250 + 2)
}

impl Driver for SimDriver {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn images(&self) -> Option<Vec<String>> {
        None
    }

    fn hypervisor(&self) -> Hypervisor {
        Hypervisor {
            driver: HypervisorDriver::Sim,
            accel: None,
        }
    }

    fn create(&mut self, spec: &DesiredInstance, now: UnixMillis) -> std::io::Result<()> {
        tracing::info!(id = %spec.id, image = %spec.image_id, "sim: creating instance");
        self.data.instances.insert(
            spec.id.clone(),
            SimInstance {
                image_id: spec.image_id.clone(),
                vcpu: spec.vcpu,
                ram_gib: spec.ram_gib,
                disk_gib: spec.disk_gib,
                address: sim_address(&spec.id),
                state: SimState::Booting {
                    ready_at: now + self.boot_ms,
                },
            },
        );
        self.save()
    }

    fn start(&mut self, id: &str, now: UnixMillis) -> std::io::Result<()> {
        tracing::info!(%id, "sim: starting instance");
        let boot = self.boot_ms;
        self.instance(id)?.state = SimState::Booting {
            ready_at: now + boot,
        };
        self.save()
    }

    fn stop(&mut self, id: &str, now: UnixMillis) -> std::io::Result<()> {
        tracing::info!(%id, "sim: stopping instance");
        let shutdown = self.shutdown_ms;
        self.instance(id)?.state = SimState::ShuttingDown {
            done_at: now + shutdown,
        };
        self.save()
    }

    fn destroy(&mut self, id: &str) -> std::io::Result<()> {
        tracing::info!(%id, "sim: destroying instance");
        self.data.instances.remove(id);
        self.report_gone(id);
        self.save()
    }

    fn observe(&mut self, now: UnixMillis) -> std::io::Result<Vec<ObservedInstance>> {
        let mut changed = false;
        let mut observed = Vec::new();
        for (id, instance) in &mut self.data.instances {
            let next = match instance.state {
                SimState::Booting { ready_at } if now >= ready_at => SimState::Running,
                SimState::ShuttingDown { done_at } if now >= done_at => SimState::Stopped,
                state => state,
            };
            changed |= next != instance.state;
            instance.state = next;
            let (state, address) = match next {
                SimState::Booting { .. } => (ObservedState::Provisioning, None),
                SimState::Running => (ObservedState::Running, Some(instance.address.clone())),
                SimState::ShuttingDown { .. } => (ObservedState::Stopping, None),
                SimState::Stopped => (ObservedState::Stopped, None),
            };
            observed.push(ObservedInstance {
                id: id.clone(),
                state,
                address,
                console: None,
            });
        }
        for id in self.data.gone.drain(..) {
            observed.push(ObservedInstance {
                id,
                state: ObservedState::Terminated,
                address: None,
                console: None,
            });
            changed = true;
        }
        if changed {
            self.save()?;
        }
        Ok(observed)
    }

    fn state(&self, id: &str) -> Option<ObservedState> {
        self.data.instances.get(id).map(|i| match i.state {
            SimState::Booting { .. } => ObservedState::Provisioning,
            SimState::Running => ObservedState::Running,
            SimState::ShuttingDown { .. } => ObservedState::Stopping,
            SimState::Stopped => ObservedState::Stopped,
        })
    }

    fn ids(&self) -> Vec<String> {
        self.data.instances.keys().cloned().collect()
    }

    fn report_gone(&mut self, id: &str) {
        if !self.data.gone.iter().any(|g| g == id) {
            self.data.gone.push(id.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::reconcile;
    use sparecloud_api::agent::DesiredState;

    fn want(id: &str, state: DesiredState) -> DesiredInstance {
        DesiredInstance {
            id: id.into(),
            image_id: "debian-12".into(),
            vcpu: 1,
            ram_gib: 2,
            disk_gib: 20,
            ssh_public_key: "ssh-ed25519 AAAA".into(),
            state,
            disk: None,
            upload_disk: false,
        }
    }

    fn states(driver: &mut SimDriver, now: UnixMillis) -> Vec<(String, ObservedState)> {
        driver
            .observe(now)
            .unwrap()
            .into_iter()
            .map(|o| (o.id, o.state))
            .collect()
    }

    #[test]
    fn instances_boot_stop_start_and_terminate() {
        let dir = tempfile::tempdir().unwrap();
        let mut sim = SimDriver::load(dir.path(), 3_000).unwrap();
        reconcile(&mut sim, &[want("a", DesiredState::Running)], 0).unwrap();
        assert_eq!(
            states(&mut sim, 1_000),
            [("a".into(), ObservedState::Provisioning)]
        );
        assert_eq!(
            states(&mut sim, 3_000),
            [("a".into(), ObservedState::Running)]
        );

        reconcile(&mut sim, &[want("a", DesiredState::Stopped)], 4_000).unwrap();
        assert_eq!(
            states(&mut sim, 4_100),
            [("a".into(), ObservedState::Stopping)]
        );
        assert_eq!(
            states(&mut sim, 6_000),
            [("a".into(), ObservedState::Stopped)]
        );
        reconcile(&mut sim, &[want("a", DesiredState::Running)], 7_000).unwrap();
        assert_eq!(
            states(&mut sim, 10_000),
            [("a".into(), ObservedState::Running)]
        );

        reconcile(&mut sim, &[want("a", DesiredState::Terminated)], 11_000).unwrap();
        assert_eq!(
            states(&mut sim, 11_000),
            [("a".into(), ObservedState::Terminated)]
        );
        assert_eq!(states(&mut sim, 12_000), [], "reported once");
    }

    #[test]
    fn a_restarted_agent_finds_its_instances_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut sim = SimDriver::load(dir.path(), 1_000).unwrap();
        reconcile(
            &mut sim,
            &[
                want("a", DesiredState::Running),
                want("b", DesiredState::Running),
            ],
            0,
        )
        .unwrap();
        drop(sim);
        let mut again = SimDriver::load(dir.path(), 1_000).unwrap();
        let seen = states(&mut again, 5_000);
        assert_eq!(
            seen,
            [
                ("a".into(), ObservedState::Running),
                ("b".into(), ObservedState::Running)
            ]
        );
        // Nothing is created twice.
        assert_eq!(
            reconcile(
                &mut again,
                &[
                    want("a", DesiredState::Running),
                    want("b", DesiredState::Running)
                ],
                5_000
            )
            .unwrap(),
            0
        );
    }

    #[test]
    fn orphans_are_destroyed_and_unknown_terminations_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let mut sim = SimDriver::load(dir.path(), 0).unwrap();
        reconcile(&mut sim, &[want("a", DesiredState::Running)], 0).unwrap();
        reconcile(
            &mut sim,
            &[want("never-created", DesiredState::Terminated)],
            1,
        )
        .unwrap();
        let seen = states(&mut sim, 2);
        assert!(
            seen.contains(&("a".into(), ObservedState::Terminated)),
            "{seen:?}"
        );
        assert!(
            seen.contains(&("never-created".into(), ObservedState::Terminated)),
            "{seen:?}"
        );
    }
}

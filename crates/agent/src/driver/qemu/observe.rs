//! What a machine is doing: its process, the SSH banner on its forwarded
//! port (provisioning until the guest answers), its console log.

use std::io::Read;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use sparecloud_api::agent::{CONSOLE_TAIL_BYTES, ObservedState};

use super::{QemuDriver, START_GRACE_MS, STOP_GRACE_MS, UnixMillis};

impl QemuDriver {
    pub(super) fn address(&self, port: u16) -> String {
        format!("{}:{port}", self.config.ssh_host)
    }

    /// Whether the guest's SSH server answers with its banner.
    pub(super) fn ssh_answers(&self, port: u16) -> bool {
        let host = match self.config.ssh_bind.as_str() {
            "0.0.0.0" | "::" | "" => "127.0.0.1",
            bind => bind,
        };
        let Some(addr) = (host, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
        else {
            return false;
        };
        ssh_banner(addr, Duration::from_millis(700))
    }

    pub(super) fn observe_one(&mut self, id: &str, now: UnixMillis) -> ObservedState {
        let Some(vm) = self.vms.get(id).cloned() else {
            return ObservedState::Terminated;
        };
        if !vm.built && vm.failed.is_none() {
            if let Err(error) = self.advance(id) {
                tracing::error!(%id, %error, "cannot record the instance");
            }
            let vm = &self.vms[id];
            if !vm.built {
                return match (&vm.failed, vm.running) {
                    (Some(_), _) => ObservedState::Failed,
                    (None, true) => ObservedState::Provisioning,
                    (None, false) => ObservedState::Stopped,
                };
            }
        }
        let vm = self.vms[id].clone();
        if vm.failed.is_some() {
            return ObservedState::Failed;
        }
        let alive = self.pid(id).is_some();
        if !vm.running {
            if !alive {
                return ObservedState::Stopped;
            }
            if vm
                .stopping_since
                .is_some_and(|since| now >= since + STOP_GRACE_MS)
            {
                tracing::warn!(%id, "the guest ignored the power button: quitting QEMU");
                self.kill(id);
                return ObservedState::Stopped;
            }
            return ObservedState::Stopping;
        }
        if !alive {
            let starting = vm.started_at.is_some_and(|at| now < at + START_GRACE_MS);
            return if starting {
                ObservedState::Provisioning
            } else {
                ObservedState::Stopped
            };
        }
        if self.ssh_answers(vm.ssh_port) {
            ObservedState::Running
        } else {
            ObservedState::Provisioning
        }
    }

    /// The end of the instance's console log, when it grew since it was
    /// last sent (a restarted agent sends it once more).
    pub(super) fn console_if_changed(&mut self, id: &str) -> Option<String> {
        let path = self.paths(id).console_log();
        let len = std::fs::metadata(&path).ok()?.len();
        if self.console_sent.get(id) == Some(&len) {
            return None;
        }
        let text = console_tail(&path, CONSOLE_TAIL_BYTES).ok()?;
        self.console_sent.insert(id.to_owned(), len);
        Some(text)
    }
}

/// The last `max` bytes of a console log, as text: invalid UTF-8 replaced,
/// carriage returns and other control characters (terminal escapes) but
/// newlines and tabs dropped.
pub fn console_tail(path: &std::path::Path, max: usize) -> std::io::Result<String> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(max as u64)))?;
    let mut bytes = Vec::with_capacity(max);
    file.take(max as u64).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect())
}

/// Whether an SSH server answers at `addr`: user-mode networking accepts
/// the connection before the guest listens, so the banner is what counts.
pub(super) fn ssh_banner(addr: SocketAddr, timeout: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let mut banner = [0u8; 4];
    stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-"
}

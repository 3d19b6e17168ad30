//! A machine's QEMU process: started detached, in its cgroups, as the VM
//! user (`spawn`); ended by QMP `quit`, then SIGKILL (`kill`); recognised
//! by its pidfile *and* its command line (`is_guest_process`).

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::QemuDriver;
use super::command::{Machine, guest_name, qemu_args};
use super::isolation::{Limits, VmUser};
use super::qmp::Qmp;

impl QemuDriver {
    pub(super) fn spawn(&mut self, id: &str) -> std::io::Result<()> {
        let vm = self
            .vms
            .get(id)
            .cloned()
            .ok_or_else(|| std::io::Error::other(format!("no instance {id}")))?;
        let paths = self.paths(id);
        let _ = std::fs::remove_file(paths.pidfile());
        let machine = Machine {
            id,
            vcpu: vm.vcpu,
            ram_gib: vm.ram_gib,
            accel: self.config.accel,
            ssh_bind: &self.config.ssh_bind,
            ssh_port: vm.ssh_port,
            internet: self.config.internet,
        };
        let log = std::fs::File::create(paths.dir.join("qemu.log"))?;
        // Its cgroups, joined before QEMU starts so that no thread of it
        // ever runs unlimited.
        let join: Vec<std::ffi::CString> = match &self.config.cgroups {
            Some(cgroups) => cgroups
                .prepare(id, Limits::for_flavor(vm.vcpu, vm.ram_gib))?
                .into_iter()
                .map(|procs| std::ffi::CString::new(procs.into_os_string().into_encoded_bytes()))
                .collect::<Result<_, _>>()
                .map_err(std::io::Error::other)?,
            None => Vec::new(),
        };
        let user = self.config.vm_user.clone();
        if let Some(user) = &user {
            hand_over(&paths.dir, user)?;
        }
        let mut command = Command::new(&self.config.qemu);
        command
            .args(qemu_args(&machine, &paths))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: only async-signal-safe calls between fork and exec, on
        // memory prepared before: a session of its own (signals to the
        // agent's group never reach the machine, which outlives the
        // agent), its cgroups, then the VM user's groups and ids.
        unsafe {
            command.pre_exec(move || {
                libc::setsid();
                for procs in &join {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                if let Some(user) = &user
                    && (libc::setgroups(user.groups.len(), user.groups.as_ptr()) != 0
                        || libc::setgid(user.gid) != 0
                        || libc::setuid(user.uid) != 0)
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        self.children.insert(id.to_owned(), child);
        Ok(())
    }

    /// Ends QEMU at once (QMP `quit`, then SIGKILL) and waits for it.
    pub(super) fn kill(&mut self, id: &str) {
        let Some(pid) = self.pid(id) else {
            return;
        };
        if let Ok(mut qmp) = Qmp::connect(&self.paths(id).qmp(), Duration::from_secs(2)) {
            let _ = qmp.execute("quit", None);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.pid(id).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.pid(id).is_some() {
            // SAFETY: plain kill(2) of a process we verified is this guest's.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            while self.pid(id).is_some() && Instant::now() < deadline + Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Some(mut child) = self.children.remove(id) {
            let _ = child.wait();
        }
    }
}

/// Gives the instance's directory and files to the VM user, whose QEMU
/// writes its disk, console log, pidfile and sockets there.
fn hand_over(dir: &std::path::Path, user: &VmUser) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        // Its record stays the agent's.
        if path.file_name().is_some_and(|n| n != "vm.json") {
            std::os::unix::fs::chown(&path, Some(user.uid), Some(user.gid))?;
        }
    }
    Ok(())
}

/// Whether `pid` is the QEMU of instance `id` (its command line names the
/// guest), not a process that reused the pid.
pub(super) fn is_guest_process(pid: u32, id: &str) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let name = guest_name(id);
    cmdline.split(|b| *b == 0).any(|arg| arg == name.as_bytes())
}

//! QEMU's command line for one instance: pure, so it is tested without QEMU.

use std::path::{Path, PathBuf};

/// How guests are accelerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation.
    Kvm,
    /// Software emulation (no usable KVM): slow but works anywhere.
    Tcg,
}

impl Accel {
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// The files of one instance, all in its own directory.
#[derive(Debug, Clone)]
pub struct VmPaths {
    pub dir: PathBuf,
}

impl VmPaths {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
    pub fn disk(&self) -> PathBuf {
        self.dir.join("disk.qcow2")
    }
    pub fn seed(&self) -> PathBuf {
        self.dir.join("seed.iso")
    }
    pub fn pidfile(&self) -> PathBuf {
        self.dir.join("qemu.pid")
    }
    pub fn qmp(&self) -> PathBuf {
        self.dir.join("qmp.sock")
    }
    pub fn serial(&self) -> PathBuf {
        self.dir.join("serial.sock")
    }
    pub fn console_log(&self) -> PathBuf {
        self.dir.join("console.log")
    }
    pub fn record(&self) -> PathBuf {
        self.dir.join("vm.json")
    }
}

/// One instance's machine.
#[derive(Debug, Clone)]
pub struct Machine<'a> {
    pub id: &'a str,
    pub vcpu: u32,
    pub ram_gib: u32,
    pub accel: Accel,
    /// Where the forwarded SSH port listens on the host.
    pub ssh_bind: &'a str,
    pub ssh_port: u16,
    /// Whether the guest may open connections (the host's firewall then
    /// keeps them off the host and private networks).
    pub internet: bool,
}

/// The guest's name as QEMU shows it (and as a restarted agent recognises
/// its process by).
pub fn guest_name(id: &str) -> String {
    format!("sparecloud-{id}")
}

/// The arguments after the QEMU binary.
pub fn qemu_args(machine: &Machine, paths: &VmPaths) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let mut push = |parts: &[&str]| args.extend(parts.iter().map(|p| (*p).to_owned()));
    let path = |p: &Path| p.display().to_string();
    let cpu = match machine.accel {
        Accel::Kvm => "host",
        Accel::Tcg => "max",
    };
    let accel = match machine.accel {
        Accel::Kvm => "kvm".to_owned(),
        Accel::Tcg => "tcg,thread=multi".to_owned(),
    };
    push(&["-name", &guest_name(machine.id)]);
    push(&["-machine", "q35", "-accel", &accel, "-cpu", cpu]);
    push(&["-smp", &machine.vcpu.max(1).to_string()]);
    push(&["-m", &format!("{}G", machine.ram_gib.max(1))]);
    push(&["-nodefaults", "-no-user-config", "-display", "none"]);
    push(&[
        "-drive",
        &format!("file={},if=virtio,format=qcow2", path(&paths.disk())),
    ]);
    push(&[
        "-drive",
        &format!(
            "file={},if=virtio,format=raw,readonly=on",
            path(&paths.seed())
        ),
    ]);
    // User-mode networking: the guest's connections are QEMU's own, so
    // the firewall for QEMU's user decides where they may go. Without one,
    // `restrict=on`: the guest reaches nothing at all (not even the host's
    // loopback through 10.0.2.2). Only the forwarded SSH port reaches in.
    push(&[
        "-nic",
        &format!(
            "user,model=virtio-net-pci,restrict={},hostfwd=tcp:{}:{}-:22",
            if machine.internet { "off" } else { "on" },
            machine.ssh_bind,
            machine.ssh_port
        ),
    ]);
    push(&[
        "-chardev",
        &format!(
            "socket,id=serial0,path={},server=on,wait=off,logfile={}",
            path(&paths.serial()),
            path(&paths.console_log())
        ),
        "-serial",
        "chardev:serial0",
    ]);
    push(&[
        "-qmp",
        &format!("unix:{},server=on,wait=off", path(&paths.qmp())),
    ]);
    push(&["-pidfile", &path(&paths.pidfile())]);
    // No new privileges, no processes of its own (the reason QEMU is
    // detached by the agent, not with -daemonize).
    push(&[
        "-sandbox",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    ]);
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
        args.windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].as_str())
            .collect()
    }

    #[test]
    fn the_machine_follows_the_flavor_and_the_accelerator() {
        let paths = VmPaths::new("/vms/ins_1".into());
        let machine = Machine {
            id: "ins_1",
            vcpu: 2,
            ram_gib: 4,
            accel: Accel::Tcg,
            ssh_bind: "127.0.0.1",
            ssh_port: 22017,
            internet: false,
        };
        let args = qemu_args(&machine, &paths);
        assert_eq!(value_of(&args, "-name"), ["sparecloud-ins_1"]);
        assert_eq!(value_of(&args, "-smp"), ["2"]);
        assert_eq!(value_of(&args, "-m"), ["4G"]);
        assert_eq!(value_of(&args, "-accel"), ["tcg,thread=multi"]);
        assert_eq!(value_of(&args, "-cpu"), ["max"]);
        assert!(
            value_of(&args, "-kernel").is_empty(),
            "the disk boots itself"
        );
        assert_eq!(
            value_of(&args, "-drive"),
            [
                "file=/vms/ins_1/disk.qcow2,if=virtio,format=qcow2",
                "file=/vms/ins_1/seed.iso,if=virtio,format=raw,readonly=on"
            ]
        );
        let nic = value_of(&args, "-nic")[0];
        assert!(nic.contains("restrict=on"), "{nic}");
        assert!(nic.ends_with("hostfwd=tcp:127.0.0.1:22017-:22"), "{nic}");
        assert_eq!(
            value_of(&args, "-qmp"),
            ["unix:/vms/ins_1/qmp.sock,server=on,wait=off"]
        );
        assert_eq!(value_of(&args, "-pidfile"), ["/vms/ins_1/qemu.pid"]);
        assert!(value_of(&args, "-sandbox")[0].contains("spawn=deny"));
        assert!(!args.iter().any(|a| a == "-daemonize"));
        let online = qemu_args(
            &Machine {
                internet: true,
                ..machine.clone()
            },
            &paths,
        );
        assert!(value_of(&online, "-nic")[0].contains("restrict=off"));

        let kvm = Machine {
            accel: Accel::Kvm,
            ..machine
        };
        let args = qemu_args(&kvm, &paths);
        assert_eq!(value_of(&args, "-accel"), ["kvm"]);
        assert_eq!(value_of(&args, "-cpu"), ["host"]);
    }
}

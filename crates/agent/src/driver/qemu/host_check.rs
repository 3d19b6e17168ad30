//! Whether this host can run machines, said before any is started: the
//! tools, the image cache, the port range (`preflight`), and which
//! accelerator works, found by a real test boot (`choose_accel`).

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::QemuConfig;
use super::command::Accel;

/// Boots the image `disk` (without changing it) with `accel` for at most
/// `timeout` and says whether its kernel got as far as running its init:
/// a real test boot, since a host may offer `/dev/kvm` whose guests still
/// crash.
pub fn probe_boot(
    qemu: &std::path::Path,
    accel: Accel,
    disk: &std::path::Path,
    work_dir: &std::path::Path,
    timeout: Duration,
) -> Result<(), String> {
    std::fs::create_dir_all(work_dir).map_err(|e| e.to_string())?;
    let serial = work_dir.join("probe-serial.log");
    let _ = std::fs::remove_file(&serial);
    let (accel_arg, cpu) = match accel {
        Accel::Kvm => ("kvm", "host"),
        Accel::Tcg => ("tcg", "max"),
    };
    let format = if disk.extension().is_some_and(|e| e == "raw") {
        "raw"
    } else {
        "qcow2"
    };
    let mut child = Command::new(qemu)
        .args([
            "-accel", accel_arg, "-cpu", cpu, "-machine", "q35", "-m", "256",
        ])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
            "-snapshot",
        ])
        .arg("-drive")
        .arg(format!(
            "file={},if=virtio,format={format},readonly=on",
            disk.display()
        ))
        .arg("-serial")
        .arg(format!("file:{}", serial.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start QEMU: {e}"))?;
    let deadline = Instant::now() + timeout;
    let booted = loop {
        let log = std::fs::read_to_string(&serial).unwrap_or_default();
        if BOOTED_MARKS.iter().any(|mark| log.contains(mark)) {
            break Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            let reason = stderr.lines().next().unwrap_or("no message").to_owned();
            break Err(format!("the test boot ended ({status}): {reason}"));
        }
        if Instant::now() >= deadline {
            break Err(format!("no boot within {} s", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    booted
}

/// Console lines that show a guest's kernel got to its init: the kernel's
/// own (images that boot verbosely), the test image's, a login prompt.
const BOOTED_MARKS: [&str; 5] = [
    "Run /init",
    "Freeing unused kernel",
    "sparecloud: ",
    "systemd[1]",
    "login:",
];

/// The accelerator to use: KVM when `/dev/kvm` opens and a test boot of an
/// image from the cache in `images_dir` works with it, else software
/// emulation; with the reason for the choice.
pub fn choose_accel(
    qemu: &std::path::Path,
    images_dir: &std::path::Path,
    work_dir: &std::path::Path,
) -> (Accel, String) {
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return (Accel::Tcg, "no usable /dev/kvm: software emulation".into());
    }
    let cached = std::fs::read_dir(images_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|path| path.extension().is_some_and(|e| e == "qcow2" || e == "raw"));
    let Some(image) = cached else {
        return (
            Accel::Tcg,
            "no image cached yet to test KVM with: software emulation until the agent restarts with one (or use --accel kvm to insist)"
                .into(),
        );
    };
    match probe_boot(qemu, Accel::Kvm, &image, work_dir, Duration::from_secs(30)) {
        Ok(()) => (Accel::Kvm, "a test boot with KVM worked".into()),
        Err(reason) => (
            Accel::Tcg,
            format!(
                "/dev/kvm is there but a test boot with it failed ({reason}): software emulation"
            ),
        ),
    }
}

/// What is missing on this host to run machines, each said plainly with
/// how to fix it; empty when all is there.
pub fn preflight(config: &QemuConfig) -> Vec<String> {
    let mut missing = Vec::new();
    let found = |program: &std::path::Path| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !found(&config.qemu) {
        missing.push(format!(
            "QEMU ({}) is not installed: on Debian, `apt-get install qemu-system-x86` (from bookworm-backports when qemu-utils comes from there).",
            config.qemu.display()
        ));
    }
    if !found(&config.qemu_img) {
        missing.push(format!(
            "qemu-img ({}) is not installed: `apt-get install qemu-utils`.",
            config.qemu_img.display()
        ));
    }
    if !found(std::path::Path::new("genisoimage")) {
        missing.push("genisoimage is not installed (it makes the cloud-init seeds): `apt-get install genisoimage`.".into());
    }
    if config.accel == Accel::Kvm
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_err()
    {
        missing.push("--accel kvm needs /dev/kvm, which this host does not have (or this user cannot open): enable virtualisation in the firmware, load kvm_intel or kvm_amd, or use --accel tcg.".into());
    }
    if let Err(error) = std::fs::create_dir_all(&config.images_dir) {
        missing.push(format!(
            "The image cache {} cannot be created ({error}): choose another --images-dir.",
            config.images_dir.display()
        ));
    }
    let free = config
        .ssh_ports
        .clone()
        .take(64)
        .any(|port| TcpListener::bind((config.ssh_bind.as_str(), port)).is_ok());
    if !free {
        missing.push(format!(
            "No port of --ssh-ports {}-{} can be opened on {}: choose a free range (and open it in the firewall for buyers).",
            config.ssh_ports.start(),
            config.ssh_ports.end(),
            config.ssh_bind
        ));
    }
    missing
}

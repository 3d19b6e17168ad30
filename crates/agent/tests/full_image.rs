//! Opt-in (`make test-full-image`): the qemu driver with a full Debian 12
//! cloud image (`scripts/build-full-image.sh`: systemd, OpenSSH,
//! cloud-init), as production images are, or one of the application
//! images built on it. cloud-init reads the agent's NoCloud seed, names the
//! host after the instance and lets the buyer in as `debian` with their
//! key; the machine has the flavor's cores; an application image's service
//! answers (`SPARECLOUD_FULL_IMAGE_KIND`: lamp, lemp, postgresql). About a
//! minute to boot under software emulation, so not in `make test`: it runs
//! only when SPARECLOUD_FULL_IMAGE names the built image's directory, and
//! says so otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sparecloud_agent::driver::Driver;
use sparecloud_agent::driver::qemu::{QemuConfig, QemuDriver};
use sparecloud_api::agent::{
    DesiredInstance, DesiredState, ImageFormat, ImageSource, ObservedState,
};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Stops the test's QEMU by its pidfile however the test ends.
struct Machine(PathBuf);

impl Drop for Machine {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.0.join("qemu.pid")) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
    }
}

#[test]
fn a_full_debian_cloud_image_boots_and_cloud_init_lets_the_buyer_in() {
    let Some(image_dir) = std::env::var_os("SPARECLOUD_FULL_IMAGE").map(PathBuf::from) else {
        eprintln!(
            "skipped: set SPARECLOUD_FULL_IMAGE to the image's directory (make test-full-image)"
        );
        return;
    };
    let disk = std::fs::canonicalize(image_dir.join("disk.qcow2")).expect("the built image");
    let sums = std::fs::read_to_string(image_dir.join("SHA256SUMS")).unwrap();
    let sha256 = sums.split_whitespace().next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("buyer_key");
    assert!(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut qemu = QemuDriver::load(QemuConfig::on_loopback(dir.path(), port..=port + 10)).unwrap();
    qemu.catalog(&[ImageSource {
        image_id: "debian-12".into(),
        url: format!("file://{}", disk.display()),
        sha256,
        format: ImageFormat::Qcow2,
        login_user: "debian".into(),
    }]);
    let id = "ins_0193full";
    let _machine = Machine(dir.path().join("vms").join(id));
    let spec = DesiredInstance {
        id: id.into(),
        image_id: "debian-12".into(),
        vcpu: 2,
        ram_gib: 1,
        disk_gib: 10,
        ssh_public_key: std::fs::read_to_string(key.with_extension("pub"))
            .unwrap()
            .trim()
            .into(),
        state: DesiredState::Running,
        disk: None,
        upload_disk: false,
    };
    qemu.create(&spec, now_ms()).unwrap();
    let started = Instant::now();
    let address = loop {
        let seen = qemu.observe(now_ms()).unwrap();
        let me = seen.iter().find(|i| i.id == id).unwrap();
        if me.state == ObservedState::Running {
            break me.address.clone().unwrap();
        }
        assert_ne!(me.state, ObservedState::Failed);
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no SSH within 10 minutes"
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    // sshd answers before cloud-init has installed the key: retry a while.
    let (host, port) = address.rsplit_once(':').unwrap();
    let login = |command: &str| {
        Command::new("ssh")
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "LogLevel=ERROR",
            ])
            .arg("-i")
            .arg(&key)
            .args(["-p", port, &format!("debian@{host}"), command])
            .output()
            .unwrap()
    };
    let facts = loop {
        let out = login(
            "hostname; nproc; sudo -n true && echo sudo-ok; cloud-init status --wait >/dev/null; echo done",
        );
        if out.status.success() {
            break String::from_utf8(out.stdout).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "no login as debian: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_secs(5));
    };
    eprintln!(
        "a full Debian image: SSH login after {} s",
        started.elapsed().as_secs()
    );
    let lines: Vec<&str> = facts.lines().collect();
    assert_eq!(lines, ["ins-0193full", "2", "sudo-ok", "done"], "{facts}");
    // An application image's service runs, configured.
    let kind = std::env::var("SPARECLOUD_FULL_IMAGE_KIND").unwrap_or_default();
    let web = "curl -s localhost/info.php; curl -sI localhost | grep -i '^server:'; sudo mariadb -Nse 'select 40+2'";
    let (check, expect): (&str, &[&str]) = match kind.as_str() {
        "lamp" => (web, &["PHP 8.2", "Server: Apache", "42"]),
        "lemp" => (web, &["PHP 8.2", "Server: nginx", "42"]),
        "postgresql" => ("sudo -u postgres psql -tAc 'select 40+2'", &["42"]),
        _ => ("true", &[]),
    };
    let out = login(check);
    let said = String::from_utf8_lossy(&out.stdout);
    for want in expect {
        assert!(said.contains(want), "{kind}: {want:?} not in {said:?}");
    }
    qemu.destroy(id).unwrap();
    assert!(!Path::new(&dir.path().join("vms").join(id)).exists());
}

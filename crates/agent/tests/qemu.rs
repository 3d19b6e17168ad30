//! The qemu driver with real QEMU (software emulation here) and the tiny
//! test image that `scripts/build-test-image.sh` builds from Debian
//! packages: a buyer's SSH key logs in, the machine has the flavor's cores
//! and memory, files survive a stop and a start, the guest cannot reach the
//! host's loopback, a restarted agent adopts the running machine without
//! starting a second one, and terminating removes every file; with the
//! firewall, a guest of the unprivileged VM user reaches the internet (a
//! stand-in in a network namespace) but not the host nor private networks,
//! inside cgroups that hold it to its flavor. Every QEMU (and server) the
//! tests start is stopped by them, by pid.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sparecloud_agent::driver::Driver;
use sparecloud_agent::driver::qemu::command::Accel;
use sparecloud_agent::driver::qemu::{
    QemuConfig, QemuDriver, choose_accel, console_tail, probe_boot,
};
use sparecloud_api::agent::{
    DesiredInstance, DesiredState, ImageFormat, ImageSource, ObservedState,
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The test image, built (or taken from the cache) by the project's
/// script, as the catalog's source for it.
fn test_image() -> ImageSource {
    let cache = workspace().join("target/images/sparecloud-test");
    let status = Command::new(workspace().join("scripts/build-test-image.sh"))
        .arg(&cache)
        .status()
        .expect("run scripts/build-test-image.sh");
    assert!(status.success(), "the test image could not be built");
    let sums = std::fs::read_to_string(cache.join("SHA256SUMS")).unwrap();
    let sha256 = sums
        .lines()
        .find(|line| line.ends_with("disk.qcow2"))
        .and_then(|line| line.split_whitespace().next())
        .expect("the disk's checksum")
        .to_owned();
    ImageSource {
        image_id: "sparecloud-test".into(),
        url: format!(
            "file://{}",
            std::fs::canonicalize(cache.join("disk.qcow2"))
                .unwrap()
                .display()
        ),
        sha256,
        format: ImageFormat::Qcow2,
        login_user: "root".into(),
    }
}

/// A free range of ports for forwarded SSH.
fn free_ports() -> std::ops::RangeInclusive<u16> {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    port..=port.saturating_add(20)
}

fn driver(dir: &Path, ports: std::ops::RangeInclusive<u16>) -> QemuDriver {
    QemuDriver::load(QemuConfig::on_loopback(dir, ports)).unwrap()
}

/// Stops every QEMU of the test, by pid, however the test ends.
struct Machines<'a> {
    vms_dir: &'a Path,
}

impl Drop for Machines<'_> {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.vms_dir) else {
            return;
        };
        for entry in entries.flatten() {
            if let Ok(pid) = std::fs::read_to_string(entry.path().join("qemu.pid")) {
                let _ = Command::new("kill").args(["-9", pid.trim()]).status();
            }
        }
    }
}

fn wait_for(driver: &mut QemuDriver, id: &str, want: ObservedState, secs: u64) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let seen = driver.observe(now_ms()).unwrap();
        let me = seen
            .iter()
            .find(|i| i.id == id)
            .expect("the instance is observed");
        if me.state == want {
            return me.address.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{id} is {:?}, not {want:?}, after {secs} s",
            me.state
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn ssh(key: &Path, address: &str, command: &str) -> std::process::Output {
    let (host, port) = address.rsplit_once(':').unwrap();
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
        .arg(key)
        .args(["-p", port, &format!("root@{host}"), command])
        .output()
        .expect("run ssh")
}

fn ssh_ok(key: &Path, address: &str, command: &str) -> String {
    let out = ssh(key, address, command);
    assert!(
        out.status.success(),
        "ssh {command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// How many processes name the guest on their command line.
fn guest_processes(id: &str) -> usize {
    let name = format!("sparecloud-{id}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .filter(|cmdline| cmdline.split(|b| *b == 0).any(|arg| arg == name.as_bytes()))
        .count()
}

#[test]
fn a_real_machine_runs_keeps_files_is_isolated_survives_an_agent_restart_and_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let image = test_image();
    let vms_dir = dir.path().join("vms");
    let _machines = Machines { vms_dir: &vms_dir };
    let key = dir.path().join("buyer_key");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public_key = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let ports = free_ports();
    let mut qemu = driver(dir.path(), ports.clone());
    qemu.catalog(std::slice::from_ref(&image));
    assert_eq!(qemu.images(), Some(vec!["sparecloud-test".to_owned()]));

    let id = "ins_0193test";
    let spec = DesiredInstance {
        id: id.into(),
        image_id: "sparecloud-test".into(),
        vcpu: 1,
        ram_gib: 1,
        disk_gib: 20,
        ssh_public_key: public_key.trim().into(),
        state: DesiredState::Running,
        disk: None,
        upload_disk: false,
    };
    qemu.create(&spec, now_ms()).unwrap();
    let address = wait_for(&mut qemu, id, ObservedState::Running, 120).expect("an address");
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    // The image was fetched into the cache by its checksum, read-only.
    let base = dir.path().join(format!("images/{}.qcow2", image.sha256));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&base).unwrap().permissions().mode() & 0o222,
        0,
        "the base is read-only"
    );
    // Disk use is what the files really take: the base and a thin
    // overlay, not the 20 GiB the flavor's disk says.
    let used = qemu
        .disk_used_bytes()
        .expect("the qemu driver measures its disk");
    let base_len = std::fs::metadata(&base).unwrap().len();
    assert!(
        used >= base_len && used < base_len + (256 << 20),
        "{used} bytes in use for a {base_len}-byte base"
    );
    // The serial console is logged, and its end is what heartbeats carry.
    let console = console_tail(&vms_dir.join(id).join("console.log"), 64 * 1024).unwrap();
    assert!(
        console.contains("sparecloud: ready, hostname ins-0193test"),
        "{console}"
    );

    // The buyer's key logs in; the machine is the flavor.
    let facts = ssh_ok(
        &key,
        &address,
        "hostname; nproc; free -m | awk '/Mem:/ {print $2}'",
    );
    let facts: Vec<&str> = facts.lines().collect();
    assert_eq!(facts[0], "ins-0193test");
    assert_eq!(facts[1], "1", "one vCPU");
    let mem: u32 = facts[2].trim().parse().unwrap();
    assert!(
        (700..=1024).contains(&mem),
        "about 1 GiB of memory: {mem} MiB"
    );
    ssh_ok(
        &key,
        &address,
        "echo 'the buyer was here' > /root/notes.txt && sync",
    );
    // Another key does not log in.
    let stranger = dir.path().join("stranger_key");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(&stranger)
        .status()
        .unwrap();
    assert!(!ssh(&stranger, &address, "true").status.success());

    // A service on the host's loopback is out of the guest's reach.
    let service = TcpListener::bind("127.0.0.1:0").unwrap();
    service.set_nonblocking(true).unwrap();
    let port = service.local_addr().unwrap().port();
    let probe = ssh(
        &key,
        &address,
        &format!("nc -w 3 10.0.2.2 {port} </dev/null && echo reached || echo unreachable"),
    );
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "unreachable");
    assert!(
        service.accept().is_err(),
        "nothing connected to the host service"
    );

    // Stop (ACPI power button) and start: the file is still there.
    qemu.stop(id, now_ms()).unwrap();
    wait_for(&mut qemu, id, ObservedState::Stopped, 60);
    assert_eq!(
        guest_processes(id),
        0,
        "QEMU exits when the guest powers off"
    );
    qemu.start(id, now_ms()).unwrap();
    let address = wait_for(&mut qemu, id, ObservedState::Running, 120).expect("an address");
    assert_eq!(
        ssh_ok(&key, &address, "cat /root/notes.txt").trim(),
        "the buyer was here"
    );

    // The agent restarts: the machine runs on, is adopted, not started twice.
    let pid = qemu.pid(id).expect("running");
    drop(qemu);
    let mut qemu = driver(dir.path(), ports);
    qemu.catalog(std::slice::from_ref(&image));
    assert_eq!(qemu.pid(id), Some(pid));
    let seen = qemu.observe(now_ms()).unwrap();
    assert_eq!(seen[0].state, ObservedState::Running);
    qemu.start(id, now_ms()).unwrap();
    assert_eq!(qemu.pid(id), Some(pid));
    assert_eq!(guest_processes(id), 1, "one QEMU for the instance");

    // Terminate: the process and every file of the instance are gone.
    qemu.destroy(id).unwrap();
    assert_eq!(guest_processes(id), 0);
    assert!(!vms_dir.join(id).exists());
    assert!(!base.exists(), "an image no machine uses is removed");
    let seen = qemu.observe(now_ms()).unwrap();
    assert_eq!(seen[0].state, ObservedState::Terminated);
}

#[test]
fn a_test_boot_tells_a_working_accelerator_from_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let image = test_image();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let disk = images.join(format!("{}.qcow2", image.sha256));
    std::fs::copy(image.url.trim_start_matches("file://"), &disk).unwrap();
    let qemu = Path::new("qemu-system-x86_64");
    let work = dir.path().join("probe");
    // Software emulation boots anywhere.
    probe_boot(qemu, Accel::Tcg, &disk, &work, Duration::from_secs(60)).expect("a TCG test boot");
    // A disk that does not boot fails the probe, and says why.
    let bogus = dir.path().join("not-bootable.raw");
    std::fs::write(&bogus, vec![0u8; 1 << 20]).unwrap();
    let error = probe_boot(qemu, Accel::Tcg, &bogus, &work, Duration::from_secs(8)).unwrap_err();
    assert!(error.contains("no boot within 8 s"), "{error}");
    // The automatic choice agrees with a test boot (KVM crashes here).
    let (accel, why) = choose_accel(qemu, &images, &work);
    let kvm_boots = probe_boot(qemu, Accel::Kvm, &disk, &work, Duration::from_secs(30)).is_ok();
    assert_eq!(accel == Accel::Kvm, kvm_boots, "{why}");
}

/// A stand-in for the internet and for a private network: a network
/// namespace behind a veth pair, with a web server on a public address
/// (198.51.100.1) and one on a private address (192.168.255.1). Removed,
/// with its server, when dropped.
struct OutsideWorld {
    netns: String,
    server: std::process::Child,
}

impl OutsideWorld {
    const PUBLIC: &'static str = "198.51.100.1";
    const PRIVATE: &'static str = "192.168.255.1";
    const PORT: u16 = 8081;

    fn start(content_dir: &Path) -> Self {
        let n = std::process::id() % 100_000;
        let netns = format!("sc-world-{n}");
        let (host_end, world_end) = (format!("scw{n}h"), format!("scw{n}w"));
        let ip = |args: &[&str]| {
            let status = Command::new("ip").args(args).status().expect("run ip");
            assert!(status.success(), "ip {args:?}");
        };
        ip(&["netns", "add", &netns]);
        ip(&[
            "link", "add", &host_end, "type", "veth", "peer", "name", &world_end,
        ]);
        ip(&["link", "set", &world_end, "netns", &netns]);
        ip(&["addr", "add", "198.51.100.2/30", "dev", &host_end]);
        ip(&["addr", "add", "192.168.255.2/30", "dev", &host_end]);
        ip(&["link", "set", &host_end, "up"]);
        let inside = |args: &[&str]| {
            let mut all = vec!["netns", "exec", netns.as_str(), "ip"];
            all.extend_from_slice(args);
            ip(&all);
        };
        inside(&["addr", "add", "198.51.100.1/30", "dev", &world_end]);
        inside(&["addr", "add", "192.168.255.1/30", "dev", &world_end]);
        inside(&["link", "set", &world_end, "up"]);
        inside(&["link", "set", "lo", "up"]);
        let server = Command::new("ip")
            .args(["netns", "exec", &netns, "python3", "-m", "http.server"])
            .args(["--bind", "0.0.0.0", &Self::PORT.to_string()])
            .current_dir(content_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the outside web server");
        let world = Self { netns, server };
        // Ready once it answers (from the host, which may reach it).
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect((Self::PUBLIC, Self::PORT)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the outside web server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        world
    }
}

impl Drop for OutsideWorld {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        // Deleting the namespace deletes the veth pair with it.
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.netns])
            .status();
    }
}

#[test]
fn a_guest_reaches_the_internet_but_not_the_host_nor_private_networks_and_is_held_to_its_flavor() {
    use sparecloud_agent::driver::qemu::isolation::{self, Cgroups, Limits, VmUser};
    // SAFETY: geteuid cannot fail.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test runs as root, as `make test` does (firewall, user, namespaces)"
    );
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let user = VmUser::lookup("sparecloud-vm").expect("make setup creates the VM user");
    isolation::install_firewall(user.uid).expect("the guests' firewall");
    let web = dir.path().join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("hello.txt"), "hello from the internet\n").unwrap();
    let _world = OutsideWorld::start(&web);
    let image = test_image();
    let vms_dir = dir.path().join("vms");
    let _machines = Machines { vms_dir: &vms_dir };
    let key = dir.path().join("buyer_key");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let config = QemuConfig {
        vm_user: Some(user.clone()),
        internet: true,
        cgroups: Cgroups::detect(),
        ..QemuConfig::on_loopback(dir.path(), free_ports())
    };
    let cgroups = config
        .cgroups
        .clone()
        .expect("cgroups to limit machines with");
    let mut qemu = QemuDriver::load(config).unwrap();
    qemu.catalog(std::slice::from_ref(&image));
    let id = "ins_0193net";
    let spec = DesiredInstance {
        id: id.into(),
        image_id: "sparecloud-test".into(),
        vcpu: 1,
        ram_gib: 1,
        disk_gib: 2,
        ssh_public_key: std::fs::read_to_string(key.with_extension("pub"))
            .unwrap()
            .trim()
            .into(),
        state: DesiredState::Running,
        disk: None,
        upload_disk: false,
    };
    qemu.create(&spec, now_ms()).unwrap();
    let address = wait_for(&mut qemu, id, ObservedState::Running, 120).expect("an address");

    // QEMU runs as the VM user, inside its cgroups, limited to the flavor.
    let pid = qemu.pid(id).expect("running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uid_line
            .split_whitespace()
            .skip(1)
            .all(|u| u == user.uid.to_string()),
        "{uid_line}"
    );
    assert_eq!(
        cgroups.memory_limit(id),
        Some(Limits::for_flavor(1, 1).memory_bytes)
    );
    let groups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        groups.contains(&format!("sparecloud/{id}")),
        "QEMU is in its cgroup: {groups}"
    );

    // The internet: reached.
    // (busybox's static wget crashes resolving even an address: nc it is.)
    let fetch = |host: &str, port: u16| {
        let out = ssh(
            &key,
            &address,
            &format!(
                "printf 'GET /hello.txt HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {host} {port} || echo unreachable"
            ),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let got = fetch(OutsideWorld::PUBLIC, OutsideWorld::PORT);
    assert!(got.contains("hello from the internet"), "{got}");
    // A private network, the host's own addresses and its loopback: not.
    let host_service = TcpListener::bind("0.0.0.0:0").unwrap();
    host_service.set_nonblocking(true).unwrap();
    let host_port = host_service.local_addr().unwrap().port();
    for (host, port) in [
        (OutsideWorld::PRIVATE, OutsideWorld::PORT),
        ("10.0.2.2", host_port),
        ("198.51.100.2", host_port),
    ] {
        let got = fetch(host, port);
        assert_eq!(got.trim(), "unreachable", "{host}:{port}");
    }
    assert!(
        host_service.accept().is_err(),
        "nothing reached the host's service"
    );

    qemu.destroy(id).unwrap();
    assert_eq!(guest_processes(id), 0);
    assert_eq!(cgroups.memory_limit(id), None, "its cgroups are removed");
}

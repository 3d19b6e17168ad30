//! What keeps a guest in its place on the seller's host: QEMU runs as an
//! unprivileged user of its own, an nftables table lets that user's
//! connections (the guests' traffic, through user-mode networking) reach
//! the internet but not the host itself nor private networks, and cgroups
//! hold each machine to its flavor's cores and memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The user QEMU runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Its supplementary groups (`kvm`, for /dev/kvm).
    pub groups: Vec<u32>,
}

impl VmUser {
    /// Looks `name` up in `/etc/passwd` and `/etc/group`.
    pub fn lookup(name: &str) -> Result<Self, String> {
        let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
        let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
        Self::from_files(name, &passwd, &group).ok_or_else(|| {
            format!("there is no user {name} to run QEMU as: create it with `useradd --system --no-create-home --shell /usr/sbin/nologin {name}`")
        })
    }

    fn from_files(name: &str, passwd: &str, group: &str) -> Option<Self> {
        let fields: Vec<&str> = passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|f| f.len() >= 4 && f[0] == name)?;
        let (uid, gid) = (fields[2].parse().ok()?, fields[3].parse().ok()?);
        let groups = group
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .filter(|f| f.len() >= 4 && f[3].split(',').any(|member| member == name))
            .filter_map(|f| f[2].parse().ok())
            .collect();
        Some(Self {
            name: name.to_owned(),
            uid,
            gid,
            groups,
        })
    }
}

/// The first of `dirs` (and their parents) the VM user cannot enter, with
/// the directory that stops it.
pub fn unreachable_dir(dirs: &[&Path]) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    for dir in dirs {
        let mut at = Some(*dir);
        while let Some(path) = at {
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o001 == 0
            {
                return Some(path.to_owned());
            }
            at = path.parent();
        }
    }
    None
}

/// The nftables table: connections of `uid` may answer buyers (they come
/// in through forwarded ports) and reach the internet and the host's DNS
/// resolvers, nothing else of the host nor any private network.
pub fn firewall_rules(uid: u32, resolvers: &[String]) -> String {
    let (v4, v6): (Vec<&String>, Vec<&String>) = resolvers.iter().partition(|r| !r.contains(':'));
    let mut dns = String::new();
    for (family, list) in [("ip", v4), ("ip6", v6)] {
        if !list.is_empty() {
            let set: Vec<&str> = list.iter().map(|r| r.as_str()).collect();
            dns.push_str(&format!(
                "    {family} daddr {{ {} }} meta l4proto {{ tcp, udp }} th dport 53 accept\n",
                set.join(", ")
            ));
        }
    }
    format!(
        "table inet sparecloud
delete table inet sparecloud
table inet sparecloud {{
  chain output {{
    type filter hook output priority filter; policy accept;
    meta skuid {uid} jump guest
  }}
  chain guest {{
    ct state established,related accept
{dns}    fib daddr type {{ local, broadcast, multicast }} reject
    ip daddr {{ 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/3 }} reject
    ip6 daddr {{ ::/127, fc00::/7, fe80::/10, ff00::/8 }} reject
  }}
}}
"
    )
}

/// The name servers of `/etc/resolv.conf` (QEMU's user networking sends
/// the guests' DNS there).
pub fn resolvers(resolv_conf: &str) -> Vec<String> {
    resolv_conf
        .lines()
        .filter_map(|line| line.trim().strip_prefix("nameserver"))
        .map(|server| server.trim().split('%').next().unwrap_or("").to_owned())
        .filter(|server| server.parse::<std::net::IpAddr>().is_ok())
        .collect()
}

/// Installs (or replaces) the table for the VM user.
pub fn install_firewall(uid: u32) -> Result<(), String> {
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let rules = firewall_rules(uid, &resolvers(&resolv));
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft ({e}): `apt-get install nftables`"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(rules.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "nft refused the guests' firewall: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

/// cgroups that hold a machine to its flavor: the unified hierarchy (v2)
/// or the `cpu` and `memory` controllers of v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cgroups {
    V2 { root: PathBuf },
    V1 { cpu: PathBuf, memory: PathBuf },
}

/// A machine's limits: its cores' worth of CPU time and its memory plus
/// QEMU's own overhead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub cpu_quota_us: u64,
    pub cpu_period_us: u64,
    pub memory_bytes: u64,
}

impl Limits {
    pub fn for_flavor(vcpu: u32, ram_gib: u32) -> Self {
        let guest = u64::from(ram_gib.max(1)) << 30;
        Self {
            cpu_quota_us: u64::from(vcpu.max(1)) * 100_000,
            cpu_period_us: 100_000,
            // QEMU needs room besides the guest's memory: 256 MiB + 1/8.
            memory_bytes: guest + (256 << 20) + guest / 8,
        }
    }
}

impl Cgroups {
    /// The hierarchy under `/sys/fs/cgroup` where this agent may make
    /// groups (`sparecloud/` in it), if any.
    pub fn detect() -> Option<Self> {
        let base = Path::new("/sys/fs/cgroup");
        let found = if base.join("cgroup.controllers").is_file() {
            Cgroups::V2 {
                root: base.join("sparecloud"),
            }
        } else {
            Cgroups::V1 {
                cpu: base.join("cpu/sparecloud"),
                memory: base.join("memory/sparecloud"),
            }
        };
        found
            .roots()
            .iter()
            .all(|root| std::fs::create_dir_all(root).is_ok())
            .then_some(found)
    }

    fn roots(&self) -> Vec<&Path> {
        match self {
            Cgroups::V2 { root } => vec![root],
            Cgroups::V1 { cpu, memory } => vec![cpu, memory],
        }
    }

    /// Makes machine `id`'s groups with `limits`; returns the
    /// `cgroup.procs` files its QEMU joins.
    pub fn prepare(&self, id: &str, limits: Limits) -> std::io::Result<Vec<PathBuf>> {
        let write = |dir: &Path, file: &str, value: String| std::fs::write(dir.join(file), value);
        match self {
            Cgroups::V2 { root } => {
                // Controllers must be enabled for the children first.
                let _ = std::fs::write(root.join("cgroup.subtree_control"), "+cpu +memory");
                let dir = root.join(id);
                std::fs::create_dir_all(&dir)?;
                write(
                    &dir,
                    "cpu.max",
                    format!("{} {}", limits.cpu_quota_us, limits.cpu_period_us),
                )?;
                write(&dir, "memory.max", limits.memory_bytes.to_string())?;
                Ok(vec![dir.join("cgroup.procs")])
            }
            Cgroups::V1 { cpu, memory } => {
                let (cpu, memory) = (cpu.join(id), memory.join(id));
                std::fs::create_dir_all(&cpu)?;
                std::fs::create_dir_all(&memory)?;
                write(&cpu, "cpu.cfs_period_us", limits.cpu_period_us.to_string())?;
                write(&cpu, "cpu.cfs_quota_us", limits.cpu_quota_us.to_string())?;
                write(
                    &memory,
                    "memory.limit_in_bytes",
                    limits.memory_bytes.to_string(),
                )?;
                Ok(vec![cpu.join("cgroup.procs"), memory.join("cgroup.procs")])
            }
        }
    }

    /// Removes machine `id`'s groups (once its QEMU has exited).
    pub fn remove(&self, id: &str) {
        for root in self.roots() {
            let _ = std::fs::remove_dir(root.join(id));
        }
    }

    /// The memory limit machine `id` has, bytes (for tests and status).
    pub fn memory_limit(&self, id: &str) -> Option<u64> {
        let file = match self {
            Cgroups::V2 { root } => root.join(id).join("memory.max"),
            Cgroups::V1 { memory, .. } => memory.join(id).join("memory.limit_in_bytes"),
        };
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vm_user_and_its_groups_come_from_the_account_files() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nsparecloud-vm:x:998:997::/nonexistent:/usr/sbin/nologin\n";
        let group = "root:x:0:\nkvm:x:104:sparecloud-vm\nsparecloud-vm:x:997:\ndisk:x:6:alice\n";
        let user = VmUser::from_files("sparecloud-vm", passwd, group).unwrap();
        assert_eq!((user.uid, user.gid, user.groups), (998, 997, vec![104]));
        assert!(VmUser::from_files("nobody-here", passwd, group).is_none());
    }

    #[test]
    fn guests_reach_the_internet_and_dns_but_not_the_host_or_private_networks() {
        let rules = firewall_rules(998, &["10.255.255.53".into(), "fd00::53".into()]);
        assert!(rules.contains("meta skuid 998 jump guest"));
        // Answers to buyers first, then the resolvers, then the refusals.
        let order = [
            "ct state established,related accept",
            "ip daddr { 10.255.255.53 } meta l4proto { tcp, udp } th dport 53 accept",
            "ip6 daddr { fd00::53 }",
            "fib daddr type { local, broadcast, multicast } reject",
            "127.0.0.0/8",
        ];
        let at: Vec<usize> = order.iter().map(|s| rules.find(s).expect(s)).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{rules}");
        for private in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "169.254.0.0/16",
            "fc00::/7",
        ] {
            assert!(rules.contains(private), "{private}");
        }
        // Replacing the table is one transaction: no moment without it.
        assert!(rules.starts_with("table inet sparecloud\ndelete table inet sparecloud\n"));
    }

    #[test]
    fn resolvers_are_the_name_servers_that_parse() {
        let conf = "# comment\nnameserver 10.255.255.53\nnameserver fe80::1%eth0\nnameserver bogus\nsearch example\n";
        assert_eq!(resolvers(conf), ["10.255.255.53", "fe80::1"]);
    }

    #[test]
    fn limits_follow_the_flavor_with_room_for_qemu() {
        let limits = Limits::for_flavor(2, 4);
        assert_eq!(limits.cpu_quota_us, 200_000);
        assert_eq!(limits.cpu_period_us, 100_000);
        assert_eq!(limits.memory_bytes, (4 << 30) + (256 << 20) + (512 << 20));
    }

    #[test]
    fn a_directory_others_cannot_enter_is_named() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("a/b");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.path().join("a"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        assert_eq!(unreachable_dir(&[&inner]), Some(dir.path().join("a")));
        std::fs::set_permissions(dir.path().join("a"), std::fs::Permissions::from_mode(0o711))
            .unwrap();
        let stops = unreachable_dir(&[&inner]);
        // Above the temporary directory everything is enterable.
        assert_eq!(stops, None, "{stops:?}");
    }
}

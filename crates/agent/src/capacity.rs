//! The host's sellable capacity: what the machine has, minus a reserve for
//! the host itself.

use std::path::Path;

use sparecloud_api::catalog::Capacity;

use crate::error::AgentError;

const GIB: u64 = 1024 * 1024 * 1024;

/// The machine's logical cores, memory and free disk (on the filesystem of
/// `data_dir`, where instances' disks would live).
pub fn machine(data_dir: &Path) -> Capacity {
    let vcpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    let ram_gib = (system.total_memory() / GIB) as u32;
    let disks = sysinfo::Disks::new_with_refreshed_list();
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let disk = disks
        .list()
        .iter()
        .filter(|d| dir.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map_or(0, |d| d.available_space() / GIB) as u32;
    Capacity {
        vcpu,
        ram_gib,
        disk_gib: disk,
    }
}

/// What is left to sell after the reserve; an error if nothing is.
pub fn sellable(machine: Capacity, reserve: Capacity) -> Result<Capacity, AgentError> {
    let left = Capacity {
        vcpu: machine.vcpu.saturating_sub(reserve.vcpu),
        ram_gib: machine.ram_gib.saturating_sub(reserve.ram_gib),
        disk_gib: machine.disk_gib.saturating_sub(reserve.disk_gib),
    };
    if left.vcpu == 0 || left.ram_gib == 0 || left.disk_gib == 0 {
        return Err(AgentError::Capacity(format!(
            "this machine has {} cores, {} GiB of memory and {} GiB of free disk; after the reserve ({} cores, {} GiB, {} GiB) nothing is left to sell: lower the reserve with --reserve-*",
            machine.vcpu,
            machine.ram_gib,
            machine.disk_gib,
            reserve.vcpu,
            reserve.ram_gib,
            reserve.disk_gib
        )));
    }
    Ok(left)
}

/// Parses `VCPU,RAM_GIB,DISK_GIB`.
pub fn parse(value: &str) -> Result<Capacity, String> {
    let parts: Vec<u32> = value
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{value:?}: expected VCPU,RAM_GIB,DISK_GIB, e.g. 8,32,500"))?;
    match parts.as_slice() {
        [vcpu, ram_gib, disk_gib] => Ok(Capacity {
            vcpu: *vcpu,
            ram_gib: *ram_gib,
            disk_gib: *disk_gib,
        }),
        _ => Err(format!(
            "{value:?}: expected three numbers VCPU,RAM_GIB,DISK_GIB"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_has_something() {
        let here = machine(Path::new("."));
        assert!(here.vcpu >= 1 && here.ram_gib >= 1, "{here:?}");
    }

    #[test]
    fn the_reserve_is_taken_off_and_cannot_take_everything() {
        let m = Capacity {
            vcpu: 8,
            ram_gib: 32,
            disk_gib: 500,
        };
        let r = Capacity {
            vcpu: 1,
            ram_gib: 2,
            disk_gib: 20,
        };
        assert_eq!(
            sellable(m, r).unwrap(),
            Capacity {
                vcpu: 7,
                ram_gib: 30,
                disk_gib: 480
            }
        );
        assert!(sellable(Capacity { vcpu: 1, ..m }, r).is_err());
    }

    #[test]
    fn capacity_flags_parse() {
        assert_eq!(
            parse("8, 32,500").unwrap(),
            Capacity {
                vcpu: 8,
                ram_gib: 32,
                disk_gib: 500
            }
        );
        assert!(parse("8,32").is_err());
        assert!(parse("eight,32,500").is_err());
    }
}

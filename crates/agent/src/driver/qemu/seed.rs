//! The cloud-init NoCloud seed of an instance: `meta-data` (instance id,
//! hostname) and `user-data` (the buyer's SSH key for the image's login
//! user), on an ISO labelled `cidata` that cloud-init (or the test image's
//! init) reads at boot.

use std::path::Path;
use std::process::Command;

/// The hostname of an instance: its id, as DNS allows (`ins_…` → `ins-…`).
pub fn hostname(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(63)
        .collect()
}

pub fn meta_data(id: &str) -> String {
    format!("instance-id: {id}\nlocal-hostname: {}\n", hostname(id))
}

/// `user` is the image's login user; the key goes to it (and to root for
/// images whose login user is root).
pub fn user_data(user: &str, ssh_public_key: &str) -> String {
    // The key was validated by the server; a line break in it would still
    // end the YAML scalar, so only its first line is used.
    let key = ssh_public_key.lines().next().unwrap_or_default().trim();
    let mut data = format!(
        "#cloud-config\nhostname_from_meta_data: true\nssh_pwauth: false\nssh_authorized_keys:\n  - \"{key}\"\n"
    );
    if user != "root" {
        data.push_str(&format!(
            "users:\n  - name: {user}\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    shell: /bin/bash\n    ssh_authorized_keys:\n      - \"{key}\"\n"
        ));
    }
    data
}

/// Writes `meta-data` and `user-data` into `dir` and packs them into
/// `iso` with genisoimage.
pub fn write_seed(
    dir: &Path,
    iso: &Path,
    id: &str,
    user: &str,
    ssh_public_key: &str,
) -> std::io::Result<()> {
    let seed = dir.join("seed");
    std::fs::create_dir_all(&seed)?;
    std::fs::write(seed.join("meta-data"), meta_data(id))?;
    std::fs::write(seed.join("user-data"), user_data(user, ssh_public_key))?;
    let output = Command::new("genisoimage")
        .args(["-quiet", "-volid", "cidata", "-joliet", "-rock", "-output"])
        .arg(iso)
        .arg(seed.join("user-data"))
        .arg(seed.join("meta-data"))
        .output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "genisoimage failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";

    #[test]
    fn the_seed_names_the_instance_and_carries_the_buyers_key() {
        assert_eq!(
            meta_data("ins_0193abc"),
            "instance-id: ins_0193abc\nlocal-hostname: ins-0193abc\n"
        );
        let root = user_data("root", KEY);
        assert!(root.starts_with("#cloud-config\n"));
        assert!(root.contains(&format!("ssh_authorized_keys:\n  - \"{KEY}\"\n")));
        assert!(!root.contains("users:"));
        let debian = user_data("debian", KEY);
        assert!(debian.contains("  - name: debian\n"), "{debian}");
        assert_eq!(debian.matches(KEY).count(), 2);
        // A key with a second line cannot add YAML of its own.
        let sneaky = user_data("root", &format!("{KEY}\nruncmd: [reboot]"));
        assert!(!sneaky.contains("runcmd"), "{sneaky}");
    }

    #[test]
    fn hostnames_are_dns_labels() {
        assert_eq!(hostname("ins_01AB.x"), "ins-01ab-x");
        assert_eq!(hostname(&"a".repeat(80)).len(), 63);
    }
}

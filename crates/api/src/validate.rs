//! Input rules shared by the server (which enforces them) and the web app
//! (which checks them inline before sending). Each returns the message to
//! show next to the field.

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 128;
pub const DISPLAY_NAME_MAX_CHARS: usize = 80;

pub fn email(value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Enter your email address.".into());
    }
    if value.len() > 254 {
        return Err("That email address is too long.".into());
    }
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.contains(char::is_whitespace)
    });
    if valid {
        Ok(())
    } else {
        Err("Enter an email address like name@example.com.".into())
    }
}

/// Emails are compared case-insensitively: this is the stored form.
pub fn normalise_email(value: &str) -> String {
    value.trim().to_lowercase()
}

pub fn password(value: &str) -> Result<(), String> {
    let chars = value.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(format!(
            "Use at least {PASSWORD_MIN_CHARS} characters for your password."
        ));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(format!(
            "Use at most {PASSWORD_MAX_CHARS} characters for your password."
        ));
    }
    if value.chars().all(char::is_whitespace) {
        return Err("Use letters, digits or symbols, not only spaces.".into());
    }
    Ok(())
}

/// Characters that reorder the text around them (bidirectional overrides
/// and isolates): in a name they can make "Bank" read as something else.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: spaces, joiners, marks and fillers
/// (Unicode's default-ignorable code points).
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

pub fn display_name(value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Enter your name or your company's.".into());
    }
    if value.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(format!("Use at most {DISPLAY_NAME_MAX_CHARS} characters."));
    }
    if value.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err("The name contains characters that cannot be shown.".into());
    }
    if value.chars().all(is_invisible) {
        return Err("Enter your name or your company's.".into());
    }
    Ok(())
}

/// Zones and labels are short lowercase identifiers: `eu-west-1a`.
pub fn zone(value: &str) -> Result<(), String> {
    let ok = (2..=32).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("Use 2 to 32 lowercase letters, digits and dashes, starting with a letter (like eu-west-1a).".into())
    }
}

/// ISO 3166-1 alpha-2 shape: two uppercase letters.
pub fn country(value: &str) -> Result<(), String> {
    if value.len() == 2 && value.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err("Choose a country (a two-letter code like DE).".into())
    }
}

/// A short free text (names, labels): trimmed, not empty, at most `max`
/// characters, no control characters.
pub fn short_text(value: &str, max: usize, what: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("Enter {what}."));
    }
    if value.chars().count() > max {
        return Err(format!("Use at most {max} characters."));
    }
    if value.chars().any(char::is_control) {
        return Err("This contains characters that cannot be shown.".into());
    }
    Ok(())
}

/// The SSH key types instances accept.
pub const SSH_KEY_TYPES: [&str; 5] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
];

/// The shape of an OpenSSH public key line (`type base64 [comment]`). The
/// server parses the key in full; this is the quick check for forms.
pub fn ssh_public_key(value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Paste your SSH public key (the contents of ~/.ssh/id_ed25519.pub).".into());
    }
    if value.contains("PRIVATE KEY") {
        return Err("This is a private key: never share it. Paste the .pub file instead.".into());
    }
    let mut parts = value.split_whitespace();
    let kind = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    if !SSH_KEY_TYPES.contains(&kind) {
        return Err("Use an ed25519, ECDSA or RSA public key starting with ssh-ed25519, ecdsa-sha2- or ssh-rsa.".into());
    }
    let base64 = body.len() >= 60
        && body.starts_with("AAAA")
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=');
    if !base64 {
        return Err("This key looks cut short or damaged: copy the whole line again.".into());
    }
    Ok(())
}

/// The most a single host may report: beyond any real machine, and small
/// enough that sums over many hosts stay in range.
pub const MAX_HOST_VCPU: u32 = 4_096;
pub const MAX_HOST_RAM_GIB: u32 = 65_536;
pub const MAX_HOST_DISK_GIB: u32 = 1_048_576;

/// A host's capacity as an agent reports it: within what a machine can have.
pub fn host_capacity(vcpu: u32, ram_gib: u32, disk_gib: u32) -> Result<(), String> {
    if vcpu > MAX_HOST_VCPU || ram_gib > MAX_HOST_RAM_GIB || disk_gib > MAX_HOST_DISK_GIB {
        return Err(format!(
            "A host reports at most {MAX_HOST_VCPU} vCPU, {MAX_HOST_RAM_GIB} GiB of memory and {MAX_HOST_DISK_GIB} GiB of disk."
        ));
    }
    Ok(())
}

/// An agent's version: a short version string (`0.1.0`, `1.2.3-rc.1+abc`).
pub fn agent_version(value: &str) -> Result<(), String> {
    let fine = !value.is_empty()
        && value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_'));
    if fine {
        Ok(())
    } else {
        Err("The agent version is at most 32 letters, digits and . - + _.".into())
    }
}

/// Where an instance is reached, as its host reports it: an IPv4 address,
/// a hostname or a bracketed IPv6 address, with an optional port
/// (`198.51.100.7`, `host.example:2222`, `[2001:db8::1]:22`). Buyers copy
/// an SSH command built from it, so nothing else gets through.
pub fn host_address(value: &str) -> Result<(), String> {
    let invalid =
        || Err("An address is an IP address or hostname, with an optional :port.".to_owned());
    if value.is_empty() || value.len() > 262 {
        return invalid();
    }
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return invalid();
        };
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return invalid();
        }
        match after {
            "" => return Ok(()),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return invalid(),
            },
        }
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(value), None),
        }
    };
    if let Some(port) = port {
        let digits =
            !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        if !digits || !matches!(port.parse::<u32>(), Ok(1..=65_535)) {
            return invalid();
        }
    }
    if let Some(host) = host {
        let ipv4 = host.parse::<std::net::Ipv4Addr>().is_ok();
        let hostname = host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !(ipv4 || hostname) {
            return invalid();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_keys_are_shape_checked() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";
        assert!(ssh_public_key(key).is_ok());
        assert!(ssh_public_key("").is_err());
        assert!(ssh_public_key("ssh-dss AAAAB3NzaC1kc3MAAACBAP").is_err());
        assert!(ssh_public_key("ssh-ed25519 AAAAC3Nz").is_err());
        assert!(ssh_public_key("-----BEGIN OPENSSH PRIVATE KEY-----").is_err());
    }

    #[test]
    fn zones_and_countries() {
        assert!(zone("eu-west-1a").is_ok());
        assert!(zone("EU").is_err());
        assert!(zone("1a").is_err());
        assert!(zone("a").is_err());
        assert!(country("DE").is_ok());
        assert!(country("de").is_err());
        assert!(country("DEU").is_err());
    }

    #[test]
    fn emails() {
        assert!(email("ada@example.com").is_ok());
        assert!(email("  Ada.Lovelace+cloud@mail.example.org ").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a@b@c.com",
            "ada @x.com",
            "ada@.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(normalise_email(" Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn passwords_count_characters_not_bytes() {
        assert!(password("short").is_err());
        assert!(password("0123456789").is_ok());
        assert!(password("ééééééééé").is_err(), "9 characters, 18 bytes");
        assert!(password(&"x".repeat(129)).is_err());
        assert!(password(&" ".repeat(12)).is_err(), "spaces only");
        assert!(
            password(&"\t \u{3000}".repeat(5)).is_err(),
            "any whitespace only"
        );
        assert!(password("two words here").is_ok());
    }

    #[test]
    fn display_names() {
        assert!(display_name("Ada").is_ok());
        assert!(display_name("   ").is_err());
        assert!(display_name(&"n".repeat(81)).is_err());
        assert!(display_name("bad\u{0}name").is_err());
        assert!(
            display_name("evil\u{202E}gnp.exe").is_err(),
            "a right-to-left override"
        );
        assert!(display_name("a\u{2066}b").is_err(), "an isolate");
        assert!(
            display_name("\u{200B}\u{200D}\u{FEFF}").is_err(),
            "zero-width characters only"
        );
        assert!(
            display_name("\u{3164}\u{3164}").is_err(),
            "Hangul fillers only"
        );
        assert!(
            display_name("Zoë\u{200D}").is_ok(),
            "a joiner among letters"
        );
    }

    #[test]
    fn agent_reported_fields_are_plain() {
        for good in [
            "198.51.100.7",
            "198.51.100.7:22000",
            "host-1.example.net:2222",
            "[2001:db8::1]:22",
            "[2001:db8::1]",
            "localhost",
        ] {
            assert_eq!(host_address(good), Ok(()), "{good}");
        }
        for bad in [
            "198.51.100.7; curl x | sh",
            "198.51.100.7:22 -oProxyCommand=x",
            "$(reboot)",
            "a b",
            "host:0",
            "host:65536",
            "host:22:33",
            "-oProxyCommand=x",
            "[::1",
            "[nope]:22",
            "",
            "host..example",
            "ünïcode.example",
            "2001:db8::1",
        ] {
            assert!(host_address(bad).is_err(), "{bad}");
        }
        assert_eq!(agent_version("0.1.0"), Ok(()));
        assert!(agent_version("0.1.0; rm -rf /").is_err());
        assert!(agent_version(&"9".repeat(33)).is_err());
        assert_eq!(host_capacity(64, 256, 4000), Ok(()));
        assert!(host_capacity(u32::MAX, 1, 1).is_err());
    }
}

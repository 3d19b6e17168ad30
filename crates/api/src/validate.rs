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
    Ok(())
}

pub fn display_name(value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Enter your name or your company's.".into());
    }
    if value.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(format!("Use at most {DISPLAY_NAME_MAX_CHARS} characters."));
    }
    if value.chars().any(char::is_control) {
        return Err("The name contains characters that cannot be shown.".into());
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    Discover,
}

impl CardBrand {
    pub fn name(self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Amex => "American Express",
            CardBrand::Discover => "Discover",
        }
    }

    pub fn cvc_len(self) -> usize {
        if self == CardBrand::Amex { 4 } else { 3 }
    }

    fn lengths(self) -> &'static [usize] {
        match self {
            CardBrand::Visa => &[13, 16, 19],
            CardBrand::Mastercard => &[16],
            CardBrand::Amex => &[15],
            CardBrand::Discover => &[16, 17, 18, 19],
        }
    }
}

/// The digits of a card number as typed (spaces and dashes dropped), or
/// None when it has any other character.
pub fn card_digits(value: &str) -> Option<String> {
    let digits: String = value.chars().filter(|c| *c != ' ' && *c != '-').collect();
    digits.chars().all(|c| c.is_ascii_digit()).then_some(digits)
}

/// The brand, from the leading digits (known as soon as they are typed).
pub fn card_brand(digits: &str) -> Option<CardBrand> {
    let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
    if digits.starts_with('4') {
        Some(CardBrand::Visa)
    } else if prefix(2).is_some_and(|p| (51..=55).contains(&p))
        || prefix(4).is_some_and(|p| (2221..=2720).contains(&p))
    {
        Some(CardBrand::Mastercard)
    } else if prefix(2).is_some_and(|p| p == 34 || p == 37) {
        Some(CardBrand::Amex)
    } else if digits.starts_with("6011")
        || digits.starts_with("65")
        || prefix(3).is_some_and(|p| (644..=649).contains(&p))
    {
        Some(CardBrand::Discover)
    } else {
        None
    }
}

pub fn luhn_valid(digits: &str) -> bool {
    if digits.len() < 2 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Checks a whole card number; answers its brand.
pub fn card_number(value: &str) -> Result<CardBrand, String> {
    let Some(digits) = card_digits(value) else {
        return Err("A card number has digits only.".into());
    };
    if digits.is_empty() {
        return Err("Enter the card number.".into());
    }
    let Some(brand) = card_brand(&digits) else {
        return Err("We accept Visa, Mastercard, American Express and Discover.".into());
    };
    if !brand.lengths().contains(&digits.len()) || !luhn_valid(&digits) {
        return Err("This card number is not valid: check it for typos.".into());
    }
    Ok(brand)
}

/// Groups digits as printed on the card: 4-6-5 for Amex, fours otherwise.
pub fn format_card_number(value: &str) -> String {
    let digits: String = value
        .chars()
        .filter(char::is_ascii_digit)
        .take(19)
        .collect();
    let groups: &[usize] = if card_brand(&digits) == Some(CardBrand::Amex) {
        &[4, 6, 5]
    } else {
        &[4, 4, 4, 4, 3]
    };
    let mut out = String::new();
    let mut rest = digits.as_str();
    for size in groups {
        if rest.is_empty() {
            break;
        }
        let (group, tail) = rest.split_at((*size).min(rest.len()));
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(group);
        rest = tail;
    }
    out
}

/// Parses "MM/YY" (or "MM/YYYY") into (month, four-digit year).
pub fn parse_expiry(value: &str) -> Result<(u32, u32), String> {
    let message = || "Enter the expiry as MM/YY.".to_string();
    let (month, year) = value.trim().split_once('/').ok_or_else(message)?;
    let month: u32 = month.trim().parse().map_err(|_| message())?;
    let year_text = year.trim();
    let year: u32 = year_text.parse().map_err(|_| message())?;
    let year = match year_text.len() {
        2 => 2000 + year,
        4 => year,
        _ => return Err(message()),
    };
    if !(1..=12).contains(&month) {
        return Err("The month must be between 01 and 12.".into());
    }
    Ok((month, year))
}

/// A card is valid through the last day of its expiry month.
pub fn card_expiry(month: u32, year: u32, today_year: u32, today_month: u32) -> Result<(), String> {
    if !(1..=12).contains(&month) {
        return Err("The month must be between 01 and 12.".into());
    }
    if (year, month) < (today_year, today_month) {
        return Err("This card has expired.".into());
    }
    if year > today_year + 20 {
        return Err("Check the expiry year.".into());
    }
    Ok(())
}

pub fn cvc(value: &str, brand: Option<CardBrand>) -> Result<(), String> {
    let value = value.trim();
    let digits_only = value.chars().all(|c| c.is_ascii_digit());
    let ok = match brand {
        Some(brand) => value.len() == brand.cvc_len(),
        None => value.len() == 3 || value.len() == 4,
    };
    if digits_only && ok {
        Ok(())
    } else if brand == Some(CardBrand::Amex) {
        Err("Enter the 4-digit code on the front of the card.".into())
    } else {
        Err("Enter the 3-digit code on the back of the card.".into())
    }
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
    fn the_test_cards_are_valid_visa_numbers() {
        for number in [
            "4242 4242 4242 4242",
            "4000 0000 0000 0002",
            "4000000000009995",
        ] {
            assert_eq!(card_number(number), Ok(CardBrand::Visa), "{number}");
        }
    }

    #[test]
    fn card_numbers_are_checked_for_luhn_length_and_brand() {
        assert!(card_number("4242 4242 4242 4241").is_err(), "Luhn");
        assert!(card_number("4242 4242 4242").is_err(), "length");
        assert!(card_number("1234 5678 9012 3452").is_err(), "brand");
        assert!(card_number("4242-4242-4242-424x").is_err(), "letters");
        assert!(card_number("").is_err());
        assert_eq!(
            card_number("5555 5555 5555 4444"),
            Ok(CardBrand::Mastercard)
        );
        assert_eq!(
            card_number("2223 0031 2200 3222"),
            Ok(CardBrand::Mastercard)
        );
        assert_eq!(card_number("3782 822463 10005"), Ok(CardBrand::Amex));
        assert_eq!(card_number("6011 1111 1111 1117"), Ok(CardBrand::Discover));
    }

    #[test]
    fn card_numbers_are_grouped_as_typed() {
        assert_eq!(
            format_card_number("4242424242424242"),
            "4242 4242 4242 4242"
        );
        assert_eq!(format_card_number("42424"), "4242 4");
        assert_eq!(format_card_number("4242 42a"), "4242 42");
        assert_eq!(format_card_number("378282246310005"), "3782 822463 10005");
        assert_eq!(format_card_number(""), "");
    }

    #[test]
    fn expiry_dates() {
        assert_eq!(parse_expiry("04/29"), Ok((4, 2029)));
        assert_eq!(parse_expiry(" 12 / 2031 "), Ok((12, 2031)));
        assert!(parse_expiry("13/29").is_err());
        assert!(parse_expiry("0429").is_err());
        assert!(parse_expiry("04/293").is_err());
        assert!(
            card_expiry(11, 2026, 2026, 11).is_ok(),
            "valid through its month"
        );
        assert!(card_expiry(10, 2026, 2026, 11).is_err());
        assert!(card_expiry(1, 2020, 2026, 11).is_err());
        assert!(card_expiry(1, 2060, 2026, 11).is_err());
    }

    #[test]
    fn cvcs_follow_the_brand() {
        assert!(cvc("123", Some(CardBrand::Visa)).is_ok());
        assert!(cvc("1234", Some(CardBrand::Visa)).is_err());
        assert!(cvc("1234", Some(CardBrand::Amex)).is_ok());
        assert!(cvc("12a", None).is_err());
        assert!(cvc("1234", None).is_ok());
    }

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
    }

    #[test]
    fn display_names() {
        assert!(display_name("Ada").is_ok());
        assert!(display_name("   ").is_err());
        assert!(display_name(&"n".repeat(81)).is_err());
        assert!(display_name("bad\u{0}name").is_err());
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

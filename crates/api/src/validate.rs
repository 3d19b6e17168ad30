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

#[cfg(test)]
mod tests {
    use super::*;

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
}

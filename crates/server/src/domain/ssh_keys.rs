//! Buyers' SSH public keys, parsed in full before they are stored or sent
//! to a host.

use sparecloud_api::validate;

/// Parses an OpenSSH public key in full; ed25519, ECDSA and RSA (2048 bits
/// or more) are accepted.
pub fn ssh_key_check(value: &str) -> Result<(), String> {
    validate::ssh_public_key(value)?;
    let key = ssh_key::PublicKey::from_openssh(value.trim()).map_err(|_| {
        "This is not a valid SSH public key: copy the whole line of your .pub file.".to_string()
    })?;
    match key.key_data() {
        ssh_key::public::KeyData::Ed25519(_) | ssh_key::public::KeyData::Ecdsa(_) => Ok(()),
        ssh_key::public::KeyData::Rsa(rsa) => {
            let bits = rsa.n.as_positive_bytes().map_or(0, |n| n.len() * 8);
            if bits >= 2048 {
                Ok(())
            } else {
                Err("RSA keys must have at least 2048 bits: use an ed25519 key instead.".into())
            }
        }
        _ => Err("Use an ed25519, ECDSA or RSA key.".into()),
    }
}

//! Passwords (argon2id), bearer tokens (random, stored as SHA-256) and
//! ids. No axum: the extractors that use these live in `http::extract`.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// Hashes a password with argon2id (the crate's default: m=19 MiB, t=2, p=1,
/// OWASP's recommendation) and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::internal(format!("password hashing failed: {e}")))
}

/// `hash_password` on the blocking pool: argon2 takes tens of milliseconds
/// of CPU, which must not stall the async workers.
pub async fn hash_password_off_thread(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::internal_from("password hashing panicked", e))?
}

/// `verify_password` on the blocking pool.
pub async fn verify_password_off_thread(password: String, phc: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .map_err(|e| AppError::internal_from("password check panicked", e))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A PHC hash of a random password, verified against when an email is
/// unknown so that a login takes as long whether or not the account exists.
pub fn dummy_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&new_token("dummy")).expect("hash a random password"))
}

/// A new secret token: `prefix_` then 256 random bits in hex. The prefix
/// tells a leaked token's kind at a glance (and to secret scanners).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex(&bytes))
}

/// What is stored of a token: its SHA-256, hex. Tokens have 256 bits of
/// entropy, so a fast hash is enough (no salt or stretching needed).
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A new opaque id: `prefix_` then a time-ordered UUID (v7), which keeps
/// inserts at the end of the primary-key index.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a phc string"));
        assert_ne!(
            hash,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
    }

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = new_token("sc_s");
        let b = new_token("sc_s");
        assert_ne!(a, b);
        assert!(a.starts_with("sc_s_"));
        assert_eq!(a.len(), "sc_s_".len() + 64, "256 bits in hex");
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ids_are_prefixed_and_ordered() {
        let first = new_id("acc");
        let second = new_id("acc");
        assert!(first.starts_with("acc_"));
        assert!(first < second);
    }
}

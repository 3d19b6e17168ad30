//! Passwords (argon2id), bearer tokens (random, stored as SHA-256) and the
//! extractor for the signed-in account.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use sha2::{Digest, Sha256};
use sparecloud_api::accounts::Role;
use sparecloud_api::problem::kinds;

use crate::AppState;
use crate::error::{AppError, AppResult};

/// Hashes a password with argon2id (the crate's default: m=19 MiB, t=2, p=1,
/// OWASP's recommendation) and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
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

/// The bearer token of a request, if it has one.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The signed-in account, from a valid, unexpired session token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub account_id: String,
    pub session_id: String,
    pub is_buyer: bool,
    pub is_seller: bool,
}

impl AuthUser {
    pub fn require(&self, role: Role) -> AppResult<()> {
        let has = match role {
            Role::Buyer => self.is_buyer,
            Role::Seller => self.is_seller,
        };
        if has {
            Ok(())
        } else {
            let what = match role {
                Role::Buyer => "a buyer",
                Role::Seller => "a seller",
            };
            Err(AppError::problem(
                kinds::FORBIDDEN,
                "Not allowed",
                StatusCode::FORBIDDEN,
                format!("This needs an account that is {what}."),
            ))
        }
    }
}

pub fn unauthorized(detail: &str) -> AppError {
    unauthorized_with("Please sign in", detail)
}

pub fn unauthorized_with(title: &str, detail: &str) -> AppError {
    AppError::problem(kinds::UNAUTHORIZED, title, StatusCode::UNAUTHORIZED, detail)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let token = bearer_token(parts)
            .ok_or_else(|| unauthorized("Sign in to do this (no bearer token was sent)."))?;
        let row: Option<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT s.id, a.id, a.is_buyer, a.is_seller
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2",
        )
        .bind(token_hash(token))
        .bind(state.clock.now())
        .fetch_optional(&state.db)
        .await?;
        let (session_id, account_id, is_buyer, is_seller) = row
            .ok_or_else(|| unauthorized("Your session has expired or was ended: sign in again."))?;
        Ok(AuthUser {
            account_id,
            session_id,
            is_buyer: is_buyer != 0,
            is_seller: is_seller != 0,
        })
    }
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

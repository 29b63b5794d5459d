//! Argon2id password hashing. Hashing and verification run on the blocking pool: at the OWASP
//! cost one hash takes tens of milliseconds and must not stall the async workers.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::config::PasswordHashing;
use crate::errors::{ApiError, ApiResult};

fn hasher(mode: PasswordHashing) -> Argon2<'static> {
    let params = match mode {
        PasswordHashing::Owasp => Params::default(),
        PasswordHashing::Fast => {
            Params::new(Params::MIN_M_COST, Params::MIN_T_COST, 1, None).unwrap_or_default()
        }
    };
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on the calling thread (for the synchronous control API).
pub(crate) fn hash_blocking(mode: PasswordHashing, password: &str) -> ApiResult<String> {
    hasher(mode)
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
}

pub(crate) async fn hash(mode: PasswordHashing, password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_blocking(mode, &password))
        .await
        .map_err(|e| ApiError::internal(format!("password hashing task failed: {e}")))?
}

/// Constant-time check inside the argon2 crate; the cost comes from the stored PHC string.
pub(crate) async fn verify(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

//! Random values from the CSPRNG, hashing of stored secrets and constant-time comparison.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// `prefix` + 32 random bytes in base64url: 256 bits, above RFC 6749 §10.10's 128-bit floor.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex SHA-256: stored tokens are kept only in this form, so an exported state holds no usable
/// token and a lookup by hash leaks nothing through timing.
pub(crate) fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two secrets in time independent of where they differ (both are hashed first so
/// their lengths do not leak either).
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Six decimal digits, as upstream SMS and e-mail codes.
pub(crate) fn six_digit_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// A 19-digit numeric user id, the form of every upstream `sub` of a normal user.
pub(crate) fn numeric_sub() -> String {
    rand::rng()
        .random_range(1_000_000_000_000_000_000u64..10_000_000_000_000_000_000u64)
        .to_string()
}

/// Four characters from an alphabet without look-alikes (0/O, 1/I/L).
pub(crate) fn captcha_answer() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..4)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The anonymous user of a device: 22 base64url characters of SHA-256(env, device id), so the
/// same device always gets the same user (upstream derives it from the device id too).
pub(crate) fn anonymous_sub(env_id: &str, device_id: &str) -> String {
    let digest = Sha256::digest(format!("{env_id}\n{device_id}").as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(numeric_sub().len(), 19);
        assert_eq!(six_digit_code().len(), 6);
        assert_eq!(anonymous_sub("e", "d").len(), 22);
        assert!(random_token("m.").starts_with("m."));
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
    }
}

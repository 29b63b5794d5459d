//! The 32-lowercase-hex ids the official SDK sends: `x-request-id` (fresh per attempt)
//! and `x-device-id` (fixed per device).

use rand::Rng;
use reqwest::header::{HeaderName, HeaderValue};

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// 32 lowercase hex characters from the thread's CSPRNG.
fn random_hex32() -> [u8; 32] {
    // A table lookup rather than 16 `format!` calls: this runs on every request.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes: [u8; 16] = rand::rng().random();
    let mut hex = [0u8; 32];
    for (i, byte) in bytes.into_iter().enumerate() {
        hex[2 * i] = HEX[usize::from(byte >> 4)];
        hex[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
    }
    hex
}

/// A new device id, in the official SDK's format (32 lowercase hex characters).
///
/// Anonymous users are tied to the device id: keep the one you generate (a file, a
/// database row) and pass it to [`Config::with_device_id`](crate::Config::with_device_id)
/// so the same anonymous user comes back.
pub fn new_device_id() -> String {
    String::from_utf8_lossy(&random_hex32()).into_owned()
}

/// A fresh `x-request-id` header value.
pub(crate) fn new_request_id() -> HeaderValue {
    // Owned by a `Bytes` that holds the array inline: one allocation, and a clone (for
    // the error report) is a reference count, not a second allocation. Hex digits are
    // always a valid header value.
    HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(random_hex32()))
        .unwrap_or_else(|_| HeaderValue::from_static("0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_lowercase_hex_and_differ() {
        let a = new_device_id();
        let b = new_request_id();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        assert_eq!(b.len(), 32);
        assert_ne!(a.as_bytes(), b.as_bytes());
    }
}

//! Success bodies that carry a secret (tokens, tickets, codes), by operation.
//!
//! The generated code echoes a body it cannot decode in its error (`Debug` and
//! `Display` of `InvalidResponsePayload`), so for these operations the transport decodes
//! the body first, as the generated code will, and withholds it if that fails.
//! `tests/spec.rs` checks this list against the spec: every operation whose success
//! schema has a `*_token`, `ticket` or `device_code` property is here.

use serde::de::DeserializeOwned;

use crate::generated::types;

/// Whether `operation`'s success body may hold a secret.
pub(super) fn guarded(operation: &str) -> bool {
    decoder(operation).is_some()
}

/// `Err(why)` when `operation` is guarded and `body` does not decode as its success type.
pub(super) fn check(operation: &str, body: &[u8]) -> Result<(), String> {
    match decoder(operation) {
        Some(decode) => decode(body),
        None => Ok(()),
    }
}

type Decoder = fn(&[u8]) -> Result<(), String>;

fn decoder(operation: &str) -> Option<Decoder> {
    Some(match operation {
        "sign_in"
        | "sign_in_anonymously"
        | "sign_in_custom"
        | "sign_in_with_provider"
        | "sign_up"
        | "grant_token"
        | "transfer_by_provider"
        | "sign_in_with_wechat" => decodes::<types::TokenResponse>,
        "client_credential_token" => decodes::<types::ClientCredentialResponse>,
        "create_sudo_token" => decodes::<types::SudoResponse>,
        "verify_verification" => decodes::<types::VerificationTokenResponse>,
        "verify_captcha_data" => decodes::<types::CaptchaTokenResponse>,
        "get_captcha_data" => decodes::<types::CaptchaDataResponse>,
        "init_captcha" => decodes::<types::InitCaptchaResponse>,
        "grant_provider_token" | "patch_provider_token" => decodes::<types::ProviderTokenResponse>,
        "request_device_code" => decodes::<types::DeviceCodeResponse>,
        // The authorization code (and, in the implicit forms, tokens).
        "authorize" => decodes::<types::AuthorizeResponse>,
        // A scanned QR code's provider token.
        "get_qrcode_status" => decodes::<types::QrCodeStatusResponse>,
        // Only a paging token, but the rule is by property name: cheap to keep exact.
        "get_security_history" => decodes::<types::SecurityHistoryResponse>,
        _ => return None,
    })
}

fn decodes<T: DeserializeOwned>(body: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<T>(body)
        .map(drop)
        .map_err(|e| crate::failure::describe_json_error(&e))
}

/// The guarded operations, for the spec test.
#[doc(hidden)]
pub fn guarded_operations_for_tests() -> Vec<&'static str> {
    crate::auth::operations()
        .iter()
        .map(|op| op.operation_id)
        .filter(|op| guarded(op))
        .collect()
}

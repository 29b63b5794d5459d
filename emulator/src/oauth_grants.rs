//! The pending halves of the OAuth device-code flow (RFC 8628) and of the authorization-code
//! flow (RFC 6749 §4.1 with PKCE, RFC 7636): codes issued by one call and redeemed at the
//! token endpoint by another. Codes are kept by SHA-256 hash, never in plain text.
//!
//! Bounds: at most [`MAX_PENDING`] live codes of each kind; expired codes are dropped
//! whenever a new one is issued, and a full table answers `resource_exhausted`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::errors::{ApiError, ApiResult};
use crate::secrets::{constant_time_eq, random_token, sha256_hex};

/// Device codes live 10 minutes; clients poll every 5 s (RFC 8628 defaults).
pub(crate) const DEVICE_CODE_TTL_SECS: u64 = 600;
pub(crate) const DEVICE_POLL_INTERVAL_SECS: u64 = 5;
/// RFC 8628 §3.5: every `slow_down` adds 5 s to the interval the device must keep.
const SLOW_DOWN_STEP_SECS: u64 = 5;
/// Authorization codes are short-lived and single use (RFC 6749 §4.1.2 recommends ≤ 10 min).
const AUTH_CODE_TTL_SECS: u64 = 600;
/// Live codes of each kind, so a client cannot grow the table without bound.
pub(crate) const MAX_PENDING: usize = 4096;

/// One device authorization waiting for its user.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeviceGrant {
    user_code: String,
    client_id: String,
    expires_at: u64,
    interval: u64,
    last_poll: Option<u64>,
    approved_by: Option<String>,
}

/// What the token endpoint learns from one device-code poll.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Approved: sign this user in. The code is spent.
    Approved(String),
}

/// Device codes by hash of the device code.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct DeviceCodes {
    by_hash: BTreeMap<String, DeviceGrant>,
}

/// A freshly issued device authorization.
pub(crate) struct IssuedDeviceCode {
    pub device_code: String,
    pub user_code: String,
}

fn user_code() -> String {
    // RFC 8628 §6.1: consonants only, so codes spell no words; 8 characters, grouped 4-4.
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let raw = random_token("");
    let letters: String = raw
        .bytes()
        .take(8)
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

fn full() -> ApiError {
    ApiError::rate_limited(
        DEVICE_POLL_INTERVAL_SECS,
        "too many pending authorizations; try again later",
    )
}

impl DeviceCodes {
    pub(crate) fn issue(&mut self, client_id: &str, now: u64) -> ApiResult<IssuedDeviceCode> {
        self.by_hash.retain(|_, g| g.expires_at > now);
        if self.by_hash.len() >= MAX_PENDING {
            return Err(full());
        }
        let device_code = random_token("dc.");
        let user_code = user_code();
        self.by_hash.insert(
            sha256_hex(&device_code),
            DeviceGrant {
                user_code: user_code.clone(),
                client_id: client_id.to_owned(),
                expires_at: now.saturating_add(DEVICE_CODE_TTL_SECS),
                interval: DEVICE_POLL_INTERVAL_SECS,
                last_poll: None,
                approved_by: None,
            },
        );
        Ok(IssuedDeviceCode {
            device_code,
            user_code,
        })
    }

    /// The signed-in user `sub` approves the authorization showing `user_code`.
    pub(crate) fn approve(&mut self, user_code: &str, sub: &str, now: u64) -> ApiResult<()> {
        let wanted = normalise_user_code(user_code);
        let grant = self
            .by_hash
            .values_mut()
            .find(|g| constant_time_eq(&g.user_code, &wanted))
            .ok_or_else(|| ApiError::invalid_argument("unknown user code"))?;
        if grant.expires_at <= now {
            return Err(ApiError::auth(
                "expired_token",
                "the device code has expired",
            ));
        }
        grant.approved_by = Some(sub.to_owned());
        Ok(())
    }

    /// One poll of the token endpoint with `device_code` (RFC 8628 §3.4-3.5).
    pub(crate) fn poll(&mut self, device_code: &str, client_id: &str, now: u64) -> ApiResult<Poll> {
        let key = sha256_hex(device_code);
        let grant = self
            .by_hash
            .get_mut(&key)
            .filter(|g| g.client_id == client_id)
            .ok_or_else(|| ApiError::invalid_grant("unknown device code"))?;
        if grant.expires_at <= now {
            self.by_hash.remove(&key);
            return Err(ApiError::auth(
                "expired_token",
                "the device code has expired",
            ));
        }
        let too_soon = grant
            .last_poll
            .is_some_and(|last| now.saturating_sub(last) < grant.interval);
        grant.last_poll = Some(now);
        if too_soon {
            grant.interval = grant.interval.saturating_add(SLOW_DOWN_STEP_SECS);
            let description = format!("polling too fast; wait {} s between polls", grant.interval);
            return Err(ApiError::auth("slow_down", description));
        }
        match grant.approved_by.clone() {
            Some(sub) => {
                self.by_hash.remove(&key);
                Ok(Poll::Approved(sub))
            }
            None => Err(ApiError::auth(
                "authorization_pending",
                "the user has not approved this device yet",
            )),
        }
    }
}

/// Users type codes loosely: case and the dash do not matter.
fn normalise_user_code(code: &str) -> String {
    let letters: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() == 8 {
        format!("{}-{}", &letters[..4], &letters[4..])
    } else {
        letters
    }
}

/// One authorization code waiting for the token endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuthCode {
    sub: String,
    client_id: String,
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    challenge_method: Option<String>,
    expires_at: u64,
}

/// What the caller of `POST /auth/v1/user/authorize` asked for.
pub(crate) struct AuthorizeParams {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub challenge_method: Option<String>,
}

/// Authorization codes by hash.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct AuthCodes {
    by_hash: BTreeMap<String, AuthCode>,
}

impl AuthCodes {
    pub(crate) fn issue(
        &mut self,
        sub: &str,
        params: AuthorizeParams,
        now: u64,
    ) -> ApiResult<String> {
        self.by_hash.retain(|_, c| c.expires_at > now);
        if self.by_hash.len() >= MAX_PENDING {
            return Err(full());
        }
        let method = params.challenge_method.filter(|m| !m.is_empty());
        if let Some(method) = method
            .as_deref()
            .filter(|m| !matches!(*m, "S256" | "plain"))
        {
            return Err(ApiError::invalid_argument(format!(
                "code_challenge_method {method:?} is not S256 or plain"
            )));
        }
        let code = random_token("ac.");
        self.by_hash.insert(
            sha256_hex(&code),
            AuthCode {
                sub: sub.to_owned(),
                client_id: params.client_id,
                redirect_uri: params.redirect_uri.filter(|u| !u.is_empty()),
                code_challenge: params.code_challenge.filter(|c| !c.is_empty()),
                challenge_method: method,
                expires_at: now.saturating_add(AUTH_CODE_TTL_SECS),
            },
        );
        Ok(code)
    }

    /// Redeems a code once (RFC 6749 §4.1.3, RFC 7636 §4.6); answers the user it names.
    pub(crate) fn redeem(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now: u64,
    ) -> ApiResult<String> {
        let bad = || ApiError::invalid_grant("authorization code is invalid, expired or used");
        let found = self.by_hash.remove(&sha256_hex(code)).ok_or_else(bad)?;
        if found.expires_at <= now || found.client_id != client_id {
            return Err(bad());
        }
        if found.redirect_uri.is_some() && found.redirect_uri.as_deref() != redirect_uri {
            return Err(ApiError::invalid_grant("redirect_uri does not match"));
        }
        if let Some(challenge) = &found.code_challenge {
            let verifier =
                verifier.ok_or_else(|| ApiError::invalid_grant("code_verifier is required"))?;
            let derived = match found.challenge_method.as_deref() {
                Some("plain") => verifier.to_owned(),
                _ => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            };
            if !constant_time_eq(&derived, challenge) {
                return Err(ApiError::invalid_grant("code_verifier does not match"));
            }
        }
        Ok(found.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `error` name of an answer (its Debug output carries it).
    fn name(error: &ApiError) -> String {
        let debug = format!("{error:?}");
        debug
            .split("error: \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn device_poll_is_pending_then_slow_down_then_approved_once() {
        let mut codes = DeviceCodes::default();
        let issued = codes.issue("env", 100).unwrap();
        let pending = codes.poll(&issued.device_code, "env", 100).unwrap_err();
        assert_eq!(name(&pending), "authorization_pending");
        let fast = codes.poll(&issued.device_code, "env", 102).unwrap_err();
        assert_eq!(name(&fast), "slow_down");
        // The interval grew to 10 s: 9 s later is still too fast.
        let fast = codes.poll(&issued.device_code, "env", 111).unwrap_err();
        assert_eq!(name(&fast), "slow_down");
        codes
            .approve(&issued.user_code.to_lowercase(), "42", 120)
            .unwrap();
        assert_eq!(
            codes.poll(&issued.device_code, "env", 140).unwrap(),
            Poll::Approved("42".into())
        );
        let spent = codes.poll(&issued.device_code, "env", 160).unwrap_err();
        assert_eq!(name(&spent), "invalid_grant");
    }

    #[test]
    fn device_codes_expire_and_belong_to_their_client() {
        let mut codes = DeviceCodes::default();
        let issued = codes.issue("env", 0).unwrap();
        let other = codes.poll(&issued.device_code, "other", 1).unwrap_err();
        assert_eq!(name(&other), "invalid_grant");
        let late = codes
            .poll(&issued.device_code, "env", DEVICE_CODE_TTL_SECS)
            .unwrap_err();
        assert_eq!(name(&late), "expired_token");
    }

    #[test]
    fn pkce_s256_verifier_must_match() {
        let mut codes = AuthCodes::default();
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let params = || AuthorizeParams {
            client_id: "env".into(),
            redirect_uri: None,
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            challenge_method: Some("S256".into()),
        };
        let code = codes.issue("7", params(), 0).unwrap();
        let wrong = codes
            .redeem(&code, "env", None, Some("nope"), 1)
            .unwrap_err();
        assert_eq!(name(&wrong), "invalid_grant");
        let code = codes.issue("7", params(), 0).unwrap();
        assert_eq!(
            codes.redeem(&code, "env", None, Some(verifier), 1).unwrap(),
            "7"
        );
        assert!(codes.redeem(&code, "env", None, Some(verifier), 1).is_err());
    }
}

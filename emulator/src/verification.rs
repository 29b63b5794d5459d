//! SMS / e-mail verification codes and the verification tokens they are exchanged for.
//!
//! Nothing is sent: codes are logged (as the Firebase emulator does) and listed by the control
//! API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};
use crate::secrets::{constant_time_eq, random_token, sha256_hex, six_digit_code};
use crate::users::Contact;

/// Code and verification-id lifetime (upstream: 600 s).
pub(crate) const CODE_TTL_SECS: u64 = 600;
/// Verification-token lifetime (upstream: 600 s).
pub(crate) const TOKEN_TTL_SECS: u64 = 600;
/// One send per target per minute (upstream `rate_limit_exceeded`).
const RESEND_INTERVAL_SECS: u64 = 60;
/// Wrong guesses allowed per code; a 6-digit code must not be brute-forced.
const MAX_ATTEMPTS: u32 = 5;

/// A code the emulator "sent", as listed by the control API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentCode {
    /// The phone number or e-mail address.
    pub target: String,
    pub code: String,
    pub verification_id: String,
    /// Emulator-clock unix seconds.
    pub sent_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Code {
    target: Contact,
    code: String,
    sent_at: u64,
    attempts: u32,
    used: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VerificationToken {
    contact: Contact,
    expires_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Verifications {
    codes: BTreeMap<String, Code>,
    tokens: BTreeMap<String, VerificationToken>,
    last_sent: BTreeMap<String, u64>,
}

fn bad_code(description: &str) -> ApiError {
    ApiError::auth("invalid_verification_code", description)
}

fn bad_token() -> ApiError {
    bad_code("verification_token is invalid, expired or already used")
}

impl Verifications {
    /// Creates a code for `target`, refusing a resend within the interval.
    pub(crate) fn send(&mut self, target: &Contact, now: u64) -> ApiResult<SentCode> {
        if let Some(&last) = self.last_sent.get(target.as_str()) {
            let elapsed = now.saturating_sub(last);
            if elapsed < RESEND_INTERVAL_SECS {
                let retry = RESEND_INTERVAL_SECS - elapsed;
                return Err(ApiError::rate_limited(
                    retry,
                    "a code was sent to this target less than 60 s ago",
                ));
            }
        }
        let sent = SentCode {
            target: target.as_str().to_owned(),
            code: six_digit_code(),
            verification_id: random_token("vid."),
            sent_at: now,
        };
        let code = Code {
            target: target.clone(),
            code: sent.code.clone(),
            sent_at: now,
            attempts: 0,
            used: false,
        };
        // A new code replaces the target's earlier ones: guesses cannot be spread over them.
        for earlier in self.codes.values_mut().filter(|c| c.target == *target) {
            earlier.used = true;
        }
        self.codes.insert(sent.verification_id.clone(), code);
        self.last_sent.insert(sent.target.clone(), now);
        Ok(sent)
    }

    /// Checks a code and exchanges it for a single-use verification token.
    pub(crate) fn verify(
        &mut self,
        verification_id: &str,
        code: &str,
        now: u64,
    ) -> ApiResult<String> {
        let record = self
            .codes
            .get_mut(verification_id)
            .ok_or_else(|| bad_code("unknown verification_id"))?;
        if record.sent_at.saturating_add(CODE_TTL_SECS) <= now {
            return Err(bad_code("verification code expired"));
        }
        if record.used || record.attempts >= MAX_ATTEMPTS {
            return Err(bad_code(
                "verification code already used or attempted too often",
            ));
        }
        if !constant_time_eq(&record.code, code.trim()) {
            record.attempts += 1;
            return Err(bad_code("wrong verification code"));
        }
        record.used = true;
        let contact = record.target.clone();
        let token = random_token("vt.");
        let expires_at = now.saturating_add(TOKEN_TTL_SECS);
        self.tokens.insert(
            sha256_hex(&token),
            VerificationToken {
                contact,
                expires_at,
            },
        );
        Ok(token)
    }

    /// The contact a verification token proves, without using the token up.
    pub(crate) fn peek_token(&self, token: &str, now: u64) -> ApiResult<Contact> {
        self.tokens
            .get(&sha256_hex(token))
            .filter(|t| t.expires_at > now)
            .map(|t| t.contact.clone())
            .ok_or_else(bad_token)
    }

    /// Uses a verification token up and returns the contact it proves.
    pub(crate) fn take_token(&mut self, token: &str, now: u64) -> ApiResult<Contact> {
        let contact = self.peek_token(token, now)?;
        self.tokens.remove(&sha256_hex(token));
        Ok(contact)
    }

    /// Drops expired codes and tokens, and resend marks older than the interval.
    pub(crate) fn prune(&mut self, now: u64) {
        self.codes
            .retain(|_, c| c.sent_at.saturating_add(CODE_TTL_SECS) > now);
        self.tokens.retain(|_, t| t.expires_at > now);
        self.last_sent
            .retain(|_, &mut at| at.saturating_add(RESEND_INTERVAL_SECS) > now);
    }

    /// Every code sent, oldest first.
    pub(crate) fn sent_codes(&self) -> Vec<SentCode> {
        let mut codes: Vec<SentCode> = self
            .codes
            .iter()
            .map(|(id, c)| SentCode {
                target: c.target.as_str().to_owned(),
                code: c.code.clone(),
                verification_id: id.clone(),
                sent_at: c.sent_at,
            })
            .collect();
        codes.sort_by_key(|c| c.sent_at);
        codes
    }
}

/// The contact of a verification token must be the one the request names, if it names one.
pub(crate) fn ensure_same_contact(proved: &Contact, named: Option<&Contact>) -> ApiResult<()> {
    match named {
        Some(named) if named != proved => Err(ApiError::invalid_argument(
            "phone or email does not match validation code",
        )),
        _ => Ok(()),
    }
}

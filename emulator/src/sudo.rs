//! Sudo tokens: proof of a fresh password or verification check, needed to change the
//! password, change a contact or delete the account. Reusable until they expire, the session
//! that asked for one signs out, or the password changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};
use crate::secrets::{random_token, sha256_hex};

/// Upstream: 900 s.
pub(crate) const SUDO_TTL_SECS: u64 = 900;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sudo {
    sub: String,
    /// The session it was issued to.
    #[serde(default)]
    sid: String,
    expires_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct SudoTokens {
    by_hash: BTreeMap<String, Sudo>,
}

impl SudoTokens {
    pub(crate) fn issue(&mut self, sub: &str, sid: &str, now: u64) -> String {
        let token = random_token("sudo.");
        let sudo = Sudo {
            sub: sub.to_owned(),
            sid: sid.to_owned(),
            expires_at: now.saturating_add(SUDO_TTL_SECS),
        };
        self.by_hash.insert(sha256_hex(&token), sudo);
        token
    }

    /// 403 `permission_denied` "bad sudo token" unless the token is this user's and unexpired.
    pub(crate) fn check(&self, token: Option<&str>, sub: &str, now: u64) -> ApiResult<()> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::invalid_argument("sudo_token is required"))?;
        match self.by_hash.get(&sha256_hex(token)) {
            Some(s) if s.sub == sub && s.expires_at > now => Ok(()),
            _ => Err(ApiError::bad_sudo_token()),
        }
    }

    /// Sign-out of a session ends its sudo tokens.
    pub(crate) fn revoke_session(&mut self, sid: &str) {
        self.by_hash.retain(|_, s| s.sid != sid);
    }

    /// A password change or reset ends every sudo token of the user.
    pub(crate) fn revoke_user(&mut self, sub: &str) {
        self.by_hash.retain(|_, s| s.sub != sub);
    }

    pub(crate) fn prune(&mut self, now: u64) {
        self.by_hash.retain(|_, s| s.expires_at > now);
    }
}

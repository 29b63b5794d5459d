//! WeChat mini-program QR-code sign-in. A code is `WAITING` until the control API marks it
//! scanned by a WeChat user (there is no phone to scan it with); the next status poll then
//! hands out a provider token of that user, as upstream does once the user confirms.
//!
//! Bound: at most [`MAX_PENDING`] live codes; expired ones are dropped on every issue.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};
use crate::secrets::random_token;

/// Mini-program codes are short-lived.
pub(crate) const QR_CODE_TTL_SECS: u64 = 300;
pub(crate) const MAX_PENDING: usize = 4096;
/// The provider id of identities that come from a scanned code.
pub(crate) const PROVIDER_ID: &str = "wx_mini";
/// A 1x1 transparent PNG: the emulator draws no real code.
pub(crate) const PLACEHOLDER_IMAGE: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct QrCode {
    env_id: String,
    wx_app_id: String,
    expires_at: u64,
    scanned_by: Option<String>,
}

/// The state of one code as a status poll sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum QrStatus {
    Waiting,
    /// Scanned by this WeChat user (open id).
    Scanned(String),
    Expired,
}

impl QrStatus {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            QrStatus::Waiting => "WAITING",
            QrStatus::Scanned(_) => "SCANNED",
            QrStatus::Expired => "EXPIRED",
        }
    }
}

/// Live QR codes by id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct QrCodes {
    by_id: BTreeMap<String, QrCode>,
}

impl QrCodes {
    pub(crate) fn issue(&mut self, env_id: &str, wx_app_id: &str, now: u64) -> ApiResult<String> {
        self.by_id.retain(|_, c| c.expires_at > now);
        if self.by_id.len() >= MAX_PENDING {
            return Err(ApiError::rate_limited(
                QR_CODE_TTL_SECS,
                "too many pending QR codes; try again later",
            ));
        }
        let id = random_token("qr.");
        self.by_id.insert(
            id.clone(),
            QrCode {
                env_id: env_id.to_owned(),
                wx_app_id: wx_app_id.to_owned(),
                expires_at: now.saturating_add(QR_CODE_TTL_SECS),
                scanned_by: None,
            },
        );
        Ok(id)
    }

    /// The control API's stand-in for a phone: WeChat user `open_id` scans and confirms.
    pub(crate) fn scan(&mut self, id: &str, open_id: &str, now: u64) -> ApiResult<()> {
        let code = self
            .by_id
            .get_mut(id)
            .filter(|c| c.expires_at > now)
            .ok_or_else(|| ApiError::not_found("not_found", "unknown or expired QR code"))?;
        code.scanned_by = Some(open_id.to_owned());
        Ok(())
    }

    /// Status for a poll naming the same environment and app the code was made for.
    pub(crate) fn status(
        &self,
        id: &str,
        env_id: &str,
        wx_app_id: &str,
        now: u64,
    ) -> ApiResult<QrStatus> {
        let code = self
            .by_id
            .get(id)
            .filter(|c| c.env_id == env_id && c.wx_app_id == wx_app_id)
            .ok_or_else(|| ApiError::invalid_argument("unknown qr code"))?;
        Ok(match &code.scanned_by {
            _ if code.expires_at <= now => QrStatus::Expired,
            Some(open_id) => QrStatus::Scanned(open_id.clone()),
            None => QrStatus::Waiting,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_waits_until_scanned_and_expires() {
        let mut codes = QrCodes::default();
        let id = codes.issue("env", "wx1", 0).unwrap();
        assert_eq!(
            codes.status(&id, "env", "wx1", 1).unwrap(),
            QrStatus::Waiting
        );
        assert!(codes.status(&id, "env", "wx2", 1).is_err(), "other app");
        codes.scan(&id, "openid-1", 2).unwrap();
        assert_eq!(
            codes.status(&id, "env", "wx1", 3).unwrap(),
            QrStatus::Scanned("openid-1".into())
        );
        assert_eq!(
            codes.status(&id, "env", "wx1", QR_CODE_TTL_SECS).unwrap(),
            QrStatus::Expired
        );
    }
}

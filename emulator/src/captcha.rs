//! Image captchas and the captcha tokens that solving one yields.
//!
//! The "image" is a fixed 1x1 PNG: the answer is not drawn, tests read it from the control API
//! (`captcha_answers`, `GET /emulator/v1/captcha`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};
use crate::secrets::{captcha_answer, constant_time_eq, random_token, sha256_hex};

/// Image and captcha-token lifetime (upstream: 300 s).
pub(crate) const CAPTCHA_TTL_SECS: u64 = 300;

/// A transparent 1x1 PNG.
pub(crate) const IMAGE_DATA: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Image {
    answer: String,
    expires_at: u64,
    used: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Captchas {
    images: BTreeMap<String, Image>,
    /// Captcha tokens by hash → expiry; removed when used.
    tokens: BTreeMap<String, u64>,
}

impl Captchas {
    /// A new image; returns its token.
    pub(crate) fn new_image(&mut self, now: u64) -> String {
        let token = random_token("cap.");
        let image = Image {
            answer: captcha_answer(),
            expires_at: now.saturating_add(CAPTCHA_TTL_SECS),
            used: false,
        };
        self.images.insert(token.clone(), image);
        token
    }

    /// Checks an answer (case-insensitive). One try per image, so 4 characters cannot be
    /// guessed by brute force.
    pub(crate) fn solve(&mut self, token: &str, key: &str, now: u64) -> ApiResult<String> {
        let image = self
            .images
            .get_mut(token)
            .ok_or_else(|| ApiError::auth("invalid_captcha", "unknown captcha token"))?;
        if image.used {
            return Err(ApiError::auth("captcha_used", "captcha already used"));
        }
        if image.expires_at <= now {
            return Err(ApiError::auth("captcha_expired", "captcha expired"));
        }
        image.used = true;
        if !constant_time_eq(&image.answer, &key.trim().to_ascii_uppercase()) {
            return Err(ApiError::auth("invalid_captcha", "wrong captcha answer"));
        }
        Ok(self.issue_token(now))
    }

    /// A captcha token, usable once.
    fn issue_token(&mut self, now: u64) -> String {
        let token = random_token("v1.");
        self.tokens
            .insert(sha256_hex(&token), now.saturating_add(CAPTCHA_TTL_SECS));
        token
    }

    /// Uses a captcha token up; false when unknown, used or expired.
    pub(crate) fn redeem(&mut self, token: &str, now: u64) -> bool {
        self.tokens
            .remove(&sha256_hex(token))
            .is_some_and(|expires_at| expires_at > now)
    }

    /// Unsolved, unexpired images with their answers.
    pub(crate) fn answers(&self, now: u64) -> Vec<(String, String)> {
        self.images
            .iter()
            .filter(|(_, i)| !i.used && i.expires_at > now)
            .map(|(token, i)| (token.clone(), i.answer.clone()))
            .collect()
    }

    /// Images stay one lifetime past expiry, so a late answer still hears `captcha_expired`.
    pub(crate) fn prune(&mut self, now: u64) {
        self.images
            .retain(|_, i| i.expires_at.saturating_add(CAPTCHA_TTL_SECS) > now);
        self.tokens.retain(|_, &mut expires_at| expires_at > now);
    }
}

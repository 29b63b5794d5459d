//! Captchas, after a call failed with `captcha_required`.

use crate::error::Error;
use crate::generated::types;
use crate::secret::CaptchaToken;
use crate::session::Session;

/// A captcha to show the user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaptchaChallenge {
    /// The image as a `data:` URL.
    pub image: String,
    /// Pass it to [`Session::verify_captcha`] with the user's answer.
    pub token: String,
    /// Seconds the challenge stays valid.
    pub expires_in: Option<i32>,
}

impl Session {
    /// A captcha image, after a call failed with `captcha_required`.
    pub async fn captcha_image(&self) -> Result<CaptchaChallenge, Error> {
        let body = types::CaptchaDataRequest::builder();
        let response = self
            .send(|raw| raw.get_captcha_data().body(body).send())
            .await?;
        Ok(CaptchaChallenge {
            image: response.data.unwrap_or_default(),
            token: response.token.unwrap_or_default(),
            expires_in: response.expires_in,
        })
    }

    /// Checks the user's answer; resend the blocked call inside
    /// [`with_captcha_token`](crate::with_captcha_token).
    pub async fn verify_captcha(&self, token: &str, answer: &str) -> Result<CaptchaToken, Error> {
        let body = types::VerifyCaptchaRequest::builder()
            .token(token.to_string())
            .key(answer.to_string());
        let response = self
            .send(|raw| raw.verify_captcha_data().body(body).send())
            .await?;
        Ok(CaptchaToken::new(
            response.captcha_token.unwrap_or_default(),
        ))
    }
}

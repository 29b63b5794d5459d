//! Image captchas (`captcha/data`, `captcha/data/verify`) and the browser flow's `captcha/init`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::captcha::{CAPTCHA_TTL_SECS, IMAGE_DATA};
use crate::context::JsonBody;
use crate::errors::ApiResult;
use crate::state::App;
use crate::tokens::NoStore;

#[derive(Debug, Serialize)]
pub(crate) struct CaptchaDataResponse {
    data: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    token: String,
    expires_in: u64,
}

pub(crate) async fn get_captcha_data(State(app): State<App>) -> Json<CaptchaDataResponse> {
    let now = app.now();
    let token = app.state().captchas.new_image(now);
    Json(CaptchaDataResponse {
        data: IMAGE_DATA,
        kind: "image",
        token,
        expires_in: CAPTCHA_TTL_SECS,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct VerifyCaptchaRequest {
    token: String,
    key: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct CaptchaTokenResponse {
    captcha_token: String,
    expires_in: u64,
}

pub(crate) async fn verify_captcha_data(
    State(app): State<App>,
    JsonBody(req): JsonBody<VerifyCaptchaRequest>,
) -> ApiResult<NoStore<CaptchaTokenResponse>> {
    let now = app.now();
    let captcha_token = app.state().captchas.solve(&req.token, &req.key, now)?;
    Ok(NoStore(CaptchaTokenResponse {
        captcha_token,
        expires_in: CAPTCHA_TTL_SECS,
    }))
}

/// Upstream answers with either an iframe `url` or a ready `captcha_token`; the emulator has no
/// human check page, so it always hands out the token.
pub(crate) async fn init_captcha(State(app): State<App>) -> NoStore<CaptchaTokenResponse> {
    let now = app.now();
    let captcha_token = app.state().captchas.issue_token(now);
    NoStore(CaptchaTokenResponse {
        captcha_token,
        expires_in: CAPTCHA_TTL_SECS,
    })
}

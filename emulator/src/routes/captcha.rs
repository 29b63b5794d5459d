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

#[derive(Debug, Serialize)]
pub(crate) struct InitCaptchaResponse {
    url: String,
    expires_in: u64,
}

/// Upstream answers with either a `captcha_token` or the `url` of a challenge page. A token for
/// nothing would let a caller skip the captcha it is asked for, so the emulator always answers
/// with a challenge: `url` carries the `token` of a new image captcha, solved like any other
/// with `captcha/data/verify` (its answer is listed by the control API).
pub(crate) async fn init_captcha(State(app): State<App>) -> Json<InitCaptchaResponse> {
    let now = app.now();
    let token = app.state().captchas.new_image(now);
    Json(InitCaptchaResponse {
        url: format!("emulator:captcha?token={token}"),
        expires_in: CAPTCHA_TTL_SECS,
    })
}

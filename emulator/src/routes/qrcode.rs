//! Mini-program QR-code sign-in: create a code, poll its status, and the control API's
//! stand-in for the phone that scans it.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::context::JsonBody;
use crate::errors::{ApiError, ApiResult};
use crate::providers::{Identity, PROVIDER_TOKEN_TTL_SECS};
use crate::qr_login::{PLACEHOLDER_IMAGE, PROVIDER_ID, QR_CODE_TTL_SECS, QrStatus};
use crate::state::App;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QrCodeRequest {
    env_id: String,
    wx_app_id: String,
}

fn same_env(app: &App, env_id: &str) -> ApiResult<()> {
    if env_id == app.config.env_id {
        Ok(())
    } else {
        Err(ApiError::invalid_argument(format!(
            "envId {env_id:?} is not this environment"
        )))
    }
}

pub(crate) async fn generate_qrcode(
    State(app): State<App>,
    JsonBody(req): JsonBody<QrCodeRequest>,
) -> ApiResult<Json<Value>> {
    same_env(&app, &req.env_id)?;
    let now = app.now();
    let id = app
        .state()
        .qr_codes
        .issue(&req.env_id, &req.wx_app_id, now)?;
    Ok(Json(json!({
        "qr_code": PLACEHOLDER_IMAGE,
        "qr_code_id": id,
        "expires_in": QR_CODE_TTL_SECS,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QrCodeStatusRequest {
    qr_code_id: String,
    env_id: String,
    wx_app_id: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct QrCodeStatusResponse {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
}

/// Once scanned, every poll hands out a fresh provider token of the scanning WeChat user.
pub(crate) async fn get_qrcode_status(
    State(app): State<App>,
    JsonBody(req): JsonBody<QrCodeStatusRequest>,
) -> ApiResult<Json<QrCodeStatusResponse>> {
    same_env(&app, &req.env_id)?;
    let now = app.now();
    let mut state = app.state();
    let status = state
        .qr_codes
        .status(&req.qr_code_id, &req.env_id, &req.wx_app_id, now)?;
    let provider_token = match &status {
        QrStatus::Scanned(open_id) => Some(
            state
                .provider_tokens
                .issue(Identity::new(PROVIDER_ID, open_id), now),
        ),
        QrStatus::Waiting | QrStatus::Expired => None,
    };
    Ok(Json(QrCodeStatusResponse {
        status: status.name(),
        expires_in: provider_token.as_ref().map(|_| PROVIDER_TOKEN_TTL_SECS),
        provider_token,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ScanRequest {
    qr_code_id: String,
    /// The scanning WeChat user's open id.
    open_id: String,
}

/// Control API: WeChat user `open_id` scans and confirms the code.
pub(crate) async fn scan(
    State(app): State<App>,
    JsonBody(req): JsonBody<ScanRequest>,
) -> ApiResult<Json<Value>> {
    let now = app.now();
    app.state()
        .qr_codes
        .scan(&req.qr_code_id, &req.open_id, now)?;
    Ok(Json(json!({})))
}

//! Signing devices out, and the OAuth device-code request.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::Authed;
use crate::secrets::{random_token, six_digit_code};
use crate::state::App;

/// Device codes live 10 minutes; clients poll every 5 s (RFC 8628 defaults).
const DEVICE_CODE_TTL_SECS: u64 = 600;
const DEVICE_POLL_INTERVAL_SECS: u64 = 5;
/// An address that cannot resolve (RFC 2606): the emulator has no consent page.
const DEVICE_VERIFICATION_URL: &str = "https://device.emulator.invalid/activate";

/// Signs every session of the caller out, the current one included.
pub(crate) async fn revoke_all_devices(State(app): State<App>, authed: Authed) -> Json<Value> {
    app.state()
        .sessions
        .revoke_where(|_, s| s.sub == authed.sub);
    Json(json!({}))
}

/// Signs out the caller's sessions opened with this `x-device-id`; `{}` even if there were none.
pub(crate) async fn revoke_device(
    State(app): State<App>,
    authed: Authed,
    Path(device_id): Path<String>,
) -> Json<Value> {
    app.state().sessions.revoke_where(|_, s| {
        s.sub == authed.sub && s.device_id.as_deref() == Some(device_id.as_str())
    });
    Json(json!({}))
}

#[derive(Debug, Serialize)]
pub(crate) struct DeviceCodeResponse {
    device_code: String,
    user_code: String,
    expires_in: u64,
    interval: u64,
    verification_url: &'static str,
    verification_uri_complete: String,
}

/// Issues codes in the upstream shape. The consent and polling half of the device flow is not
/// emulated, so the codes are not stored.
pub(crate) async fn request_device_code() -> Json<DeviceCodeResponse> {
    let user_code = six_digit_code();
    Json(DeviceCodeResponse {
        device_code: random_token("dc."),
        verification_uri_complete: format!("{DEVICE_VERIFICATION_URL}?user_code={user_code}"),
        user_code,
        expires_in: DEVICE_CODE_TTL_SECS,
        interval: DEVICE_POLL_INTERVAL_SECS,
        verification_url: DEVICE_VERIFICATION_URL,
    })
}

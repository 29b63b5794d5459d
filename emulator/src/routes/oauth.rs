//! The OAuth flows 3.3.3 drives: the device-code flow (RFC 8628: `device/code`, approval with
//! `user/device/authorize`, polling `token`) and the authorization-code flow with PKCE
//! (`user/authorize/info`, `user/authorize`, then `token`).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{Authed, authenticate};
use crate::context::{Ctx, JsonBody};
use crate::errors::{ApiError, ApiResult};
use crate::oauth_grants::{AuthorizeParams, DEVICE_CODE_TTL_SECS, DEVICE_POLL_INTERVAL_SECS, Poll};
use crate::state::App;
use crate::tokens::{NewSession, NoStore, TokenResponse};

/// An address that cannot resolve (RFC 2606): the emulator has no consent page.
const DEVICE_VERIFICATION_URI: &str = "https://device.emulator.invalid/activate";
/// The grant type of a device-code poll (RFC 8628 §3.4).
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Debug, Serialize)]
pub(crate) struct DeviceCodeResponse {
    device_code: String,
    user_code: String,
    expires_in: u64,
    interval: u64,
    verification_uri: &'static str,
    verification_uri_complete: String,
}

/// Issues a device authorization. 3.3.3 sends a bearer token (then it must be valid and
/// names the client); a device without a session identifies its client instead.
pub(crate) async fn request_device_code(
    State(app): State<App>,
    ctx: Ctx,
) -> ApiResult<Json<DeviceCodeResponse>> {
    let client_id = match ctx.bearer.as_deref() {
        Some(token) => authenticate(&app, Some(token))?.client_id,
        None => ctx.client_id.clone(),
    };
    let now = app.now();
    let issued = app.state().device_codes.issue(&client_id, now)?;
    Ok(Json(DeviceCodeResponse {
        verification_uri_complete: format!(
            "{DEVICE_VERIFICATION_URI}?user_code={}",
            issued.user_code
        ),
        device_code: issued.device_code,
        user_code: issued.user_code,
        expires_in: DEVICE_CODE_TTL_SECS,
        interval: DEVICE_POLL_INTERVAL_SECS,
        verification_uri: DEVICE_VERIFICATION_URI,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeDeviceRequest {
    user_code: String,
}

/// The signed-in user approves the device showing `user_code`.
pub(crate) async fn authorize_device(
    State(app): State<App>,
    authed: Authed,
    JsonBody(req): JsonBody<AuthorizeDeviceRequest>,
) -> ApiResult<Json<Value>> {
    let now = app.now();
    app.state()
        .device_codes
        .approve(&req.user_code, &authed.sub, now)?;
    Ok(Json(json!({})))
}

/// The device-code grant of the token endpoint: `authorization_pending`, `slow_down`,
/// `expired_token` until the user approves, then a session of that user.
pub(crate) fn device_code_grant(
    app: &App,
    ctx: &Ctx,
    device_code: Option<&str>,
) -> ApiResult<NoStore<TokenResponse>> {
    let device_code = device_code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::invalid_argument("device_code is required"))?;
    let now = app.now();
    let Poll::Approved(sub) = app
        .state()
        .device_codes
        .poll(device_code, &ctx.client_id, now)?;
    app.issue(session(ctx, sub, "device_code"))
}

fn session(ctx: &Ctx, sub: String, provider_type: &str) -> NewSession {
    NewSession {
        sub,
        client_id: ctx.client_id.clone(),
        scope: "user",
        provider_type: provider_type.to_owned(),
        device_id: ctx.device_id.clone(),
        with_refresh: true,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeRequest {
    client_id: Option<String>,
    response_type: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// Response type `code` only: the implicit flow (`token`) is refused, as OAuth 2.1 does.
pub(crate) async fn authorize(
    State(app): State<App>,
    authed: Authed,
    JsonBody(req): JsonBody<AuthorizeRequest>,
) -> ApiResult<Json<Value>> {
    match req.response_type.as_deref() {
        Some("code") | None => {}
        Some(other) => {
            return Err(ApiError::auth(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported; use code"),
            ));
        }
    }
    let client_id = req.client_id.unwrap_or(authed.client_id);
    known_client(&app, &client_id)?;
    let params = AuthorizeParams {
        client_id,
        redirect_uri: req.redirect_uri,
        code_challenge: req.code_challenge,
        challenge_method: req.code_challenge_method,
    };
    let now = app.now();
    let code = app.state().auth_codes.issue(&authed.sub, params, now)?;
    let mut answer = json!({ "code": code, "expires_in": 600 });
    if let Some(state) = req.state {
        answer["state"] = Value::String(state);
    }
    Ok(Json(answer))
}

fn known_client(app: &App, client_id: &str) -> ApiResult<()> {
    app.config
        .client(client_id)
        .map(drop)
        .ok_or_else(|| ApiError::invalid_client(format!("unknown client {client_id:?}")))
}

/// The authorization-code grant of the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.5).
pub(crate) fn authorization_code_grant(
    app: &App,
    ctx: &Ctx,
    code: Option<&str>,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> ApiResult<NoStore<TokenResponse>> {
    let code = code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::invalid_argument("code is required"))?;
    let now = app.now();
    let sub =
        app.state()
            .auth_codes
            .redeem(code, &ctx.client_id, redirect_uri, code_verifier, now)?;
    app.issue(session(ctx, sub, "authorization_code"))
}

/// What a consent page shows: the client (from the `client_id` query, else the caller's)
/// and the one scope the emulator knows.
pub(crate) async fn authorize_info(State(app): State<App>, ctx: Ctx) -> ApiResult<Json<Value>> {
    let client_id = match ctx.query("client_id") {
        Some(id) => id.to_owned(),
        None => match ctx.bearer.as_deref() {
            Some(token) => authenticate(&app, Some(token))?.client_id,
            None => ctx.client_id.clone(),
        },
    };
    known_client(&app, &client_id)?;
    Ok(Json(json!({
        "client": { "id": client_id, "name": client_id },
        "scopes": [{ "id": "user", "name": "Your profile" }],
    })))
}

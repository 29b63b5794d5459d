//! Platform-specific operations 3.3.3 calls: WeChat no-auth sign-in, the WeDa user profile,
//! the username check and provider sub-types.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Authed;
use crate::context::JsonBody;
use crate::errors::{ApiError, ApiResult};
use crate::state::App;
use crate::users::validate_username;

/// Upstream signs in the WeChat user the cloud-function platform attaches to the call. No
/// such identity exists outside WeChat, so the emulator refuses as upstream does for a plain
/// HTTP caller.
pub(crate) async fn sign_in_with_wechat() -> ApiError {
    ApiError::permission_denied("no WeChat identity is attached to this call")
}

/// The signed-in user as WeDa sees them.
pub(crate) async fn get_weda_user_info(
    State(app): State<App>,
    authed: Authed,
) -> ApiResult<Json<Value>> {
    let state = app.state();
    let user = state
        .users
        .get(&authed.sub)
        .ok_or_else(ApiError::user_not_found)?;
    let mut profile = json!({ "sub": user.sub });
    let optional = [
        ("name", &user.name),
        ("username", &user.username),
        ("picture", &user.picture),
        ("email", &user.email),
        ("phone_number", &user.phone_number),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            profile[key] = Value::String(value.clone());
        }
    }
    Ok(Json(profile))
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckUsernameRequest {
    username: String,
}

/// `{}` when the username is valid and free (or already the caller's).
pub(crate) async fn check_username(
    State(app): State<App>,
    authed: Authed,
    JsonBody(req): JsonBody<CheckUsernameRequest>,
) -> ApiResult<Json<Value>> {
    validate_username(&req.username)?;
    app.state()
        .users
        .ensure_username_free(&req.username, Some(&authed.sub))?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ProviderSubTypeRequest {
    provider_id: String,
}

/// No provider of the emulator has a sub-type (no WeDa no-auth login): an empty one.
pub(crate) async fn get_provider_sub_type(
    JsonBody(req): JsonBody<ProviderSubTypeRequest>,
) -> Json<Value> {
    Json(json!({ "id": req.provider_id, "provider_sub_type": "" }))
}

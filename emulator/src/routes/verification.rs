//! Sending and checking SMS / e-mail verification codes.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::auth::authenticate;
use crate::context::{Ctx, JsonBody};
use crate::errors::{ApiError, ApiResult};
use crate::state::App;
use crate::tokens::NoStore;
use crate::users::Contact;
use crate::verification::{CODE_TTL_SECS, TOKEN_TTL_SECS};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Target {
    Any,
    User,
    NotUser,
    CurUser,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SendVerificationRequest {
    target: Target,
    phone_number: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct VerificationResponse {
    verification_id: String,
    expires_in: u64,
    is_user: bool,
}

/// "Sends" a code: logs it and keeps it for the control API.
pub(crate) async fn send_verification(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(req): JsonBody<SendVerificationRequest>,
) -> ApiResult<Json<VerificationResponse>> {
    let contact = Contact::from_fields(req.phone_number.as_deref(), req.email.as_deref())?;
    let current = match req.target {
        Target::CurUser => Some(authenticate(&app, ctx.bearer.as_deref())?.sub),
        Target::Any | Target::User | Target::NotUser => None,
    };
    let now = app.now();
    let (sent, is_user) = {
        let mut state = app.state();
        let owner = state.users.by_contact(&contact).map(|u| u.sub.clone());
        check_target(&req.target, owner.as_deref(), current.as_deref())?;
        (state.verifications.send(&contact, now)?, owner.is_some())
    };
    tracing::info!(target_contact = %sent.target, code = %sent.code, "emulated verification code sent");
    Ok(Json(VerificationResponse {
        verification_id: sent.verification_id,
        expires_in: CODE_TTL_SECS,
        is_user,
    }))
}

/// USER needs an existing owner, NOT_USER none, CUR_USER the signed-in caller.
fn check_target(target: &Target, owner: Option<&str>, current: Option<&str>) -> ApiResult<()> {
    match target {
        Target::User if owner.is_none() => Err(ApiError::user_not_found()),
        Target::NotUser if owner.is_some() => Err(ApiError::already_exists(
            "already_exists",
            "a user with this phone number or e-mail address already exists",
        )),
        Target::CurUser if owner != current => Err(ApiError::permission_denied(
            "the phone number or e-mail address is not the current user's",
        )),
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct VerifyVerificationRequest {
    verification_id: String,
    verification_code: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct VerificationTokenResponse {
    verification_token: String,
    expires_in: u64,
}

pub(crate) async fn verify_verification(
    State(app): State<App>,
    JsonBody(req): JsonBody<VerifyVerificationRequest>,
) -> ApiResult<NoStore<VerificationTokenResponse>> {
    let now = app.now();
    let token =
        app.state()
            .verifications
            .verify(&req.verification_id, &req.verification_code, now)?;
    Ok(NoStore(VerificationTokenResponse {
        verification_token: token,
        expires_in: TOKEN_TTL_SECS,
    }))
}

//! Third-party sign-in, provider tokens and the user's linked providers.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Authed;
use crate::context::{Ctx, JsonBody};
use crate::custom_login::ticket_identity;
use crate::errors::{ApiError, ApiResult};
use crate::providers::{
    self, Identity, LinkedProvider, PROVIDER_TOKEN_TTL_SECS, ProviderProfile, ProviderTokens,
};
use crate::state::App;
use crate::tokens::{NewSession, NoStore, TokenResponse};
use crate::users::{Contact, User};

/// Where `provider/uri` sends the browser when the caller gave no `redirect_uri`.
const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// The provider-side user the emulated authorization page approves.
const APPROVED_PROVIDER_USER: &str = "emulator-user";

/// The emulated provider approves at once: the URI is the caller's `redirect_uri` with
/// `code=emulator-user` and the `state`, as a real provider would redirect back.
pub(crate) async fn get_provider_uri(ctx: Ctx) -> ApiResult<Json<Value>> {
    ctx.query("provider_id")
        .ok_or_else(|| ApiError::invalid_argument("provider_id is required"))?;
    let redirect_uri = ctx.query("redirect_uri").unwrap_or(DEFAULT_REDIRECT_URI);
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", APPROVED_PROVIDER_USER);
    if let Some(state) = ctx.query("state") {
        query.append_pair("state", state);
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    Ok(Json(
        json!({ "uri": format!("{redirect_uri}{separator}{}", query.finish()) }),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct GrantProviderTokenRequest {
    provider_id: String,
    provider_code: Option<String>,
    provider_access_token: Option<String>,
    provider_id_token: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ProviderTokenResponse {
    provider_token: String,
    expires_in: u64,
    provider_profile: ProviderProfile,
}

/// Exchanges a provider code (or access / id token) for a provider token. The code is the
/// provider-side user id (see [`crate::providers`]).
pub(crate) async fn grant_provider_token(
    State(app): State<App>,
    JsonBody(req): JsonBody<GrantProviderTokenRequest>,
) -> ApiResult<NoStore<ProviderTokenResponse>> {
    let provider_user = [
        req.provider_code,
        req.provider_access_token,
        req.provider_id_token,
    ]
    .into_iter()
    .flatten()
    .find(|v| !v.is_empty())
    .ok_or_else(|| {
        ApiError::invalid_argument(
            "provider_code, provider_access_token or provider_id_token is required",
        )
    })?;
    if req.provider_id.is_empty() || req.provider_id.len() > 64 || provider_user.len() > 128 {
        return Err(ApiError::invalid_argument(
            "provider_id or provider code too long or empty",
        ));
    }
    let identity = Identity::new(&req.provider_id, &provider_user);
    let now = app.now();
    let provider_token = app.state().provider_tokens.issue(identity.clone(), now);
    let provider_profile = ProviderProfile::from(&identity);
    Ok(NoStore(ProviderTokenResponse {
        provider_token,
        expires_in: PROVIDER_TOKEN_TTL_SECS,
        provider_profile,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProviderParams {
    encrypted_data: Option<String>,
    /// The newer WeChat phone-number code (3.3.3 `provider_params.code`).
    code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PatchProviderTokenRequest {
    provider_token: String,
    provider_params: Option<ProviderParams>,
}

/// The WeChat phone-number step. Nothing is encrypted in the emulator: `encryptedData`, or
/// the phone-number `code`, is read as the phone number itself ("+86 13800000000").
pub(crate) async fn patch_provider_token(
    State(app): State<App>,
    JsonBody(req): JsonBody<PatchProviderTokenRequest>,
) -> ApiResult<NoStore<ProviderTokenResponse>> {
    let phone = req
        .provider_params
        .and_then(|p| p.encrypted_data.or(p.code))
        .ok_or_else(|| {
            ApiError::invalid_argument("provider_params.encryptedData or .code is required")
        })?;
    let phone = Contact::phone(&phone)?;
    let now = app.now();
    let identity =
        app.state()
            .provider_tokens
            .set_phone(&req.provider_token, phone.as_str(), now)?;
    Ok(NoStore(ProviderTokenResponse {
        provider_token: req.provider_token,
        expires_in: ProviderTokens::remaining_secs(&identity, now),
        provider_profile: ProviderProfile::from(&identity),
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInWithProviderRequest {
    provider_token: String,
    provider_id: Option<String>,
    #[serde(default)]
    force_disable_sign_up: bool,
}

/// Signs in the user bound to the identity, binding or signing up as upstream does. With
/// `provider_id` "custom" the token is a custom-login ticket (what the SDKs send).
pub(crate) async fn sign_in_with_provider(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(req): JsonBody<SignInWithProviderRequest>,
) -> ApiResult<NoStore<TokenResponse>> {
    let identity = if req.provider_id.as_deref() == Some("custom") {
        ticket_identity(&app, &req.provider_token)?
    } else {
        let now = app.now();
        app.state().provider_tokens.get(&req.provider_token, now)?
    };
    if req
        .provider_id
        .as_deref()
        .is_some_and(|id| id != identity.provider_id)
    {
        return Err(ApiError::invalid_argument(
            "provider_id does not match the provider token",
        ));
    }
    sign_in_identity(&app, &ctx, &identity, !req.force_disable_sign_up)
}

/// The bound user; else the user owning the identity's phone number (then bound); else a new
/// user when sign-up is allowed.
pub(crate) fn sign_in_identity(
    app: &App,
    ctx: &Ctx,
    identity: &Identity,
    allow_sign_up: bool,
) -> ApiResult<NoStore<TokenResponse>> {
    let now = app.now();
    let sub = {
        let mut state = app.state();
        let users = &mut state.users;
        let phone = identity
            .phone_number
            .as_deref()
            .and_then(|p| Contact::phone(p).ok());
        let bound = users
            .by_link(&identity.provider_id, &identity.provider_user_id)
            .map(|u| u.sub.clone());
        let by_phone = phone
            .as_ref()
            .and_then(|c| users.by_contact(c))
            .map(|u| u.sub.clone());
        match (bound, by_phone) {
            (Some(sub), _) => sub,
            (None, Some(sub)) => {
                providers::link(users, &sub, identity, false)?;
                sub
            }
            (None, None) if allow_sign_up => {
                let mut user = User::new(users.new_sub(), &identity.provider_id, now);
                user.name = Some(identity.provider_user_id.clone());
                user.phone_number = phone.map(|c| c.as_str().to_owned());
                let sub = user.sub.clone();
                users.insert(user);
                providers::link(users, &sub, identity, false)?;
                sub
            }
            (None, None) => return Err(ApiError::user_not_found()),
        }
    };
    app.issue(NewSession {
        sub,
        client_id: ctx.client_id.clone(),
        scope: "user",
        provider_type: identity.provider_id.clone(),
        device_id: ctx.device_id.clone(),
        with_refresh: true,
    })
}

#[derive(Debug, Serialize)]
pub(crate) struct ProvidersResponse {
    total: usize,
    data: Vec<LinkedProvider>,
}

pub(crate) async fn list_user_providers(
    State(app): State<App>,
    authed: Authed,
) -> ApiResult<Json<ProvidersResponse>> {
    let state = app.state();
    let user = state
        .users
        .get(&authed.sub)
        .ok_or_else(ApiError::user_not_found)?;
    let data = providers::list(user);
    Ok(Json(ProvidersResponse {
        total: data.len(),
        data,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct BindProviderRequest {
    provider_token: String,
}

pub(crate) async fn bind_provider(
    State(app): State<App>,
    authed: Authed,
    JsonBody(req): JsonBody<BindProviderRequest>,
) -> ApiResult<Json<Value>> {
    let now = app.now();
    let mut state = app.state();
    let identity = state.provider_tokens.get(&req.provider_token, now)?;
    providers::link(&mut state.users, &authed.sub, &identity, false)?;
    Ok(Json(json!({})))
}

pub(crate) async fn unbind_provider(
    State(app): State<App>,
    authed: Authed,
    Path(provider_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut state = app.state();
    let mut user = state
        .users
        .get_mut(&authed.sub)
        .ok_or_else(ApiError::user_not_found)?;
    if user.link(&provider_id).is_none() {
        return Err(ApiError::not_found(
            "provider_not_found",
            "this provider is not bound to the user",
        ));
    }
    user.providers.retain(|l| l.provider_id != provider_id);
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
pub(crate) struct TransferProviderRequest {
    provider_trans_token: String,
}

/// Moves the identity of a provider token (bound to another account) to the caller.
pub(crate) async fn transfer_provider(
    State(app): State<App>,
    authed: Authed,
    Path(provider_id): Path<String>,
    JsonBody(req): JsonBody<TransferProviderRequest>,
) -> ApiResult<Json<Value>> {
    let now = app.now();
    let mut state = app.state();
    let identity = state.provider_tokens.get(&req.provider_trans_token, now)?;
    if identity.provider_id != provider_id {
        return Err(ApiError::invalid_argument(
            "the token is for another provider",
        ));
    }
    providers::link(&mut state.users, &authed.sub, &identity, true)?;
    Ok(Json(json!({ "client_id": authed.client_id })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct TransferByProviderRequest {
    provider_token: String,
}

/// Moves the identity to the caller and answers with a new session of the caller.
pub(crate) async fn transfer_by_provider(
    State(app): State<App>,
    authed: Authed,
    ctx: Ctx,
    JsonBody(req): JsonBody<TransferByProviderRequest>,
) -> ApiResult<NoStore<TokenResponse>> {
    let now = app.now();
    let identity = {
        let mut state = app.state();
        let identity = state.provider_tokens.get(&req.provider_token, now)?;
        providers::link(&mut state.users, &authed.sub, &identity, true)?;
        identity
    };
    app.issue(NewSession {
        sub: authed.sub,
        client_id: authed.client_id,
        scope: "user",
        provider_type: identity.provider_id,
        device_id: ctx.device_id,
        with_refresh: true,
    })
}

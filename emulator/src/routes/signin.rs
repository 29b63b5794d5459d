//! Sign-in, sign-up, sign-out, anonymous and custom sign-in, password reset.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::LiveSession;
use crate::context::{Ctx, JsonBody};
use crate::custom_login::ticket_identity;
use crate::errors::{ApiError, ApiResult};
use crate::lockout::account_key;
use crate::providers::{self, Identity};
use crate::routes::providers::sign_in_identity;
use crate::secrets::anonymous_sub;
use crate::state::App;
use crate::tokens::{NewSession, NoStore, TokenResponse};
use crate::users::{Contact, User, validate_password, validate_username};
use crate::verification::ensure_same_contact;

type TokenResult = ApiResult<NoStore<TokenResponse>>;

#[derive(Debug, Deserialize)]
pub(crate) struct SignInRequest {
    username: Option<String>,
    password: Option<String>,
    verification_token: Option<String>,
}

pub(crate) async fn sign_in(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(req): JsonBody<SignInRequest>,
) -> TokenResult {
    match (req.username, req.password, req.verification_token) {
        (Some(username), Some(password), None) => {
            with_password(&app, &ctx, &username, password).await
        }
        (None, None, Some(token)) => with_verification_token(&app, &ctx, &token),
        _ => Err(ApiError::invalid_argument(
            "send either username and password, or verification_token",
        )),
    }
}

fn invalid_password() -> ApiError {
    ApiError::auth("invalid_password", "wrong username or password")
}

fn user_session(ctx: &Ctx, sub: String, provider_type: &str) -> NewSession {
    NewSession {
        sub,
        client_id: ctx.client_id.clone(),
        scope: "user",
        provider_type: provider_type.to_owned(),
        device_id: ctx.device_id.clone(),
        with_refresh: true,
    }
}

/// Password sign-in (also the `password` grant). An unknown login, or a user without a
/// password, answers like a wrong password and takes as long (a check against a dummy hash of
/// the same cost), so logins cannot be enumerated; all count towards captcha and lockout.
pub(crate) async fn with_password(
    app: &App,
    ctx: &Ctx,
    login: &str,
    password: String,
) -> TokenResult {
    let now = app.now();
    let (found, key) = {
        let mut guard = app.state();
        let state = &mut *guard;
        let found = state
            .users
            .by_login(login)
            .map(|u| (u.sub.clone(), u.password_hash.clone(), login_kind(u, login)));
        let key = account_key(found.as_ref().map(|(sub, ..)| sub.as_str()), login);
        let captchas = &mut state.captchas;
        let captcha = ctx.captcha_token.as_deref();
        state
            .sign_ins
            .reserve(&key, now, app.config.captcha_after_failed_sign_ins, || {
                captcha.is_some_and(|t| captchas.redeem(t, now))
            })?;
        (found, key)
    };
    let (sub, hash, provider_type) = match found {
        Some((sub, hash, kind)) => (Some(sub), hash, kind),
        None => (None, None, "username"),
    };
    let checked = app.passwords.verify(password, hash).await;
    let signed_in = checked.as_ref().is_ok_and(|&ok| ok);
    if signed_in || checked.is_err() {
        // Success, or never evaluated (hashing refused): not a failure.
        app.state().sign_ins.release(&key, now, signed_in);
    }
    match (sub, checked?) {
        (Some(sub), true) => app.issue(user_session(ctx, sub, provider_type)),
        _ => Err(invalid_password()),
    }
}

/// Which of username, phone or e-mail the login matched (the `provider_type` claim).
fn login_kind(user: &User, login: &str) -> &'static str {
    if user.username.as_deref() == Some(login) {
        "username"
    } else {
        Contact::parse(login).map_or("username", |c| c.provider_type())
    }
}

fn with_verification_token(app: &App, ctx: &Ctx, token: &str) -> TokenResult {
    let now = app.now();
    let (sub, contact) = {
        let mut state = app.state();
        let contact = state.verifications.peek_token(token, now)?;
        let sub = state
            .users
            .by_contact(&contact)
            .map(|u| u.sub.clone())
            .ok_or_else(ApiError::user_not_found)?;
        state.verifications.take_token(token, now)?;
        (sub, contact)
    };
    app.issue(user_session(ctx, sub, contact.provider_type()))
}

/// One anonymous user per device id; no refresh token (upstream example omits it).
pub(crate) async fn sign_in_anonymously(State(app): State<App>, ctx: Ctx) -> TokenResult {
    let device_id = ctx
        .device_id
        .clone()
        .ok_or_else(|| ApiError::invalid_argument("the x-device-id header is required"))?;
    let sub = anonymous_sub(&app.config.env_id, &device_id);
    {
        let mut state = app.state();
        if state.users.get(&sub).is_none() {
            let mut user = User::new(sub.clone(), "anonymous", app.now());
            user.anonymous = true;
            state.users.insert(user);
        }
    }
    app.issue(NewSession {
        sub,
        client_id: ctx.client_id.clone(),
        scope: "anonymous",
        provider_type: "anonymous".to_owned(),
        device_id: Some(device_id),
        with_refresh: false,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignUpRequest {
    phone_number: Option<String>,
    email: Option<String>,
    verification_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    name: Option<String>,
    gender: Option<String>,
    picture: Option<String>,
    locale: Option<String>,
    provider_token: Option<String>,
    anonymous_token: Option<String>,
}

/// What proves the new account: a verified phone number or e-mail address, or else a
/// third-party identity (3.3.3 makes both optional; one is needed).
enum Proof {
    Contact(Contact),
    Identity(Identity),
}

impl Proof {
    fn created_from(&self) -> &str {
        match self {
            Proof::Contact(contact) => contact.provider_type(),
            Proof::Identity(identity) => &identity.provider_id,
        }
    }
}

/// Sign-up proves a phone number or e-mail address with a verification token, or an identity
/// with a provider token; username and password are optional extras (upstream refuses
/// username+password alone). `anonymous_token` upgrades that anonymous user in place.
pub(crate) async fn sign_up(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(req): JsonBody<SignUpRequest>,
) -> TokenResult {
    let named = named_contact(req.phone_number.as_deref(), req.email.as_deref())?;
    if let Some(username) = &req.username {
        validate_username(username)?;
    }
    if let Some(password) = &req.password {
        validate_password(password)?;
    }
    let upgrade = anonymous_to_upgrade(&app, req.anonymous_token.as_deref())?;
    let proof = check_sign_up(&app, &req, named.as_ref())?;
    let password_hash = match req.password.clone() {
        Some(password) => Some(app.passwords.hash(password).await?),
        None => None,
    };
    let created_from = proof.created_from().to_owned();
    let sub = commit_sign_up(&app, &req, &proof, upgrade, password_hash)?;
    app.issue(user_session(&ctx, sub, &created_from))
}

/// The anonymous user an `anonymous_token` (an anonymous session's access token) names.
fn anonymous_to_upgrade(app: &App, token: Option<&str>) -> ApiResult<Option<String>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let authed = crate::auth::authenticate(app, Some(token))?;
    let anonymous = app
        .state()
        .users
        .get(&authed.sub)
        .is_some_and(|u| u.anonymous);
    if !anonymous {
        return Err(ApiError::invalid_argument(
            "anonymous_token is not an anonymous user's access token",
        ));
    }
    Ok(Some(authed.sub))
}

/// The phone number or e-mail a request names, if any.
fn named_contact(phone: Option<&str>, email: Option<&str>) -> ApiResult<Option<Contact>> {
    match (
        phone.filter(|p| !p.is_empty()),
        email.filter(|e| !e.is_empty()),
    ) {
        (None, None) => Ok(None),
        (phone, email) => Contact::from_fields(phone, email).map(Some),
    }
}

/// Checks everything that can fail before the (slow) password hash; returns the proof.
fn check_sign_up(app: &App, req: &SignUpRequest, named: Option<&Contact>) -> ApiResult<Proof> {
    let now = app.now();
    let state = app.state();
    let identity = req
        .provider_token
        .as_deref()
        .map(|token| state.provider_tokens.get(token, now))
        .transpose()?;
    let proof = match (req.verification_token.as_deref(), identity) {
        (Some(token), _) => {
            let contact = state.verifications.peek_token(token, now)?;
            ensure_same_contact(&contact, named)?;
            state.users.ensure_contact_free(&contact, None)?;
            Ok(Proof::Contact(contact))
        }
        (None, Some(identity)) => {
            if state
                .users
                .by_link(&identity.provider_id, &identity.provider_user_id)
                .is_some()
            {
                return Err(ApiError::already_exists(
                    "already_exists",
                    "this identity already belongs to a user; sign in with it",
                ));
            }
            Ok(Proof::Identity(identity))
        }
        (None, None) => Err(ApiError::invalid_argument(
            "send verification_token (a verified phone number or e-mail) or provider_token",
        )),
    }?;
    if let Some(username) = &req.username {
        state.users.ensure_username_free(username, None)?;
    }
    Ok(proof)
}

/// Re-checks under the lock (another request may have won meanwhile) and creates the user,
/// or turns the anonymous user `upgrade` into it.
fn commit_sign_up(
    app: &App,
    req: &SignUpRequest,
    proof: &Proof,
    upgrade: Option<String>,
    password_hash: Option<String>,
) -> ApiResult<String> {
    let now = app.now();
    let mut state = app.state();
    if let Some(username) = &req.username {
        state.users.ensure_username_free(username, None)?;
    }
    let identity: Option<Identity> = req
        .provider_token
        .as_deref()
        .map(|t| state.provider_tokens.get(t, now))
        .transpose()?;
    if let Proof::Contact(contact) = proof {
        state.users.ensure_contact_free(contact, None)?;
        if let Some(token) = &req.verification_token {
            state.verifications.take_token(token, now)?;
        }
    }
    let mut user = match upgrade.and_then(|sub| state.users.remove(&sub)) {
        Some(mut anonymous) => {
            anonymous.anonymous = false;
            anonymous
        }
        None => User::new(state.users.new_sub(), proof.created_from(), now),
    };
    if let Proof::Contact(contact) = proof {
        user.set_contact(Some(contact), contact);
    }
    user.username.clone_from(&req.username);
    user.password_updated_at = password_hash.as_ref().map(|_| now);
    user.password_hash = password_hash;
    user.name.clone_from(&req.name);
    user.gender.clone_from(&req.gender);
    user.picture.clone_from(&req.picture);
    user.locale.clone_from(&req.locale);
    let sub = user.sub.clone();
    state.users.insert(user);
    if let Some(identity) = identity {
        providers::link(&mut state.users, &sub, &identity, false)?;
    }
    Ok(sub)
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignOutRequest {
    redirect_uri: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SignOutResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_uri: Option<String>,
}

/// Revokes the session (refresh family and access tokens); works with an expired access token.
pub(crate) async fn sign_out(
    State(app): State<App>,
    LiveSession(authed): LiveSession,
    JsonBody(req): JsonBody<SignOutRequest>,
) -> Json<SignOutResponse> {
    let mut state = app.state();
    state.sessions.revoke(&authed.sid);
    state.sudo.revoke_session(&authed.sid);
    Json(SignOutResponse {
        redirect_uri: req.redirect_uri,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInCustomRequest {
    provider_id: String,
    ticket: String,
}

pub(crate) async fn sign_in_custom(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(req): JsonBody<SignInCustomRequest>,
) -> TokenResult {
    if req.provider_id != "custom" {
        return Err(ApiError::invalid_argument("provider_id must be \"custom\""));
    }
    let identity = ticket_identity(&app, &req.ticket)?;
    sign_in_identity(&app, &ctx, &identity, true)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResetPasswordRequest {
    email: Option<String>,
    phone_number: Option<String>,
    new_password: String,
    verification_token: String,
}

/// Sets a new password with a verification token for the user's phone or e-mail, and signs
/// every session of the user out.
pub(crate) async fn reset_password(
    State(app): State<App>,
    JsonBody(req): JsonBody<ResetPasswordRequest>,
) -> ApiResult<Json<Value>> {
    let named = named_contact(req.phone_number.as_deref(), req.email.as_deref())?
        .ok_or_else(|| ApiError::invalid_argument("email or phone number is empty"))?;
    validate_password(&req.new_password)?;
    {
        let state = app.state();
        let contact = state
            .verifications
            .peek_token(&req.verification_token, app.now())?;
        ensure_same_contact(&contact, Some(&named))?;
        state
            .users
            .by_contact(&contact)
            .ok_or_else(ApiError::user_not_found)?;
    }
    let hash = app.passwords.hash(req.new_password).await?;
    let now = app.now();
    let mut state = app.state();
    let contact = state
        .verifications
        .take_token(&req.verification_token, now)?;
    let user = state
        .users
        .by_contact(&contact)
        .map(|u| u.sub.clone())
        .ok_or_else(ApiError::user_not_found)?;
    if let Some(mut user) = state.users.get_mut(&user) {
        user.password_hash = Some(hash);
        user.password_updated_at = Some(now);
        user.updated_at = now;
    }
    state.sessions.revoke_where(|_, s| s.sub == user);
    state.sudo.revoke_user(&user);
    Ok(Json(json!({})))
}

//! The signed-in user: profile, sudo, password, contact, deletion, lookups.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Authed;
use crate::context::{Ctx, JsonBody};
use crate::errors::{ApiError, ApiResult};
use crate::state::App;
use crate::sudo::SUDO_TTL_SECS;
use crate::tokens::NoStore;
use crate::users::{Address, Contact, Profile, QueriedUser, validate_password, validate_username};
use crate::verification::ensure_same_contact;

fn empty() -> Json<Value> {
    Json(json!({}))
}

/// Overwrites `field` only when the request sent a value.
fn set_if(field: &mut Option<String>, value: Option<String>) {
    if value.is_some() {
        *field = value;
    }
}

pub(crate) async fn get_user_me(
    State(app): State<App>,
    authed: Authed,
) -> ApiResult<Json<Profile>> {
    let state = app.state();
    let user = state
        .users
        .get(&authed.sub)
        .ok_or_else(ApiError::user_not_found)?;
    Ok(Json(Profile::from(user)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdateProfileRequest {
    name: Option<String>,
    picture: Option<String>,
    gender: Option<String>,
    birthdate: Option<String>,
    zoneinfo: Option<String>,
    locale: Option<String>,
    address: Option<Address>,
}

/// `PATCH user/me` and `PATCH user/profile`: partial profile update, answered with the profile.
pub(crate) async fn update_profile(
    State(app): State<App>,
    authed: Authed,
    JsonBody(req): JsonBody<UpdateProfileRequest>,
) -> ApiResult<Json<Profile>> {
    let now = app.now();
    let mut state = app.state();
    let mut user = state
        .users
        .get_mut(&authed.sub)
        .ok_or_else(ApiError::user_not_found)?;
    set_if(&mut user.name, req.name);
    set_if(&mut user.picture, req.picture);
    set_if(&mut user.gender, req.gender);
    set_if(&mut user.birthdate, req.birthdate);
    set_if(&mut user.zoneinfo, req.zoneinfo);
    set_if(&mut user.locale, req.locale);
    if req.address.is_some() {
        user.address = req.address;
    }
    user.updated_at = now;
    Ok(Json(Profile::from(&*user)))
}

/// `DELETE user/me?sudo_token=`: deletes the user and signs all its sessions out.
pub(crate) async fn delete_user_me(
    State(app): State<App>,
    authed: Authed,
    ctx: Ctx,
) -> ApiResult<Json<Value>> {
    let now = app.now();
    let mut state = app.state();
    state
        .sudo
        .check(ctx.query("sudo_token"), &authed.sub, now)?;
    state
        .users
        .remove(&authed.sub)
        .ok_or_else(ApiError::user_not_found)?;
    state.sessions.revoke_where(|_, s| s.sub == authed.sub);
    Ok(empty())
}

#[derive(Debug, Deserialize)]
pub(crate) struct SudoRequest {
    password: Option<String>,
    verification_token: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SudoResponse {
    sudo_token: String,
    expires_in: u64,
}

pub(crate) async fn create_sudo_token(
    State(app): State<App>,
    authed: Authed,
    JsonBody(req): JsonBody<SudoRequest>,
) -> ApiResult<NoStore<SudoResponse>> {
    match (req.password, req.verification_token) {
        (Some(password), None) => check_password(&app, &authed.sub, password).await?,
        (None, Some(token)) => take_own_verification(&app, &authed.sub, &token)?,
        _ => {
            return Err(ApiError::invalid_argument(
                "send either password or verification_token",
            ));
        }
    }
    let now = app.now();
    let sudo_token = app.state().sudo.issue(&authed.sub, &authed.sid, now);
    Ok(NoStore(SudoResponse {
        sudo_token,
        expires_in: SUDO_TTL_SECS,
    }))
}

async fn check_password(app: &App, sub: &str, password: String) -> ApiResult<()> {
    let hash = app
        .state()
        .users
        .get(sub)
        .ok_or_else(ApiError::user_not_found)?
        .password_hash
        .clone();
    let hash =
        hash.ok_or_else(|| ApiError::auth("password_not_set", "this user has no password"))?;
    if app.passwords.verify(password, Some(hash)).await? {
        Ok(())
    } else {
        Err(ApiError::auth("invalid_password", "wrong password"))
    }
}

/// Uses up a verification token for one of the user's own contacts.
fn take_own_verification(app: &App, sub: &str, token: &str) -> ApiResult<()> {
    let now = app.now();
    let mut state = app.state();
    let contact = state.verifications.peek_token(token, now)?;
    if !state
        .users
        .get(sub)
        .is_some_and(|u| u.has_contact(&contact))
    {
        return Err(ApiError::invalid_argument(
            "phone or email does not match validation code",
        ));
    }
    state.verifications.take_token(token, now).map(|_| ())
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdatePasswordRequest {
    sudo_token: Option<String>,
    new_password: String,
    old_password: Option<String>,
    confirm_password: Option<String>,
}

/// Needs a sudo token (body, or query as in the upstream docs' examples); signs the user's
/// other sessions out.
pub(crate) async fn update_password(
    State(app): State<App>,
    authed: Authed,
    ctx: Ctx,
    JsonBody(req): JsonBody<UpdatePasswordRequest>,
) -> ApiResult<Json<Value>> {
    let sudo = req
        .sudo_token
        .as_deref()
        .or_else(|| ctx.query("sudo_token"));
    let now = app.now();
    app.state().sudo.check(sudo, &authed.sub, now)?;
    if req
        .confirm_password
        .as_ref()
        .is_some_and(|c| *c != req.new_password)
    {
        return Err(ApiError::invalid_argument(
            "confirm_password does not match new_password",
        ));
    }
    validate_password(&req.new_password)?;
    let has_password = app
        .state()
        .users
        .get(&authed.sub)
        .is_some_and(|u| u.password_hash.is_some());
    if let (Some(old), true) = (req.old_password, has_password) {
        check_password(&app, &authed.sub, old).await?;
    }
    let hash = app.passwords.hash(req.new_password).await?;
    let mut state = app.state();
    let mut user = state
        .users
        .get_mut(&authed.sub)
        .ok_or_else(ApiError::user_not_found)?;
    user.password_hash = Some(hash);
    user.password_updated_at = Some(now);
    user.updated_at = now;
    drop(user);
    state
        .sessions
        .revoke_where(|sid, s| s.sub == authed.sub && sid != authed.sid);
    state.sudo.revoke_user(&authed.sub);
    Ok(empty())
}

#[derive(Debug, Deserialize)]
pub(crate) struct EditUserBasicInfoRequest {
    user_id: Option<String>,
    nickname: Option<String>,
    username: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    description: Option<String>,
    avatar_url: Option<String>,
    gender: Option<String>,
    /// The current password, with `new_password` (3.3.3 `ModifyUserBasicInfoRequest`).
    password: Option<String>,
    new_password: Option<String>,
    /// 3.3.3 `modifyPassword`'s RSA-encrypted form; the emulator has no key exchange.
    encrypt_password: Option<String>,
}

/// The new password's hash when the edit changes the password (old one checked first).
async fn basic_edit_password(
    app: &App,
    sub: &str,
    req: &EditUserBasicInfoRequest,
) -> ApiResult<Option<String>> {
    if req.encrypt_password.is_some() {
        return Err(ApiError::invalid_argument(
            "encrypted passwords need POST /auth/v2/signin/publichkey, which the emulator does not serve; send password and new_password",
        ));
    }
    match (req.password.clone(), req.new_password.clone()) {
        (None, None) => Ok(None),
        (Some(old), Some(new)) => {
            validate_password(&new)?;
            check_password(app, sub, old).await?;
            app.passwords.hash(new).await.map(Some)
        }
        _ => Err(ApiError::invalid_argument(
            "send both password and new_password to change the password",
        )),
    }
}

pub(crate) async fn edit_user_basic_info(
    State(app): State<App>,
    authed: Authed,
    JsonBody(req): JsonBody<EditUserBasicInfoRequest>,
) -> ApiResult<Json<Value>> {
    if req.user_id.as_deref().is_some_and(|id| id != authed.sub) {
        return Err(ApiError::permission_denied(
            "only the signed-in user can be edited",
        ));
    }
    if let Some(username) = &req.username {
        validate_username(username)?;
    }
    // A contact is a login and a recovery channel: it changes only with proof of ownership
    // (`PATCH user/contact`: sudo token plus a verification token for the new one).
    if [&req.phone, &req.email]
        .into_iter()
        .any(|c| c.as_deref().is_some_and(|c| !c.is_empty()))
    {
        return Err(ApiError::permission_denied(
            "phone and email cannot be set here; use PATCH /auth/v1/user/contact with a sudo token and a verification token",
        ));
    }
    let new_hash = basic_edit_password(&app, &authed.sub, &req).await?;
    let now = app.now();
    let mut state = app.state();
    if let Some(username) = &req.username {
        state
            .users
            .ensure_username_free(username, Some(&authed.sub))?;
    }
    let mut user = state
        .users
        .get_mut(&authed.sub)
        .ok_or_else(ApiError::user_not_found)?;
    set_if(&mut user.name, req.nickname);
    set_if(&mut user.username, req.username);
    set_if(&mut user.description, req.description);
    set_if(&mut user.picture, req.avatar_url);
    set_if(&mut user.gender, req.gender);
    user.updated_at = now;
    let password_changed = new_hash.is_some();
    if let Some(hash) = new_hash {
        user.password_hash = Some(hash);
        user.password_updated_at = Some(now);
    }
    drop(user);
    if password_changed {
        // As PATCH /user/password: every other session and every sudo token of the user ends.
        state
            .sessions
            .revoke_where(|sid, s| s.sub == authed.sub && sid != authed.sid);
        state.sudo.revoke_user(&authed.sub);
    }
    Ok(empty())
}

/// What to do when the new phone number or e-mail belongs to another user.
enum Conflict {
    Refuse,
    DeleteOtherAccount,
    Transfer,
}

impl Conflict {
    fn parse(value: Option<&str>) -> ApiResult<Self> {
        match value.unwrap_or("DEFAULT") {
            "DEFAULT" | "0" => Ok(Self::Refuse),
            "DELETE_ACCOUNT_TRANSFER" | "1" => Ok(Self::DeleteOtherAccount),
            "TRANSFER" | "2" => Ok(Self::Transfer),
            other => Err(ApiError::invalid_argument(format!(
                "unknown conflict_resolution {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdateUserContactRequest {
    phone_number: Option<String>,
    email: Option<String>,
    sudo_token: String,
    verification_token: String,
    conflict_resolution: Option<String>,
}

/// Changes the phone number or e-mail: sudo token plus a verification token for the new one.
pub(crate) async fn update_user_contact(
    State(app): State<App>,
    authed: Authed,
    JsonBody(req): JsonBody<UpdateUserContactRequest>,
) -> ApiResult<Json<Value>> {
    let contact = Contact::from_fields(req.phone_number.as_deref(), req.email.as_deref())?;
    let conflict = Conflict::parse(req.conflict_resolution.as_deref())?;
    let now = app.now();
    let mut state = app.state();
    state.sudo.check(Some(&req.sudo_token), &authed.sub, now)?;
    let proved = state
        .verifications
        .peek_token(&req.verification_token, now)?;
    ensure_same_contact(&proved, Some(&contact))?;
    resolve_conflict(&mut state, &contact, &authed.sub, &conflict)?;
    state
        .verifications
        .take_token(&req.verification_token, now)?;
    let mut user = state
        .users
        .get_mut(&authed.sub)
        .ok_or_else(ApiError::user_not_found)?;
    user.set_contact(Some(&contact), &contact);
    user.updated_at = now;
    Ok(empty())
}

fn resolve_conflict(
    state: &mut crate::state::State,
    contact: &Contact,
    sub: &str,
    conflict: &Conflict,
) -> ApiResult<()> {
    let Some(other) = state
        .users
        .by_contact(contact)
        .map(|u| u.sub.clone())
        .filter(|o| o != sub)
    else {
        return Ok(());
    };
    match conflict {
        Conflict::Refuse => state.users.ensure_contact_free(contact, Some(sub)),
        Conflict::DeleteOtherAccount => {
            state.users.remove(&other);
            state.sessions.revoke_where(|_, s| s.sub == other);
            Ok(())
        }
        Conflict::Transfer => {
            if let Some(mut user) = state.users.get_mut(&other) {
                user.set_contact(None, contact);
            }
            Ok(())
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct QueryUsersResponse {
    /// A number, as 3.3.3 declares it (older builds read a decimal string).
    total: usize,
    data: Vec<QueriedUser>,
}

/// Users matching any of the given ids (`id`, comma-joined as 3.3.3 sends them, or
/// repeated), username, e-mail or phone number.
/// Any signed-in user may query (upstream's admin restrictions are not modelled).
pub(crate) async fn query_users(
    State(app): State<App>,
    _caller: Authed,
    ctx: Ctx,
) -> ApiResult<Json<QueryUsersResponse>> {
    let ids: Vec<&str> = ctx
        .query_all("id")
        .chain(ctx.query_all("id[]"))
        .flat_map(|ids| ids.split(','))
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    let username = ctx.query("username");
    let email = ctx.query("email").map(Contact::email).transpose()?;
    let phone = ctx.query("phone_number").map(Contact::phone).transpose()?;
    if ids.is_empty() && username.is_none() && email.is_none() && phone.is_none() {
        return Err(ApiError::invalid_argument(
            "give id, username, email or phone_number",
        ));
    }
    let contacts: Vec<&Contact> = email.iter().chain(phone.iter()).collect();
    let state = app.state();
    let data: Vec<QueriedUser> = state
        .users
        .all()
        .filter(|u| {
            ids.contains(&u.sub.as_str())
                || username.is_some_and(|name| u.username.as_deref() == Some(name))
                || contacts.iter().any(|c| u.has_contact(c))
        })
        .map(QueriedUser::from)
        .collect();
    Ok(Json(QueryUsersResponse {
        total: data.len(),
        data,
    }))
}

/// `GET checkIfUserExist?username=`; the name may also be a phone number or e-mail address.
pub(crate) async fn check_user_exists(State(app): State<App>, ctx: Ctx) -> ApiResult<Json<Value>> {
    let username = ctx
        .query("username")
        .ok_or_else(|| ApiError::invalid_argument("username is required"))?;
    let exist = app.state().users.by_login(username).is_some();
    Ok(Json(json!({ "exist": exist })))
}

//! Bearer authentication: RS256 signature, `exp` against the emulator clock, live session,
//! existing user. Anything else is 401 `unauthenticated`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::context::Ctx;
use crate::errors::{ApiError, ApiResult};
use crate::keys::keys;
use crate::state::{App, Shared};
use crate::tokens::Claims;

/// The signed-in caller of a bearer operation.
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    pub sub: String,
    pub sid: String,
    pub client_id: String,
    pub scope: String,
}

/// Checks a bearer access token.
pub(crate) fn authenticate(app: &Shared, token: Option<&str>) -> ApiResult<Authed> {
    check(app, token, true)
}

/// Verified claims of a token signed by the emulator, whatever its age.
pub(crate) fn genuine_claims(token: &str) -> ApiResult<Claims> {
    keys()?
        .verify::<Claims>(token)
        .ok_or_else(|| ApiError::unauthenticated("the access token is not correct"))
}

fn check(app: &Shared, token: Option<&str>, enforce_expiry: bool) -> ApiResult<Authed> {
    let token = token.ok_or_else(|| ApiError::unauthenticated("missing bearer access token"))?;
    let claims = genuine_claims(token)?;
    if enforce_expiry && claims.exp <= app.now() {
        return Err(ApiError::unauthenticated("the access token has expired"));
    }
    let state = app.state();
    let session = state
        .sessions
        .active(&claims.sid)
        .filter(|s| s.sub == claims.sub)
        .ok_or_else(|| ApiError::unauthenticated("the session has been signed out"))?;
    if state.users.get(&claims.sub).is_none() {
        return Err(ApiError::unauthenticated("the user no longer exists"));
    }
    Ok(Authed {
        sub: claims.sub,
        sid: claims.sid,
        client_id: session.client_id.clone(),
        scope: session.scope.clone(),
    })
}

impl FromRequestParts<App> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> ApiResult<Self> {
        let ctx = Ctx::from_parts(parts)?;
        authenticate(app, ctx.bearer.as_deref())
    }
}

/// A genuine, not signed-out session whose access token may have expired: sign-out must still
/// succeed then (upstream).
pub(crate) struct LiveSession(pub Authed);

impl FromRequestParts<App> for LiveSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> ApiResult<Self> {
        let ctx = Ctx::from_parts(parts)?;
        check(app, ctx.bearer.as_deref(), false).map(LiveSession)
    }
}

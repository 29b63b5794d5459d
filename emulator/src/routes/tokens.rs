//! The token endpoint (refresh and password grants), introspection, revocation and the
//! server-side client-credential token.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{authenticate, genuine_claims};
use crate::cloud_auth::CloudCaller;
use crate::context::{Ctx, JsonBody};
use crate::errors::{ApiError, ApiResult};
use crate::keys::keys;
use crate::routes::oauth::{DEVICE_CODE_GRANT, authorization_code_grant, device_code_grant};
use crate::routes::signin::with_password;
use crate::secrets::random_token;
use crate::state::App;
use crate::tokens::{Claims, NoStore, RefreshPolicy, TokenResponse, issuer};

/// Upstream: the admin token lives 5 days and has no refresh token.
const CLIENT_CREDENTIAL_TTL_SECS: u64 = 432_000;

#[derive(Debug, Deserialize)]
pub(crate) struct GrantTokenRequest {
    grant_type: String,
    refresh_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    device_code: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

pub(crate) async fn grant_token(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(req): JsonBody<GrantTokenRequest>,
) -> ApiResult<NoStore<TokenResponse>> {
    match req.grant_type.as_str() {
        "refresh_token" => refresh(&app, &ctx, req.refresh_token.as_deref()),
        "password" => match (req.username, req.password) {
            (Some(username), Some(password)) => {
                with_password(&app, &ctx, &username, password).await
            }
            _ => Err(ApiError::invalid_argument(
                "username and password are required",
            )),
        },
        DEVICE_CODE_GRANT => device_code_grant(&app, &ctx, req.device_code.as_deref()),
        "authorization_code" => authorization_code_grant(
            &app,
            &ctx,
            req.code.as_deref(),
            req.redirect_uri.as_deref(),
            req.code_verifier.as_deref(),
        ),
        other => Err(ApiError::unsupported_grant_type(other)),
    }
}

fn refresh(app: &App, ctx: &Ctx, token: Option<&str>) -> ApiResult<NoStore<TokenResponse>> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid_argument("refresh_token is required"))?;
    let policy = RefreshPolicy {
        client_id: &ctx.client_id,
        now: app.now(),
        ttl: app.lifetimes().refresh,
        reuse_interval: app.config.refresh_reuse_interval_secs,
    };
    // Bound first: a family revocation must be committed even though the call fails.
    let grant = app.state().sessions.refresh(token, &policy);
    app.respond(grant?)
}

#[derive(Debug, Serialize)]
struct IntrospectResponse {
    token_type: &'static str,
    client_id: String,
    sub: String,
    scope: String,
}

/// Checks the bearer token itself (upstream form) or `?token=` (the seed's form). Inactive,
/// expired, revoked or garbage tokens give `{}` with 200.
pub(crate) async fn introspect_token(State(app): State<App>, ctx: Ctx) -> Json<Value> {
    let token = ctx
        .query("token")
        .map(str::to_owned)
        .or_else(|| ctx.bearer.clone());
    let active = authenticate(&app, token.as_deref())
        .ok()
        .map(|authed| IntrospectResponse {
            token_type: "Bearer",
            client_id: authed.client_id,
            sub: authed.sub,
            scope: authed.scope,
        });
    Json(active.map_or_else(|| json!({}), |r| json!(r)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevokeRequest {
    token: Option<String>,
}

/// Revokes the session of a refresh or access token. Always 200 `{}`, so revoked and unknown
/// tokens cannot be told apart (RFC 7009 §2.2).
pub(crate) async fn revoke_token(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(req): JsonBody<RevokeRequest>,
) -> Json<Value> {
    if let Some(token) = req
        .token
        .filter(|t| !t.is_empty())
        .or_else(|| ctx.bearer.clone())
    {
        let by_refresh = app.state().sessions.sid_of_refresh_token(&token);
        if let Some(sid) = by_refresh.or_else(|| genuine_claims(&token).ok().map(|c| c.sid)) {
            // Only the client the token was issued to may revoke it (RFC 7009 §2.1); another
            // client's request is answered the same way and changes nothing.
            let mut state = app.state();
            if state
                .sessions
                .active(&sid)
                .is_some_and(|s| s.client_id == ctx.client_id)
            {
                state.sessions.revoke(&sid);
            }
        }
    }
    Json(json!({}))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ClientCredentialRequest {
    grant_type: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ClientCredentialResponse {
    token_type: &'static str,
    access_token: String,
    expires_in: u64,
}

/// An admin token for servers. The gate has checked the credential (a TC3 signature or
/// `SecretId:SecretKey` basic, `cloud_auth`). It belongs to no user session, so user
/// operations reject it.
pub(crate) async fn client_credential_token(
    State(app): State<App>,
    Extension(caller): Extension<CloudCaller>,
    JsonBody(req): JsonBody<ClientCredentialRequest>,
) -> ApiResult<NoStore<ClientCredentialResponse>> {
    if req.grant_type != "client_credentials" {
        return Err(ApiError::unsupported_grant_type(&req.grant_type));
    }
    let now = app.now();
    let env_id = &app.config.env_id;
    let claims = Claims {
        iss: issuer(env_id),
        sub: caller.secret_id,
        aud: env_id.clone(),
        exp: now.saturating_add(CLIENT_CREDENTIAL_TTL_SECS),
        iat: now,
        scope: "admin".to_owned(),
        project_id: env_id.clone(),
        provider_type: "client_credentials".to_owned(),
        user_type: String::new(),
        sid: random_token(""),
        jti: random_token(""),
    };
    let access_token = keys()?.sign(&claims)?;
    Ok(NoStore(ClientCredentialResponse {
        token_type: "Bearer",
        access_token,
        expires_in: CLIENT_CREDENTIAL_TTL_SECS,
    }))
}

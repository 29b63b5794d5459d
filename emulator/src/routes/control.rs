//! The emulator-only control API under `/emulator/v1/`, the HTTP twin of [`Control`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::CustomLoginPublicKey;
use crate::context::JsonBody;
use crate::control::{Control, SeedUser};
use crate::errors::{ApiError, ApiResult};
use crate::faults::Fault;
use crate::operations;
use crate::state::App;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/emulator/v1/reset", post(reset))
        .route("/emulator/v1/codes", get(codes))
        .route("/emulator/v1/captcha", get(captcha))
        .route("/emulator/v1/clock", get(clock).put(set_clock))
        .route("/emulator/v1/clock/advance", post(advance_clock))
        .route("/emulator/v1/config/token-lifetimes", put(token_lifetimes))
        .route("/emulator/v1/users", post(seed_user))
        .route("/emulator/v1/state", get(export_state).put(import_state))
        .route("/emulator/v1/faults", post(inject_fault))
        .route("/emulator/v1/requests", get(requests))
        .route(
            "/emulator/v1/custom-login-keys",
            get(custom_login_keys).put(add_custom_login_key),
        )
}

fn control(app: App) -> Control {
    Control::new(app)
}

async fn reset(State(app): State<App>) -> Json<Value> {
    control(app).reset();
    Json(json!({}))
}

async fn codes(State(app): State<App>) -> Json<Value> {
    Json(json!({ "codes": control(app).verification_codes() }))
}

async fn captcha(State(app): State<App>) -> Json<Value> {
    let captchas: Vec<Value> = control(app)
        .captcha_answers()
        .into_iter()
        .map(|(token, answer)| json!({ "token": token, "answer": answer }))
        .collect();
    Json(json!({ "captchas": captchas }))
}

async fn clock(State(app): State<App>) -> Json<Value> {
    Json(json!({ "now": app.now() }))
}

#[derive(Debug, Deserialize)]
struct SetClock {
    now: u64,
}

async fn set_clock(State(app): State<App>, JsonBody(req): JsonBody<SetClock>) -> Json<Value> {
    app.clock.set(req.now);
    Json(json!({ "now": app.now() }))
}

#[derive(Debug, Deserialize)]
struct AdvanceClock {
    seconds: u64,
}

async fn advance_clock(
    State(app): State<App>,
    JsonBody(req): JsonBody<AdvanceClock>,
) -> Json<Value> {
    app.clock.advance(req.seconds);
    Json(json!({ "now": app.now() }))
}

#[derive(Debug, Deserialize)]
struct TokenLifetimes {
    access_token_ttl_secs: u64,
    refresh_token_ttl_secs: u64,
}

async fn token_lifetimes(
    State(app): State<App>,
    JsonBody(req): JsonBody<TokenLifetimes>,
) -> Json<Value> {
    control(app).set_token_lifetimes(req.access_token_ttl_secs, req.refresh_token_ttl_secs);
    Json(json!({}))
}

/// Hashing runs on the bounded hashing threads, like any sign-up.
async fn seed_user(
    State(app): State<App>,
    JsonBody(seed): JsonBody<SeedUser>,
) -> ApiResult<Json<Value>> {
    let hash = match seed.password.clone() {
        Some(password) => Some(app.passwords.hash(password).await?),
        None => None,
    };
    let sub = control(app).seed_hashed(seed, hash);
    Ok(Json(json!({ "sub": sub })))
}

async fn export_state(State(app): State<App>) -> Json<Value> {
    Json(control(app).export_state())
}

async fn import_state(
    State(app): State<App>,
    JsonBody(document): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    control(app)
        .import_state(document)
        .map_err(|e| ApiError::invalid_argument(e.to_string()))?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct InjectFault {
    operation_id: String,
    #[serde(default = "one")]
    count: u32,
    fault: Fault,
}

fn one() -> u32 {
    1
}

async fn inject_fault(
    State(app): State<App>,
    JsonBody(req): JsonBody<InjectFault>,
) -> ApiResult<Json<Value>> {
    if !operations::is_known(&req.operation_id) {
        return Err(ApiError::invalid_argument(format!(
            "unknown operation_id {:?}",
            req.operation_id
        )));
    }
    if let Fault::Status { status, .. } = &req.fault {
        StatusCode::from_u16(*status)
            .map_err(|_| ApiError::invalid_argument("status must be 100-999"))?;
    }
    control(app).inject_fault(&req.operation_id, req.fault, req.count);
    Ok(Json(json!({})))
}

async fn requests(State(app): State<App>) -> Json<Value> {
    Json(json!({ "counts": control(app).request_counts() }))
}

/// The JWKS, at `/emulator/v1/jwks` and `/auth/v1/certs`.
pub(crate) async fn jwks(State(app): State<App>) -> Json<Value> {
    Json(control(app).jwks())
}

async fn custom_login_keys(State(app): State<App>) -> Json<Value> {
    Json(json!({ "private_key_ids": control(app).custom_login_key_ids() }))
}

/// Body `{private_key_id, public_key}` (PEM).
async fn add_custom_login_key(
    State(app): State<App>,
    JsonBody(key): JsonBody<CustomLoginPublicKey>,
) -> ApiResult<Json<Value>> {
    let control = control(app);
    control
        .add_custom_login_key(&key)
        .map_err(ApiError::invalid_argument)?;
    Ok(Json(
        json!({ "private_key_ids": control.custom_login_key_ids() }),
    ))
}

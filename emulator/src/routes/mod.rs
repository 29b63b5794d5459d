//! The router: every operation at its upstream method and path behind the operation gate,
//! the control API, JSON answers for unknown paths and wrong methods, and CORS.

mod captcha;
mod control;
mod devices;
mod oauth;
mod platform;
mod providers;
mod qrcode;
mod security;
mod signin;
mod tokens;
mod user;
mod verification;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};

use crate::errors::ApiError;
use crate::gate::{control_gate, is_json, operation_gate};
use crate::operations::{self as ops, Operation};
use crate::state::App;
use crate::strict::{self, Strict};

pub(crate) fn router(app: App) -> Router {
    let control = control::routes()
        .route("/emulator/v1/qrcode/scan", post(qrcode::scan))
        .route_layer(from_fn_with_state(app.clone(), control_gate));
    let strict = Strict::from_env(app.config.max_body_bytes);
    let violations = Router::new()
        .route("/emulator/v1/strict/violations", get(strict::violations))
        .with_state(strict.clone());
    let router = api_routes(&app)
        .merge(user_routes(&app))
        .merge(sdk_routes(&app))
        .merge(control)
        .merge(violations)
        .route("/auth/v1/certs", get(control::jwks))
        .route("/emulator/v1/jwks", get(control::jwks))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(
            app.clone(),
            crate::persist::durable_writes,
        ));
    let router = match strict {
        Some(strict) => router.layer(from_fn_with_state(strict, strict::check)),
        None => router,
    };
    router
        .layer(map_response(json_errors))
        .layer(from_fn_with_state(
            app.clone(),
            crate::server::check_headers,
        ))
        .layer(from_fn(crate::cors::cors))
        .with_state(app)
}

/// Puts the operation gate (counting, faults, body, client, device id) in front of a handler.
fn gated(app: &App, operation: &'static Operation, route: MethodRouter<App>) -> MethodRouter<App> {
    route.route_layer(from_fn_with_state((app.clone(), operation), operation_gate))
}

/// Sign-in, tokens, verification, captcha, providers.
fn api_routes(app: &App) -> Router<App> {
    Router::new()
        .route(
            "/auth/v1/signin",
            gated(app, &ops::SIGN_IN, post(signin::sign_in)),
        )
        .route(
            "/auth/v1/signin/anonymously",
            gated(
                app,
                &ops::SIGN_IN_ANONYMOUSLY,
                post(signin::sign_in_anonymously),
            ),
        )
        .route(
            "/auth/v1/signup",
            gated(app, &ops::SIGN_UP, post(signin::sign_up)),
        )
        .route(
            "/auth/v1/user/signout",
            gated(app, &ops::SIGN_OUT, post(signin::sign_out)),
        )
        .route(
            "/auth/v1/signin/custom",
            gated(app, &ops::SIGN_IN_CUSTOM, post(signin::sign_in_custom)),
        )
        .route(
            "/auth/v1/reset",
            gated(app, &ops::RESET_PASSWORD, post(signin::reset_password)),
        )
        .route(
            "/auth/v1/token/clientCredential",
            gated(
                app,
                &ops::CLIENT_CREDENTIAL_TOKEN,
                post(tokens::client_credential_token),
            ),
        )
        .route(
            "/auth/v1/provider/uri",
            gated(
                app,
                &ops::GET_PROVIDER_URI,
                get(providers::get_provider_uri),
            ),
        )
        .route(
            "/auth/v1/provider/token",
            gated(
                app,
                &ops::GRANT_PROVIDER_TOKEN,
                post(providers::grant_provider_token),
            ),
        )
        .route(
            "/auth/v1/provider/token",
            gated(
                app,
                &ops::PATCH_PROVIDER_TOKEN,
                patch(providers::patch_provider_token),
            ),
        )
        .route(
            "/auth/v1/signin/with/provider",
            gated(
                app,
                &ops::SIGN_IN_WITH_PROVIDER,
                post(providers::sign_in_with_provider),
            ),
        )
        .route(
            "/auth/v1/token",
            gated(app, &ops::GRANT_TOKEN, post(tokens::grant_token)),
        )
        .route(
            "/auth/v1/token/introspect",
            gated(app, &ops::INTROSPECT_TOKEN, get(tokens::introspect_token)),
        )
        .route(
            "/auth/v1/revoke",
            gated(app, &ops::REVOKE_TOKEN, post(tokens::revoke_token)),
        )
        .route(
            "/auth/v1/verification",
            gated(
                app,
                &ops::SEND_VERIFICATION,
                post(verification::send_verification),
            ),
        )
        .route(
            "/auth/v1/verification/verify",
            gated(
                app,
                &ops::VERIFY_VERIFICATION,
                post(verification::verify_verification),
            ),
        )
        .route(
            "/auth/v1/captcha/data",
            gated(app, &ops::GET_CAPTCHA_DATA, post(captcha::get_captcha_data)),
        )
        .route(
            "/auth/v1/captcha/data/verify",
            gated(
                app,
                &ops::VERIFY_CAPTCHA_DATA,
                post(captcha::verify_captcha_data),
            ),
        )
        .route(
            "/auth/v1/captcha/init",
            gated(app, &ops::INIT_CAPTCHA, post(captcha::init_captcha)),
        )
        .route(
            "/auth/v1/device/code",
            gated(
                app,
                &ops::REQUEST_DEVICE_CODE,
                post(oauth::request_device_code),
            ),
        )
}

/// Operations on the signed-in user.
fn user_routes(app: &App) -> Router<App> {
    Router::new()
        .route(
            "/auth/v1/user/me",
            gated(app, &ops::GET_USER_ME, get(user::get_user_me)),
        )
        .route(
            "/auth/v1/user/me",
            gated(app, &ops::UPDATE_USER_ME, patch(user::update_profile)),
        )
        .route(
            "/auth/v1/user/me",
            gated(app, &ops::DELETE_USER_ME, delete(user::delete_user_me)),
        )
        .route(
            "/auth/v1/user/sudo",
            gated(app, &ops::CREATE_SUDO_TOKEN, post(user::create_sudo_token)),
        )
        .route(
            "/auth/v1/user/password",
            gated(app, &ops::UPDATE_PASSWORD, patch(user::update_password)),
        )
        .route(
            "/auth/v1/user/basic/edit",
            gated(
                app,
                &ops::EDIT_USER_BASIC_INFO,
                post(user::edit_user_basic_info),
            ),
        )
        .route(
            "/auth/v1/user/profile",
            gated(app, &ops::UPDATE_USER_PROFILE, patch(user::update_profile)),
        )
        .route(
            "/auth/v1/user/contact",
            gated(
                app,
                &ops::UPDATE_USER_CONTACT,
                patch(user::update_user_contact),
            ),
        )
        .route(
            "/auth/v1/user/query",
            gated(app, &ops::QUERY_USERS, get(user::query_users)),
        )
        .route(
            "/auth/v1/checkIfUserExist",
            gated(app, &ops::CHECK_USER_EXISTS, get(user::check_user_exists)),
        )
        .route(
            "/auth/v1/user/provider",
            gated(
                app,
                &ops::LIST_USER_PROVIDERS,
                get(providers::list_user_providers),
            ),
        )
        .route(
            "/auth/v1/user/provider/bind",
            gated(app, &ops::BIND_PROVIDER, post(providers::bind_provider)),
        )
        .route(
            "/auth/v1/user/provider/{provider_id}",
            gated(
                app,
                &ops::UNBIND_PROVIDER,
                delete(providers::unbind_provider),
            ),
        )
        .route(
            "/auth/v1/user/provider/{provider_id}/trans",
            gated(
                app,
                &ops::TRANSFER_PROVIDER,
                post(providers::transfer_provider),
            ),
        )
        .route(
            "/auth/v1/user/trans/by/provider",
            gated(
                app,
                &ops::TRANSFER_BY_PROVIDER,
                patch(providers::transfer_by_provider),
            ),
        )
        .route(
            "/auth/v1/user/revoke/all",
            gated(
                app,
                &ops::REVOKE_ALL_DEVICES,
                delete(devices::revoke_all_devices),
            ),
        )
        .route(
            "/auth/v1/user/authorized/devices/{device_id}",
            gated(app, &ops::REVOKE_DEVICE, delete(devices::revoke_device)),
        )
}

/// The operations `@cloudbase/oauth` 3.3.3 calls beyond the HTTP API docs' set.
fn sdk_routes(app: &App) -> Router<App> {
    let routes: [(&str, &'static Operation, MethodRouter<App>); 10] = [
        (
            "/auth/v1/signin/wechat/noauth",
            &ops::SIGN_IN_WITH_WECHAT,
            post(platform::sign_in_with_wechat),
        ),
        (
            "/auth/v1/plugin/weda/userinfo",
            &ops::GET_WEDA_USER_INFO,
            get(platform::get_weda_user_info),
        ),
        (
            "/auth/v1/user/authorize",
            &ops::AUTHORIZE,
            post(oauth::authorize),
        ),
        (
            "/auth/v1/user/authorize/info",
            &ops::GET_AUTHORIZE_INFO,
            get(oauth::authorize_info),
        ),
        (
            "/auth/v1/user/device/authorize",
            &ops::AUTHORIZE_DEVICE,
            post(oauth::authorize_device),
        ),
        (
            "/auth/v1/checkUsername",
            &ops::CHECK_USERNAME,
            get(platform::check_username),
        ),
        (
            "/auth/v1/mgr/provider/providerSubType",
            &ops::GET_PROVIDER_SUB_TYPE,
            post(platform::get_provider_sub_type),
        ),
        (
            "/auth/v1/qrcode/generate",
            &ops::GENERATE_QRCODE,
            post(qrcode::generate_qrcode),
        ),
        (
            "/auth/v1/qrcode/get/status",
            &ops::GET_QRCODE_STATUS,
            post(qrcode::get_qrcode_status),
        ),
        (
            "/auth/v1/user/security/history",
            &ops::GET_SECURITY_HISTORY,
            get(security::get_security_history),
        ),
    ];
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, operation, route)| {
            router.route(path, gated(app, operation, route))
        })
}

async fn not_found() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND, "no such path")
}

async fn method_not_allowed() -> ApiError {
    ApiError::from_status(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed for this path",
    )
}

/// Last line of defence: any error answer that is not JSON (an axum rejection, say) gets the
/// upstream error body, so clients never see an empty or plain-text error.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let mut replaced =
        ApiError::from_status(status, status.canonical_reason().unwrap_or("error")).into_response();
    if let Some(value) = retry_after {
        replaced.headers_mut().insert(header::RETRY_AFTER, value);
    }
    replaced
}

//! Every generated operation puts the right method, path, query, body and credential
//! on the wire — the credential as the spec's `security` says.

mod support;

use std::future::Future;
use std::pin::Pin;

use cloudbase_auth::{AuthKind, Session, types};
use httpmock::MockServer;
use serde_json::{Value, json};
use support::*;

type Call = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One operation: the concrete path it must hit, the JSON it must send (a subset), a
/// query parameter it must carry, and the call.
struct Case {
    id: &'static str,
    path: &'static str,
    body: Option<Value>,
    query: Option<(&'static str, &'static str)>,
    call: fn(Session) -> Call,
}

fn done<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<(), String> {
    result.map(drop).map_err(|e| e.to_string())
}

macro_rules! case {
    ($id:literal, $path:literal, $body:expr, $query:expr, |$s:ident| $call:expr) => {
        Case {
            id: $id,
            path: $path,
            body: $body,
            query: $query,
            call: |$s| Box::pin(async move { done($call.await) }),
        }
    };
}

fn cases() -> Vec<Case> {
    vec![
        case!(
            "sign_in",
            "/auth/v1/signin",
            Some(json!({"username": "alice", "password": "pw"})),
            None,
            |s| s
                .raw()
                .sign_in()
                .body(
                    types::SignInRequest::builder()
                        .username("alice".to_string())
                        .password("pw".to_string())
                )
                .send()
        ),
        case!(
            "sign_in_anonymously",
            "/auth/v1/signin/anonymously",
            Some(json!({})),
            None,
            |s| s
                .raw()
                .sign_in_anonymously()
                .body(types::SignInAnonymouslyRequest::builder())
                .send()
        ),
        case!(
            "sign_up",
            "/auth/v1/signup",
            Some(json!({"email": "a@example.com", "verification_token": "vt"})),
            None,
            |s| s
                .raw()
                .sign_up()
                .body(
                    types::SignUpRequest::builder()
                        .email("a@example.com".to_string())
                        .verification_token("vt".to_string())
                )
                .send()
        ),
        case!(
            "sign_out",
            "/auth/v1/user/signout",
            Some(json!({})),
            None,
            |s| s
                .raw()
                .sign_out()
                .body(types::SignOutRequest::builder())
                .send()
        ),
        case!(
            "sign_in_custom",
            "/auth/v1/signin/custom",
            Some(json!({"provider_id": "custom", "ticket": "k/@@/t"})),
            None,
            |s| s
                .raw()
                .sign_in_custom()
                .body(
                    types::SignInCustomRequest::builder()
                        .provider_id("custom")
                        .ticket("k/@@/t")
                )
                .send()
        ),
        case!(
            "reset_password",
            "/auth/v1/reset",
            Some(json!({"new_password": "N3w!pass", "verification_token": "vt"})),
            None,
            |s| s
                .raw()
                .reset_password()
                .body(
                    types::ResetPasswordRequest::builder()
                        .new_password("N3w!pass")
                        .verification_token("vt")
                )
                .send()
        ),
        case!(
            "client_credential_token",
            "/auth/v1/token/clientCredential",
            Some(json!({"grant_type": "client_credentials"})),
            None,
            |s| s
                .raw()
                .client_credential_token()
                .body(types::ClientCredentialRequest::builder().grant_type("client_credentials"))
                .send()
        ),
        case!(
            "get_provider_uri",
            "/auth/v1/provider/uri",
            None,
            Some(("provider_id", "github")),
            |s| s.raw().get_provider_uri().provider_id("github").send()
        ),
        case!(
            "grant_provider_token",
            "/auth/v1/provider/token",
            Some(json!({"provider_id": "github", "provider_code": "c"})),
            None,
            |s| s
                .raw()
                .grant_provider_token()
                .body(
                    types::GrantProviderTokenRequest::builder()
                        .provider_id("github")
                        .provider_code("c".to_string())
                )
                .send()
        ),
        case!(
            "sign_in_with_provider",
            "/auth/v1/signin/with/provider",
            Some(json!({"provider_token": "pt"})),
            None,
            |s| s
                .raw()
                .sign_in_with_provider()
                .body(types::SignInWithProviderRequest::builder().provider_token("pt"))
                .send()
        ),
        case!(
            "patch_provider_token",
            "/auth/v1/provider/token",
            Some(json!({"provider_token": "pt"})),
            None,
            |s| s
                .raw()
                .patch_provider_token()
                .body(types::PatchProviderTokenRequest::builder().provider_token("pt"))
                .send()
        ),
        case!(
            "grant_token",
            "/auth/v1/token",
            Some(json!({"grant_type": "refresh_token", "refresh_token": "m.r"})),
            None,
            |s| s
                .raw()
                .grant_token()
                .body(
                    types::GrantTokenRequest::builder()
                        .grant_type("refresh_token")
                        .refresh_token("m.r".to_string())
                )
                .send()
        ),
        case!(
            "introspect_token",
            "/auth/v1/token/introspect",
            None,
            None,
            |s| s.raw().introspect_token().send()
        ),
        case!(
            "revoke_token",
            "/auth/v1/revoke",
            Some(json!({"token": "t"})),
            None,
            |s| s
                .raw()
                .revoke_token()
                .body(types::RevokeRequest::builder().token("t".to_string()))
                .send()
        ),
        case!(
            "send_verification",
            "/auth/v1/verification",
            Some(json!({"target": "ANY", "email": "a@example.com"})),
            None,
            |s| s
                .raw()
                .send_verification()
                .body(
                    types::SendVerificationRequest::builder()
                        .target(types::SendVerificationRequestTarget::Any)
                        .email("a@example.com".to_string()),
                )
                .send()
        ),
        case!(
            "verify_verification",
            "/auth/v1/verification/verify",
            Some(json!({"verification_id": "id", "verification_code": "123456"})),
            None,
            |s| s
                .raw()
                .verify_verification()
                .body(
                    types::VerifyVerificationRequest::builder()
                        .verification_id("id")
                        .verification_code("123456")
                )
                .send()
        ),
        case!(
            "get_captcha_data",
            "/auth/v1/captcha/data",
            Some(json!({})),
            None,
            |s| s
                .raw()
                .get_captcha_data()
                .body(types::CaptchaDataRequest::builder())
                .send()
        ),
        case!(
            "verify_captcha_data",
            "/auth/v1/captcha/data/verify",
            Some(json!({"token": "t", "key": "ab12"})),
            None,
            |s| s
                .raw()
                .verify_captcha_data()
                .body(
                    types::VerifyCaptchaRequest::builder()
                        .token("t")
                        .key("ab12")
                )
                .send()
        ),
        case!(
            "init_captcha",
            "/auth/v1/captcha/init",
            Some(json!({"state": "POST:/auth/v1/signin"})),
            None,
            |s| s
                .raw()
                .init_captcha()
                .body(
                    types::InitCaptchaRequest::builder().state("POST:/auth/v1/signin".to_string())
                )
                .send()
        ),
        case!("get_user_me", "/auth/v1/user/me", None, None, |s| s
            .raw()
            .get_user_me()
            .send()),
        case!(
            "update_user_me",
            "/auth/v1/user/me",
            Some(json!({"name": "Alice"})),
            None,
            |s| s
                .raw()
                .update_user_me()
                .body(types::UpdateUserProfileRequest::builder().name("Alice".to_string()))
                .send()
        ),
        case!(
            "delete_user_me",
            "/auth/v1/user/me",
            None,
            Some(("sudo_token", "st")),
            |s| s.raw().delete_user_me().sudo_token("st").send()
        ),
        case!(
            "create_sudo_token",
            "/auth/v1/user/sudo",
            Some(json!({"password": "pw"})),
            None,
            |s| s
                .raw()
                .create_sudo_token()
                .body(types::SudoRequest::builder().password("pw".to_string()))
                .send()
        ),
        case!(
            "update_password",
            "/auth/v1/user/password",
            Some(json!({"sudo_token": "st", "new_password": "N3w!pass"})),
            None,
            |s| s
                .raw()
                .update_password()
                .body(
                    types::UpdatePasswordRequest::builder()
                        .sudo_token("st")
                        .new_password("N3w!pass")
                )
                .send()
        ),
        case!(
            "edit_user_basic_info",
            "/auth/v1/user/basic/edit",
            Some(json!({"nickname": "al"})),
            None,
            |s| s
                .raw()
                .edit_user_basic_info()
                .body(types::EditUserBasicInfoRequest::builder().nickname("al".to_string()))
                .send()
        ),
        case!(
            "update_user_profile",
            "/auth/v1/user/profile",
            Some(json!({"locale": "en"})),
            None,
            |s| s
                .raw()
                .update_user_profile()
                .body(types::UpdateUserProfileRequest::builder().locale("en".to_string()))
                .send()
        ),
        case!(
            "update_user_contact",
            "/auth/v1/user/contact",
            Some(json!({"email": "b@example.com", "sudo_token": "st", "verification_token": "vt"})),
            None,
            |s| s
                .raw()
                .update_user_contact()
                .body(
                    types::UpdateUserContactRequest::builder()
                        .email("b@example.com".to_string())
                        .sudo_token("st")
                        .verification_token("vt"),
                )
                .send()
        ),
        case!(
            "query_users",
            "/auth/v1/user/query",
            None,
            Some(("username", "bob")),
            |s| s.raw().query_users().username("bob").send()
        ),
        case!(
            "check_user_exists",
            "/auth/v1/checkIfUserExist",
            None,
            Some(("username", "bob")),
            |s| s.raw().check_user_exists().username("bob").send()
        ),
        case!(
            "list_user_providers",
            "/auth/v1/user/provider",
            None,
            None,
            |s| s.raw().list_user_providers().send()
        ),
        case!(
            "bind_provider",
            "/auth/v1/user/provider/bind",
            Some(json!({"provider_token": "pt"})),
            None,
            |s| s
                .raw()
                .bind_provider()
                .body(types::BindProviderRequest::builder().provider_token("pt"))
                .send()
        ),
        case!(
            "unbind_provider",
            "/auth/v1/user/provider/github",
            None,
            None,
            |s| s.raw().unbind_provider().provider_id("github").send()
        ),
        case!(
            "transfer_provider",
            "/auth/v1/user/provider/github/trans",
            Some(json!({"provider_trans_token": "tt"})),
            None,
            |s| s
                .raw()
                .transfer_provider()
                .provider_id("github")
                .body(types::TransferProviderRequest::builder().provider_trans_token("tt"))
                .send()
        ),
        case!(
            "transfer_by_provider",
            "/auth/v1/user/trans/by/provider",
            Some(json!({"provider_token": "pt"})),
            None,
            |s| s
                .raw()
                .transfer_by_provider()
                .body(types::TransferByProviderRequest::builder().provider_token("pt"))
                .send()
        ),
        case!(
            "revoke_all_devices",
            "/auth/v1/user/revoke/all",
            None,
            None,
            |s| s.raw().revoke_all_devices().send()
        ),
        case!(
            "revoke_device",
            "/auth/v1/user/authorized/devices/0123abcd",
            None,
            None,
            |s| s.raw().revoke_device().device_id("0123abcd").send()
        ),
        case!(
            "request_device_code",
            "/auth/v1/device/code",
            Some(json!({"scope": "user"})),
            None,
            |s| s
                .raw()
                .request_device_code()
                .body(types::DeviceCodeRequest::builder().scope("user".to_string()))
                .send()
        ),
        case!(
            "sign_in_with_wechat",
            "/auth/v1/signin/wechat/noauth",
            Some(json!({})),
            None,
            |s| s
                .raw()
                .sign_in_with_wechat()
                .body(types::SignInWithWechatRequest(serde_json::Map::new()))
                .send()
        ),
        case!(
            "get_weda_user_info",
            "/auth/v1/plugin/weda/userinfo",
            None,
            None,
            |s| s.raw().get_weda_user_info().send()
        ),
        case!(
            "authorize",
            "/auth/v1/user/authorize",
            Some(json!({"client_id": "partner", "response_type": "code"})),
            None,
            |s| s
                .raw()
                .authorize()
                .body(
                    types::AuthorizeRequest::builder()
                        .client_id("partner".to_string())
                        .response_type("code".to_string())
                )
                .send()
        ),
        case!(
            "get_authorize_info",
            "/auth/v1/user/authorize/info",
            None,
            Some(("response_type", "code")),
            |s| s.raw().get_authorize_info().response_type("code").send()
        ),
        case!(
            "authorize_device",
            "/auth/v1/user/device/authorize",
            Some(json!({"user_code": "WDJB-MJHT"})),
            None,
            |s| s
                .raw()
                .authorize_device()
                .body(types::AuthorizeDeviceRequest::builder().user_code("WDJB-MJHT"))
                .send()
        ),
        case!(
            "check_username",
            "/auth/v1/checkUsername",
            Some(json!({"username": "alice_01"})),
            None,
            |s| s
                .raw()
                .check_username()
                .body(types::CheckUsernameRequest::builder().username("alice_01"))
                .send()
        ),
        case!(
            "get_provider_sub_type",
            "/auth/v1/mgr/provider/providerSubType",
            Some(json!({"provider_id": "weda"})),
            None,
            |s| s
                .raw()
                .get_provider_sub_type()
                .body(types::ProviderSubTypeRequest::builder().provider_id("weda"))
                .send()
        ),
        case!(
            "generate_qrcode",
            "/auth/v1/qrcode/generate",
            Some(json!({"envId": "demo-env", "wxAppId": "wx01"})),
            None,
            |s| s
                .raw()
                .generate_qrcode()
                .body(
                    types::QrCodeRequest::builder()
                        .env_id("demo-env")
                        .wx_app_id("wx01")
                )
                .send()
        ),
        case!(
            "get_qrcode_status",
            "/auth/v1/qrcode/get/status",
            Some(json!({"qrCodeId": "q1", "envId": "demo-env", "wxAppId": "wx01"})),
            None,
            |s| s
                .raw()
                .get_qrcode_status()
                .body(
                    types::QrCodeStatusRequest::builder()
                        .qr_code_id("q1")
                        .env_id("demo-env")
                        .wx_app_id("wx01")
                )
                .send()
        ),
        case!(
            "get_security_history",
            "/auth/v1/user/security/history",
            None,
            Some(("query[action]", "USER_LOGIN")),
            |s| s
                .raw()
                .get_security_history()
                .query_action("USER_LOGIN")
                .limit(std::num::NonZeroU32::new(10).unwrap())
                .send()
        ),
    ]
}

#[tokio::test]
async fn every_operation_sends_its_method_path_query_body_and_credential() {
    let cases = cases();
    assert_eq!(
        cases.len(),
        cloudbase_auth::operations().len(),
        "a case per spec operation"
    );
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = Session::new(
        config(&server.base_url(), &clock).with_cloud_secret("AKIDexample", "cloud-key"),
    )
    .unwrap();
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    for case in cases {
        let op = cloudbase_auth::operations()
            .iter()
            .find(|o| o.operation_id == case.id)
            .expect("in the table");
        let mock = server
            .mock_async(|when, then| {
                let mut when = when
                    .method(op.method)
                    .path(case.path)
                    .header("x-device-id", DEVICE_ID)
                    .header_exists("x-request-id")
                    .header_missing("api-version");
                when = match op.auth {
                    AuthKind::ClientBasic => when
                        .header("authorization", basic_header())
                        .query_param("client_id", CLIENT_ID),
                    AuthKind::UserBearer => when.header("authorization", "Bearer access-1"),
                    // A TC3 signature (the default), never the SecretKey itself.
                    AuthKind::CloudSecret => when.header_matches("^authorization$", TC3_HEADER),
                    _ => when
                        .header_missing("authorization")
                        .query_param("client_id", CLIENT_ID),
                };
                if let Some(body) = &case.body {
                    when = when.json_body_includes(body.to_string());
                }
                if let Some((name, value)) = case.query {
                    when.query_param(name, value);
                }
                then.status(200).json_body(json!({}));
            })
            .await;
        let result = (case.call)(session.clone()).await;
        assert_eq!(
            mock.calls_async().await,
            1,
            "{} did not send what the spec says: {result:?}",
            case.id
        );
        assert!(result.is_ok(), "{}: {result:?}", case.id);
        mock.delete_async().await;
    }
}

/// What `with_cloud_secret` sends: a TC3-HMAC-SHA256 signature over `content-type` and `host`
/// (its bytes are checked against the official package in tests/tc3_vectors.rs).
const TC3_HEADER: &str = "^TC3-HMAC-SHA256 Credential=AKIDexample/[0-9]{4}-[0-9]{2}-[0-9]{2}/tcb/tc3_request, SignedHeaders=content-type;host, Signature=[0-9a-f]{64}, Timestamp=[0-9]+$";

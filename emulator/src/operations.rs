//! The 47 operations (ids as in the OpenAPI spec) and what the gate checks for each.

/// How an operation's caller is authenticated (the plan's auth kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// Optional client identification (basic auth, body or query); none = the default client.
    Client,
    /// A user's bearer access token; the token names its client, so none is identified.
    User,
    /// Bearer when signed in, else client identification.
    ClientOrUser,
    /// HTTP basic carries Tencent Cloud API keys, checked by the handler.
    CloudSecret,
}

/// An operation as the gate sees it.
#[derive(Debug)]
pub(crate) struct Operation {
    pub id: &'static str,
    pub auth: Auth,
    /// Upstream rejects these without `x-device-id`.
    pub needs_device_id: bool,
}

const fn op(id: &'static str, auth: Auth) -> Operation {
    Operation {
        id,
        auth,
        needs_device_id: false,
    }
}

const fn with_device(id: &'static str) -> Operation {
    Operation {
        id,
        auth: Auth::Client,
        needs_device_id: true,
    }
}

pub(crate) static SIGN_IN: Operation = op("sign_in", Auth::Client);
pub(crate) static SIGN_IN_ANONYMOUSLY: Operation = with_device("sign_in_anonymously");
pub(crate) static SIGN_UP: Operation = op("sign_up", Auth::Client);
pub(crate) static SIGN_OUT: Operation = op("sign_out", Auth::User);
pub(crate) static SIGN_IN_CUSTOM: Operation = op("sign_in_custom", Auth::Client);
pub(crate) static RESET_PASSWORD: Operation = op("reset_password", Auth::Client);
pub(crate) static CLIENT_CREDENTIAL_TOKEN: Operation =
    op("client_credential_token", Auth::CloudSecret);
pub(crate) static GET_PROVIDER_URI: Operation = with_device("get_provider_uri");
pub(crate) static GRANT_PROVIDER_TOKEN: Operation = with_device("grant_provider_token");
pub(crate) static SIGN_IN_WITH_PROVIDER: Operation = with_device("sign_in_with_provider");
pub(crate) static PATCH_PROVIDER_TOKEN: Operation = op("patch_provider_token", Auth::Client);
pub(crate) static GRANT_TOKEN: Operation = op("grant_token", Auth::Client);
pub(crate) static INTROSPECT_TOKEN: Operation = op("introspect_token", Auth::User);
pub(crate) static REVOKE_TOKEN: Operation = op("revoke_token", Auth::ClientOrUser);
pub(crate) static SEND_VERIFICATION: Operation = op("send_verification", Auth::ClientOrUser);
pub(crate) static VERIFY_VERIFICATION: Operation = op("verify_verification", Auth::Client);
pub(crate) static GET_CAPTCHA_DATA: Operation = op("get_captcha_data", Auth::Client);
pub(crate) static VERIFY_CAPTCHA_DATA: Operation = op("verify_captcha_data", Auth::Client);
pub(crate) static INIT_CAPTCHA: Operation = op("init_captcha", Auth::Client);
pub(crate) static GET_USER_ME: Operation = op("get_user_me", Auth::User);
pub(crate) static UPDATE_USER_ME: Operation = op("update_user_me", Auth::User);
pub(crate) static DELETE_USER_ME: Operation = op("delete_user_me", Auth::User);
pub(crate) static CREATE_SUDO_TOKEN: Operation = op("create_sudo_token", Auth::User);
pub(crate) static UPDATE_PASSWORD: Operation = op("update_password", Auth::User);
pub(crate) static EDIT_USER_BASIC_INFO: Operation = op("edit_user_basic_info", Auth::User);
pub(crate) static UPDATE_USER_PROFILE: Operation = op("update_user_profile", Auth::User);
pub(crate) static UPDATE_USER_CONTACT: Operation = op("update_user_contact", Auth::User);
pub(crate) static QUERY_USERS: Operation = op("query_users", Auth::User);
pub(crate) static CHECK_USER_EXISTS: Operation = op("check_user_exists", Auth::Client);
pub(crate) static LIST_USER_PROVIDERS: Operation = op("list_user_providers", Auth::User);
pub(crate) static BIND_PROVIDER: Operation = op("bind_provider", Auth::User);
pub(crate) static UNBIND_PROVIDER: Operation = op("unbind_provider", Auth::User);
pub(crate) static TRANSFER_PROVIDER: Operation = op("transfer_provider", Auth::User);
pub(crate) static TRANSFER_BY_PROVIDER: Operation = op("transfer_by_provider", Auth::User);
pub(crate) static REVOKE_ALL_DEVICES: Operation = op("revoke_all_devices", Auth::User);
pub(crate) static REVOKE_DEVICE: Operation = op("revoke_device", Auth::User);
pub(crate) static REQUEST_DEVICE_CODE: Operation = op("request_device_code", Auth::ClientOrUser);
pub(crate) static SIGN_IN_WITH_WECHAT: Operation = op("sign_in_with_wechat", Auth::Client);
pub(crate) static GET_WEDA_USER_INFO: Operation = op("get_weda_user_info", Auth::User);
pub(crate) static AUTHORIZE: Operation = op("authorize", Auth::User);
pub(crate) static GET_AUTHORIZE_INFO: Operation = op("get_authorize_info", Auth::ClientOrUser);
pub(crate) static AUTHORIZE_DEVICE: Operation = op("authorize_device", Auth::User);
pub(crate) static CHECK_USERNAME: Operation = op("check_username", Auth::User);
pub(crate) static GET_PROVIDER_SUB_TYPE: Operation = op("get_provider_sub_type", Auth::Client);
pub(crate) static GENERATE_QRCODE: Operation = op("generate_qrcode", Auth::Client);
pub(crate) static GET_QRCODE_STATUS: Operation = op("get_qrcode_status", Auth::Client);
pub(crate) static GET_SECURITY_HISTORY: Operation = op("get_security_history", Auth::User);

/// Every operation, to validate the ids named by fault injection.
pub(crate) static ALL: [&Operation; 47] = [
    &SIGN_IN,
    &SIGN_IN_ANONYMOUSLY,
    &SIGN_UP,
    &SIGN_OUT,
    &SIGN_IN_CUSTOM,
    &RESET_PASSWORD,
    &CLIENT_CREDENTIAL_TOKEN,
    &GET_PROVIDER_URI,
    &GRANT_PROVIDER_TOKEN,
    &SIGN_IN_WITH_PROVIDER,
    &PATCH_PROVIDER_TOKEN,
    &GRANT_TOKEN,
    &INTROSPECT_TOKEN,
    &REVOKE_TOKEN,
    &SEND_VERIFICATION,
    &VERIFY_VERIFICATION,
    &GET_CAPTCHA_DATA,
    &VERIFY_CAPTCHA_DATA,
    &INIT_CAPTCHA,
    &GET_USER_ME,
    &UPDATE_USER_ME,
    &DELETE_USER_ME,
    &CREATE_SUDO_TOKEN,
    &UPDATE_PASSWORD,
    &EDIT_USER_BASIC_INFO,
    &UPDATE_USER_PROFILE,
    &UPDATE_USER_CONTACT,
    &QUERY_USERS,
    &CHECK_USER_EXISTS,
    &LIST_USER_PROVIDERS,
    &BIND_PROVIDER,
    &UNBIND_PROVIDER,
    &TRANSFER_PROVIDER,
    &TRANSFER_BY_PROVIDER,
    &REVOKE_ALL_DEVICES,
    &REVOKE_DEVICE,
    &REQUEST_DEVICE_CODE,
    &SIGN_IN_WITH_WECHAT,
    &GET_WEDA_USER_INFO,
    &AUTHORIZE,
    &GET_AUTHORIZE_INFO,
    &AUTHORIZE_DEVICE,
    &CHECK_USERNAME,
    &GET_PROVIDER_SUB_TYPE,
    &GENERATE_QRCODE,
    &GET_QRCODE_STATUS,
    &GET_SECURITY_HISTORY,
];

pub(crate) fn is_known(operation_id: &str) -> bool {
    ALL.iter().any(|op| op.id == operation_id)
}

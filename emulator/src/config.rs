//! Emulator configuration: what the library API and the `--config FILE` JSON accept.

use serde::{Deserialize, Serialize};

/// Everything an emulator instance can be configured with. Every field has a default, so a
/// JSON config file may name only the fields it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmulatorConfig {
    /// The CloudBase environment id; it names the issuer host and is the default client id.
    pub env_id: String,
    /// Known clients. Empty means one client whose id is `env_id`, without a secret.
    pub clients: Vec<ClientConfig>,
    /// Access-token lifetime (upstream: 7200 s).
    pub access_token_ttl_secs: u64,
    /// Refresh-token lifetime (upstream: 30 days).
    pub refresh_token_ttl_secs: u64,
    /// How long a rotated refresh token may still be presented and answered with the family's
    /// current token (GoTrue's `refresh_token_reuse_interval`, 10 s in the Supabase local stack).
    pub refresh_reuse_interval_secs: u64,
    /// Consecutive failed password sign-ins for one login after which a captcha is required.
    pub captcha_after_failed_sign_ins: u32,
    /// Argon2id cost used for new password hashes.
    pub password_hashing: PasswordHashing,
    /// Tencent Cloud `SecretId`/`SecretKey` accepted by `token/clientCredential`, as a
    /// TC3-HMAC-SHA256 signature (verified) or basic credentials. `None` accepts any non-empty
    /// basic pair and any well-formed, timely signature (there is no key to check it with).
    pub cloud_secret: Option<CloudSecret>,
    /// Public halves of the custom-login keys whose tickets `signin/custom` accepts. Empty: custom
    /// login is not enabled (403 `permission_denied`), as upstream without a key. More can be
    /// added at run time with `PUT /emulator/v1/custom-login-keys`.
    pub custom_login_keys: Vec<CustomLoginPublicKey>,
    /// Largest accepted request body; larger bodies get a 413 JSON error.
    pub max_body_bytes: usize,
    /// How the emulator's clock runs (see [`ClockMode`]).
    pub clock: ClockMode,
    /// Connection, header, body and time bounds of the server (see [`Limits`]).
    pub limits: Limits,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            env_id: "demo-env".to_owned(),
            clients: Vec::new(),
            access_token_ttl_secs: 7200,
            refresh_token_ttl_secs: 2_592_000,
            refresh_reuse_interval_secs: 10,
            captcha_after_failed_sign_ins: 5,
            password_hashing: PasswordHashing::Owasp,
            cloud_secret: None,
            custom_login_keys: Vec::new(),
            max_body_bytes: 64 * 1024,
            clock: ClockMode::Running,
            limits: Limits::default(),
        }
    }
}

impl EmulatorConfig {
    /// Looks a client up by id; with no configured clients only `env_id` exists.
    pub(crate) fn client(&self, client_id: &str) -> Option<ClientConfig> {
        if self.clients.is_empty() {
            return (client_id == self.env_id).then(|| ClientConfig {
                client_id: self.env_id.clone(),
                client_secret: None,
            });
        }
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }
}

/// One OAuth client of the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    pub client_id: String,
    /// `None`: any secret, including none or an empty one, is accepted (a public client).
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// Tencent Cloud API credentials for the server-only `token/clientCredential` operation.
/// `Debug` never prints the key or the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudSecret {
    pub secret_id: String,
    pub secret_key: String,
    /// For temporary (STS) credentials: the session token a signature must carry (`Token=`).
    #[serde(default)]
    pub session_token: Option<String>,
}

impl std::fmt::Debug for CloudSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudSecret")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"[redacted]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The public half of a console custom-login key: tickets `<private_key_id>/@@/<JWT>` are
/// checked with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomLoginPublicKey {
    pub private_key_id: String,
    /// PEM: `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo) or `BEGIN RSA PUBLIC KEY` (PKCS#1).
    pub public_key: String,
}

/// Argon2id cost of stored password hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordHashing {
    /// OWASP minimum: m = 19456 KiB, t = 2, p = 1 (the argon2 crate's defaults).
    #[default]
    Owasp,
    /// The smallest valid parameters (m = 8 KiB, t = 1, p = 1). For tests only: such hashes
    /// offer no protection.
    Fast,
}

/// How the emulator's clock moves. Every expiry check and every JWT `iat`/`exp` reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// Real time plus an offset that `advance_clock`/`set_clock` change. Suits interactive use
    /// (resend limits and tokens expire as wall time passes).
    #[default]
    Running,
    /// Starts at real time and only moves when told: fully deterministic tests.
    Frozen,
}

/// What one emulator lets a client hold. Every bound answers with a JSON error where HTTP
/// allows one (431, 413, 408) and closes the connection where it does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Open connections; one more is closed at once (so file descriptors stay available).
    pub max_connections: usize,
    /// Time to send a request's header section, and how long an idle keep-alive connection
    /// stays open; the connection is closed after it.
    pub header_timeout_ms: u64,
    /// Time to send a request body once its headers arrived → 408.
    pub body_timeout_ms: u64,
    /// Size of a request's header section (request line included) → 431.
    pub max_header_bytes: usize,
    /// Number of request headers → 431.
    pub max_headers: usize,
    /// On shutdown, how long in-flight requests may take before their connections are cut.
    pub shutdown_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            max_header_bytes: 32 * 1024,
            max_headers: 100,
            shutdown_grace_ms: 5_000,
        }
    }
}

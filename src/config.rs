//! Client configuration: where to send requests and as whom.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::retry::RetryPolicy;
use crate::secret::{ClientSecret, CloudSecretKey};
use crate::server::credential::ServerCredential;
use crate::token_store::{MemoryTokenStore, TokenStore};

/// Where the Auth v1 API lives (reference §9: two URL families; the path `/auth/v1/…`
/// is the same on both).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// `https://{env}.{region}.tcb-api.tencentcloudapi.com`, the official SDK's default.
    Regional { env_id: String, region: String },
    /// `https://{env}.api.tcloudbasegateway.com`, or `.api.intl.` for overseas regions.
    Gateway { env_id: String, international: bool },
    /// Any server, the emulator included.
    BaseUrl { url: String, env_id: Option<String> },
}

/// How to reach CloudBase. Build one, then [`Session::new`](crate::Session::new).
///
/// ```
/// use std::time::Duration;
/// use cloudbase_auth::Config;
///
/// let config = Config::for_env("my-env-1a2b3c")
///     .with_region("ap-guangzhou")
///     .with_client_secret("the-client-secret")
///     .with_timeout(Duration::from_secs(10));
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct Config {
    endpoint: Endpoint,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<ClientSecret>,
    pub(crate) cloud_secret: Option<ServerCredential>,
    pub(crate) device_id: Option<String>,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) user_agent: String,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) refresh_margin: Duration,
    pub(crate) refresh_jitter: Duration,
    pub(crate) refresh_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_response_bytes: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Arc<dyn TokenStore>,
}

/// The `User-Agent` of the crate's own HTTP client unless `with_user_agent` says otherwise.
const DEFAULT_USER_AGENT: &str = concat!("cloudbase-auth-rust/", env!("CARGO_PKG_VERSION"));

/// The default region of the official SDK.
pub const DEFAULT_REGION: &str = "ap-shanghai";

impl Config {
    fn with_endpoint(endpoint: Endpoint) -> Config {
        Config {
            endpoint,
            client_id: None,
            client_secret: None,
            cloud_secret: None,
            device_id: None,
            http: None,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            refresh_margin: Duration::from_secs(60),
            refresh_jitter: Duration::from_secs(10),
            refresh_timeout: Duration::from_secs(8),
            retry: RetryPolicy::default(),
            max_response_bytes: 1 << 20,
            clock: Arc::new(SystemClock),
            store: Arc::new(MemoryTokenStore::default()),
        }
    }

    /// `https://{env_id}.ap-shanghai.tcb-api.tencentcloudapi.com`; change the region with
    /// [`with_region`](Config::with_region).
    pub fn for_env(env_id: impl Into<String>) -> Config {
        Config::with_endpoint(Endpoint::Regional {
            env_id: env_id.into(),
            region: DEFAULT_REGION.into(),
        })
    }

    /// `https://{env_id}.api.tcloudbasegateway.com`, the HTTP API gateway of the docs;
    /// [`with_international`](Config::with_international) for overseas regions.
    pub fn for_gateway(env_id: impl Into<String>) -> Config {
        Config::with_endpoint(Endpoint::Gateway {
            env_id: env_id.into(),
            international: false,
        })
    }

    /// Any base URL — scheme, host and port, no path — e.g. a local emulator. A URL with
    /// a path, query or fragment is refused when the session is built
    /// ([`ConfigError::InvalidBaseUrl`](crate::ConfigError::InvalidBaseUrl)): the client
    /// adds `/auth/v1/…` itself. Give the client id with
    /// [`with_client_id`](Config::with_client_id) (or [`with_env_id`](Config::with_env_id)).
    pub fn for_base_url(url: impl Into<String>) -> Config {
        Config::with_endpoint(Endpoint::BaseUrl {
            url: url.into(),
            env_id: None,
        })
    }

    /// The region of a [`for_env`](Config::for_env) configuration.
    pub fn with_region(mut self, region: impl Into<String>) -> Config {
        if let Endpoint::Regional { region: r, .. } = &mut self.endpoint {
            *r = region.into();
        }
        self
    }

    /// Use the overseas gateway (`api.intl.tcloudbasegateway.com`).
    pub fn with_international(mut self) -> Config {
        if let Endpoint::Gateway { international, .. } = &mut self.endpoint {
            *international = true;
        }
        self
    }

    /// The environment id behind a custom base URL; it becomes the default client id.
    pub fn with_env_id(mut self, env: impl Into<String>) -> Config {
        if let Endpoint::BaseUrl { env_id, .. } = &mut self.endpoint {
            *env_id = Some(env.into());
        }
        self
    }

    /// The client id (default: the environment id, as upstream).
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Config {
        self.client_id = Some(client_id.into());
        self
    }

    /// The client secret, sent with HTTP basic auth on client-authenticated operations.
    pub fn with_client_secret(mut self, secret: impl Into<ClientSecret>) -> Config {
        self.client_secret = Some(secret.into());
        self
    }

    /// A Tencent Cloud SecretId/SecretKey, for `token/clientCredential` (server side only).
    /// Requests are signed with TC3-HMAC-SHA256, as the official Node server SDK signs them;
    /// the SecretKey is never sent. Shorthand for
    /// `with_server_credential(ServerCredential::tc3(secret_id, secret_key))`.
    pub fn with_cloud_secret(
        self,
        secret_id: impl Into<String>,
        secret_key: impl Into<CloudSecretKey>,
    ) -> Config {
        self.with_server_credential(ServerCredential::tc3(secret_id, secret_key))
    }

    /// The credential of server-only operations: a TC3 signature (optionally with an STS
    /// token), an API key, or basic auth that sends the SecretKey (see [`ServerCredential`]).
    pub fn with_server_credential(mut self, credential: ServerCredential) -> Config {
        self.cloud_secret = Some(credential);
        self
    }

    /// A fixed `x-device-id` (default: 32 random lowercase hex characters per session).
    /// Anonymous users are tied to it: the same device id signs in the same anonymous user.
    pub fn with_device_id(mut self, device_id: impl Into<String>) -> Config {
        self.device_id = Some(device_id.into());
        self
    }

    /// Bring your own `reqwest::Client`: its user agent, proxies, TLS roots and connect
    /// timeout apply; [`with_timeout`](Config::with_timeout) still applies to every
    /// request (it is set per request), and [`with_connect_timeout`](Config::with_connect_timeout)
    /// does not (it is a client setting).
    ///
    /// Redirects: the built-in client follows none, so credentials never leave for
    /// another URL. Your client keeps its own redirect policy — reqwest's default follows
    /// up to 10, and it drops `Authorization` only on a redirect to another host. Build it
    /// with `.redirect(reqwest::redirect::Policy::none())` to get the built-in behaviour.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Config {
        self.http = Some(client);
        self
    }

    /// The `User-Agent` header (default `cloudbase-auth-rust/VERSION`), e.g. to name your
    /// service in CloudBase's logs. Ignored with [`with_http_client`](Config::with_http_client),
    /// whose client sends its own.
    ///
    /// ```
    /// let config = cloudbase_auth::Config::for_env("my-env-1a2b3c")
    ///     .with_user_agent("billing-service/2.3 cloudbase-auth-rust");
    /// # let _ = config;
    /// ```
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Config {
        self.user_agent = user_agent.into();
        self
    }

    /// Total time allowed for one request attempt (default 15 s), set on every request,
    /// so it applies with [`with_http_client`](Config::with_http_client) too. The refresh
    /// grant has its own, [`with_refresh_timeout`](Config::with_refresh_timeout).
    pub fn with_timeout(mut self, timeout: Duration) -> Config {
        self.timeout = timeout;
        self
    }

    /// Time allowed to connect (default 5 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Config {
        self.connect_timeout = timeout;
        self
    }

    /// Refresh this long before the access token expires (default 60 s).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Config {
        self.refresh_margin = margin;
        self
    }

    /// Add up to this much random time to the margin, so many clients don't refresh
    /// in the same second (default 10 s; zero for deterministic tests).
    pub fn with_refresh_jitter(mut self, jitter: Duration) -> Config {
        self.refresh_jitter = jitter;
        self
    }

    /// Total time allowed for one refresh request (default 8 s). Kept shorter than the
    /// server's refresh-token reuse window (10 s) so that a refresh whose answer timed
    /// out can still be resent safely: inside the window the server returns the current
    /// pair instead of treating the resend as a stolen token.
    pub fn with_refresh_timeout(mut self, timeout: Duration) -> Config {
        self.refresh_timeout = timeout;
        self
    }

    /// Retries of transient failures (default: 2 retries, full jitter from 200 ms).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Config {
        self.retry = retry;
        self
    }

    /// The largest response body read (default 1 MiB); larger ones fail without being read.
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Config {
        self.max_response_bytes = bytes;
        self
    }

    /// The clock for expiry (default: the system clock).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Config {
        self.clock = Arc::new(clock);
        self
    }

    /// Where the session is kept (default: memory only).
    pub fn with_token_store(mut self, store: impl TokenStore + 'static) -> Config {
        self.store = Arc::new(store);
        self
    }

    /// The base URL (scheme and host, no path), validated.
    pub(crate) fn base_url(&self) -> Result<String, ConfigError> {
        match &self.endpoint {
            Endpoint::Regional { env_id, region } => {
                check_env_id(env_id)?;
                if !is_region(region) {
                    return Err(ConfigError::InvalidRegion(region.clone()));
                }
                Ok(format!(
                    "https://{env_id}.{region}.tcb-api.tencentcloudapi.com"
                ))
            }
            Endpoint::Gateway {
                env_id,
                international,
            } => {
                check_env_id(env_id)?;
                let intl = if *international { "intl." } else { "" };
                Ok(format!("https://{env_id}.api.{intl}tcloudbasegateway.com"))
            }
            Endpoint::BaseUrl { url, .. } => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|_| ConfigError::InvalidBaseUrl(url.clone()))?;
                // A path would be silently prepended to every `/auth/v1/…` call (all 404).
                let bare =
                    parsed.path() == "/" && parsed.query().is_none() && parsed.fragment().is_none();
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() || !bare
                {
                    return Err(ConfigError::InvalidBaseUrl(url.clone()));
                }
                Ok(url.trim_end_matches('/').to_string())
            }
        }
    }

    /// The client id: explicit, else the environment id.
    pub(crate) fn resolved_client_id(&self) -> Result<String, ConfigError> {
        if let Some(id) = &self.client_id {
            return Ok(id.clone());
        }
        match &self.endpoint {
            Endpoint::Regional { env_id, .. } | Endpoint::Gateway { env_id, .. } => {
                Ok(env_id.clone())
            }
            Endpoint::BaseUrl {
                env_id: Some(env_id),
                ..
            } => Ok(env_id.clone()),
            Endpoint::BaseUrl { env_id: None, .. } => Err(ConfigError::MissingClientId),
        }
    }

    /// The device id: given (and checked), else fresh.
    pub(crate) fn resolved_device_id(&self) -> Result<String, ConfigError> {
        match &self.device_id {
            None => Ok(crate::ids::new_device_id()),
            Some(id) if id.chars().count() >= 72 => {
                Err(ConfigError::DeviceIdTooLong(id.chars().count()))
            }
            Some(id) if id.is_empty() || !id.bytes().all(|b| b.is_ascii_graphic()) => {
                Err(ConfigError::InvalidDeviceId)
            }
            Some(id) => Ok(id.clone()),
        }
    }

    /// The HTTP client: the caller's, or ours with timeouts, no redirects and our user
    /// agent. The session's transport also sets the timeout on every request (so a
    /// caller's client gets it too); the client-level one covers the verifier's calls.
    /// The timeout every request must carry itself: only with a user's client, whose
    /// own settings this crate cannot change (the built-in client has it already, and
    /// a per-request timeout costs an allocation per request).
    pub(crate) fn per_request_timeout(&self) -> Option<Duration> {
        self.http.is_some().then_some(self.timeout)
    }

    pub(crate) fn http_client(&self) -> Result<reqwest::Client, ConfigError> {
        if let Some(client) = &self.http {
            return Ok(client.clone());
        }
        let builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            // Never follow redirects with credentials attached (oauth2-rs does the same).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(&self.user_agent);
        crate::tls::configure(builder)?
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))
    }
}

fn check_env_id(env_id: &str) -> Result<(), ConfigError> {
    let valid = !env_id.is_empty()
        && env_id.len() <= 64
        && env_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ConfigError::InvalidEnvId(env_id.to_string()))
    }
}

fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("cloud_secret", &self.cloud_secret)
            .field("device_id", &self.device_id)
            .field("timeout", &self.timeout)
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

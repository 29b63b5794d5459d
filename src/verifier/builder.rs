//! Building a [`Verifier`].

use std::sync::Arc;
use std::time::Duration;

use super::cache::{CachePolicy, VerdictCache};
use super::claims::Expected;
use super::jwks::{JwksSource, KeySet, parse_jwks};
use super::offline::SignatureCheck;
use super::online::Introspector;
use super::verify::{Backend, Inner, Mode, Verifier};
use crate::{Clock, Config, Session};

/// Why [`VerifierBuilder::build`] failed. Nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The client configuration is not valid (base URL, client id, HTTP client).
    #[error(transparent)]
    Config(#[from] crate::Error),
    /// The JWKS URL is not an absolute http(s) URL.
    #[error("JWKS URL `{0}` is not an absolute http(s) URL")]
    InvalidJwksUrl(String),
    /// The JWKS given to [`VerifierBuilder::with_jwks_json`] has no usable key.
    #[error("the given JWKS is not usable: {0}")]
    InvalidJwks(String),
}

impl Verifier {
    /// A verifier that introspects tokens at `config`'s server.
    pub fn online(config: Config) -> VerifierBuilder {
        VerifierBuilder::new(config, Mode::Online)
    }

    /// A verifier that checks signatures with the keys at `config`'s JWKS URL.
    pub fn offline(config: Config) -> VerifierBuilder {
        VerifierBuilder::new(config, Mode::Offline)
    }
}

/// Settings of a [`Verifier`]; start with [`Verifier::online`] or [`Verifier::offline`].
#[derive(Debug)]
#[must_use]
pub struct VerifierBuilder {
    config: Config,
    mode: Mode,
    audience: Option<String>,
    issuer: Option<String>,
    clock: Option<Arc<dyn Clock>>,
    leeway: Duration,
    cache: CachePolicy,
    max_introspections: usize,
    jwks_url: Option<String>,
    jwks_json: Option<String>,
    jwks_refetch_interval: Duration,
    #[cfg(feature = "redis")]
    shared_cache: Option<SharedRedis>,
}

/// The shared cache's connection; its `Debug` prints no address.
#[cfg(feature = "redis")]
struct SharedRedis(redis::aio::ConnectionManager);

#[cfg(feature = "redis")]
impl std::fmt::Debug for SharedRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redis")
    }
}

impl VerifierBuilder {
    pub(super) fn new(config: Config, mode: Mode) -> VerifierBuilder {
        VerifierBuilder {
            config,
            mode,
            audience: None,
            issuer: None,
            clock: None,
            leeway: Duration::from_secs(30),
            cache: CachePolicy {
                capacity: 100_000,
                max_ttl: Duration::from_secs(60),
                negative_ttl: Duration::from_secs(5),
            },
            max_introspections: 32,
            jwks_url: None,
            jwks_json: None,
            jwks_refetch_interval: Duration::from_secs(30),
            #[cfg(feature = "redis")]
            shared_cache: None,
        }
    }

    /// The required `aud` (default: the config's client id, which defaults to the env id).
    pub fn with_audience(mut self, client_id: impl Into<String>) -> Self {
        self.audience = Some(client_id.into());
        self
    }

    /// The required `iss` (default: `http://{client id}.ap-shanghai.tcb-api.tencentcloudapi.com`,
    /// upstream's form, which names the env id: set this when the client id is not the env id).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The clock for `exp`/`nbf` and the JWKS refetch interval (default: the config's).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default 30 s).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The longest a valid token's verdict is cached (default 60 s; never past its `exp`).
    /// In online mode it is also how long a revocation can go unseen. Zero turns the cache,
    /// and with it single-flight, off.
    pub fn with_max_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache.max_ttl = ttl;
        self
    }

    /// How long a refusal is cached (default 5 s). Expiry and outages are never cached.
    pub fn with_negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache.negative_ttl = ttl;
        self
    }

    /// The most tokens cached at once (default 100,000; about 1 KiB each).
    pub fn with_cache_capacity(mut self, entries: u64) -> Self {
        self.cache.capacity = entries;
        self
    }

    /// Online mode: the most introspection calls in flight (default 32).
    pub fn with_max_concurrent_introspections(mut self, calls: usize) -> Self {
        self.max_introspections = calls;
        self
    }

    /// Offline mode: where the JWKS is (default `{base URL}/auth/v1/certs`; that upstream
    /// path is reported by one source only, reference §2.8, and the emulator serves it).
    pub fn with_jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Offline mode: keys known from the start (a JWKS document), e.g. pinned keys. An
    /// unknown `kid` still refetches from the JWKS URL.
    pub fn with_jwks_json(mut self, jwks: impl Into<String>) -> Self {
        self.jwks_json = Some(jwks.into());
        self
    }

    /// Offline mode: the least time between two JWKS fetches (default 30 s). An unknown
    /// `kid` refetches at most this often, so made-up kids cannot flood the JWKS server.
    pub fn with_jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_refetch_interval = interval;
        self
    }

    /// Online mode: share introspection answers with the other replicas through Redis
    /// (feature `redis`), behind this replica's local cache, so the fleet introspects a
    /// token once per TTL instead of once per replica. Keys are SHA-256 hashes of the
    /// tokens; an answer lives at most `min(exp - now, max cache TTL)`, a refusal the
    /// negative TTL. When Redis does not answer within 250 ms the replica introspects
    /// itself: an outage costs introspections, never a wrong verdict. Connect with
    /// [`RedisTokenStore::connect`](crate::RedisTokenStore::connect) or your own
    /// `ConnectionManager`. Offline mode ignores it (it makes no call to share).
    #[cfg(feature = "redis")]
    pub fn with_shared_cache(mut self, redis: redis::aio::ConnectionManager) -> Self {
        self.shared_cache = Some(SharedRedis(redis));
        self
    }

    /// The verifier. Checks the configuration; makes no network call.
    pub fn build(self) -> Result<Verifier, BuildError> {
        let audience = match self.audience.clone() {
            Some(audience) => audience,
            None => self
                .config
                .resolved_client_id()
                .map_err(crate::Error::from)?,
        };
        let issuer = self.issuer.clone().unwrap_or_else(|| {
            format!("http://{audience}.ap-shanghai.tcb-api.tencentcloudapi.com")
        });
        let clock = self
            .clock
            .clone()
            .unwrap_or_else(|| self.config.clock.clone());
        let backend = match self.mode {
            Mode::Online => Backend::Online(self.introspector(&audience)?),
            Mode::Offline => {
                Backend::Offline(Box::new(SignatureCheck::new(self.key_set(clock.clone())?)))
            }
        };
        Ok(Verifier(Arc::new(Inner {
            backend,
            expected: Expected { audience, issuer },
            leeway_secs: self.leeway.as_secs(),
            clock,
            cache: VerdictCache::new(self.cache),
        })))
    }

    fn introspector(&self, audience: &str) -> Result<Introspector, BuildError> {
        let introspector =
            Introspector::new(Session::new(self.config.clone())?, self.max_introspections);
        #[cfg(feature = "redis")]
        let introspector = introspector.with_shared(self.shared_cache.as_ref().map(|redis| {
            super::shared_cache::SharedCache::new(redis.0.clone(), audience, self.cache)
        }));
        #[cfg(not(feature = "redis"))]
        let _ = audience;
        Ok(introspector)
    }

    fn key_set(&self, clock: Arc<dyn Clock>) -> Result<KeySet, BuildError> {
        let config = &self.config;
        let url = match &self.jwks_url {
            Some(url) => url.clone(),
            None => format!(
                "{}/auth/v1/certs",
                config.base_url().map_err(crate::Error::from)?
            ),
        };
        let valid = reqwest::Url::parse(&url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !valid {
            return Err(BuildError::InvalidJwksUrl(url));
        }
        let initial = match &self.jwks_json {
            Some(json) => parse_jwks(json.as_bytes()).map_err(BuildError::InvalidJwks)?,
            None => Default::default(),
        };
        let source = JwksSource {
            http: config.http_client().map_err(crate::Error::from)?,
            url,
            max_bytes: config.max_response_bytes,
        };
        Ok(KeySet::new(
            initial,
            source,
            self.jwks_refetch_interval,
            clock,
        ))
    }
}

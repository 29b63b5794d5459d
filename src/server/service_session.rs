//! The backend's own session: the admin token of `POST /auth/v1/token/clientCredential`,
//! cached and granted again before it expires.
//!
//! The admin token has no refresh token (it lives 5 days), so "refreshing" is a new grant with
//! the server credential. Grants are single-flight: callers that find the token stale queue on
//! one lock, the first one grants, the others take its result. A caller cancelled half-way
//! abandons nothing that matters: unlike a refresh token, a client credential can be presented
//! again. A transient failure while the old token is still valid keeps the old token.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::broadcast;

use crate::call::with_bearer_token;
use crate::config::Config;
use crate::error::Error;
use crate::events::SessionEvent;
use crate::generated::types;
use crate::secret::{AccessToken, ApiKey};
use crate::{RawClient, Session};

/// A backend's admin session: a fresh client-credential token whenever one is needed.
///
/// Cheap to clone, `Send + Sync`; all clones share one token.
///
/// ```no_run
/// use cloudbase_auth::{Config, server::{ServerCredential, ServiceSession}};
///
/// # async fn demo() -> Result<(), cloudbase_auth::Error> {
/// let config = Config::for_gateway("my-env-1a2b3c")
///     .with_server_credential(ServerCredential::tc3("AKIDexample", "secret-key"));
/// let service = ServiceSession::new(config)?;
/// let token = service.access_token().await?; // granted once, cached until near expiry
/// // Any generated operation, sent with the admin token as its bearer:
/// let me = service.authorized(|raw| async move { raw.get_user_me().send().await }).await?;
/// # let _ = (token, me); Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServiceSession {
    inner: Arc<Inner>,
}

struct Inner {
    session: Session,
    api_key: Option<ApiKey>,
    margin: Duration,
    current: Mutex<Option<Arc<AdminToken>>>,
    /// Held while a grant is in flight: the single flight.
    granting: tokio::sync::Mutex<()>,
    events: broadcast::Sender<SessionEvent>,
}

struct AdminToken {
    access: AccessToken,
    expires_at: SystemTime,
}

impl ServiceSession {
    /// A service session for the configuration's server credential
    /// ([`Config::with_server_credential`] or [`Config::with_cloud_secret`]). Re-grants
    /// [`Config::with_refresh_margin`] before expiry. Fails only on bad configuration.
    pub fn new(config: Config) -> Result<ServiceSession, Error> {
        let credential = config.cloud_secret.clone().ok_or_else(|| Error::InvalidRequest {
            message: "a service session needs a server credential: configure `Config::with_server_credential` or `Config::with_cloud_secret`".into(),
        })?;
        let margin = config.refresh_margin;
        Ok(ServiceSession {
            inner: Arc::new(Inner {
                api_key: credential.as_api_key().cloned(),
                session: Session::new(config)?,
                margin,
                current: Mutex::new(None),
                granting: tokio::sync::Mutex::new(()),
                events: broadcast::channel(16).0,
            }),
        })
    }

    /// A valid admin token: the cached one, or a new grant when it is within the margin of
    /// expiry. With an API key credential, the key itself (it needs no exchange).
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        if let Some(key) = &self.inner.api_key {
            return Ok(AccessToken::new(key.expose_secret()));
        }
        if let Some(token) = self.fresh() {
            return Ok(token.access.clone());
        }
        let _granting = self.inner.granting.lock().await;
        // Whoever held the lock before may have granted already.
        if let Some(token) = self.fresh() {
            return Ok(token.access.clone());
        }
        let old = self.current();
        match self.grant().await {
            Ok(token) => Ok(token.access.clone()),
            Err(e) => match old {
                Some(old) if e.is_transient() && self.now() < old.expires_at => {
                    tracing::debug!(
                        "admin token grant failed transiently; the current token is still valid"
                    );
                    Ok(old.access.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// Runs a generated operation with the admin token as its bearer: for operations that
    /// take the admin credential (or any bearer operation, as the administrator).
    pub async fn authorized<F, Fut>(&self, call: F) -> Result<Fut::Output, Error>
    where
        F: FnOnce(RawClient) -> Fut,
        Fut: Future,
    {
        let token = self.access_token().await?;
        let raw = self.inner.session.raw().clone();
        Ok(with_bearer_token(&token, call(raw)).await)
    }

    /// When the cached admin token expires, if there is one.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.current().map(|t| t.expires_at)
    }

    /// `SignedIn` for the first grant, `TokenRefreshed` for each later one.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.inner.events.subscribe()
    }

    fn now(&self) -> SystemTime {
        self.inner.session.now()
    }

    fn current(&self) -> Option<Arc<AdminToken>> {
        self.inner
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn fresh(&self) -> Option<Arc<AdminToken>> {
        let now = self.now();
        self.current().filter(|t| {
            t.expires_at
                .checked_sub(self.inner.margin)
                .is_some_and(|at| now < at)
        })
    }

    async fn grant(&self) -> Result<Arc<AdminToken>, Error> {
        let body =
            types::ClientCredentialRequest::builder().grant_type("client_credentials".to_string());
        let requested_at = self.now();
        let response = self
            .inner
            .session
            .send(|raw| raw.client_credential_token().body(body).send())
            .await?;
        let (Some(access), Some(expires_in)) = (response.access_token, response.expires_in) else {
            return Err(Error::Decode {
                operation: "client_credential_token".into(),
                status: 200,
                reason: "the response has no access_token or expires_in".into(),
                request_id: String::new(),
            });
        };
        let token = Arc::new(AdminToken {
            access: AccessToken::new(access),
            // From when it was asked for: the server's clock started no earlier.
            expires_at: requested_at + Duration::from_secs(expires_in.max(0) as u64),
        });
        let first = self
            .inner
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(token.clone())
            .is_none();
        let event = if first {
            SessionEvent::SignedIn { sub: None }
        } else {
            SessionEvent::TokenRefreshed
        };
        let _ = self.inner.events.send(event);
        Ok(token)
    }
}

impl fmt::Debug for ServiceSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceSession")
            .field("base_url", &self.inner.session.base_url())
            .field("api_key", &self.inner.api_key.is_some())
            .field("expires_at", &self.expires_at())
            .finish()
    }
}

//! Online mode: `GET /auth/v1/token/introspect` with the token as the bearer (reference
//! §2.4). Sees revocations, at the cost of one call per token per cache TTL.

use tokio::sync::Semaphore;

use super::cache::log_id;
use super::claims::{Claims, Expected, RawClaims};
use super::rejection::Rejection;
use crate::{AccessToken, Error, Session};

pub(crate) struct Introspector {
    session: Session,
    /// Bounds the introspections in flight, so a flood of distinct tokens cannot open
    /// unbounded connections to the auth server.
    permits: Semaphore,
}

impl Introspector {
    pub(crate) fn new(session: Session, max_in_flight: usize) -> Introspector {
        Introspector {
            session,
            permits: Semaphore::new(max_in_flight.max(1)),
        }
    }

    /// The token's claims if the server says it is active and it matches `expected`.
    /// The introspection answer has no `exp`, so the payload supplies it (and the other
    /// claims); `sub` must agree with the server's, or the payload was tampered with.
    pub(crate) async fn check(
        &self,
        token: &str,
        expected: &Expected,
        mut raw: RawClaims,
    ) -> Result<Claims, Rejection> {
        let answer = self.introspect(token).await?;
        if !answer.active {
            return Err(Rejection::Inactive);
        }
        if answer.sub.as_deref() != Some(raw.sub()) {
            return Err(Rejection::BadSignature);
        }
        if answer
            .client_id
            .as_deref()
            .is_some_and(|id| id != expected.audience)
        {
            return Err(Rejection::WrongAudience);
        }
        if let Some(scope) = answer.scope {
            raw.set_scope(scope);
        }
        raw.into_claims(expected)
    }

    async fn introspect(&self, token: &str) -> Result<crate::Introspection, Rejection> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Rejection::Unavailable)?;
        match self
            .session
            .introspect_token(&AccessToken::new(token))
            .await
        {
            Ok(answer) => Ok(answer),
            // Upstream answers `{}` for a bad token, but a 401 means the same thing.
            Err(Error::Api(api)) if api.status == 401 || api.error == "unauthenticated" => {
                Err(Rejection::Inactive)
            }
            Err(error) => {
                tracing::warn!(token = %log_id(token), %error, "token introspection failed");
                Err(Rejection::Unavailable)
            }
        }
    }
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("base_url", &self.session.base_url())
            .field("free_permits", &self.permits.available_permits())
            .finish()
    }
}

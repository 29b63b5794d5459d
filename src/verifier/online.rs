//! Online mode: `GET /auth/v1/token/introspect` with the token as the bearer (reference
//! §2.4). Sees revocations, at the cost of one call per token per cache TTL.

use tokio::sync::Semaphore;

use super::answer::Answer;
use super::cache::log_id;
use super::claims::{Claims, Expected, RawClaims};
use super::rejection::Rejection;
#[cfg(feature = "redis")]
use super::shared_cache::SharedCache;
use crate::{AccessToken, Error, Session};

pub(crate) struct Introspector {
    session: Session,
    /// Bounds the introspections in flight, so a flood of distinct tokens cannot open
    /// unbounded connections to the auth server.
    permits: Semaphore,
    /// Answers shared with other replicas, asked before the server.
    #[cfg(feature = "redis")]
    shared: Option<SharedCache>,
}

impl Introspector {
    pub(crate) fn new(session: Session, max_in_flight: usize) -> Introspector {
        Introspector {
            session,
            permits: Semaphore::new(max_in_flight.max(1)),
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// Asks `shared` before the server.
    #[cfg(feature = "redis")]
    pub(crate) fn with_shared(mut self, shared: Option<SharedCache>) -> Introspector {
        self.shared = shared;
        self
    }

    /// The token's claims if the server says it is active and it matches `expected`.
    /// The introspection answer has no `exp`, so the payload supplies it (and the other
    /// claims); `sub` must agree with the server's, or the payload was tampered with.
    pub(crate) async fn check(
        &self,
        token: &str,
        expected: &Expected,
        mut raw: RawClaims,
        now: u64,
    ) -> Result<Claims, Rejection> {
        let Answer::Active {
            sub,
            scope,
            client_id,
        } = self.answer(token, raw.exp_secs(), now).await?
        else {
            return Err(Rejection::Inactive);
        };
        if sub.as_deref() != Some(raw.sub()) {
            return Err(Rejection::BadSignature);
        }
        if client_id.is_some_and(|id| id != expected.audience) {
            return Err(Rejection::WrongAudience);
        }
        if let Some(scope) = scope {
            raw.set_scope(scope);
        }
        raw.into_claims(expected)
    }

    /// The shared answer if there is one, else the server's (then shared). A shared cache
    /// that does not answer is a miss: never a verdict.
    #[cfg(feature = "redis")]
    async fn answer(&self, token: &str, exp: u64, now: u64) -> Result<Answer, Rejection> {
        let Some(shared) = &self.shared else {
            return self.introspect(token).await;
        };
        if let Some(answer) = shared.get(token).await {
            return Ok(answer);
        }
        let answer = self.introspect(token).await?;
        shared.put(token, &answer, exp, now).await;
        Ok(answer)
    }

    #[cfg(not(feature = "redis"))]
    async fn answer(&self, token: &str, _exp: u64, _now: u64) -> Result<Answer, Rejection> {
        self.introspect(token).await
    }

    async fn introspect(&self, token: &str) -> Result<Answer, Rejection> {
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
            Ok(answer) if answer.active => Ok(Answer::Active {
                sub: answer.sub,
                scope: answer.scope,
                client_id: answer.client_id,
            }),
            Ok(_) => Ok(Answer::Inactive),
            // Upstream answers `{}` for a bad token, but a 401 means the same thing.
            Err(Error::Api(api)) if api.status == 401 || api.error == "unauthenticated" => {
                Ok(Answer::Inactive)
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

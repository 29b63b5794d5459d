//! What the server says about tokens: introspection and revocation.

use crate::call::with_bearer_token;
use crate::error::Error;
use crate::events::SessionEvent;
use crate::generated::types;
use crate::secret::{AccessToken, RefreshToken};
use crate::session::Session;

/// What the server says about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Introspection {
    /// Whether the token is valid now (upstream answers `{}` for an invalid one).
    pub active: bool,
    /// The user id the token belongs to.
    pub sub: Option<String>,
    /// The token's scope.
    pub scope: Option<String>,
    /// The client the token was issued to.
    pub client_id: Option<String>,
}

/// A token to revoke: an access token or a refresh token (`&AccessToken` and
/// `&RefreshToken` convert into it).
#[derive(Debug, Clone, Copy)]
pub enum Revocable<'a> {
    /// An access token.
    Access(&'a AccessToken),
    /// A refresh token: revoking it ends the session it belongs to everywhere.
    Refresh(&'a RefreshToken),
}

impl<'a> From<&'a AccessToken> for Revocable<'a> {
    fn from(token: &'a AccessToken) -> Self {
        Revocable::Access(token)
    }
}

impl<'a> From<&'a RefreshToken> for Revocable<'a> {
    fn from(token: &'a RefreshToken) -> Self {
        Revocable::Refresh(token)
    }
}

impl Revocable<'_> {
    fn expose_secret(&self) -> &str {
        match self {
            Revocable::Access(token) => token.expose_secret(),
            Revocable::Refresh(token) => token.expose_secret(),
        }
    }
}

impl Session {
    /// Introspects this session's access token.
    pub async fn introspect(&self) -> Result<Introspection, Error> {
        let response = self.send(|raw| raw.introspect_token().send()).await?;
        Ok(introspection(response))
    }

    /// Introspects any access token (e.g. one a caller presented to you).
    pub async fn introspect_token(&self, token: &AccessToken) -> Result<Introspection, Error> {
        let send = self.send(|raw| raw.introspect_token().send());
        Ok(introspection(with_bearer_token(token, send).await?))
    }

    /// Revokes a token. Revoking this session's own access or refresh token also ends
    /// the session here.
    pub async fn revoke<'a>(&self, token: impl Into<Revocable<'a>>) -> Result<(), Error> {
        let token = token.into();
        let secret = token.expose_secret();
        let own = self.tokens().is_some_and(|t| match token {
            Revocable::Access(_) => t.access.expose_secret() == secret,
            Revocable::Refresh(_) => t
                .refresh
                .as_ref()
                .is_some_and(|r| r.expose_secret() == secret),
        });
        let body = types::RevokeRequest::builder().token(secret.to_string());
        self.send(|raw| raw.revoke_token().body(body).send())
            .await?;
        if own {
            self.end(SessionEvent::SignedOut).await?;
        }
        Ok(())
    }
}

fn introspection(response: types::IntrospectResponse) -> Introspection {
    Introspection {
        active: response.sub.as_deref().is_some_and(|s| !s.is_empty()),
        sub: response.sub,
        scope: response.scope,
        client_id: response.client_id,
    }
}

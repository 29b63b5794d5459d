//! The session's tokens: what a token response becomes, and when it is due a refresh.

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::HeaderValue;

use crate::error::Error;
use crate::generated::types;
use crate::secret::{AccessToken, RefreshToken};
use crate::token_store::StoredSession;

/// The tokens of a signed-in session, immutable once committed.
pub(crate) struct Tokens {
    pub(crate) access: AccessToken,
    pub(crate) refresh: Option<RefreshToken>,
    pub(crate) expires_at: SystemTime,
    /// When to start refreshing: `expires_at - (margin + jitter)`, fixed at commit.
    pub(super) refresh_at: SystemTime,
    /// `Bearer <access>`, built once per token rather than on every request.
    pub(crate) bearer: HeaderValue,
    pub(crate) scope: Option<String>,
    pub(crate) sub: Option<String>,
    pub(super) token_type: Option<String>,
}

impl Tokens {
    pub(crate) fn is_anonymous(&self) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|s| s.split_whitespace().any(|s| s == "anonymous"))
    }

    /// A stored pair (from the token store or a caller). Its lifetime is unknown, so no
    /// half-lifetime clamp: it refreshes once inside the margin, as a fresh pair does.
    pub(super) fn from_stored(stored: StoredSession, margin: Duration) -> Tokens {
        Tokens {
            refresh_at: stored
                .expires_at
                .checked_sub(margin)
                .unwrap_or(std::time::UNIX_EPOCH),
            bearer: crate::sensitive_header::bearer(stored.access_token.expose_secret()),
            access: stored.access_token,
            refresh: stored.refresh_token,
            expires_at: stored.expires_at,
            scope: stored.scope,
            sub: stored.sub,
            token_type: stored.token_type,
        }
    }

    pub(super) fn stored(&self) -> StoredSession {
        StoredSession {
            access_token: self.access.clone(),
            refresh_token: self.refresh.clone(),
            expires_at: self.expires_at,
            scope: self.scope.clone(),
            sub: self.sub.clone(),
            token_type: self.token_type.clone(),
        }
    }
}

/// A token response as the session's tokens, received at `received`.
pub(super) fn tokens_from(
    response: types::TokenResponse,
    previous: Option<&Tokens>,
    received: SystemTime,
    margin: Duration,
    jitter: Duration,
) -> Result<Tokens, Error> {
    let missing = |field: &str| Error::Decode {
        operation: "token response".into(),
        status: 200,
        reason: format!("no `{field}` in the token response"),
        request_id: String::new(),
    };
    let access = response
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| missing("access_token"))?;
    let expires_in = response
        .expires_in
        .filter(|s| *s > 0)
        .ok_or_else(|| missing("expires_in"))?;
    let expires_at = received
        .checked_add(Duration::from_secs(expires_in.unsigned_abs().into()))
        .ok_or_else(|| missing("expires_in within range"))?;
    // RFC 6749 §6: a new refresh token is optional; without one the old one stays
    // valid. Anonymous sessions never have one.
    let refresh = match response.refresh_token.filter(|t| !t.is_empty()) {
        Some(token) => Some(RefreshToken::new(token)),
        None => previous
            .filter(|p| p.sub == response.sub)
            .and_then(|p| p.refresh.clone()),
    };
    Ok(Tokens {
        bearer: crate::sensitive_header::bearer(&access),
        access: AccessToken::new(access),
        refresh,
        expires_at,
        refresh_at: refresh_at(expires_at, received, margin, jitter),
        scope: response.scope,
        sub: response.sub,
        token_type: response.token_type,
    })
}

/// `expires_at - (margin + jitter)`, but never earlier than half the lifetime: a
/// token that lives shorter than the margin must not trigger a refresh on every
/// call (failure mode H: an endless refresh loop).
pub(super) fn refresh_at(
    expires_at: SystemTime,
    received: SystemTime,
    margin: Duration,
    jitter: Duration,
) -> SystemTime {
    let lifetime = expires_at.duration_since(received).unwrap_or_default();
    let jitter = jitter.mul_f64(rand::rng().random::<f64>());
    let lead = margin.saturating_add(jitter).min(lifetime / 2);
    expires_at.checked_sub(lead).unwrap_or(expires_at)
}

/// What the session makes of a token-response body, for the crate's property tests and
/// fuzzers: the body parsed as the generated code parses it, then the commit path's
/// checks, received at `received` with the given margin and jitter. Returns
/// `(expires_at, refresh_at, has_refresh_token)`.
#[doc(hidden)]
pub fn decode_token_response_for_fuzzing(
    body: &[u8],
    received: SystemTime,
    margin: Duration,
    jitter: Duration,
) -> Result<(SystemTime, SystemTime, bool), Error> {
    let response: types::TokenResponse =
        serde_json::from_slice(body).map_err(|e| Error::Decode {
            operation: "token response".into(),
            status: 200,
            reason: format!("not a token response ({:?})", e.classify()),
            request_id: String::new(),
        })?;
    let tokens = tokens_from(response, None, received, margin, jitter)?;
    Ok((
        tokens.expires_at,
        tokens.refresh_at,
        tokens.refresh.is_some(),
    ))
}

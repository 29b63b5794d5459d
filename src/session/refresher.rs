//! The refresher: fetches the session's next tokens — the refresh grant, or a new
//! anonymous sign-in for anonymous sessions — by sending the request straight through
//! the transport (no generated code, no hooks). The transport's attempt loop is the only
//! retry layer, and [`may_resend_grant`] its rule for grants.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderValue};
use serde::Serialize;

use super::Core;
use super::tokens::Tokens;
use crate::auth::operation_auth;
use crate::call;
use crate::error::{Error, SignInReason};
use crate::events::SessionEvent;
use crate::generated::types;
use crate::secret::RefreshToken;
use crate::transport::{Attempts, Failed, Replay};

/// How long the server accepts a rotated refresh token again (GoTrue's reuse interval,
/// the emulator's default). CloudBase does not document its own.
const REUSE_WINDOW: Duration = Duration::from_secs(10);

/// One refresh, started at `generation` from `old`.
///
/// The refresh grant runs under the store's cross-process lock, if it has one, and
/// first re-reads the store: when another process sharing it has already rotated the
/// refresh token, its pair is adopted instead of spending ours (which the server would
/// treat as a reuse).
pub(super) async fn run(core: &Core, generation: u64, old: &Arc<Tokens>) -> Result<(), Error> {
    let _lock;
    let (generation, response) = if old.is_anonymous() {
        (generation, sign_in_anonymously(core).await)
    } else {
        if old.refresh.is_none() {
            return Err(Error::sign_in_required(SignInReason::NoRefreshToken));
        }
        _lock = core.cache.store.lock().await?;
        let (generation, old) = if _lock.is_some() {
            match adopt_newer_stored(core, generation, old).await {
                Some(next) => next,
                None => return Ok(()),
            }
        } else {
            (generation, old.clone())
        };
        let refresh = old
            .refresh
            .clone()
            .ok_or_else(|| Error::sign_in_required(SignInReason::NoRefreshToken))?;
        (generation, refresh_grant(core, &refresh, &old).await)
    };
    match response {
        Ok(response) => {
            let event = SessionEvent::TokenRefreshed;
            core.cache.commit(response, Some(generation), event).await?;
            Ok(())
        }
        Err(Error::Api(api)) if api.is_invalid_grant() => {
            tracing::warn!(request_id = %api.request_id, "refresh token rejected; the session was cleared");
            let event = SessionEvent::SignInRequired;
            core.cache.clear(Some(generation), event).await?;
            Err(Error::SignInRequired {
                reason: SignInReason::RefreshRejected,
                request_id: Some(api.request_id),
            })
        }
        Err(e) => Err(e),
    }
}

/// Under the store's lock: if the store holds a newer refresh token for the same user
/// (another process rotated it), adopts the stored pair. Returns what to refresh with,
/// or `None` when nothing is left to do (the adopted pair is fresh, or the session
/// moved on meanwhile).
async fn adopt_newer_stored(
    core: &Core,
    generation: u64,
    old: &Arc<Tokens>,
) -> Option<(u64, Arc<Tokens>)> {
    let stored = match core.cache.store.load().await {
        Ok(Some(stored)) => stored,
        Ok(None) => return Some((generation, old.clone())),
        Err(error) => {
            tracing::warn!(%error, "could not re-read the token store; refreshing with this session's token");
            return Some((generation, old.clone()));
        }
    };
    let newer = match (&stored.refresh_token, &old.refresh) {
        (Some(stored), Some(own)) => stored.expose_secret() != own.expose_secret(),
        _ => false,
    };
    let same_user = old.sub.is_none() || stored.sub == old.sub;
    if !(newer && same_user) {
        return Some((generation, old.clone()));
    }
    let event = SessionEvent::TokenRefreshed;
    let (generation, tokens) = core.cache.install(stored, Some(generation), event).await?;
    if core.cache.now() < tokens.refresh_at {
        tracing::debug!("another process already rotated the refresh token; adopted its pair");
        return None;
    }
    Some((generation, tokens))
}

/// `POST /auth/v1/token` with the refresh grant, retried on transient failures while
/// the old access token is still valid and resending is safe ([`may_resend_grant`]).
async fn refresh_grant(
    core: &Core,
    refresh: &RefreshToken,
    old: &Tokens,
) -> Result<types::TokenResponse, Error> {
    let body = types::GrantTokenRequest::try_from(
        types::GrantTokenRequest::builder()
            .grant_type("refresh_token".to_string())
            .refresh_token(refresh.expose_secret().to_string()),
    )
    .map_err(|e| Error::InvalidRequest {
        message: e.to_string(),
    })?;
    let rule = |failed: &Failed, since_first: Duration| {
        core.cache.now() < old.expires_at && may_resend_grant(failed, since_first)
    };
    grant(core, "grant_token", &body, Replay::Decide(&rule)).await
}

/// `POST /auth/v1/signin/anonymously`: how anonymous sessions renew (as upstream).
/// Retried only when the request never left.
async fn sign_in_anonymously(core: &Core) -> Result<types::TokenResponse, Error> {
    let body = types::SignInAnonymouslyRequest::default();
    grant(core, "sign_in_anonymously", &body, Replay::IfNotSent).await
}

/// Sends a token-returning operation through the transport and decodes its answer.
async fn grant(
    core: &Core,
    operation: &'static str,
    body: &impl Serialize,
    replay: Replay<'_>,
) -> Result<types::TokenResponse, Error> {
    let op = operation_auth(operation).ok_or_else(|| Error::InvalidRequest {
        message: format!("operation `{operation}` is not in the spec table"),
    })?;
    let method = Method::from_bytes(op.method.as_bytes()).unwrap_or(Method::POST);
    let mut request = core
        .transport
        .http()
        .request(method, format!("{}{}", core.identity.base_url, op.path))
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .json(body)
        .build()
        .map_err(|e| Error::transport(e, String::new()))?;
    *request.timeout_mut() = Some(core.refresh_timeout);
    core.identity.stamp(&mut request, op, None)?;
    let mut attempts = Attempts::new(core.transport.retry_policy());
    let template = crate::transport::duplicate(&request);
    let send = core
        .transport
        .send(request, template.as_ref(), operation, replay, &mut attempts);
    let (result, report) = call::observe(send, |result, report| (result, report)).await;
    let request_id = (report.observed.request_id.as_ref())
        .and_then(crate::error::header_text)
        .unwrap_or_default();
    let answer = result.map_err(|e| Error::transport(e, request_id.clone()))?;
    let (status, headers, body) = answer
        .into_parts()
        .await
        .map_err(|e| Error::transport(e, request_id.clone()))?;
    let decode = |reason: String| Error::Decode {
        operation: operation.to_string(),
        status: status.as_u16(),
        reason,
        request_id: request_id.clone(),
    };
    if let Some(reason) = report.observed.undecodable {
        return Err(decode(reason));
    }
    if let Some(original) = report.observed.too_large.filter(|s| *s < 400) {
        let mut error = decode("the response body was too large".into());
        if let Error::Decode { status, .. } = &mut error {
            *status = original;
        }
        return Err(error);
    }
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|e| decode(crate::failure::describe_json_error(&e)));
    }
    let error_body: types::ErrorBody = serde_json::from_slice(&body)
        .map_err(|e| decode(crate::failure::describe_json_error(&e)))?;
    let status = report.observed.too_large.unwrap_or(status.as_u16());
    Err(Error::api(status, error_body, &headers, request_id))
}

/// Whether a failed refresh grant may be sent again `since_first` after the first attempt
/// started. When the server may have rotated the token before the answer was lost (the
/// request went out and no answer says otherwise: a transport failure after sending, a
/// 502 or 504 from a gateway), resending the same token is safe only inside the reuse
/// window: later it counts as a reuse and revokes the session. A connection never made,
/// or a 503/429/500 answer from the server itself, rotated nothing.
fn may_resend_grant(failed: &Failed, since_first: Duration) -> bool {
    let may_have_rotated = match failed.status {
        None => failed.may_have_been_sent,
        Some(status) => matches!(status, 502 | 504),
    };
    !may_have_rotated || since_first < REUSE_WINDOW
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(may_have_been_sent: bool) -> Failed {
        Failed {
            status: None,
            may_have_been_sent,
        }
    }

    fn answered(status: u16) -> Failed {
        Failed {
            status: Some(status),
            may_have_been_sent: true,
        }
    }

    #[test]
    fn a_refresh_that_may_have_rotated_is_resent_only_inside_the_reuse_window() {
        let inside = Duration::from_secs(9);
        let outside = Duration::from_secs(10);
        for failed in [transport(true), answered(502), answered(504)] {
            assert!(may_resend_grant(&failed, inside));
            assert!(!may_resend_grant(&failed, outside));
        }
        // Nothing was rotated: any time is fine (the attempt budget bounds it).
        for failed in [
            transport(false),
            answered(503),
            answered(429),
            answered(500),
        ] {
            assert!(may_resend_grant(&failed, Duration::from_secs(3600)));
        }
    }
}

//! Sessions, refresh-token families and access-token claims.
//!
//! A session is one sign-in. Its refresh tokens form a family: refreshing rotates the active
//! token (GoTrue's model, supabase/auth `internal/tokens/service.go`). A rotated token presented
//! again within the reuse interval is answered with the family's newest token, which covers a
//! response lost after the rotation was committed; presented later it revokes the whole session
//! (RFC 9700 §4.14.2). Revoking a session (sign-out, revoke) invalidates its access tokens too,
//! because every bearer check looks the session up by the `sid` claim.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};
use crate::secrets::{random_token, sha256_hex};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    pub provider_type: String,
    pub device_id: Option<String>,
    pub created_at: u64,
    pub revoked: bool,
    /// When a token was last issued for it (opening or refresh): pruning keeps the session
    /// while any of its tokens can still be alive.
    #[serde(default)]
    last_issued: u64,
    /// Hash of the family's one unrotated refresh token, so rotating needs no scan.
    #[serde(default)]
    live: Option<String>,
    /// The family's newest refresh token in plain text, kept in memory only (never exported)
    /// so a reuse inside the interval can be answered with it.
    #[serde(skip)]
    newest: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RefreshRecord {
    sid: String,
    expires_at: u64,
    rotated_at: Option<u64>,
}

/// What a new session is opened for.
pub(crate) struct NewSession {
    pub sub: String,
    pub client_id: String,
    pub scope: &'static str,
    pub provider_type: String,
    pub device_id: Option<String>,
    /// Anonymous sessions get no refresh token (upstream example); clients sign in again.
    pub with_refresh: bool,
}

/// A session to answer with a token response.
pub(crate) struct Grant {
    pub sid: String,
    pub session: Session,
    pub refresh_token: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetimes {
    pub access: u64,
    pub refresh: u64,
}

/// Policy of one refresh-grant call.
pub(crate) struct RefreshPolicy<'a> {
    pub client_id: &'a str,
    pub now: u64,
    pub ttl: u64,
    pub reuse_interval: u64,
}

/// Sessions by id, and refresh tokens by SHA-256 hash (never in plain text).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Sessions {
    by_id: BTreeMap<String, Session>,
    refresh: BTreeMap<String, RefreshRecord>,
}

impl Sessions {
    pub(crate) fn open(&mut self, new: NewSession, now: u64, refresh_ttl: u64) -> Grant {
        let sid = random_token("");
        let session = Session {
            sub: new.sub,
            client_id: new.client_id,
            scope: new.scope.to_owned(),
            provider_type: new.provider_type,
            device_id: new.device_id,
            created_at: now,
            revoked: false,
            last_issued: now,
            live: None,
            newest: None,
        };
        self.by_id.insert(sid.clone(), session.clone());
        let refresh_token = new
            .with_refresh
            .then(|| self.rotate(&sid, now, refresh_ttl));
        Grant {
            sid,
            session,
            refresh_token,
        }
    }

    /// Marks the family's live token rotated and mints its new newest token.
    fn rotate(&mut self, sid: &str, now: u64, ttl: u64) -> String {
        let token = random_token("m.");
        let hash = sha256_hex(&token);
        let previous = self.by_id.get_mut(sid).and_then(|session| {
            session.newest = Some(token.clone());
            session.last_issued = now;
            session.live.replace(hash.clone())
        });
        if let Some(record) = previous.and_then(|h| self.refresh.get_mut(&h)) {
            record.rotated_at = Some(now);
        }
        let record = RefreshRecord {
            sid: sid.to_owned(),
            expires_at: now.saturating_add(ttl),
            rotated_at: None,
        };
        self.refresh.insert(hash, record);
        token
    }

    /// Rebuilds each session's `live` hash (state documents written before it existed).
    pub(crate) fn reindex(&mut self) {
        for (hash, record) in &self.refresh {
            if record.rotated_at.is_none()
                && let Some(session) = self.by_id.get_mut(&record.sid)
            {
                session.live = Some(hash.clone());
            }
        }
    }

    /// Drops revoked sessions and sessions idle for `keep_secs` (no token issued for them can
    /// still be valid), and refresh records that expired or lost their session.
    pub(crate) fn prune(&mut self, now: u64, keep_secs: u64) {
        self.by_id
            .retain(|_, s| !s.revoked && s.last_issued.saturating_add(keep_secs) > now);
        let sessions = &self.by_id;
        self.refresh
            .retain(|_, r| r.expires_at > now && sessions.contains_key(&r.sid));
    }

    /// Users with at least one session.
    pub(crate) fn subs(&self) -> std::collections::HashSet<&str> {
        self.by_id.values().map(|s| s.sub.as_str()).collect()
    }

    /// The refresh grant with rotation and reuse detection.
    pub(crate) fn refresh(&mut self, token: &str, policy: &RefreshPolicy<'_>) -> ApiResult<Grant> {
        let record = self
            .refresh
            .get(&sha256_hex(token))
            .cloned()
            .ok_or_else(|| ApiError::invalid_grant("unknown refresh token"))?;
        let session = self
            .by_id
            .get(&record.sid)
            .cloned()
            .ok_or_else(|| ApiError::invalid_grant("unknown refresh token"))?;
        if session.revoked {
            return Err(ApiError::invalid_grant("refresh token revoked"));
        }
        if session.client_id != policy.client_id {
            return Err(ApiError::invalid_grant(
                "refresh token was issued to another client",
            ));
        }
        if record.expires_at <= policy.now {
            return Err(ApiError::invalid_grant("refresh token expired"));
        }
        if let Some(session) = self.by_id.get_mut(&record.sid) {
            session.last_issued = policy.now;
        }
        let token = match record.rotated_at {
            None => self.rotate(&record.sid, policy.now, policy.ttl),
            Some(at) if policy.now.saturating_sub(at) < policy.reuse_interval => {
                // Lost response or racing callers: answer with the current token. After a
                // restart the plain text is gone, so rotate once more instead.
                match &session.newest {
                    Some(newest) => newest.clone(),
                    None => self.rotate(&record.sid, policy.now, policy.ttl),
                }
            }
            Some(_) => {
                self.revoke(&record.sid);
                return Err(ApiError::invalid_grant(
                    "refresh token already used; session revoked",
                ));
            }
        };
        Ok(Grant {
            sid: record.sid,
            session,
            refresh_token: Some(token),
        })
    }

    pub(crate) fn active(&self, sid: &str) -> Option<&Session> {
        self.by_id.get(sid).filter(|s| !s.revoked)
    }

    pub(crate) fn sid_of_refresh_token(&self, token: &str) -> Option<String> {
        self.refresh.get(&sha256_hex(token)).map(|r| r.sid.clone())
    }

    /// Revokes one session: its refresh family and, through the `sid` check, its access tokens.
    pub(crate) fn revoke(&mut self, sid: &str) {
        if let Some(session) = self.by_id.get_mut(sid) {
            session.revoked = true;
            session.newest = None;
        }
    }

    /// Revokes every session that matches, e.g. all of a user's but the current one.
    pub(crate) fn revoke_where(&mut self, mut matches: impl FnMut(&str, &Session) -> bool) {
        let sids: Vec<String> = self
            .by_id
            .iter()
            .filter(|(sid, s)| matches(sid, s))
            .map(|(sid, _)| sid.clone())
            .collect();
        for sid in sids {
            self.revoke(&sid);
        }
    }
}

/// Access-token claims (upstream §4 plus `sid`/`jti` so sessions can be revoked).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub scope: String,
    pub project_id: String,
    pub provider_type: String,
    pub user_type: String,
    pub sid: String,
    pub jti: String,
}

impl Claims {
    pub(crate) fn new(env_id: &str, grant: &Grant, now: u64, ttl: u64) -> Self {
        Self {
            iss: issuer(env_id),
            sub: grant.session.sub.clone(),
            aud: grant.session.client_id.clone(),
            exp: now.saturating_add(ttl),
            iat: now,
            scope: grant.session.scope.clone(),
            project_id: env_id.to_owned(),
            provider_type: grant.session.provider_type.clone(),
            user_type: String::new(),
            sid: grant.sid.clone(),
            jti: random_token(""),
        }
    }
}

/// The upstream issuer form, `http` included.
pub(crate) fn issuer(env_id: &str) -> String {
    format!("http://{env_id}.ap-shanghai.tcb-api.tencentcloudapi.com")
}

/// Schema `TokenResponse`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TokenResponse {
    pub token_type: &'static str,
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub expires_in: u64,
    pub scope: String,
    pub sub: String,
    pub groups: Vec<String>,
}

/// JSON carrying credentials: `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) struct NoStore<T>(pub T);

impl<T: Serialize> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.0).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

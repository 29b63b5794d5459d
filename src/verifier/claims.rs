//! Access-token claims (reference §4) and the checks that need no key.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::rejection::Rejection;

/// The claims of a verified CloudBase access token. Cheap to clone (shared).
///
/// `Debug` prints the claims, which hold no credential.
#[derive(Clone)]
pub struct Claims(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    sub: String,
    scope: String,
    aud: String,
    iss: String,
    exp: u64,
    iat: Option<u64>,
    nbf: Option<u64>,
    project_id: Option<String>,
    provider_type: Option<String>,
    user_type: Option<String>,
    groups: Vec<String>,
    meta: Map<String, Value>,
}

impl Claims {
    /// The user id (`sub`).
    pub fn sub(&self) -> &str {
        &self.0.sub
    }

    /// The space-separated scope, e.g. `user sso` or `anonymous`.
    pub fn scope(&self) -> &str {
        &self.0.scope
    }

    /// Whether the scope contains `name` as a whole word.
    pub fn has_scope(&self, name: &str) -> bool {
        self.0.scope.split_whitespace().any(|s| s == name)
    }

    /// Whether the user signed in anonymously (scope `anonymous`, as the SDKs decide it).
    pub fn is_anonymous(&self) -> bool {
        self.has_scope("anonymous")
    }

    /// The client the token was issued to (`aud`).
    pub fn audience(&self) -> &str {
        &self.0.aud
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.0.iss
    }

    /// When the token expires (`exp`).
    pub fn exp(&self) -> SystemTime {
        at(self.0.exp)
    }

    /// When the token was issued (`iat`), if it says.
    pub fn iat(&self) -> Option<SystemTime> {
        self.0.iat.map(at)
    }

    /// The environment id (`project_id`).
    pub fn project_id(&self) -> Option<&str> {
        self.0.project_id.as_deref()
    }

    /// How the user signed in (`provider_type`, e.g. `email`).
    pub fn provider_type(&self) -> Option<&str> {
        self.0.provider_type.as_deref()
    }

    /// `user_type` (often empty upstream).
    pub fn user_type(&self) -> Option<&str> {
        self.0.user_type.as_deref()
    }

    /// Group ids (`groups`), empty when the token has none.
    pub fn groups(&self) -> &[String] {
        &self.0.groups
    }

    /// `meta`, e.g. `wxOpenId`; empty when absent.
    pub fn meta(&self) -> &Map<String, Value> {
        &self.0.meta
    }

    pub(crate) fn exp_secs(&self) -> u64 {
        self.0.exp
    }

    /// `exp` and `nbf` against `now`, with `leeway` for clock skew between servers.
    pub(crate) fn check_time(&self, now: u64, leeway: u64) -> Result<(), Rejection> {
        check_time(self.0.exp, self.0.nbf, now, leeway)
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Claims come from the network: a `u64::MAX` timestamp must not overflow `SystemTime`,
/// so times are clamped to the end of year 9999.
fn at(secs: u64) -> SystemTime {
    const YEAR_9999_END: u64 = 253_402_300_799;
    UNIX_EPOCH + Duration::from_secs(secs.min(YEAR_9999_END))
}

fn check_time(exp: u64, nbf: Option<u64>, now: u64, leeway: u64) -> Result<(), Rejection> {
    if now >= exp.saturating_add(leeway) {
        return Err(Rejection::Expired);
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(Rejection::NotYetValid);
    }
    Ok(())
}

/// What the property tests observe of one token (through `crate::__fuzz`): the time check
/// of the unverified claims, and the claims for the expected audience and issuer with
/// their own time check and `exp`. Not API.
#[doc(hidden)]
#[derive(Debug)]
pub struct ClaimsProbe {
    /// `RawClaims::check_time`.
    pub time: Result<(), Rejection>,
    /// `RawClaims::into_claims`, then `Claims::check_time` and `Claims::exp_secs`.
    pub claims: Result<(Claims, Result<(), Rejection>, u64), Rejection>,
}

/// Decodes `token` without checking its signature (`None` when it does not decode) and
/// runs the checks the verifier runs, for the property tests.
#[doc(hidden)]
pub fn probe_claims_for_fuzzing(
    token: &str,
    expected_audience: &str,
    now: u64,
    leeway: u64,
) -> Option<ClaimsProbe> {
    let raw = RawClaims::unverified(token).ok()?;
    let time = raw.check_time(now, leeway);
    let expected = Expected {
        audience: expected_audience.into(),
        issuer: "iss".into(),
    };
    let claims = raw.into_claims(&expected).map(|claims| {
        let time = claims.check_time(now, leeway);
        let exp = claims.exp_secs();
        (claims, time, exp)
    });
    Some(ClaimsProbe { time, claims })
}

/// What a token must match besides its signature.
#[derive(Debug, Clone)]
pub(crate) struct Expected {
    pub(crate) audience: String,
    pub(crate) issuer: String,
}

/// The payload as sent. `sub`, `iss`, `aud` and `exp` are required: a token without them
/// is not one CloudBase issues.
#[derive(Deserialize)]
pub(crate) struct RawClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: u64,
    iat: Option<u64>,
    nbf: Option<u64>,
    #[serde(default)]
    scope: String,
    project_id: Option<String>,
    provider_type: Option<String>,
    user_type: Option<String>,
    #[serde(default)]
    groups: Vec<Group>,
    #[serde(default)]
    meta: Map<String, Value>,
}

/// RFC 7519 §4.1.3: one audience or an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Token responses carry group ids as strings, `user/me` as `{id}`; accept both.
#[derive(Deserialize)]
#[serde(untagged)]
enum Group {
    Id(String),
    Object { id: String },
}

impl RawClaims {
    /// Reads the payload WITHOUT checking the signature. Only for online mode, where the
    /// server vouches for the token, and for the cache TTL, which is capped anyway.
    pub(crate) fn unverified(token: &str) -> Result<RawClaims, Rejection> {
        let mut parts = token.split('.');
        let (Some(_), Some(payload), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed);
        };
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Rejection::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| Rejection::Malformed)
    }

    pub(crate) fn sub(&self) -> &str {
        &self.sub
    }

    pub(crate) fn exp_secs(&self) -> u64 {
        self.exp
    }

    /// Rejects early, before any network call, what is already expired or not yet valid.
    pub(crate) fn check_time(&self, now: u64, leeway: u64) -> Result<(), Rejection> {
        check_time(self.exp, self.nbf, now, leeway)
    }

    /// Checks `iss` and `aud`, then keeps the claims.
    pub(crate) fn into_claims(self, expected: &Expected) -> Result<Claims, Rejection> {
        if self.iss != expected.issuer {
            return Err(Rejection::WrongIssuer);
        }
        let aud = match self.aud {
            Audience::One(aud) if aud == expected.audience => aud,
            Audience::Many(list) if list.contains(&expected.audience) => expected.audience.clone(),
            _ => return Err(Rejection::WrongAudience),
        };
        Ok(Claims(Arc::new(Inner {
            sub: self.sub,
            scope: self.scope,
            aud,
            iss: self.iss,
            exp: self.exp,
            iat: self.iat,
            nbf: self.nbf,
            project_id: self.project_id,
            provider_type: self.provider_type,
            user_type: self.user_type,
            groups: self.groups.into_iter().map(Group::into_id).collect(),
            meta: self.meta,
        })))
    }

    /// Introspection's answer is authoritative for the scope (it may differ from the
    /// token's after a change on the server).
    pub(crate) fn set_scope(&mut self, scope: String) {
        self.scope = scope;
    }
}

impl Group {
    fn into_id(self) -> String {
        match self {
            Group::Id(id) | Group::Object { id } => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    fn expected() -> Expected {
        Expected {
            audience: "demo-env".into(),
            issuer: "iss".into(),
        }
    }

    #[test]
    fn reads_upstream_claims_and_both_group_forms() {
        let raw = RawClaims::unverified(&token(
            r#"{"iss":"iss","sub":"u1","aud":"demo-env","exp":100,"iat":90,"scope":"user anonymous",
                "groups":["a",{"id":"b"}],"meta":{"wxOpenId":"x"},"project_id":"demo-env"}"#,
        ))
        .and_then(|raw| raw.into_claims(&expected()));
        let claims = raw.expect("valid claims");
        assert_eq!(claims.groups(), ["a", "b"]);
        assert!(claims.is_anonymous());
        assert_eq!(claims.iat(), Some(at(90)));
        assert_eq!(claims.project_id(), Some("demo-env"));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            ".",
            "..",
            "a.b.c.d",
            "e30.!!!.x",
            &token("[]"),
            &token(r#"{"sub":"u"}"#),
            &token(r#"{"iss":"i","sub":"u","aud":"a","exp":-1}"#),
            &token(r#"{"iss":"i","sub":"u","aud":"a","exp":1e400}"#),
        ] {
            assert_eq!(
                RawClaims::unverified(bad).err(),
                Some(Rejection::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn audience_may_be_a_list() {
        let claims = RawClaims::unverified(&token(
            r#"{"iss":"iss","sub":"u","aud":["x","demo-env"],"exp":1}"#,
        ))
        .and_then(|raw| raw.into_claims(&expected()));
        assert_eq!(
            claims.map(|c| c.audience().to_owned()),
            Ok("demo-env".into())
        );
    }

    #[test]
    fn time_checks_use_the_leeway() {
        assert_eq!(check_time(100, None, 129, 30), Ok(()));
        assert_eq!(check_time(100, None, 130, 30), Err(Rejection::Expired));
        assert_eq!(
            check_time(100, Some(50), 19, 30),
            Err(Rejection::NotYetValid)
        );
        assert_eq!(
            check_time(u64::MAX, Some(u64::MAX), u64::MAX - 1, 30),
            Ok(())
        );
    }

    /// `Claims::exp()` must not panic for an `exp` past what `SystemTime` holds
    /// (e.g. `u64::MAX`): `at()` clamps it.
    #[test]
    fn claims_time_accessors_do_not_panic_on_far_future_claims() {
        let claims = RawClaims::unverified(&token(
            r#"{"iss":"iss","sub":"u","aud":"demo-env","exp":18446744073709551615,"iat":18446744073709551615}"#,
        ))
        .unwrap()
        .into_claims(&expected())
        .unwrap();
        let _ = (claims.exp(), claims.iat());
    }
}

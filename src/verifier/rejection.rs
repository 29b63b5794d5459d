//! Why a token was refused.

use std::fmt;

/// Why [`Verifier::verify`](super::Verifier::verify) refused a token.
///
/// It never holds the token or any part of it, so it is safe to log and to send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// No `Authorization: Bearer …` header (reported by the tower layer only).
    Missing,
    /// Not a JWT of the documented shape (three base64url parts, JSON, required claims).
    Malformed,
    /// `exp` (plus the leeway) has passed.
    Expired,
    /// `nbf` (minus the leeway) is still in the future.
    NotYetValid,
    /// The server says the token is not active: revoked, signed out, or unknown (online mode).
    Inactive,
    /// The signature does not verify: another key, an unknown `kid`, or an algorithm other
    /// than RS256 (`none` and HS256 included).
    BadSignature,
    /// `aud` (or the introspected `client_id`) is not this verifier's client id.
    WrongAudience,
    /// `iss` is not the expected issuer.
    WrongIssuer,
    /// The token could not be checked: introspection or the JWKS fetch failed. Says
    /// nothing about the token; retry later.
    Unavailable,
}

impl Rejection {
    /// Whether the same token gets the same answer until the negative-cache TTL ends.
    /// Time-based answers change with the clock and outages end, so those are not cached.
    pub(crate) fn is_cacheable(self) -> bool {
        matches!(
            self,
            Rejection::Malformed
                | Rejection::Inactive
                | Rejection::BadSignature
                | Rejection::WrongAudience
                | Rejection::WrongIssuer
        )
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::Missing => "no bearer token",
            Rejection::Malformed => "the access token is malformed",
            Rejection::Expired => "the access token has expired",
            Rejection::NotYetValid => "the access token is not valid yet",
            Rejection::Inactive => "the access token is not active (revoked or signed out)",
            Rejection::BadSignature => "the access token signature is not valid",
            Rejection::WrongAudience => "the access token was issued to another client",
            Rejection::WrongIssuer => "the access token was issued by another issuer",
            Rejection::Unavailable => "the access token could not be checked; try again later",
        })
    }
}

impl std::error::Error for Rejection {}

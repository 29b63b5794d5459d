//! Offline mode: RS256 signatures against the JWKS, no network call per token.
//!
//! It cannot see a revocation (sign-out, revoke, password change): a revoked token stays
//! valid here until its `exp`. Use online mode where that matters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::claims::{Claims, Expected, RawClaims};
use super::jwks::KeySet;
use super::rejection::Rejection;

/// The only algorithm accepted: the token's `alg` is compared with it, never trusted.
const ALGORITHM: &str = "RS256";

pub(crate) struct SignatureCheck {
    keys: KeySet,
    validation: Validation,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

impl SignatureCheck {
    pub(crate) fn new(keys: KeySet) -> SignatureCheck {
        SignatureCheck {
            keys,
            validation: validation(),
        }
    }

    /// Signature, `iss` and `aud`; the caller checks the time against its own clock.
    pub(crate) async fn check(
        &self,
        token: &str,
        expected: &Expected,
    ) -> Result<Claims, Rejection> {
        let kid = signing_kid(token)?;
        let key = self.keys.key(&kid).await?;
        let data = jsonwebtoken::decode::<RawClaims>(token, &key, &self.validation)
            .map_err(|e| rejection(e.kind()))?;
        data.claims.into_claims(expected)
    }
}

impl std::fmt::Debug for SignatureCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureCheck")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// jsonwebtoken checks only the signature and the algorithm: it reads the system clock,
/// so `exp`/`nbf` are checked by the verifier against its injectable clock, and `iss`/`aud`
/// by [`RawClaims::into_claims`] so both modes share one rule.
fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation
}

/// The `kid` of a token whose header names RS256. Any other `alg` (`none`, HS256 signed
/// with the public key, …) is refused here, before a key is even looked up.
fn signing_kid(token: &str) -> Result<String, Rejection> {
    let encoded = token.split('.').next().ok_or(Rejection::Malformed)?;
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| Rejection::Malformed)?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| Rejection::Malformed)?;
    if header.alg != ALGORITHM {
        return Err(Rejection::BadSignature);
    }
    header.kid.ok_or(Rejection::BadSignature)
}

fn rejection(kind: &ErrorKind) -> Rejection {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::UnsupportedAlgorithm => Rejection::BadSignature,
        _ => Rejection::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(json: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(json))
    }

    #[test]
    fn only_rs256_headers_with_a_kid_pass() {
        assert_eq!(
            signing_kid(&header(r#"{"alg":"RS256","kid":"k"}"#)),
            Ok("k".into())
        );
        for alg in ["none", "HS256", "RS512", "rs256", "PS256"] {
            let token = header(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#));
            assert_eq!(signing_kid(&token), Err(Rejection::BadSignature), "{alg}");
        }
        assert_eq!(
            signing_kid(&header(r#"{"alg":"RS256"}"#)),
            Err(Rejection::BadSignature)
        );
        assert_eq!(signing_kid("!!"), Err(Rejection::Malformed));
        assert_eq!(signing_kid(&header("[1]")), Err(Rejection::Malformed));
    }
}

//! The access-token signing key and its JWKS.
//!
//! DEV-ONLY KEY. `keys/dev-only-rsa-private.pem` is committed to a public repository: anyone
//! can sign tokens with it. It exists so emulator tokens are real RS256 JWTs that standard
//! libraries verify. Never configure a production verifier to trust it; the emulator's issuer
//! host (`*.tcb-api.tencentcloudapi.com` under `http://`) is not a reason to either.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::{ApiError, ApiResult};

const PRIVATE_KEY_PEM: &str = include_str!("../keys/dev-only-rsa-private.pem");

/// `kid` of every emulator token; fixed so verifiers can cache the JWKS.
pub(crate) const KEY_ID: &str = "cloudbase-emulator-dev-only-key-1";

pub(crate) struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwks: JwkSet,
}

static KEYS: OnceLock<Result<Keys, String>> = OnceLock::new();

/// The process-wide keys, parsed once. An error here means the committed PEM is broken.
pub(crate) fn keys() -> ApiResult<&'static Keys> {
    KEYS.get_or_init(Keys::load)
        .as_ref()
        .map_err(|e| ApiError::internal(format!("signing key unavailable: {e}")))
}

/// Fails start-up with a clear message instead of failing every token operation later.
pub(crate) fn check() -> std::io::Result<()> {
    keys().map(|_| ()).map_err(|_| {
        let message = KEYS
            .get()
            .and_then(|k| k.as_ref().err())
            .cloned()
            .unwrap_or_default();
        std::io::Error::other(format!("emulator signing key: {message}"))
    })
}

/// The base64 between the BEGIN and END lines (the file starts with a warning text).
fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    STANDARD
        .decode(body.trim())
        .map_err(|e| format!("PEM body is not base64: {e}"))
}

impl Keys {
    fn load() -> Result<Self, String> {
        let der = pem_to_der(PRIVATE_KEY_PEM)?;
        let encoding = EncodingKey::from_rsa_der(&der);
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
            .map_err(|e| format!("not an RSA private key: {e}"))?;
        jwk.common.key_id = Some(KEY_ID.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| format!("bad public key: {e}"))?;
        let keys = Self {
            encoding,
            decoding,
            jwks: JwkSet { keys: vec![jwk] },
        };
        keys.self_test()?;
        Ok(keys)
    }

    /// Signs and verifies once, so a key/JWKS mismatch shows at start-up.
    fn self_test(&self) -> Result<(), String> {
        let token = self
            .sign(&serde_json::json!({ "probe": true }))
            .map_err(|e| format!("{e:?}"))?;
        self.verify::<serde_json::Value>(&token)
            .map(|_| ())
            .ok_or_else(|| "the JWKS does not verify the key's own signature".to_owned())
    }

    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> ApiResult<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KEY_ID.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("token signing failed: {e}")))
    }

    /// Checks the RS256 signature only; time claims are checked against the emulator's clock
    /// by the caller, because jsonwebtoken reads the system clock.
    pub(crate) fn verify<T: DeserializeOwned>(&self, token: &str) -> Option<T> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }

    pub(crate) fn jwks(&self) -> &JwkSet {
        &self.jwks
    }
}

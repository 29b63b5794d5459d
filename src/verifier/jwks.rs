//! The public keys of offline mode, from a JWKS URL, refetched at most once per interval.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde::Deserialize;

use super::rejection::Rejection;
use crate::Clock;

type Keys = HashMap<String, Arc<DecodingKey>>;

/// Where the JWKS comes from.
pub(crate) struct JwksSource {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) max_bytes: usize,
}

pub(crate) struct KeySet {
    keys: RwLock<Arc<Keys>>,
    source: JwksSource,
    /// When the last fetch started; the lock also makes a fetch single-flight.
    last_fetch: tokio::sync::Mutex<Option<SystemTime>>,
    refetch_interval: Duration,
    clock: Arc<dyn Clock>,
}

impl KeySet {
    pub(crate) fn new(
        initial: Keys,
        source: JwksSource,
        refetch_interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> KeySet {
        KeySet {
            keys: RwLock::new(Arc::new(initial)),
            source,
            last_fetch: tokio::sync::Mutex::new(None),
            refetch_interval,
            clock,
        }
    }

    /// The key for `kid`. An unknown `kid` (a key rotation) refetches the JWKS unless
    /// that happened less than the refetch interval ago, so a flood of tokens with made-up
    /// kids costs the JWKS server one request per interval.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, Rejection> {
        if let Some(key) = self.lookup(kid) {
            return Ok(key);
        }
        self.refetch().await;
        match self.lookup(kid) {
            Some(key) => Ok(key),
            None if self.snapshot().is_empty() => Err(Rejection::Unavailable),
            None => Err(Rejection::BadSignature),
        }
    }

    fn snapshot(&self) -> Arc<Keys> {
        // A panic while holding the lock cannot leave the map half-written (it is replaced whole).
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn lookup(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
    }

    async fn refetch(&self) {
        let mut last = self.last_fetch.lock().await;
        let now = self.clock.now();
        // A clock that went backwards (`Err`) must not block refetching forever.
        let recent = last
            .and_then(|at| now.duration_since(at).ok())
            .is_some_and(|since| since < self.refetch_interval);
        if recent {
            return;
        }
        *last = Some(now);
        match self.fetch().await {
            Ok(keys) => *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys),
            Err(reason) => tracing::warn!(%reason, "JWKS fetch failed; keeping the known keys"),
        }
    }

    async fn fetch(&self) -> Result<Keys, String> {
        let mut response = self
            .source
            .http
            .get(&self.source.url)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
        {
            if body.len() + chunk.len() > self.source.max_bytes {
                return Err(format!("larger than {} bytes", self.source.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body)
    }
}

/// The RS256 signing keys with a `kid` of a JWKS document. Keys of other types, or that
/// do not parse, are skipped rather than failing the whole set (a JWKS may list keys
/// for other purposes).
pub(crate) fn parse_jwks(json: &[u8]) -> Result<Keys, String> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document =
        serde_json::from_slice(json).map_err(|e| format!("not a JWKS document: {e}"))?;
    let keys: Keys = document.keys.into_iter().filter_map(rs256_key).collect();
    if keys.is_empty() {
        return Err("the JWKS has no RS256 signing key with a kid".into());
    }
    Ok(keys)
}

fn rs256_key(value: serde_json::Value) -> Option<(String, Arc<DecodingKey>)> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let common = &jwk.common;
    let usable = matches!(jwk.algorithm, AlgorithmParameters::RSA(_))
        && common
            .key_algorithm
            .is_none_or(|a| a == KeyAlgorithm::RS256)
        && common
            .public_key_use
            .as_ref()
            .is_none_or(|u| *u == PublicKeyUse::Signature);
    let kid = common.key_id.clone().filter(|_| usable)?;
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, Arc::new(key)))
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<String> = self.snapshot().keys().cloned().collect();
        kids.sort();
        f.debug_struct("KeySet")
            .field("url", &self.source.url)
            .field("kids", &kids)
            .field("refetch_interval", &self.refetch_interval)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = "ocuZkQzZMbd6sn1fdQ5NEfZRXw-zDcI3NoYLNvYzVRF4VFL2pt8aJ5iTKasGbGeeOzEnYQZmWL7fEwC2qnxKjSP2wf2cDG0gsEgcMPatMGZqeNwNPsJez4s0I33_cwqFOMa04b2gzluWRIEF-hu6-WkwkW9mdzw4jXZcD74PmgyLdKYnuGgEoSlyQRLyoywc-qULY5k8_GO20o59ZgeVO4Oed9UJDjau1KP90JTCO3Ut1ImjzzjO7LN-zhtRO2ltWnEGFQa1tIBKDpO6qEpcXOsBqYzahfH_1vyaQws6MYde4nVGgsfe1jNhJJZTldioaSiqJhZplw9tjkEuNqJD_w";

    fn rsa(kid: &str, extra: &str) -> String {
        format!(r#"{{"kty":"RSA","kid":"{kid}","n":"{N}","e":"AQAB"{extra}}}"#)
    }

    #[test]
    fn keeps_only_rs256_signing_keys_with_a_kid() {
        let json = format!(
            r#"{{"keys":[{},{},{},{},{},{{"kty":"oct","kid":"h","k":"c2VjcmV0"}},{{"kty":"weird"}}]}}"#,
            rsa("a", r#","alg":"RS256","use":"sig""#),
            rsa("b", ""),
            rsa("c", r#","alg":"RS512""#),
            rsa("d", r#","use":"enc""#),
            r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
        );
        let mut kids: Vec<String> = parse_jwks(json.as_bytes())
            .expect("two usable keys")
            .into_keys()
            .collect();
        kids.sort();
        assert_eq!(kids, ["a", "b"]);
    }

    #[test]
    fn a_set_without_usable_keys_is_an_error() {
        assert!(parse_jwks(br#"{"keys":[]}"#).is_err());
        assert!(parse_jwks(b"<html>").is_err());
    }
}

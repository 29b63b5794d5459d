//! Custom login: the public keys whose tickets `signin/custom` accepts, and the ticket check.
//!
//! A ticket is `<private_key_id>/@@/<RS256 JWT>` as `@cloudbase/node-sdk`'s `createTicket`
//! mints it, with millisecond `iat`/`exp`. It is accepted only if its key id is known, its
//! RS256 signature verifies with that key, its `env` is this environment and its `exp` (ms)
//! is after the emulator's clock. Without any key custom login is not enabled (403), as
//! upstream before a key is created in the console.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::config::CustomLoginPublicKey;
use crate::errors::{ApiError, ApiResult};
use crate::providers::Identity;
use crate::state::App;

/// At most this many keys are held (the console lets a project have a handful).
pub(crate) const MAX_KEYS: usize = 32;

/// The known public keys by key id.
#[derive(Default)]
pub(crate) struct CustomLoginKeys(Mutex<BTreeMap<String, DecodingKey>>);

impl std::fmt::Debug for CustomLoginKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_tuple("CustomLoginKeys").field(&ids).finish()
    }
}

impl CustomLoginKeys {
    /// The configured keys; an unusable one is an error naming its key id.
    pub(crate) fn from_config(keys: &[CustomLoginPublicKey]) -> Result<Self, String> {
        let store = Self::default();
        for key in keys {
            store.add(key)?;
        }
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, DecodingKey>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds (or replaces) a key.
    pub(crate) fn add(&self, key: &CustomLoginPublicKey) -> Result<(), String> {
        if key.private_key_id.is_empty() || key.private_key_id.contains("/@@/") {
            return Err("private_key_id must be non-empty and not contain \"/@@/\"".into());
        }
        let der = rsa_public_key_der(&key.public_key).ok_or_else(|| {
            format!(
                "custom-login key {:?}: public_key must be an RSA public key in PEM form (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY)",
                key.private_key_id
            )
        })?;
        let mut keys = self.lock();
        if keys.len() >= MAX_KEYS && !keys.contains_key(&key.private_key_id) {
            return Err(format!("at most {MAX_KEYS} custom-login keys are held"));
        }
        keys.insert(key.private_key_id.clone(), DecodingKey::from_rsa_der(&der));
        Ok(())
    }

    /// The key ids held.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn get(&self, id: &str) -> Option<DecodingKey> {
        self.lock().get(id).cloned()
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[derive(Debug, Deserialize)]
struct TicketClaims {
    uid: String,
    env: String,
    /// Milliseconds, as node-sdk's `createTicket` writes it.
    exp: u64,
}

/// The user a ticket vouches for. Errors never echo the ticket.
pub(crate) fn ticket_identity(app: &App, ticket: &str) -> ApiResult<Identity> {
    let keys = &app.custom_login;
    if keys.is_empty() {
        return Err(ApiError::permission_denied(
            "custom login is not enabled: give the emulator the key's public half (EmulatorConfig::custom_login_keys or PUT /emulator/v1/custom-login-keys)",
        ));
    }
    let (key_id, jwt) = ticket.split_once("/@@/").ok_or_else(|| {
        ApiError::invalid_argument("a custom login ticket is <private_key_id>/@@/<JWT>")
    })?;
    let key = keys.get(key_id).ok_or_else(|| {
        ApiError::invalid_grant("the ticket's key id is not a custom-login key of this environment")
    })?;
    let claims = verified_claims(jwt, &key)?;
    if claims.env != app.config.env_id {
        return Err(ApiError::invalid_grant(
            "the ticket is for another environment",
        ));
    }
    if claims.exp <= app.now().saturating_mul(1000) {
        return Err(ApiError::invalid_grant("the ticket has expired"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-#@~=*(){}[]:.,<>+".contains(c);
    if !(4..=32).contains(&claims.uid.len()) || !claims.uid.chars().all(allowed) {
        return Err(ApiError::invalid_argument(
            "ticket uid must be 4-32 allowed characters",
        ));
    }
    Ok(Identity::new("custom", &claims.uid))
}

/// The claims of an RS256 JWT whose signature verifies with `key`. (jsonwebtoken's `decode`
/// would read `exp` as seconds, and the ticket's are milliseconds.)
fn verified_claims(jwt: &str, key: &DecodingKey) -> ApiResult<TicketClaims> {
    let forged = || ApiError::invalid_grant("the ticket's signature is not valid");
    let (message, signature) = jwt.rsplit_once('.').ok_or_else(forged)?;
    let (header, claims) = message.split_once('.').ok_or_else(forged)?;
    let header: serde_json::Value = decode_part(header).ok_or_else(forged)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("RS256") {
        return Err(forged());
    }
    let valid = jsonwebtoken::crypto::verify(signature, message.as_bytes(), key, Algorithm::RS256)
        .unwrap_or(false);
    if !valid {
        return Err(forged());
    }
    decode_part(claims).ok_or_else(|| {
        ApiError::invalid_argument("the ticket's claims need uid, env and exp (milliseconds)")
    })
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// The PKCS#1 `RSAPublicKey` DER of a PEM public key (SubjectPublicKeyInfo unwrapped).
fn rsa_public_key_der(pem: &str) -> Option<Vec<u8>> {
    let mut lines = pem.lines().map(str::trim);
    let label = lines.find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))?;
    let end = format!("-----END {label}-----");
    let body: String = lines.take_while(|l| *l != end).collect();
    let der = STANDARD.decode(body).ok()?;
    match label {
        "RSA PUBLIC KEY" => Some(der),
        "PUBLIC KEY" => spki_rsa_key(&der).map(<[u8]>::to_vec),
        _ => None,
    }
}

/// SubjectPublicKeyInfo ::= SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING } — the
/// BIT STRING's bytes after its unused-bits octet.
fn spki_rsa_key(der: &[u8]) -> Option<&[u8]> {
    const RSA_ENCRYPTION: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    let (0x30, info, _) = der_element(der)? else {
        return None;
    };
    let (0x30, algorithm, rest) = der_element(info)? else {
        return None;
    };
    let (0x03, bits, _) = der_element(rest)? else {
        return None;
    };
    let (&unused, key) = bits.split_first()?;
    (algorithm.starts_with(RSA_ENCRYPTION) && unused == 0).then_some(key)
}

/// One DER element: (tag, content, what follows).
fn der_element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            let (len_bytes, rest) = rest.split_at_checked(count)?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, rest)
        }
        _ => return None,
    };
    let (content, rest) = rest.split_at_checked(len)?;
    Some((tag, content, rest))
}

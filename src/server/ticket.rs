//! Custom-login tickets, minted exactly as `@cloudbase/node-sdk` 3.18.3 `auth().createTicket`
//! does: `<private_key_id>/@@/<RS256 JWT>`, header `{"alg":"RS256","typ":"JWT"}`, claims
//! `{alg, env, iat, exp, uid, refresh, expire}` in that order, all times in **milliseconds**.
//! RS256 is deterministic, so the same key, uid and time give node-sdk's bytes
//! (`tests/server_tickets.rs` checks the vectors node-sdk generated).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::secret::CustomLoginTicket;

/// A ticket is valid 10 minutes (node-sdk: `exp: iat + 10 * 60 * 1000`).
const TICKET_LIFETIME_MS: u64 = 10 * 60 * 1000;
/// node-sdk's default `refresh`: 1 hour, in ms.
const DEFAULT_REFRESH_MS: u64 = 3600 * 1000;
/// node-sdk's default `expire`: 7 days after `iat`, in ms.
const DEFAULT_EXPIRE_AFTER_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// The console's custom-login private key (the JSON key file you download under
/// "custom login"): it mints tickets your users exchange for a session at
/// `POST /auth/v1/signin/custom`.
///
/// ```no_run
/// use cloudbase_auth::server::{CustomLoginKey, TicketOptions};
///
/// # fn demo() -> Result<(), cloudbase_auth::server::TicketError> {
/// let key = CustomLoginKey::from_json(&std::fs::read_to_string("tcb_custom_login.json").unwrap())?;
/// let ticket = key.create_ticket("user-1001", &TicketOptions::default())?;
/// // hand `ticket.expose_secret()` to the client, which signs in with it
/// # let _ = ticket; Ok(()) }
/// ```
pub struct CustomLoginKey {
    private_key_id: String,
    env_id: String,
    key: EncodingKey,
    clock: Box<dyn Clock>,
}

/// Options of [`CustomLoginKey::create_ticket`] (node-sdk's `{refresh, expire}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TicketOptions {
    /// The ticket's `refresh` claim (default 1 hour).
    pub refresh: Option<Duration>,
    /// The ticket's `expire` claim, an absolute time (default 7 days after issue).
    pub expire: Option<SystemTime>,
}

impl TicketOptions {
    /// Sets the `refresh` claim.
    pub fn with_refresh(mut self, refresh: Duration) -> Self {
        self.refresh = Some(refresh);
        self
    }

    /// Sets the `expire` claim.
    pub fn with_expire(mut self, expire: SystemTime) -> Self {
        self.expire = Some(expire);
        self
    }
}

/// Why a key file or a ticket was refused. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// The key file is not the console's JSON `{private_key_id, private_key, env_id}`.
    #[error(
        "not a custom-login key file: {0}; download it again from the CloudBase console (custom login)"
    )]
    KeyFile(String),
    /// The key file has no `env_id` (an old key): node-sdk refuses it too.
    #[error(
        "the key file has no env_id; download the newest custom-login private key from the console"
    )]
    MissingEnvId,
    /// `private_key` is not an RSA private key in PEM form.
    #[error("private_key is not an RSA private key in PEM form")]
    InvalidPrivateKey,
    /// The uid breaks node-sdk's rule: 4-32 characters of `[a-zA-Z0-9_-#@~=*(){}[]:.,<>+]`.
    #[error(
        "invalid uid ({length} characters): use 4-32 characters of A-Z a-z 0-9 _-#@~=*(){{}}[]:.,<>+"
    )]
    InvalidUid {
        /// The uid's length in characters (the uid itself is not repeated).
        length: usize,
    },
    /// Signing failed.
    #[error("could not sign the ticket: {0}")]
    Signing(String),
}

#[derive(Deserialize)]
struct KeyFile {
    private_key_id: String,
    private_key: String,
    #[serde(default)]
    env_id: Option<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    alg: &'static str,
    env: &'a str,
    iat: u64,
    exp: u64,
    uid: &'a str,
    refresh: u64,
    expire: u64,
}

impl CustomLoginKey {
    /// Reads the console's key file.
    pub fn from_json(json: &str) -> Result<Self, TicketError> {
        let file: KeyFile = serde_json::from_str(json).map_err(|e| {
            // serde's message may quote a value; keep only where it failed.
            TicketError::KeyFile(format!(
                "invalid JSON or missing field at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        let env_id = file
            .env_id
            .filter(|e| !e.is_empty())
            .ok_or(TicketError::MissingEnvId)?;
        if file.private_key_id.is_empty() {
            return Err(TicketError::KeyFile("private_key_id is empty".into()));
        }
        let der = crate::server::pem::rsa_private_key_der(&file.private_key)
            .ok_or(TicketError::InvalidPrivateKey)?;
        let key = EncodingKey::from_rsa_der(&der);
        // `from_rsa_der` checks nothing: find a bad key now rather than at the first ticket.
        jsonwebtoken::crypto::sign(b"probe", &key, Algorithm::RS256)
            .map_err(|_| TicketError::InvalidPrivateKey)?;
        Ok(CustomLoginKey {
            private_key_id: file.private_key_id,
            env_id,
            key,
            clock: Box::new(SystemClock),
        })
    }

    /// The clock tickets are stamped with (default: the system clock).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The key's id (the ticket's prefix).
    pub fn private_key_id(&self) -> &str {
        &self.private_key_id
    }

    /// The environment the key belongs to (the ticket's `env`).
    pub fn env_id(&self) -> &str {
        &self.env_id
    }

    /// A ticket for `uid`, valid 10 minutes: `<private_key_id>/@@/<RS256 JWT>`.
    pub fn create_ticket(
        &self,
        uid: &str,
        options: &TicketOptions,
    ) -> Result<CustomLoginTicket, TicketError> {
        check_uid(uid)?;
        let now = millis(self.clock.now());
        let claims = Claims {
            alg: "RS256",
            env: &self.env_id,
            iat: now,
            exp: now + TICKET_LIFETIME_MS,
            uid,
            refresh: options
                .refresh
                .map_or(DEFAULT_REFRESH_MS, |r| r.as_millis() as u64),
            expire: options.expire.map_or(now + DEFAULT_EXPIRE_AFTER_MS, millis),
        };
        let encode = |value: &[u8]| URL_SAFE_NO_PAD.encode(value);
        let claims =
            serde_json::to_vec(&claims).map_err(|e| TicketError::Signing(e.to_string()))?;
        // node's jsonwebtoken header, in its key order (the Rust crate's `Header` puts `typ` first).
        let message = format!(
            "{}.{}",
            encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            encode(&claims)
        );
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, Algorithm::RS256)
            .map_err(|e| TicketError::Signing(e.to_string()))?;
        Ok(CustomLoginTicket::new(format!(
            "{}/@@/{message}.{signature}",
            self.private_key_id
        )))
    }
}

impl fmt::Debug for CustomLoginKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomLoginKey")
            .field("private_key_id", &self.private_key_id)
            .field("env_id", &self.env_id)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

/// node-sdk's `checkCustomUserIdRegex`: `^[a-zA-Z0-9_\-#@~=*(){}[\]:.,<>+]{4,32}$`.
fn check_uid(uid: &str) -> Result<(), TicketError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-#@~=*(){}[]:.,<>+".contains(c);
    let length = uid.chars().count();
    if (4..=32).contains(&length) && uid.chars().all(allowed) {
        Ok(())
    } else {
        Err(TicketError::InvalidUid { length })
    }
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

//! Which credential each operation takes, from the spec's `security` requirements, and
//! the one function that turns that credential into an `Authorization` header.
//!
//! progenitor ignores `security`, so build.rs renders this table from the same parsed
//! spec; it cannot drift from the document.

use reqwest::Request;
use reqwest::header::{AUTHORIZATION, HeaderValue};

use std::time::SystemTime;

use crate::error::Error;
use crate::server::credential::ServerCredential;

/// The credential an operation sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthKind {
    /// Nothing (`security: []`).
    None,
    /// `Authorization: Basic base64(client_id:client_secret)`.
    ClientBasic,
    /// `Authorization: Bearer <the session's access token>`.
    UserBearer,
    /// The server credential ([`ServerCredential`](crate::server::ServerCredential)): by default a
    /// TC3-HMAC-SHA256 signature made with the Tencent Cloud SecretId/SecretKey.
    CloudSecret,
}

/// One operation of the spec and its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationAuth {
    /// progenitor's snake_case operation id.
    pub operation_id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, e.g. `/auth/v1/user/provider/{provider_id}`.
    pub path: &'static str,
    /// The credential.
    pub auth: AuthKind,
    /// Whether the spec also allows no credential (`{}` among the requirements).
    pub optional: bool,
}

include!(concat!(env!("OUT_DIR"), "/auth_table.rs"));

/// Every operation of the spec with its method, path and credential.
pub fn operations() -> &'static [OperationAuth] {
    OPERATIONS
}

/// The credential one request is sent with, resolved by the caller (the hooks, the
/// refresher) from the operation's [`AuthKind`].
pub(crate) enum Credential<'a> {
    None,
    /// A ready `Bearer …` or `Basic …` value.
    Header(&'a HeaderValue),
    /// The server credential; a signature covers the request as it is at `now`.
    Server {
        credential: &'a ServerCredential,
        now: SystemTime,
    },
}

/// The one place a credential becomes an `Authorization` header. It sees the whole
/// request, because a TC3-HMAC-SHA256 signature covers the method, path, query, signed
/// headers and body.
pub(crate) fn authorize(request: &mut Request, credential: Credential<'_>) -> Result<(), Error> {
    match credential {
        Credential::None => {}
        Credential::Header(value) => {
            request.headers_mut().insert(AUTHORIZATION, value.clone());
        }
        Credential::Server { credential, now } => credential
            .authorize(request, now)
            .map_err(|message| Error::InvalidRequest { message })?,
    }
    Ok(())
}

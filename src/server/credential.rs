//! The credential of server-only operations (`token/clientCredential`): how a backend proves
//! it holds the environment's Tencent Cloud keys.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Request;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};

use crate::secret::{ApiKey, CloudSecretKey};
use crate::server::tc3::{Tc3Credential, Tc3Request, url_host};

/// How server-only operations authenticate. Set it with
/// [`Config::with_server_credential`](crate::Config::with_server_credential) (or
/// [`Config::with_cloud_secret`](crate::Config::with_cloud_secret) for the default, TC3).
///
/// ```
/// use cloudbase_auth::{Config, server::ServerCredential};
///
/// // The default: a TC3-HMAC-SHA256 signature; the SecretKey never goes on the wire.
/// let signed = ServerCredential::tc3("AKIDexample", "secret-key");
/// // Temporary (STS) credentials.
/// let sts = ServerCredential::tc3_with_session_token("AKIDtmp", "tmp-key", "sts-token");
/// // An API key from the console, sent as a bearer token.
/// let api_key = ServerCredential::api_key("the-api-key");
/// let config = Config::for_gateway("my-env-1a2b3c").with_server_credential(signed);
/// # let _ = (sts, api_key, config);
/// ```
#[derive(Clone, Debug)]
pub struct ServerCredential(Kind);

#[derive(Clone, Debug)]
enum Kind {
    Tc3(Tc3Credential),
    ApiKey(ApiKey),
    Basic {
        secret_id: String,
        secret_key: CloudSecretKey,
    },
}

impl ServerCredential {
    /// A TC3-HMAC-SHA256 signature with a permanent SecretId/SecretKey, as the official Node
    /// server SDK sends it. The recommended credential.
    pub fn tc3(secret_id: impl Into<String>, secret_key: impl Into<CloudSecretKey>) -> Self {
        ServerCredential(Kind::Tc3(Tc3Credential::new(secret_id, secret_key)))
    }

    /// A TC3 signature with temporary credentials: the STS session token is sent as `Token=`.
    pub fn tc3_with_session_token(
        secret_id: impl Into<String>,
        secret_key: impl Into<CloudSecretKey>,
        session_token: impl Into<crate::StsToken>,
    ) -> Self {
        ServerCredential(Kind::Tc3(
            Tc3Credential::new(secret_id, secret_key).with_session_token(session_token),
        ))
    }

    /// An API key, sent as `Authorization: Bearer <key>` (node-sdk's `accessKey`).
    pub fn api_key(key: impl Into<ApiKey>) -> Self {
        ServerCredential(Kind::ApiKey(key.into()))
    }

    /// `Authorization: Basic base64(SecretId:SecretKey)`, which the HTTP API docs also allow.
    ///
    /// **This sends the SecretKey itself** with every request (readable by anything that
    /// terminates TLS on the way); a TC3 signature never does. Use it only where a signature
    /// cannot be made.
    pub fn basic_sending_secret_key(
        secret_id: impl Into<String>,
        secret_key: impl Into<CloudSecretKey>,
    ) -> Self {
        ServerCredential(Kind::Basic {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
        })
    }

    /// The API key, when this credential is one: it is the admin bearer itself, no exchange needed.
    pub(crate) fn as_api_key(&self) -> Option<&ApiKey> {
        match &self.0 {
            Kind::ApiKey(key) => Some(key),
            _ => None,
        }
    }

    /// Sets `Authorization` (and, for a signature, the `Host` it covers) on a request about
    /// to be sent. `now` is the signature's time.
    pub(crate) fn authorize(&self, request: &mut Request, now: SystemTime) -> Result<(), String> {
        let value = match &self.0 {
            Kind::Tc3(credential) => sign(credential, request, now)?,
            Kind::ApiKey(key) => crate::sensitive_header::bearer(key.expose_secret()),
            Kind::Basic {
                secret_id,
                secret_key,
            } => crate::sensitive_header::basic(secret_id, secret_key.expose_secret()),
        };
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }
}

/// Signs `host` and `content-type` (what Tencent Cloud API v3 requires at least): the `Host`
/// header is set explicitly so the server sees exactly the signed value.
fn sign(
    credential: &Tc3Credential,
    request: &mut Request,
    now: SystemTime,
) -> Result<HeaderValue, String> {
    let host = url_host(request.url());
    let host_header = HeaderValue::from_str(&host).map_err(|_| format!("bad host {host:?}"))?;
    request.headers_mut().insert(HOST, host_header);
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    if !request.headers().contains_key(CONTENT_TYPE) {
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    // (Node's `second() - 1`: a clock a little ahead of the server's is the common failure.)
    let timestamp = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(1);
    let headers = [("content-type", content_type.as_str()), ("host", &host)];
    let signed = Tc3Request {
        method: request.method().as_str(),
        url: request.url(),
        headers: &headers,
        body: request.body().and_then(reqwest::Body::as_bytes),
        timestamp,
    };
    credential
        .authorization(&signed)
        .map_err(|e| format!("cannot sign the request: {e}"))
}

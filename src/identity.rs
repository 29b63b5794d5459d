//! Who a session's requests come from — base URL, client id and credentials, device
//! id — fixed when the session is built, and the headers every request gets from it.

use reqwest::Request;
use reqwest::header::{HeaderName, HeaderValue};

use crate::auth::{self, AuthKind, Credential, OperationAuth};
use crate::call;
use crate::config::Config;
use crate::error::{ConfigError, Error};
use crate::sensitive_header;
use std::sync::Arc;

use crate::clock::Clock;
use crate::secret::ClientSecret;
use crate::server::credential::ServerCredential;

// `HeaderName`s, not `&str`s: a string name is parsed and copied on every insert.
const DEVICE_ID: HeaderName = HeaderName::from_static("x-device-id");
const CAPTCHA: HeaderName = HeaderName::from_static("x-captcha-token");

pub(crate) struct Identity {
    pub(crate) base_url: String,
    pub(crate) client_id: String,
    /// `Basic base64(client_id:client_secret)`, built once.
    client_basic: HeaderValue,
    server_credential: Option<ServerCredential>,
    /// The time a signature is made at.
    clock: Arc<dyn Clock>,
    pub(crate) device_id: String,
    device_header: HeaderValue,
}

impl Identity {
    pub(crate) fn new(config: &Config) -> Result<Identity, Error> {
        let client_id = config.resolved_client_id()?;
        let secret = config
            .client_secret
            .as_ref()
            .map(ClientSecret::expose_secret);
        let device_id = config.resolved_device_id()?;
        Ok(Identity {
            base_url: config.base_url()?,
            client_basic: sensitive_header::basic(&client_id, secret.unwrap_or("")),
            client_id,
            server_credential: config.cloud_secret.clone(),
            clock: config.clock.clone(),
            device_header: HeaderValue::from_str(&device_id)
                .map_err(|_| ConfigError::InvalidDeviceId)?,
            device_id,
        })
    }

    /// Stamps `request` for `op`: `x-device-id`, the caller's captcha token, and the
    /// credential the spec declares (`bearer` for user-bearer operations, `None` when
    /// the operation allows no credential and there is none).
    pub(crate) fn stamp(
        &self,
        request: &mut Request,
        op: &OperationAuth,
        bearer: Option<&HeaderValue>,
    ) -> Result<(), Error> {
        let headers = request.headers_mut();
        headers.insert(DEVICE_ID, self.device_header.clone());
        if let Some(Some(captcha)) = call::overrides(|o| o.captcha.clone()) {
            headers.insert(CAPTCHA, captcha);
        }
        let credential = match (op.auth, bearer) {
            (AuthKind::UserBearer, Some(bearer)) => Credential::Header(bearer),
            (AuthKind::ClientBasic, _) => Credential::Header(&self.client_basic),
            (AuthKind::CloudSecret, _) => Credential::Server {
                credential: self.server_credential.as_ref().ok_or(Error::InvalidRequest {
                    message: "this operation needs a server credential: configure `Config::with_cloud_secret` (TC3 signature) or `Config::with_server_credential`".into(),
                })?,
                now: self.clock.now(),
            },
            _ => Credential::None,
        };
        // The official SDK appends `client_id` to every call it does not sign with a
        // bearer token; the gateway uses it to pick the client without basic auth.
        if matches!(credential, Credential::None) || op.auth == AuthKind::ClientBasic {
            self.add_client_id(request);
        }
        auth::authorize(request, credential)
    }

    fn add_client_id(&self, request: &mut Request) {
        let already = request.url().query_pairs().any(|(k, _)| k == "client_id");
        if !already {
            request
                .url_mut()
                .query_pairs_mut()
                .append_pair("client_id", &self.client_id);
        }
    }
}

//! Client identification, accepted every way the official SDKs send it: HTTP basic
//! `client_id:client_secret`, `client_id`/`client_secret` in the JSON body, or the `client_id`
//! query parameter; none at all means the environment's default client.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::config::EmulatorConfig;
use crate::context::query_value;
use crate::errors::{ApiError, ApiResult};
use crate::secrets::constant_time_eq;

/// Returns the client id, or 401 `invalid_client` for an unknown client or a wrong secret.
pub(crate) fn identify(
    config: &EmulatorConfig,
    headers: &HeaderMap,
    body: &Value,
    query: &[(String, String)],
) -> ApiResult<String> {
    let basic = basic_credentials(headers)?;
    let (client_id, secret) = match basic {
        Some((id, secret)) => (id, Some(secret)),
        None => {
            let id = body
                .get("client_id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .or_else(|| query_value(query, "client_id"))
                .unwrap_or(&config.env_id);
            let secret = body.get("client_secret").and_then(Value::as_str);
            (id.to_owned(), secret.map(str::to_owned))
        }
    };
    let client = config
        .client(&client_id)
        .ok_or_else(|| ApiError::invalid_client(format!("unknown client {client_id:?}")))?;
    let presented = secret.as_deref().unwrap_or("");
    if client
        .client_secret
        .as_deref()
        .is_some_and(|expected| !constant_time_eq(expected, presented))
    {
        return Err(ApiError::invalid_client("wrong client secret"));
    }
    Ok(client_id)
}

/// `Authorization: Basic base64(id:secret)`; other schemes (Bearer) are not client credentials.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> ApiResult<Option<(String, String)>> {
    let malformed = || ApiError::invalid_client("malformed basic credentials");
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(malformed)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((id.to_owned(), secret.to_owned())))
}

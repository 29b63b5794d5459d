//! The credential of `token/clientCredential`: a Tencent Cloud TC3-HMAC-SHA256 signature (what
//! `@cloudbase/node-sdk` sends) or, as the HTTP API docs also allow, `Basic
//! base64(SecretId:SecretKey)`.
//!
//! A signature is checked the way a server must: the canonical request is rebuilt from the
//! request as received (method, path, raw query, the headers named in `SignedHeaders`, the
//! SHA-256 of the body bytes) and the HMAC recomputed with the configured SecretKey. `host` and
//! `content-type` must be among the signed headers; the timestamp must be within 5 minutes of
//! the emulator's clock. The SecretKey is never logged or echoed: errors name what was wrong,
//! never a key or a signature.

use axum::http::HeaderMap;
use axum::http::request::Parts;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::clients::basic_credentials;
use crate::config::CloudSecret;
use crate::errors::{ApiError, ApiResult};
use crate::secrets::constant_time_eq;
use crate::state::App;

/// Tencent Cloud API v3 refuses signatures more than 5 minutes off.
const MAX_CLOCK_SKEW_SECS: u64 = 300;
/// Headers a signature must cover when the request has them.
const MUST_SIGN: [&str; 2] = ["content-type", "host"];

/// Who called `token/clientCredential`, put in the request extensions by the gate.
#[derive(Debug, Clone)]
pub(crate) struct CloudCaller {
    pub secret_id: String,
}

/// Checks the server credential of a request whose raw body is `body`.
pub(crate) fn authenticate(app: &App, parts: &Parts, body: &[u8]) -> ApiResult<CloudCaller> {
    let header = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    if let Some(signature) = header.strip_prefix("TC3-HMAC-SHA256 ") {
        let tc3 = Tc3Header::parse(signature)?;
        check_tc3(app, parts, body, &tc3)?;
        return Ok(CloudCaller {
            secret_id: tc3.secret_id.to_owned(),
        });
    }
    let (secret_id, secret_key) = basic_credentials(&parts.headers)?.ok_or_else(|| {
        ApiError::unauthenticated(
            "a TC3-HMAC-SHA256 signature (or SecretId:SecretKey basic credentials) is required",
        )
    })?;
    let accepted = match &app.config.cloud_secret {
        Some(cloud) => {
            constant_time_eq(&cloud.secret_id, &secret_id)
                & constant_time_eq(&cloud.secret_key, &secret_key)
        }
        None => !secret_id.is_empty() && !secret_key.is_empty(),
    };
    if !accepted {
        return Err(ApiError::unauthenticated("wrong SecretId or SecretKey"));
    }
    Ok(CloudCaller { secret_id })
}

/// `Credential=<id>/<date>/tcb/tc3_request, SignedHeaders=a;b, Signature=<hex>, Timestamp=<s>[, Token=<t>]`.
struct Tc3Header<'a> {
    secret_id: &'a str,
    date: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
    timestamp: u64,
    token: Option<&'a str>,
}

impl<'a> Tc3Header<'a> {
    fn parse(text: &'a str) -> ApiResult<Self> {
        let malformed = |what: &str| {
            ApiError::unauthenticated(format!("malformed TC3-HMAC-SHA256 authorization: {what}"))
        };
        let field = |name: &str| {
            text.split(',')
                .map(str::trim)
                .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
        };
        let credential = field("Credential").ok_or_else(|| malformed("no Credential"))?;
        let mut scope = credential.split('/');
        let (Some(secret_id), Some(date), Some(service), Some("tc3_request"), None) = (
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
        ) else {
            return Err(malformed(
                "Credential must be <SecretId>/<date>/tcb/tc3_request",
            ));
        };
        if service != "tcb" {
            return Err(malformed("the service must be tcb"));
        }
        let signed_headers = field("SignedHeaders")
            .ok_or_else(|| malformed("no SignedHeaders"))?
            .split(';')
            .filter(|h| !h.is_empty())
            .collect();
        let timestamp = field("Timestamp")
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| malformed("no Timestamp=<unix seconds>"))?;
        Ok(Tc3Header {
            secret_id,
            date,
            signed_headers,
            signature: field("Signature").ok_or_else(|| malformed("no Signature"))?,
            timestamp,
            token: field("Token"),
        })
    }
}

fn check_tc3(app: &App, parts: &Parts, body: &[u8], tc3: &Tc3Header<'_>) -> ApiResult<()> {
    let now = app.now();
    if now.abs_diff(tc3.timestamp) > MAX_CLOCK_SKEW_SECS {
        return Err(ApiError::unauthenticated(
            "the signature's Timestamp is more than 5 minutes from the server's clock; check this machine's clock",
        ));
    }
    if !is_utc_date_of(tc3.date, tc3.timestamp) {
        return Err(ApiError::unauthenticated(
            "the date in Credential is not the UTC date of Timestamp",
        ));
    }
    for name in MUST_SIGN {
        if parts.headers.contains_key(name) && !tc3.signed_headers.contains(&name) {
            return Err(ApiError::unauthenticated(format!(
                "the {name} header must be signed (listed in SignedHeaders)"
            )));
        }
    }
    // Without a configured pair the emulator cannot recompute the signature: it accepts any
    // well-formed one (documented on `EmulatorConfig::cloud_secret`).
    let Some(secret) = &app.config.cloud_secret else {
        return Ok(());
    };
    if !constant_time_eq(&secret.secret_id, tc3.secret_id) {
        return Err(ApiError::unauthenticated("unknown SecretId"));
    }
    check_session_token(secret, tc3.token)?;
    let canonical = canonical_request(parts, body, &tc3.signed_headers)?;
    let expected = signature(&secret.secret_key, tc3.date, tc3.timestamp, &canonical);
    if !constant_time_eq(&expected, tc3.signature) {
        return Err(ApiError::unauthenticated(
            "the TC3 signature does not match the request (method, path, query, signed headers, body, timestamp or SecretKey differ)",
        ));
    }
    Ok(())
}

fn check_session_token(secret: &CloudSecret, sent: Option<&str>) -> ApiResult<()> {
    match (secret.session_token.as_deref(), sent) {
        (None, None) => Ok(()),
        (Some(expected), Some(sent)) if constant_time_eq(expected, sent) => Ok(()),
        (Some(_), None) => Err(ApiError::unauthenticated(
            "temporary credentials need their session token (Token=)",
        )),
        _ => Err(ApiError::unauthenticated(
            "the session token (Token=) is not valid",
        )),
    }
}

fn canonical_request(parts: &Parts, body: &[u8], signed: &[&str]) -> ApiResult<String> {
    let mut canonical_headers = String::new();
    for name in signed {
        let value = header(&parts.headers, name).ok_or_else(|| {
            ApiError::unauthenticated(format!("the signed header {name} is not in the request"))
        })?;
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        // signature-nodejs lower-cases every value but the content type's.
        if *name == "content-type" {
            canonical_headers.push_str(&value);
        } else {
            canonical_headers.push_str(&value.trim().to_lowercase());
        }
        canonical_headers.push('\n');
    }
    Ok(format!(
        "{}\n{}\n{}\n{canonical_headers}\n{}\n{}",
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        signed.join(";"),
        hex::encode(Sha256::digest(body))
    ))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(
        if value.starts_with("multipart/form-data") && name == "content-type" {
            "multipart/form-data".to_owned()
        } else {
            value.to_owned()
        },
    )
}

fn signature(secret_key: &str, date: &str, timestamp: u64, canonical: &str) -> String {
    let scope = format!("{date}/tcb/tc3_request");
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = format!("TC3{secret_key}").into_bytes();
    for part in [date, "tcb", "tc3_request"] {
        key = hmac(&key, part.as_bytes());
    }
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `date` is `YYYY-MM-DD` and the UTC day of `unix_secs`.
fn is_utc_date_of(date: &str, unix_secs: u64) -> bool {
    let mut fields = date.split('-').map(|f| f.parse::<i64>().ok());
    let (Some(Some(year)), Some(Some(month)), Some(Some(day)), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    date.len() == 10 && days_from_civil(year, month, day) == (unix_secs / 86_400) as i64
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_across_midnight() {
        assert!(is_utc_date_of("2024-03-09", 1_710_028_799));
        assert!(is_utc_date_of("2024-03-10", 1_710_028_800));
        assert!(!is_utc_date_of("2024-03-09", 1_710_028_800));
        assert!(is_utc_date_of("2024-02-29", 1_709_251_199));
        assert!(is_utc_date_of("2100-01-01", 4_102_444_800));
        assert!(!is_utc_date_of("2024-3-9", 1_710_028_799));
        assert!(!is_utc_date_of("", 0));
    }
}

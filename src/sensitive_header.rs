//! Header values that carry a secret (a bearer token, basic credentials, a captcha
//! token), marked sensitive so that `Debug` of a request or a header map hides them.

use base64::Engine as _;
use reqwest::header::HeaderValue;

/// A basic-auth header value, marked sensitive so `Debug` of the request hides it.
///
/// Plain `base64(id:secret)`, as the official SDK sends it — not RFC 6749 §2.3.1's
/// form-encoding first — because that is what CloudBase expects.
pub(crate) fn basic(user: &str, password: &str) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    sensitive(&format!("Basic {encoded}"))
}

/// A bearer header value, marked sensitive.
pub(crate) fn bearer(token: &str) -> HeaderValue {
    sensitive(&format!("Bearer {token}"))
}

/// A header value marked sensitive (hidden from `Debug`).
pub(crate) fn sensitive(value: &str) -> HeaderValue {
    // Only a token with bytes a header cannot carry fails here; send an empty value
    // and let the server answer 401 rather than panic.
    let mut value = HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

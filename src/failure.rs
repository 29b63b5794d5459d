//! What a failure was: the cause class and host of a transport failure, whether the
//! request may have been sent, whether trying again can help (the one definition of a
//! transient answer and of a transient transport failure), and what a decode failure
//! may say. A leaf: the transport and the error type both build on it.

use std::error::Error as _;
use std::fmt;

/// The class of a transport failure (see [`Error::Transport`](crate::Error::Transport)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportCause {
    /// The server's TLS certificate was rejected (expired, wrong host, unknown issuer).
    /// Not retried: it fails the same way until someone fixes the certificate or the URL.
    TlsCertificate,
    /// The TLS handshake failed for another reason.
    Tls,
    /// The host name did not resolve.
    Dns,
    /// The server refused the connection (nothing listens on that port).
    Refused,
    /// The connect or request timeout elapsed.
    TimedOut,
    /// The connection broke (reset, closed early, body cut short).
    ConnectionLost,
    /// The request could not be built; nothing was sent.
    InvalidRequest,
    /// Any other failure of the connection.
    Other,
}

impl TransportCause {
    /// Whether trying again later can succeed.
    pub fn is_transient(self) -> bool {
        !matches!(
            self,
            TransportCause::TlsCertificate | TransportCause::InvalidRequest
        )
    }
}

impl fmt::Display for TransportCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportCause::TlsCertificate => {
                "TLS certificate rejected (check the base URL, or the server's certificate and the system's trusted roots)"
            }
            TransportCause::Tls => "TLS handshake failed",
            TransportCause::Dns => "DNS lookup failed (check the environment id, region or base URL)",
            TransportCause::Refused => "connection refused (is the server running on that port?)",
            TransportCause::TimedOut => "timed out (Config::with_timeout, Config::with_connect_timeout)",
            TransportCause::ConnectionLost => "connection lost",
            TransportCause::InvalidRequest => "the request could not be built",
            TransportCause::Other => "connection failed",
        })
    }
}

/// The cause class of a reqwest failure, from its kind and the chain of its sources.
pub(crate) fn classify(error: &reqwest::Error) -> TransportCause {
    if error.is_timeout() {
        return TransportCause::TimedOut;
    }
    if error.is_builder() {
        return TransportCause::InvalidRequest;
    }
    let mut by_text = None;
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused => return TransportCause::Refused,
                K::TimedOut => return TransportCause::TimedOut,
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    by_text = by_text.or(Some(TransportCause::ConnectionLost));
                }
                _ => {}
            }
        }
        // rustls and the resolver are not dependencies of this crate: their errors
        // are recognised by what they say.
        let text = cause.to_string().to_ascii_lowercase();
        if text.contains("certificate") {
            return TransportCause::TlsCertificate;
        }
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return TransportCause::Dns;
        }
        if text.contains("tls") || text.contains("handshake") {
            by_text = Some(TransportCause::Tls);
        }
        source = cause.source();
    }
    // An https connection that TCP made but that ended before it was usable ended in the
    // TLS handshake (some TLS stacks report only the bare EOF or reset).
    let https = error.url().is_some_and(|url| url.scheme() == "https");
    match by_text {
        Some(TransportCause::ConnectionLost) | None if error.is_connect() && https => {
            TransportCause::Tls
        }
        Some(cause) => cause,
        None if error.is_request() || error.is_body() => TransportCause::ConnectionLost,
        None => TransportCause::Other,
    }
}

/// `false` only when the connection was never made (or the request never built).
pub(crate) fn may_have_been_sent(error: &reqwest::Error) -> bool {
    !(error.is_connect() || error.is_builder())
}

/// The host the failed request went to (never the path or query: they can hold secrets).
pub(crate) fn host_of(error: &reqwest::Error) -> Option<String> {
    let url = error.url()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// Whether an answer with this status is worth sending again later: 408, 429, and 5xx
/// other than 501 (not implemented) and 505.
pub(crate) fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// serde_json's messages quote the offending value ("invalid type: string \"eyJ…\""),
/// which may be a token; keep only the category and position.
pub(crate) fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "an I/O error while reading",
        Category::Syntax => "malformed JSON",
        Category::Data => "a field of the wrong type or missing",
        Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", error.line(), error.column())
}

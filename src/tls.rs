//! The TLS stack of the HTTP client this crate builds, chosen by cargo feature: `rustls`
//! (default: aws-lc-rs and the platform verifier), `rustls-ring` (ring and the
//! compiled-in webpki roots, for minimal containers), or `native-tls`. A client given
//! with `Config::with_http_client` keeps its own.

use crate::error::ConfigError;

/// `rustls-ring`: reqwest is built without a crypto provider, so the whole rustls
/// configuration is handed over ready-made.
#[cfg(feature = "rustls-ring")]
pub(crate) fn configure(
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::HttpClient(format!("TLS setup (rustls-ring): {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(builder.tls_backend_preconfigured(config))
}

/// `rustls` or `native-tls`: reqwest's own default for the enabled backend.
#[cfg(not(feature = "rustls-ring"))]
pub(crate) fn configure(
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    Ok(builder)
}

//! Where the upstream document comes from: a URL (fetched) or a local file.

use std::path::Path;
use std::time::Duration;

use crate::error::with_causes;
use crate::{Error, Result, read_text};

/// CloudBase's published Auth v1 OpenAPI document (English edition).
pub const DEFAULT_UPSTREAM: &str = "https://docs.cloudbase.net/openapi/en/auth.v1.openapi.yaml";

/// Long enough for a slow docs host, short enough that an offline run fails promptly.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The text of the upstream document at `source` (`http(s)://…` or a file path).
pub fn load(source: &str) -> Result<String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        fetch(source)
    } else {
        read_text(Path::new(source))
    }
}

fn fetch(url: &str) -> Result<String> {
    let offline_hint = |problem: String| {
        Error::new(format!(
            "could not fetch {url}: {problem}\n\
             (if this machine cannot reach it, download the document elsewhere and pass \
             --upstream FILE)"
        ))
    };
    crate::block_on(async {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| offline_hint(with_causes(&e)))?;
        let response = client
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| offline_hint(with_causes(&e)))?;
        response
            .text()
            .await
            .map_err(|e| offline_hint(with_causes(&e)))
    })?
}

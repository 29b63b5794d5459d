//! The files kept between invocations: the session and, next to it, the device id and a
//! pending verification token. Written whole or not at all, readable by the owner only.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// Where this invocation keeps its state.
#[derive(Debug, Clone)]
pub struct Paths {
    pub session: PathBuf,
    pub device_id: PathBuf,
    pub verification_token: PathBuf,
}

impl Paths {
    /// The given session file, or the default under the user's config directory.
    pub fn new(session_file: Option<&Path>) -> Result<Paths, CliError> {
        let session = match session_file {
            Some(path) => path.to_path_buf(),
            None => default_session_file()?,
        };
        let dir = session
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok(Paths {
            device_id: dir.join("device-id"),
            verification_token: dir.join("verification-token"),
            session,
        })
    }
}

/// `$XDG_CONFIG_HOME/cloudbase-auth/session.json`, else `~/.config/cloudbase-auth/session.json`.
fn default_session_file() -> Result<PathBuf, CliError> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let config = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".config")))
        .ok_or_else(|| {
            CliError::usage("neither XDG_CONFIG_HOME nor HOME is set: give --session-file")
        })?;
    Ok(config.join("cloudbase-auth").join("session.json"))
}

/// Replaces `path` with `bytes` (mode 0600), atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    cloudbase_auth::replace_private_file(path, bytes).map_err(|e| error("writing", path, &e))
}

/// Creates `path` with `bytes` unless it exists (`AlreadyExists` then). A hard link,
/// unlike a rename, never replaces a file, so two invocations racing agree on one content.
pub fn create_once(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = cloudbase_auth::write_private_temp(path, bytes)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked
}

/// Reads a file that may not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(error("reading", path, &e)),
    }
}

/// Removes a file that may already be gone.
pub fn remove(path: &Path) -> Result<(), CliError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(error("removing", path, &e)),
        _ => Ok(()),
    }
}

pub fn error(operation: &str, path: &Path, error: &std::io::Error) -> CliError {
    CliError::other(format!("{operation} {}: {error}", path.display()))
}

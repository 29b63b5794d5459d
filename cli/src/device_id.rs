//! The device id that must outlive every invocation.

use std::io::ErrorKind;
use std::path::Path;

use crate::error::CliError;
use crate::files;

/// The device id kept at `path`, created on first use.
///
/// It must never change: the server ties anonymous users to it, so a new id would be a
/// new anonymous user on every invocation.
pub fn device_id(path: &Path) -> Result<String, CliError> {
    if let Some(id) = read(path)? {
        return Ok(id);
    }
    match files::create_once(path, cloudbase_auth::new_device_id().as_bytes()) {
        Ok(()) => {}
        // Another invocation created it first: use theirs.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(files::error("creating", path, &e)),
    }
    read(path)?.ok_or_else(|| CliError::other(format!("{} vanished", path.display())))
}

fn read(path: &Path) -> Result<Option<String>, CliError> {
    let Some(text) = files::read_optional(path)? else {
        return Ok(None);
    };
    let id = text.trim();
    let valid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(CliError::other(format!(
            "{} does not hold a device id (32 hex characters); delete it to make a new one",
            path.display()
        )));
    }
    Ok(Some(id.to_string()))
}

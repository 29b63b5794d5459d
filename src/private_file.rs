//! Owner-only files written whole or not at all: what [`FileTokenStore`](crate::FileTokenStore)
//! uses, public so applications can keep other state (a device id, say) the same way.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` into a new, synced, mode-0600 file next to `path` and returns its
/// path, ready to be renamed or linked into place. Nothing is left behind on failure.
pub fn write_private_temp(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let dir = parent(path);
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", crate::ids::new_device_id()));
    let written = create_private(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Replaces `path` with `bytes` (mode 0600) atomically and durably: temp file, fsync,
/// rename, fsync of the directory. A crash leaves the old or the new content.
pub fn replace_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = write_private_temp(path, bytes)?;
    let moved = std::fs::rename(&tmp, path).and_then(|()| {
        // The rename is durable only once the directory entry is.
        std::fs::File::open(parent(path))?.sync_all()
    });
    if moved.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    moved
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

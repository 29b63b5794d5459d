//! Where a session's tokens are kept between uses and across processes.

use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::secret::{AccessToken, RefreshToken};

/// A boxed future, so [`TokenStore`] stays object-safe.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A held cross-process lock on a store (see [`TokenStore::lock`]); released when dropped.
pub type StoreLock = Box<dyn Any + Send>;

/// The persistent part of a session.
#[derive(Debug, Clone)]
pub struct StoredSession {
    /// The access token.
    pub access_token: AccessToken,
    /// Absent for anonymous sessions.
    pub refresh_token: Option<RefreshToken>,
    /// Computed on this machine's clock when the token arrived.
    pub expires_at: SystemTime,
    /// The token scope.
    pub scope: Option<String>,
    /// The user id.
    pub sub: Option<String>,
    /// The token type (`Bearer`).
    pub token_type: Option<String>,
}

/// Keeps a session. Called with the new pair *before* a rotated token is used, so a
/// crash never leaves a store holding a spent refresh token.
///
/// [`MemoryTokenStore`] (the default) and [`FileTokenStore`] come with the crate; any
/// other place (a database, a secret manager) is a small implementation:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use cloudbase_auth::{Config, StoreFuture, StoredSession, TokenStore};
///
/// /// One user's session in a map shared by many users (think: a table keyed by user).
/// #[derive(Debug)]
/// struct Keyed<'m> {
///     key: String,
///     map: &'m Mutex<HashMap<String, StoredSession>>,
/// }
///
/// impl TokenStore for Keyed<'static> {
///     fn load(&self) -> StoreFuture<'_, Option<StoredSession>> {
///         let found = self.map.lock().unwrap().get(&self.key).cloned();
///         Box::pin(async move { Ok(found) })
///     }
///     fn save<'a>(&'a self, session: &'a StoredSession) -> StoreFuture<'a, ()> {
///         self.map.lock().unwrap().insert(self.key.clone(), session.clone());
///         Box::pin(async { Ok(()) })
///     }
///     fn clear(&self) -> StoreFuture<'_, ()> {
///         self.map.lock().unwrap().remove(&self.key);
///         Box::pin(async { Ok(()) })
///     }
/// }
///
/// static SESSIONS: std::sync::LazyLock<Mutex<HashMap<String, StoredSession>>> =
///     std::sync::LazyLock::new(Default::default);
/// let store = Keyed { key: "user-42".into(), map: &SESSIONS };
/// let config = Config::for_env("my-env-1a2b3c").with_token_store(store);
/// # let _ = config;
/// ```
pub trait TokenStore: Send + Sync + Debug {
    /// The stored session, if any.
    fn load(&self) -> StoreFuture<'_, Option<StoredSession>>;
    /// Replaces the stored session.
    fn save<'a>(&'a self, session: &'a StoredSession) -> StoreFuture<'a, ()>;
    /// Removes the stored session.
    fn clear(&self) -> StoreFuture<'_, ()>;

    /// Takes a lock shared by every process using this store, waiting for it if needed;
    /// `None` if the store has no such lock (the default).
    ///
    /// The session holds it around a refresh: it re-reads the store under the lock and,
    /// if another process already rotated the refresh token, adopts the stored pair
    /// instead of spending its own (spent) token. A store shared by processes should
    /// implement it; [`FileTokenStore`] does.
    fn lock(&self) -> StoreFuture<'_, Option<StoreLock>> {
        Box::pin(async { Ok(None) })
    }
}

/// Keeps the session in memory only (the default).
#[derive(Debug, Default)]
pub struct MemoryTokenStore(Mutex<Option<StoredSession>>);

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<StoredSession>> {
        let value = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(async move { Ok(value) })
    }

    fn save<'a>(&'a self, session: &'a StoredSession) -> StoreFuture<'a, ()> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(session.clone());
        Box::pin(async { Ok(()) })
    }

    fn clear(&self) -> StoreFuture<'_, ()> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Box::pin(async { Ok(()) })
    }
}

/// Keeps the session in a JSON file, written atomically (temp file, fsync, rename) with
/// mode 0600, so a crash leaves either the old or the new session, never half of one.
///
/// Several processes may share one file: a refresh holds an OS file lock on
/// `<path>.lock` (created next to the file, mode 0600, left in place) and re-reads the
/// file under it, so only one process spends a refresh token and the others adopt the
/// pair it saved. A process killed while holding the lock releases it (the OS closes
/// the file). A process killed mid-write may leave a `.<name>.<random>.tmp` file
/// behind; the session file itself is never partial.
///
/// ```no_run
/// use cloudbase_auth::{Config, FileTokenStore, Session};
/// # async fn demo() -> Result<(), cloudbase_auth::Error> {
/// let config = Config::for_env("my-env").with_token_store(FileTokenStore::new("/var/lib/app/session.json"));
/// let session = Session::new(config)?;
/// if !session.restore().await? {
///     session.sign_in_with_password("alice", "correct horse").await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path` (created on first save, with its directory).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The file format. Versioned so a future layout can be told apart.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFile {
    version: u32,
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    expires_at_unix: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_type: Option<String>,
}

const FILE_VERSION: u32 = 1;

/// Decodes a session file. Never panics; the error names what is wrong, never a value.
pub fn decode_session_file(bytes: &[u8]) -> Result<StoredSession, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("not JSON (line {}, column {})", e.line(), e.column()))?;
    // serde would also read the struct from an array of its fields in order; only the
    // object this crate writes is a session file.
    if !value.is_object() {
        return Err("not a JSON object".into());
    }
    let file: SessionFile =
        serde_json::from_value(value).map_err(|_| "unexpected fields or types".to_string())?;
    if file.version != FILE_VERSION {
        return Err(format!(
            "version {} (this crate reads version {FILE_VERSION})",
            file.version
        ));
    }
    let expires_at = UNIX_EPOCH
        .checked_add(Duration::from_secs(file.expires_at_unix))
        .ok_or_else(|| "expiry out of range".to_string())?;
    Ok(StoredSession {
        access_token: AccessToken::new(file.access_token),
        refresh_token: file.refresh_token.map(RefreshToken::new),
        expires_at,
        scope: file.scope,
        sub: file.sub,
        token_type: file.token_type,
    })
}

pub(crate) fn encode_session_file(session: &StoredSession) -> Vec<u8> {
    let file = SessionFile {
        version: FILE_VERSION,
        access_token: session.access_token.expose_secret().to_string(),
        refresh_token: session
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_string()),
        expires_at_unix: session
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        scope: session.scope.clone(),
        sub: session.sub.clone(),
        token_type: session.token_type.clone(),
    };
    // Serializing plain strings and integers cannot fail.
    serde_json::to_vec_pretty(&file).unwrap_or_default()
}

impl FileTokenStore {
    fn io_error(&self, operation: &'static str, error: std::io::Error) -> StoreError {
        StoreError::Io {
            operation,
            path: self.path.display().to_string(),
            message: error.to_string(),
        }
    }

    fn load_blocking(&self) -> Result<Option<StoredSession>, StoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                decode_session_file(&bytes)
                    .map(Some)
                    .map_err(|reason| StoreError::Corrupt {
                        path: self.path.display().to_string(),
                        reason,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_error("reading", e)),
        }
    }

    fn save_blocking(&self, bytes: &[u8]) -> Result<(), StoreError> {
        crate::private_file::replace_private_file(&self.path, bytes)
            .map_err(|e| self.io_error("writing", e))
    }

    /// `<path>.lock`.
    fn lock_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "session".into());
        name.push(".lock");
        self.path.with_file_name(name)
    }

    fn lock_blocking(&self) -> Result<FileLock, StoreError> {
        let path = self.lock_path();
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| self.io_error("creating the directory of", e))?;
        }
        let file = lock_file(&path).map_err(|e| self.io_error("opening the lock file of", e))?;
        // `flock` on Unix, `LockFileEx` on Windows: released when the file is closed,
        // including when the process dies.
        file.lock()
            .map_err(|e| self.io_error("locking the lock file of", e))?;
        Ok(FileLock { _file: file })
    }

    fn clear_blocking(&self) -> Result<(), StoreError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_error("removing", e)),
        }
    }
}

/// The held lock of a [`FileTokenStore`]: the open lock file.
#[derive(Debug)]
struct FileLock {
    /// Never read: holding it open is the lock.
    _file: std::fs::File,
}

#[cfg(unix)]
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Runs blocking file work off the async worker threads.
async fn blocking<T: Send + 'static>(
    store: &FileTokenStore,
    work: impl FnOnce(FileTokenStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    let path = store.path.display().to_string();
    tokio::task::spawn_blocking(move || work(store))
        .await
        .unwrap_or_else(|e| {
            Err(StoreError::Io {
                operation: "accessing",
                path,
                message: format!("the file task failed: {e}"),
            })
        })
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<StoredSession>> {
        Box::pin(blocking(self, |store| store.load_blocking()))
    }

    fn save<'a>(&'a self, session: &'a StoredSession) -> StoreFuture<'a, ()> {
        let bytes = encode_session_file(session);
        Box::pin(blocking(self, move |store| store.save_blocking(&bytes)))
    }

    fn clear(&self) -> StoreFuture<'_, ()> {
        Box::pin(blocking(self, |store| store.clear_blocking()))
    }

    fn lock(&self) -> StoreFuture<'_, Option<StoreLock>> {
        Box::pin(blocking(self, |store| {
            store
                .lock_blocking()
                .map(|lock| Some(Box::new(lock) as StoreLock))
        }))
    }
}

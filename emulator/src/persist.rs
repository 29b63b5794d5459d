//! The state file: written before a write is answered (group commit), so an answered write
//! survives SIGKILL.
//!
//! Every request that may change state (any method but GET/HEAD/OPTIONS) waits, after its
//! handler ran, until a save that started after the change has reached the disk (written to a
//! temporary file, `fsync`ed, renamed over the state file, mode 0600). Requests arriving during
//! a save share the next one, so a burst costs a few saves, not one per request.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{Notify, watch};

use crate::control::Control;
use crate::errors::ApiError;
use crate::state::{App, Shared};

/// How far saving has got: the newest write generation on disk, and whether that save failed.
#[derive(Debug, Clone, Copy, Default)]
struct Saved {
    generation: u64,
    failed: bool,
}

#[derive(Debug)]
pub(crate) struct Persist {
    path: PathBuf,
    requested: AtomicU64,
    wake: Notify,
    saved: watch::Sender<Saved>,
}

impl Persist {
    /// Starts the saving task for `app`'s state at `path`.
    pub(crate) fn start(app: &App, path: PathBuf) -> Arc<Self> {
        let persist = Arc::new(Self {
            path,
            requested: AtomicU64::new(0),
            wake: Notify::new(),
            saved: watch::Sender::new(Saved::default()),
        });
        let worker = persist.clone();
        let app = Arc::downgrade(app);
        tokio::spawn(async move { worker.save_loop(app).await });
        persist
    }

    /// Ends when the emulator is gone.
    async fn save_loop(self: Arc<Self>, app: Weak<Shared>) {
        loop {
            self.wake.notified().await;
            let Some(control) = app.upgrade().map(Control::new) else {
                return;
            };
            // Every change of a generation up to this one happened before it was requested.
            let generation = self.requested.load(Ordering::Acquire);
            let path = self.path.clone();
            let saved = tokio::task::spawn_blocking(move || save(&path, &control.export_state()))
                .await
                .map_err(std::io::Error::other)
                .and_then(|r| r);
            if let Err(e) = &saved {
                tracing::error!(path = %self.path.display(), %e, "saving the state failed");
            }
            self.saved.send_replace(Saved {
                generation,
                failed: saved.is_err(),
            });
        }
    }

    /// Waits until the changes made so far are on disk; false when that save failed.
    pub(crate) async fn commit(&self) -> bool {
        let generation = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        let mut saved = self.saved.subscribe();
        self.wake.notify_one();
        match saved.wait_for(|s| s.generation >= generation).await {
            Ok(s) => !s.failed,
            Err(_) => false,
        }
    }
}

/// Answers a write only once it is on disk; a failed save turns the answer into a 503.
pub(crate) async fn durable_writes(
    State(app): State<App>,
    request: Request,
    next: Next,
) -> Response {
    let reads_only = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    match app.persist() {
        Some(persist) if !reads_only => {
            if persist.commit().await {
                response
            } else {
                ApiError::from_status(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the emulator could not save its state file; the change may be lost",
                )
                .into_response()
            }
        }
        _ => response,
    }
}

/// Writes `document` to `path` atomically: a private temporary file next to it, `fsync`,
/// rename, then `fsync` of the directory. The file is readable by its owner only (it holds
/// password hashes).
pub(crate) fn save(path: &Path, document: &serde_json::Value) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(&serde_json::to_vec(document)?)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

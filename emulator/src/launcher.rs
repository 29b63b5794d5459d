//! [`Launcher`]: the emulator as a program, shared by the `cloudbase-auth-emulator` binary
//! and the `cloudbase-auth emulator` command so they cannot drift apart.
//!
//! Order matters: the state file is checked and loaded before the port is bound (no request
//! can land before the load and be wiped by it); the file is written once at start (a missing
//! directory or a read-only file fails now, not at shutdown); from then on every write is on
//! disk before it is answered. The first SIGINT/SIGTERM stops accepting and lets in-flight
//! requests finish within [`Limits::shutdown_grace_ms`](crate::Limits); a second one exits at
//! once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::EmulatorConfig;
use crate::control::Control;
use crate::persist::{self, Persist};
use crate::state::Shared;
use crate::{RunningEmulator, keys};

/// Exit status after a second signal cut the shutdown short (128 + SIGINT).
const FORCED_EXIT: i32 = 130;

/// Why the emulator could not start or stop cleanly. Every file error names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    #[error("config file {path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("state file {path}: {reason}")]
    StateFile { path: PathBuf, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start: {0}")]
    Start(std::io::Error),
}

/// How to run one emulator process.
#[derive(Debug, Clone)]
pub struct Launcher {
    addr: SocketAddr,
    config: EmulatorConfig,
    state_file: Option<PathBuf>,
}

impl Launcher {
    pub fn new(addr: SocketAddr, config: EmulatorConfig) -> Self {
        Self {
            addr,
            config,
            state_file: None,
        }
    }

    /// Keep the state in `path`: loaded at start if it exists, every write saved before it is
    /// answered, mode 0600.
    pub fn with_state_file(mut self, path: Option<PathBuf>) -> Self {
        self.state_file = path;
        self
    }

    /// Reads an [`EmulatorConfig`] JSON file (any subset of its fields).
    pub fn read_config(path: &Path) -> Result<EmulatorConfig, LaunchError> {
        let failed = |reason: String| LaunchError::Config {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| failed(e.to_string()))
    }

    /// Loads the state, binds, serves. No signal handling: see [`Launcher::run`].
    pub async fn start(self) -> Result<RunningEmulator, LaunchError> {
        keys::check().map_err(LaunchError::Start)?;
        let app = Arc::new(Shared::new(self.config));
        if let Some(path) = self.state_file {
            open_state_file(&app, &path)?;
            app.set_persist(Persist::start(&app, path));
        }
        let listener = TcpListener::bind(self.addr)
            .await
            .map_err(|source| LaunchError::Bind {
                addr: self.addr,
                source,
            })?;
        crate::serve(listener, app).map_err(LaunchError::Start)
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully; a second signal exits the
    /// process at once. `ready` gets the base URL once the port accepts requests.
    pub async fn run(self, ready: impl FnOnce(&str)) -> Result<(), LaunchError> {
        let mut signals = Signals::install().map_err(LaunchError::Start)?;
        let running = self.start().await?;
        ready(&running.base_url());
        signals.next().await;
        tracing::info!("shutting down (a second signal exits at once)");
        tokio::spawn(async move {
            signals.next().await;
            tracing::warn!("second signal: exiting without waiting");
            std::process::exit(FORCED_EXIT);
        });
        running.shutdown().await;
        Ok(())
    }
}

/// Checks, loads and rewrites the state file before anything is served.
fn open_state_file(app: &Arc<Shared>, path: &Path) -> Result<(), LaunchError> {
    let failed = |reason: String| LaunchError::StateFile {
        path: path.to_owned(),
        reason,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(failed(format!(
            "directory {} does not exist; create it first",
            dir.display()
        )));
    }
    let control = Control::new(app.clone());
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let document = serde_json::from_str(&text)
                .map_err(|e| failed(format!("not a state document: {e}")))?;
            control
                .import_state(document)
                .map_err(|e| failed(e.to_string()))?;
            tracing::info!(path = %path.display(), "state loaded");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed(e.to_string())),
    }
    persist::save(path, &control.export_state()).map_err(|e| failed(format!("cannot write: {e}")))
}

/// SIGINT and SIGTERM (what `docker stop` and service managers send), registered before the
/// port is bound so no early signal is missed.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

//! A stateful local emulator of Tencent CloudBase Auth v1 (`/auth/v1/...`), for tests and
//! offline development: real RS256 tokens, refresh rotation with reuse detection, verification
//! codes you can read back, captchas, an emulator-controlled clock and fault injection.
//!
//! The signing key is a committed, public DEV-ONLY key (see `keys/`): never trust tokens
//! signed by it anywhere but in development.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use cloudbase_auth_emulator::{Emulator, EmulatorConfig, PasswordHashing};
//! let config = EmulatorConfig { password_hashing: PasswordHashing::Fast, ..Default::default() };
//! let emulator = Emulator::start(config).await?;
//! println!("{}", emulator.base_url()); // http://127.0.0.1:PORT, paths under /auth/v1/
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod captcha;
mod clients;
mod clock;
mod cloud_auth;
mod config;
mod context;
mod control;
mod cors;
mod custom_login;
mod errors;
mod faults;
mod gate;
mod keys;
mod launcher;
mod lockout;
mod oauth_grants;
mod operations;
mod passwords;
mod persist;
mod providers;
mod qr_login;
mod routes;
mod secrets;
mod security_log;
mod server;
mod state;
mod strict;
mod sudo;
mod tokens;
mod users;
mod verification;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    ClientConfig, ClockMode, CloudSecret, CustomLoginPublicKey, EmulatorConfig, Limits,
    PasswordHashing,
};
pub use control::{Control, SeedUser, StateError};
pub use faults::Fault;
pub use launcher::{LaunchError, Launcher};
pub use strict::STRICT_SPEC_ENV;
pub use verification::SentCode;

/// Entry points.
pub struct Emulator;

impl Emulator {
    /// Serves on 127.0.0.1 at a free port.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<RunningEmulator> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Serves on `addr`; fails if the address is taken or the signing key is unusable.
    pub async fn start_on(
        addr: SocketAddr,
        config: EmulatorConfig,
    ) -> std::io::Result<RunningEmulator> {
        keys::check()?;
        custom_login::CustomLoginKeys::from_config(&config.custom_login_keys)
            .map_err(std::io::Error::other)?;
        let app = Arc::new(state::Shared::new(config));
        let listener = TcpListener::bind(addr).await?;
        serve(listener, app)
    }

    /// The emulator as an in-process router, without a socket.
    pub fn router(config: EmulatorConfig) -> (axum::Router, Control) {
        let app = Arc::new(state::Shared::new(config));
        (routes::router(app.clone()), Control::new(app))
    }
}

/// Serves `app` on `listener` with the bounds of its [`Limits`].
fn serve(listener: TcpListener, app: state::App) -> std::io::Result<RunningEmulator> {
    let addr = listener.local_addr()?;
    let router = routes::router(app.clone());
    let (shutdown, stop) = oneshot::channel::<()>();
    let limits = app.config.limits.clone();
    let task = tokio::spawn(server::serve(listener, router, limits, async {
        // A dropped `RunningEmulator` closes the channel: that stops the server too.
        let _ = stop.await;
    }));
    Ok(RunningEmulator {
        addr,
        control: Control::new(app.clone()),
        app,
        shutdown,
        task,
    })
}

/// A served emulator. Dropping it stops the server as `shutdown` does, without waiting.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    control: Control,
    app: state::App,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningEmulator {
    /// `http://HOST:PORT`; operations live under `/auth/v1/`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Stops accepting connections, waits for in-flight requests to finish (at most
    /// [`Limits::shutdown_grace_ms`]), then saves the state file if there is one.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(%e, "emulator server stopped with an error"),
            Err(e) => tracing::warn!(%e, "emulator server task failed"),
        }
        if let Some(persist) = self.app.persist()
            && !persist.commit().await
        {
            tracing::error!("the final save of the state file failed");
        }
    }
}

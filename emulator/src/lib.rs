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
mod lockout;
mod oauth_grants;
mod operations;
mod passwords;
mod providers;
mod qr_login;
mod routes;
mod secrets;
mod security_log;
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
    ClientConfig, ClockMode, CloudSecret, CustomLoginPublicKey, EmulatorConfig, PasswordHashing,
};
pub use control::{Control, SeedUser, StateError};
pub use faults::Fault;
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
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (router, control) = Self::router(config);
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    // A dropped `RunningEmulator` closes the channel: that stops the server too.
                    let _ = stop.await;
                })
                .await
        });
        Ok(RunningEmulator {
            addr,
            control,
            shutdown,
            task,
        })
    }

    /// The emulator as an in-process router, without a socket.
    pub fn router(config: EmulatorConfig) -> (axum::Router, Control) {
        let app = Arc::new(state::Shared::new(config));
        (routes::router(app.clone()), Control::new(app))
    }
}

/// A served emulator. Dropping it stops the server as `shutdown` does, without waiting.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    control: Control,
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

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(%e, "emulator server stopped with an error"),
            Err(e) => tracing::warn!(%e, "emulator server task failed"),
        }
    }
}

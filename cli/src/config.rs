//! From flags and environment variables to the client crate's `Config` and sessions.

use cloudbase_auth::{Config, FileTokenStore, Session};

use crate::args::Connection;
use crate::clock::OffsetClock;
use crate::device_id;
use crate::error::CliError;
use crate::files::Paths;

/// What every client command works with.
#[derive(Debug)]
pub struct Context {
    pub paths: Paths,
    /// Without a token store: each session picks its own.
    config: Config,
    pub clock: OffsetClock,
}

impl Context {
    pub fn new(connection: &Connection) -> Result<Context, CliError> {
        let config = endpoint(connection)?;
        let paths = Paths::new(connection.session_file.as_deref())?;
        let clock = OffsetClock::new(connection.clock_offset_secs.unwrap_or(0));
        let mut config = config
            .with_device_id(device_id::device_id(&paths.device_id)?)
            .with_clock(clock);
        if let Some(client_id) = &connection.client_id {
            config = config.with_client_id(client_id);
        }
        if let Some(secret) = &connection.client_secret {
            config = config.with_client_secret(secret.as_str());
        }
        Ok(Context {
            paths,
            config,
            clock,
        })
    }

    /// The connection's configuration, without a token store (the server commands add
    /// their credential to it).
    pub fn config(&self) -> Config {
        self.config.clone()
    }

    /// A session kept in the session file, not loaded yet (for signing in).
    pub fn session(&self) -> Result<Session, CliError> {
        let store = FileTokenStore::new(&self.paths.session);
        Ok(Session::new(self.config.clone().with_token_store(store))?)
    }

    /// The stored session; the session refreshes it by itself when it is near expiry.
    pub async fn signed_in(&self) -> Result<Session, CliError> {
        let session = self.session()?;
        if !session.restore().await? {
            return Err(CliError::not_signed_in());
        }
        Ok(session)
    }
}

/// The server: a base URL wins over an environment id, as the flags' help says.
fn endpoint(connection: &Connection) -> Result<Config, CliError> {
    match (&connection.base_url, &connection.env) {
        (Some(url), env) => {
            if env.is_none() && connection.client_id.is_none() {
                return Err(CliError::usage(
                    "with --base-url, give --client-id or --env (the emulator's is `demo-env`)",
                ));
            }
            let config = Config::for_base_url(url);
            Ok(match env {
                Some(env) => config.with_env_id(env),
                None => config,
            })
        }
        (None, Some(env)) => {
            let config = Config::for_env(env);
            Ok(match &connection.region {
                Some(region) => config.with_region(region),
                None => config,
            })
        }
        (None, None) => Err(CliError::usage(
            "no server: give --env (CLOUDBASE_ENV) or --base-url (CLOUDBASE_BASE_URL)",
        )),
    }
}

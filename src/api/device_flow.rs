//! Device-code sign-in (RFC 8628) on [`Session`]: a CLI or TV shows a user code, the user
//! approves it on a signed-in device, and this session polls the token endpoint until the
//! tokens arrive, as `@cloudbase/oauth` 3.3.3's `deviceAuthorize` / `authorizeDevice` do.

use std::future::Future;
use std::time::Duration;

use crate::generated::types;
use crate::{DeviceCode, Error, Session, SignedIn};

/// The grant type of a device-code poll (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5: each `slow_down` adds 5 s to the polling interval, for good.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// RFC 8628 §3.2: 5 s when the server names no interval.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// A started device-code sign-in: show `user_code` and `verification_uri` to the user,
/// then call [`Session::sign_in_with_device_code`].
#[derive(Clone)]
#[non_exhaustive]
pub struct DeviceAuthorization {
    /// The code this session polls with (secret).
    pub device_code: DeviceCode,
    /// The code the user approves.
    pub user_code: String,
    /// Where the user approves: `verification_uri` (3.3.3, RFC 8628), else the
    /// `verification_url` older servers answer.
    pub verification_uri: Option<String>,
    /// The same page with the user code filled in, when the server gives one.
    pub verification_uri_complete: Option<String>,
    /// How long the codes live.
    pub expires_in: Duration,
    /// The minimum time between polls.
    pub interval: Duration,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &self.device_code)
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

fn seconds(value: Option<i32>, default: Duration) -> Duration {
    value
        .and_then(|s| u64::try_from(s).ok())
        .filter(|&s| s > 0)
        .map_or(default, Duration::from_secs)
}

impl DeviceAuthorization {
    fn from_response(response: types::DeviceCodeResponse) -> Result<Self, Error> {
        let device_code = response.device_code.filter(|c| !c.is_empty());
        let device_code = device_code.ok_or_else(|| Error::Decode {
            operation: "request_device_code".into(),
            status: 200,
            reason: "the answer has no device_code".into(),
            request_id: String::new(),
        })?;
        Ok(DeviceAuthorization {
            device_code: DeviceCode::new(device_code),
            user_code: response.user_code.unwrap_or_default(),
            verification_uri: response.verification_uri.or(response.verification_url),
            verification_uri_complete: response.verification_uri_complete,
            expires_in: seconds(response.expires_in, Duration::from_secs(600)),
            interval: seconds(response.interval, DEFAULT_INTERVAL),
        })
    }
}

/// What one unsuccessful poll means for the loop.
fn keep_polling(error: &Error) -> Option<bool> {
    match error.as_api()?.error.as_str() {
        "authorization_pending" => Some(false),
        "slow_down" => Some(true),
        _ => None,
    }
}

/// Polls every `interval` (growing by 5 s on each `slow_down`) until `poll` succeeds, fails
/// for another reason, or `expires_in` has passed; then the last pending error is returned.
/// Uses tokio time, so tests run it under paused time.
pub(crate) async fn poll_until_done<F, Fut>(
    mut interval: Duration,
    expires_in: Duration,
    mut poll: F,
) -> Result<SignedIn, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<SignedIn, Error>>,
{
    let deadline = tokio::time::Instant::now() + expires_in;
    loop {
        tokio::time::sleep(interval).await;
        let error = match poll().await {
            Ok(signed_in) => return Ok(signed_in),
            Err(error) => error,
        };
        match keep_polling(&error) {
            Some(slow_down) if tokio::time::Instant::now() + interval < deadline => {
                if slow_down {
                    interval += SLOW_DOWN_STEP;
                }
            }
            _ => return Err(error),
        }
    }
}

impl Session {
    /// Starts a device-code sign-in. With a session (3.3.3 sends its bearer token) or
    /// without (client identification); `scope` defaults to the server's.
    ///
    /// ```no_run
    /// # async fn demo(session: cloudbase_auth::Session) -> Result<(), cloudbase_auth::Error> {
    /// let started = session.start_device_sign_in(None).await?;
    /// println!("Open {:?} and enter {}", started.verification_uri, started.user_code);
    /// let signed_in = session.sign_in_with_device_code(&started).await?;
    /// # let _ = signed_in; Ok(()) }
    /// ```
    pub async fn start_device_sign_in(
        &self,
        scope: Option<&str>,
    ) -> Result<DeviceAuthorization, Error> {
        let body = types::DeviceCodeRequest::builder().scope(scope.map(str::to_owned));
        let response = self
            .send(|raw| raw.request_device_code().body(body).send())
            .await?;
        DeviceAuthorization::from_response(response)
    }

    /// One poll of the token endpoint. Until the user approves it fails with the API error
    /// `authorization_pending` (or `slow_down` when polled too fast); prefer
    /// [`sign_in_with_device_code`](Session::sign_in_with_device_code), which waits.
    pub async fn poll_device_sign_in(
        &self,
        authorization: &DeviceAuthorization,
    ) -> Result<SignedIn, Error> {
        let body = types::GrantTokenRequest::builder()
            .grant_type(DEVICE_CODE_GRANT_TYPE.to_string())
            .device_code(authorization.device_code.expose_secret().to_string());
        let response = self.send(|raw| raw.grant_token().body(body).send()).await?;
        self.signed_in(response).await
    }

    /// Waits for the user's approval: polls every `interval`, slower after each
    /// `slow_down`, and signs this session in. Fails with the server's error on denial or
    /// expiry (`access_denied`, `expired_token`), or with the last `authorization_pending`
    /// once `expires_in` has passed.
    pub async fn sign_in_with_device_code(
        &self,
        authorization: &DeviceAuthorization,
    ) -> Result<SignedIn, Error> {
        poll_until_done(authorization.interval, authorization.expires_in, || {
            self.poll_device_sign_in(authorization)
        })
        .await
    }

    /// As the signed-in user, approves the device showing `user_code`.
    pub async fn approve_device(&self, user_code: &str) -> Result<(), Error> {
        let body = types::AuthorizeDeviceRequest::builder().user_code(user_code);
        self.send(|raw| raw.authorize_device().body(body).send())
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::ApiError;

    fn api(name: &str) -> Error {
        Error::Api(Box::new(ApiError {
            status: 400,
            error: name.into(),
            error_code: None,
            error_description: None,
            request_id: String::new(),
            retry_after: None,
        }))
    }

    /// Answers `pending` errors in turn, then `Ok` with nobody signed in.
    async fn run(answers: Vec<&'static str>, expires_in: u64) -> (Result<(), Error>, Vec<u64>) {
        let start = tokio::time::Instant::now();
        let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let index = Arc::new(AtomicU32::new(0));
        let result = poll_until_done(
            Duration::from_secs(5),
            Duration::from_secs(expires_in),
            || {
                calls.lock().unwrap().push(start.elapsed().as_secs());
                let i = index.fetch_add(1, Ordering::SeqCst) as usize;
                let answer = answers.get(i).copied();
                async move {
                    match answer {
                        Some(name) => Err(api(name)),
                        None => Err(api("done")),
                    }
                }
            },
        )
        .await;
        let calls = calls.lock().unwrap().clone();
        (result.map(drop), calls)
    }

    #[tokio::test(start_paused = true)]
    async fn polls_every_interval_and_slows_down_by_five_seconds_for_good() {
        let (result, calls) = run(
            vec![
                "authorization_pending",
                "slow_down",
                "authorization_pending",
            ],
            600,
        )
        .await;
        assert_eq!(calls, [5, 10, 20, 30]);
        assert_eq!(result.unwrap_err().as_api().unwrap().error, "done");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_expiry_with_the_last_pending_error() {
        let (result, calls) = run(vec!["authorization_pending"; 100], 12).await;
        assert_eq!(calls, [5, 10]);
        let error = result.unwrap_err();
        assert_eq!(error.as_api().unwrap().error, "authorization_pending");
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_end_the_wait_at_once() {
        let (result, calls) = run(vec!["access_denied"], 600).await;
        assert_eq!(calls, [5]);
        assert_eq!(result.unwrap_err().as_api().unwrap().error, "access_denied");
    }

    #[test]
    fn the_debug_output_hides_the_device_code() {
        let authorization = DeviceAuthorization {
            device_code: DeviceCode::new("dc.secret"),
            user_code: "WDJB-MJHT".into(),
            verification_uri: None,
            verification_uri_complete: None,
            expires_in: Duration::from_secs(600),
            interval: DEFAULT_INTERVAL,
        };
        assert_eq!(
            format!("{authorization:?}"),
            "DeviceAuthorization { device_code: DeviceCode([redacted]), user_code: \"WDJB-MJHT\", verification_uri: None, expires_in: 600s, interval: 5s, .. }"
        );
    }
}

//! The per-call context: what one logical call hands the hooks (headers to send) and
//! what the hooks hand back (the request id sent last, a typed failure), as typed values.
//!
//! progenitor's generated calls take no extra arguments and their hooks see only the
//! operation id, so the context travels with the future as a task-local. A call that
//! runs outside any context (a plain `session.raw()` call) gets the defaults: a fresh
//! request id per attempt, the session's own token, nothing reported back.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::futures::TaskLocalFuture;

use reqwest::header::HeaderValue;

use crate::error::{Error, Observed, RawError};
use crate::secret::{AccessToken, CaptchaToken};

/// What the caller asked for, inherited by nested calls.
#[derive(Clone, Default)]
pub(crate) struct Overrides {
    /// The caller's `x-request-id` ([`with_request_id`]): every attempt sends it.
    pub(crate) request_id: Option<HeaderValue>,
    /// A bearer token to send instead of the session's ([`with_bearer_token`]).
    pub(crate) bearer: Option<HeaderValue>,
    /// A solved captcha's token ([`with_captcha_token`]), sent as `x-captcha-token`.
    pub(crate) captcha: Option<HeaderValue>,
}

/// What the hooks found out during a call.
#[derive(Default)]
pub(crate) struct Report {
    /// What the transport saw: the request id sent last, a body it replaced.
    pub(crate) observed: Observed,
    /// A typed failure the generated code can only pass on as a string or not at all:
    /// the refresh before or after the request failed.
    pub(crate) failure: Option<Error>,
}

impl Report {
    /// The error of the call: the hooks' typed failure if there was one, else the
    /// generated code's error through the one redacting path.
    pub(crate) fn into_error(self, error: RawError) -> Error {
        match self.failure {
            Some(failure) => failure,
            None => Error::from_observed(error, self.observed),
        }
    }
}

pub(crate) struct CallContext {
    overrides: Overrides,
    report: RefCell<Report>,
}

tokio::task_local! {
    // Boxed: tokio swaps the value in and out of the thread on every poll of the call,
    // and a pointer is cheaper to swap than the context (~300 bytes) a dozen times.
    static CALL: Box<CallContext>;
}

/// The overrides of the running call, if any.
pub(crate) fn overrides<R>(read: impl FnOnce(&Overrides) -> R) -> Option<R> {
    CALL.try_with(|call| read(&call.overrides)).ok()
}

/// Tells the running call what the hooks found (no-op outside a call).
pub(crate) fn report(write: impl FnOnce(&mut Report)) {
    let _ = CALL.try_with(|call| write(&mut call.report.borrow_mut()));
}

/// Runs `future` as one call, inheriting the overrides of an enclosing call and changing
/// them with `change`; resolves to its output and what the hooks reported.
pub(crate) fn scope<F: Future>(change: impl FnOnce(&mut Overrides), future: F) -> Scoped<F> {
    let mut overrides = overrides(Overrides::clone).unwrap_or_default();
    change(&mut overrides);
    let context = Box::new(CallContext {
        overrides,
        report: RefCell::new(Report::default()),
    });
    Scoped {
        inner: CALL.scope(context, future),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`scope`]. A named type rather than an `async fn`, so the call's
    /// future is stored once, not once as an argument and again inside the scope.
    pub(crate) struct Scoped<F: Future> {
        #[pin]
        inner: TaskLocalFuture<Box<CallContext>, F>,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = (F::Output, Report);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.project().inner;
        let output = std::task::ready!(inner.as_mut().poll(cx));
        let report = inner
            .take_value()
            .map(|call| call.report.into_inner())
            .unwrap_or_default();
        Poll::Ready((output, report))
    }
}

/// Runs `future` with `request_id` as the `x-request-id` of every request it makes
/// (retries included), instead of a fresh one per attempt.
///
/// ```no_run
/// # async fn demo(session: cloudbase_auth::Session) -> Result<(), cloudbase_auth::Error> {
/// let me = cloudbase_auth::with_request_id("a1b2c3d4e5f60718293a4b5c6d7e8f90", session.me()).await?;
/// # Ok(()) }
/// ```
pub async fn with_request_id<F: Future>(request_id: impl Into<String>, future: F) -> F::Output {
    let value = HeaderValue::try_from(request_id.into()).ok();
    scope(|o| o.request_id = value, future).await.0
}

/// Runs `future` with a solved captcha's token, sent as `x-captcha-token` by every
/// request it makes; use it to resend a call that failed with `captcha_required`.
pub async fn with_captcha_token<F: Future>(token: &CaptchaToken, future: F) -> F::Output {
    let value = crate::auth::sensitive(token.expose_secret());
    scope(|o| o.captcha = Some(value), future).await.0
}

/// Runs `future` with `token` as the bearer of every bearer operation it makes, instead
/// of the session's own token: e.g. to introspect or revoke a token someone presented
/// to you. That token is never refreshed, and a 401 for it is returned as it is.
///
/// ```no_run
/// # async fn demo(session: cloudbase_auth::Session, presented: cloudbase_auth::AccessToken) -> Result<(), cloudbase_auth::Error> {
/// use cloudbase_auth::with_bearer_token;
/// let profile = with_bearer_token(&presented, session.me()).await?;
/// # let _ = profile;
/// # Ok(()) }
/// ```
pub async fn with_bearer_token<F: Future>(token: &AccessToken, future: F) -> F::Output {
    let value = crate::auth::bearer(token.expose_secret());
    scope(|o| o.bearer = Some(value), future).await.0
}

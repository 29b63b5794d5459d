//! The per-call context: what one logical call hands the hooks (headers to send) and
//! what the hooks hand back (the request id sent last, a typed failure), as typed values.
//!
//! progenitor's generated calls take no extra arguments and their hooks see only the
//! operation id, so both travel with the future as task-locals: the overrides, set by
//! the `with_*` functions and inherited by every call inside; the report, one per call
//! run by [`observe`] (`Session::send`, the refresher). A call outside both (a plain
//! `session.raw()` call) gets the defaults: a fresh request id per attempt, the
//! session's own token, nothing reported back.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use reqwest::header::HeaderValue;

use crate::error::{self, Error, RawError};
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
    pub(crate) observed: error::Observed,
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

tokio::task_local! {
    /// What the caller asked for, for every request made inside ([`with_request_id`],
    /// [`with_bearer_token`], [`with_captcha_token`]).
    static OVERRIDES: Overrides;
}

thread_local! {
    /// The report of the call [`observe`] is polling on this thread, lent to the thread
    /// for the length of each poll. Not a `tokio::task_local!`: this is set and taken
    /// back on every poll of every call, and a plain `Cell` does that for a fraction of
    /// the cost of tokio's `RefCell` and error paths.
    static REPORT: Cell<Option<Box<Report>>> = const { Cell::new(None) };
}

/// The overrides of the enclosing `with_*` calls, if any.
pub(crate) fn overrides<R>(read: impl FnOnce(&Overrides) -> R) -> Option<R> {
    OVERRIDES.try_with(read).ok()
}

/// Tells the running call what the hooks found (no-op outside [`observe`]).
pub(crate) fn report(write: impl FnOnce(&mut Report)) {
    let _ = REPORT.try_with(|slot| {
        if let Some(mut report) = slot.take() {
            write(&mut report);
            slot.set(Some(report));
        }
    });
}

/// Runs `future` with the enclosing overrides changed by `change`.
async fn with_overrides<F: Future>(change: impl FnOnce(&mut Overrides), future: F) -> F::Output {
    let mut overrides = overrides(Overrides::clone).unwrap_or_default();
    change(&mut overrides);
    OVERRIDES.scope(overrides, future).await
}

/// Runs `future` as one call; resolves to `finish` of its output and what the hooks
/// reported.
pub(crate) fn observe<F, M, O>(future: F, finish: M) -> Observed<F, M>
where
    F: Future,
    M: FnOnce(F::Output, Box<Report>) -> O,
{
    Observed {
        future,
        report: Some(Box::default()),
        finish: Some(finish),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`observe`]. A named type rather than an `async fn`, so the call's
    /// future is stored once, not once as an argument and again inside a scope.
    pub(crate) struct Observed<F, M> {
        #[pin]
        future: F,
        report: Option<Box<Report>>,
        finish: Option<M>,
    }
}

/// Gives the lent report back to its call when a poll ends, even by a panic, and the
/// thread its previous one (an enclosing call's, on the same thread).
struct Lent<'a> {
    slot: &'a mut Option<Box<Report>>,
    previous: Option<Box<Report>>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        *self.slot = REPORT.try_with(|r| r.replace(previous)).ok().flatten();
    }
}

impl<F, M, O> Future for Observed<F, M>
where
    F: Future,
    M: FnOnce(F::Output, Box<Report>) -> O,
{
    type Output = O;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        let this = self.project();
        let lent = this.report.take();
        let previous = REPORT.try_with(|r| r.replace(lent)).ok().flatten();
        let lent = Lent {
            slot: this.report,
            previous,
        };
        let output = this.future.poll(cx);
        drop(lent);
        let output = std::task::ready!(output);
        let report = this.report.take().unwrap_or_default();
        let finish = this
            .finish
            .take()
            .expect("`Observed` polled after it completed");
        Poll::Ready(finish(output, report))
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
    with_overrides(|o| o.request_id = value, future).await
}

/// Runs `future` with a solved captcha's token, sent as `x-captcha-token` by every
/// request it makes; use it to resend a call that failed with `captcha_required`.
pub async fn with_captcha_token<F: Future>(token: &CaptchaToken, future: F) -> F::Output {
    let value = crate::sensitive_header::sensitive(token.expose_secret());
    with_overrides(|o| o.captcha = Some(value), future).await
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
    let value = crate::sensitive_header::bearer(token.expose_secret());
    with_overrides(|o| o.bearer = Some(value), future).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the running call's report says (as the hooks would read it back).
    fn seen() -> Option<&'static str> {
        let mut operation = None;
        report(|r| operation = r.observed.operation);
        operation
    }

    /// Reports `operation`, then yields once so another call can run on the thread.
    async fn call(operation: &'static str) -> Option<&'static str> {
        report(|r| r.observed.operation = Some(operation));
        tokio::task::yield_now().await;
        seen()
    }

    fn operation_of(
        future: impl Future<Output = Option<&'static str>>,
    ) -> impl Future<Output = (Option<&'static str>, Option<&'static str>)> {
        observe(future, |output, report| (output, report.observed.operation))
    }

    #[tokio::test]
    async fn interleaved_calls_on_one_thread_each_keep_their_own_report() {
        let (a, b) = tokio::join!(operation_of(call("a")), operation_of(call("b")));
        assert_eq!(a, (Some("a"), Some("a")));
        assert_eq!(b, (Some("b"), Some("b")));
        assert_eq!(seen(), None, "nothing is left on the thread");
    }

    #[tokio::test]
    async fn a_nested_call_has_its_own_report_and_the_outer_one_is_back_after_it() {
        let outer = async {
            report(|r| r.observed.operation = Some("outer"));
            let inner = operation_of(call("inner")).await;
            (inner, seen())
        };
        let ((inner, after), outer_report) = observe(outer, |o, r| (o, r.observed.operation)).await;
        assert_eq!(inner, (Some("inner"), Some("inner")));
        assert_eq!(after, Some("outer"));
        assert_eq!(outer_report, Some("outer"));
    }

    #[test]
    fn a_panicking_call_leaves_nothing_on_the_thread() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(operation_of(async {
                report(|r| r.observed.operation = Some("doomed"));
                panic!("the call panics mid-poll");
            }))
        }));
        assert!(panicked.is_err());
        assert_eq!(seen(), None);
        assert_eq!(
            runtime.block_on(operation_of(call("next"))),
            (Some("next"), Some("next"))
        );
    }

    #[test]
    fn outside_any_call_reports_go_nowhere() {
        report(|r| r.observed.operation = Some("lost"));
        assert_eq!(seen(), None);
    }
}

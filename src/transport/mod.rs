//! The transport: sends one request, retrying it where that is safe, and hands back the
//! answer with its body bounded and its error body in the one shape the generated code
//! parses. It knows nothing of sessions or credentials: the hooks and the refresher
//! give it finished requests.
//!
//! Owned here: the attempt loop (the only retry layer: [`Attempts`] bounds one logical
//! call), the per-request timeout, the `x-request-id` of each attempt, the request span,
//! and the transient checks of `failure.rs` applied to each attempt.

mod body;
mod secret_bodies;

use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use reqwest::{Method, Request, Response, StatusCode};
use tracing::Span;
use tracing::instrument::{Instrument, Instrumented};

use crate::call;
use crate::retry::RetryPolicy;

use crate::failure::{self, classify, is_transient_status};
pub use body::normalize_error_body_for_fuzzing;
pub use secret_bodies::guarded_operations_for_tests;

use crate::ids::REQUEST_ID;

/// The HTTP client and the limits every request goes out under.
#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    /// Set on every request that has none: `Config::with_timeout` with a user's
    /// client (the built-in client applies it itself).
    timeout: Option<Duration>,
    max_response_bytes: usize,
    retry: RetryPolicy,
}

/// When a failed attempt may be sent again.
pub(crate) enum Replay<'a> {
    /// Whenever it failed transiently (a `GET`).
    Idempotent,
    /// Only if it never left this machine (a connection never made).
    IfNotSent,
    /// As the caller decides, given the failure and how long until the next attempt.
    Decide(&'a (dyn Fn(&Failed, Duration) -> bool + Sync)),
}

/// What a failed attempt tells a [`Replay::Decide`] rule.
pub(crate) struct Failed {
    /// The server's status, when it answered.
    pub(crate) status: Option<u16>,
    /// Whether the request may have reached the server.
    pub(crate) may_have_been_sent: bool,
}

/// The attempts one logical call may still make: `1 + RetryPolicy::max_retries`,
/// shared by the first send, its transient retries and the resend after a 401.
#[derive(Debug)]
pub(crate) struct Attempts {
    left: u32,
    retries_made: u32,
    /// When the current send began (its rules see the time spent retrying); set by
    /// [`Transport::first_attempt`].
    since: Option<tokio::time::Instant>,
}

impl Attempts {
    pub(crate) fn new(policy: &RetryPolicy) -> Attempts {
        Attempts {
            left: policy.max_retries.saturating_add(1),
            retries_made: 0,
            since: None,
        }
    }

    pub(crate) fn any_left(&self) -> bool {
        self.left > 0
    }
}

impl Transport {
    pub(crate) fn new(
        http: reqwest::Client,
        timeout: Option<Duration>,
        max_response_bytes: usize,
        retry: RetryPolicy,
    ) -> Transport {
        Transport {
            http,
            timeout,
            max_response_bytes,
            retry,
        }
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Sends `request`, retrying transient failures as `replay` allows, with full jitter
    /// and `Retry-After`, while `attempts` last. Retries are copies of `template` (the
    /// same request; `None` when its body is a stream, then nothing is retried).
    pub(crate) async fn send(
        &self,
        request: Request,
        template: Option<&Request>,
        operation: &'static str,
        replay: Replay<'_>,
        attempts: &mut Attempts,
    ) -> reqwest::Result<Answer> {
        let first = self.first_attempt(request, operation, attempts).await;
        self.retried(first, template, operation, replay, attempts)
            .await
    }

    /// The first attempt of [`send`](Transport::send). The hooks call it and
    /// [`retried`](Transport::retried) themselves: they hold the request as an argument
    /// already, and handing it down to one more future would make every call's future
    /// carry a second copy.
    pub(crate) fn first_attempt<'t>(
        &'t self,
        request: Request,
        operation: &'static str,
        attempts: &mut Attempts,
    ) -> Instrumented<impl Future<Output = reqwest::Result<Answer>> + use<'t>> {
        // tokio's clock, so tests with paused time see the backoff.
        attempts.since = Some(tokio::time::Instant::now());
        attempts.left = attempts.left.saturating_sub(1);
        self.attempt(request, operation)
    }

    /// The rest of [`send`](Transport::send): retries while `result` is a transient
    /// failure and the rules allow.
    pub(crate) async fn retried(
        &self,
        mut result: reqwest::Result<Answer>,
        template: Option<&Request>,
        operation: &'static str,
        replay: Replay<'_>,
        attempts: &mut Attempts,
    ) -> reqwest::Result<Answer> {
        loop {
            let delay = self.retry_delay(&result, &replay, attempts);
            let next = delay.and(template).and_then(duplicate);
            let (Some(next), Some(delay)) = (next, delay) else {
                return result;
            };
            tracing::debug!(
                operation,
                retry = attempts.retries_made + 1,
                ?delay,
                "transient failure; retrying"
            );
            attempts.retries_made += 1;
            attempts.left = attempts.left.saturating_sub(1);
            // Boxed: the uncommon path. Inline, a sleep and a second attempt would be
            // part of the future of every call.
            result = Box::pin(self.retry(delay, next, operation)).await;
        }
    }

    /// Waits out `delay`, then sends `request` again.
    async fn retry(
        &self,
        delay: Duration,
        request: Request,
        operation: &'static str,
    ) -> reqwest::Result<Answer> {
        tokio::time::sleep(delay).await;
        self.attempt(request, operation).await
    }

    fn retry_delay(
        &self,
        result: &reqwest::Result<Answer>,
        replay: &Replay<'_>,
        attempts: &Attempts,
    ) -> Option<Duration> {
        if !attempts.any_left() {
            return None;
        }
        let (failed, retry_after) = match result {
            Ok(answer) if answer.is_transient() => (
                Failed {
                    status: Some(answer.original_status().as_u16()),
                    may_have_been_sent: true,
                },
                answer.retry_after(),
            ),
            Ok(_) => return None,
            Err(error) if classify(error).is_transient() && !error.is_builder() => (
                Failed {
                    status: None,
                    may_have_been_sent: failure::may_have_been_sent(error),
                },
                None,
            ),
            Err(_) => return None,
        };
        let delay = self.retry.delay(attempts.retries_made, retry_after)?;
        let allowed = match replay {
            Replay::Idempotent => true,
            Replay::IfNotSent => !failed.may_have_been_sent,
            Replay::Decide(rule) => {
                let spent = attempts
                    .since
                    .map_or(Duration::ZERO, |since| since.elapsed());
                rule(&failed, spent + delay)
            }
        };
        allowed.then_some(delay)
    }

    /// One HTTP exchange inside a span: operation id, method, path, request id, status and
    /// duration; never a body, a query string or a header value.
    ///
    /// Not an `async fn`: the request goes to reqwest before the future is made, so the
    /// future does not carry it (every caller's future holds this one, and futures are
    /// moved, byte by byte, on every call).
    fn attempt(
        &self,
        mut request: Request,
        operation: &'static str,
    ) -> Instrumented<impl Future<Output = reqwest::Result<Answer>> + '_> {
        let request_id = call::overrides(|o| o.request_id.clone())
            .flatten()
            .unwrap_or_else(crate::ids::new_request_id);
        call::report(|r| {
            r.observed.operation = Some(operation);
            r.observed.request_id = Some(request_id.clone());
        });
        if request.timeout().is_none() && self.timeout.is_some() {
            *request.timeout_mut() = self.timeout;
        }
        let span = tracing::debug_span!(
            "cloudbase_auth.request",
            operation,
            method = %request.method(),
            path = request.url().path(),
            request_id = request_id.to_str().unwrap_or(""),
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        // A span no subscriber wants is replaced by none: under tracing's `log` feature
        // a disabled span still formats a log record on every poll.
        let traced = !span.is_disabled();
        let span = if traced { span } else { Span::none() };
        request.headers_mut().insert(REQUEST_ID, request_id.clone());
        let is_get = request.method() == Method::GET;
        let pending = self.http.execute(request);
        self.exchange(pending, is_get, operation, request_id, traced)
            .instrument(span)
    }

    /// Runs in the request's span: the exchange, and its outcome recorded on the span.
    async fn exchange(
        &self,
        pending: impl Future<Output = reqwest::Result<Response>>,
        is_get: bool,
        operation: &'static str,
        request_id: HeaderValue,
        traced: bool,
    ) -> reqwest::Result<Answer> {
        let started = traced.then(Instant::now);
        let result = self.receive(pending, is_get, operation, request_id).await;
        if let Some(started) = started {
            let span = Span::current();
            span.record("duration_ms", started.elapsed().as_millis() as u64);
            match &result {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    span.record("status", status);
                    tracing::debug!(status, "response");
                }
                Err(e) => tracing::debug!(cause = %classify(e), "transport failure"),
            }
        }
        result
    }

    /// The answer: a success passed through, anything else read whole (bounded).
    async fn receive(
        &self,
        pending: impl Future<Output = reqwest::Result<Response>>,
        is_get: bool,
        operation: &'static str,
        request_id: HeaderValue,
    ) -> reqwest::Result<Answer> {
        let response = pending.await?;
        let status = response.status();
        // The common case costs nothing extra: hyper enforces the declared length, and a
        // success of a `GET` carries no secret to guard (see `secret_bodies`).
        let declared_within_cap = response
            .content_length()
            .is_some_and(|len| len <= self.max_response_bytes as u64);
        if status.is_success()
            && declared_within_cap
            && (is_get || !secret_bodies::guarded(operation))
        {
            return Ok(Answer::Passed(response));
        }
        // Boxed: the uncommon path, and its future is large.
        Box::pin(body::buffer(
            response,
            self.max_response_bytes,
            operation,
            request_id,
        ))
        .await
        .map(Answer::Buffered)
    }
}

/// A copy of `request` to send again, or `None` if its body is a stream.
///
/// Not reqwest's `Request::try_clone`: that sets the copy's timeout even when there is
/// none, which allocates an extension map on every call. The timeout is the only
/// extension a request built by reqwest's builder carries.
pub(crate) fn duplicate(request: &Request) -> Option<Request> {
    let body = match request.body() {
        Some(body) => Some(reqwest::Body::from(bytes::Bytes::copy_from_slice(
            body.as_bytes()?,
        ))),
        None => None,
    };
    let mut copy = Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    if let Some(timeout) = request.timeout() {
        *copy.timeout_mut() = Some(*timeout);
    }
    *copy.body_mut() = body;
    Some(copy)
}

/// What came back: a success passed through untouched, or a response read whole.
pub(crate) enum Answer {
    Passed(Response),
    Buffered(body::Buffered),
}

impl Answer {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Answer::Passed(response) => response.status(),
            Answer::Buffered(buffered) => buffered.status,
        }
    }

    /// The status the server sent (differs from [`status`](Answer::status) only for a
    /// stand-in of an answer over the size cap).
    fn original_status(&self) -> StatusCode {
        match self {
            Answer::Passed(response) => response.status(),
            Answer::Buffered(buffered) => buffered.original_status,
        }
    }

    /// A 401 whose error is `unauthenticated`: the access token was refused.
    pub(crate) fn is_unauthenticated(&self) -> bool {
        matches!(self, Answer::Buffered(b) if b.is_unauthenticated())
    }

    /// By the server's own status: an oversized 200 is not worth retrying, an oversized
    /// 503 is.
    pub(crate) fn is_transient(&self) -> bool {
        is_transient_status(self.original_status().as_u16())
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Answer::Passed(_) => None,
            Answer::Buffered(b) => crate::retry::retry_after(&b.headers),
        }
    }

    /// The status, headers and body, read whole (an answer passed through is read now).
    pub(crate) async fn into_parts(
        self,
    ) -> reqwest::Result<(StatusCode, reqwest::header::HeaderMap, bytes::Bytes)> {
        match self {
            Answer::Passed(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                Ok((status, headers, response.bytes().await?))
            }
            Answer::Buffered(b) => Ok((b.status, b.headers, b.body)),
        }
    }

    pub(crate) fn into_response(self) -> Response {
        match self {
            Answer::Passed(response) => response,
            Answer::Buffered(buffered) => buffered.into_response(),
        }
    }
}

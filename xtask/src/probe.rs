//! `cargo xtask probe`: a live contract check against a running server.
//!
//! Runs a short sequence that changes nothing lasting (anonymous sign-in, current user,
//! introspection, sign-out; then password sign-in, current user and sign-out when
//! credentials are given) over raw HTTP, and validates every response body against the
//! spec's schema for that operation and status. The raw JSON is the point: the typed
//! client would silently drop a field the server added, or fail on one it retyped.

use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::with_causes;
use crate::openapi;
use crate::schema::Schemas;
use crate::{Error, Result};

const TIMEOUT: Duration = Duration::from_secs(20);

/// Where to probe, and as whom.
#[derive(Clone)]
pub struct Target {
    pub base_url: String,
    pub client_id: String,
    /// Username and password for the password steps.
    pub credentials: Option<(String, String)>,
}

/// One request of the sequence and what was wrong with its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: &'static str,
    pub method: String,
    pub path: &'static str,
    pub status: u16,
    /// Empty when the answer matches the spec.
    pub problems: Vec<String>,
}

/// The steps that ran, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub steps: Vec<Step>,
}

impl Report {
    /// Whether every answer matched the spec.
    pub fn is_clean(&self) -> bool {
        self.steps.iter().all(|s| s.problems.is_empty())
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            let verdict = if step.problems.is_empty() {
                "ok   "
            } else {
                "DRIFT"
            };
            let _ = writeln!(
                out,
                "{verdict} {:<20} {} {} -> {}",
                step.name, step.method, step.path, step.status
            );
            for problem in &step.problems {
                let _ = writeln!(out, "        {problem}");
            }
        }
        let drifted = self.steps.iter().filter(|s| !s.problems.is_empty()).count();
        let _ = writeln!(out, "{} step(s), {drifted} with drift", self.steps.len());
        out
    }
}

/// Runs the sequence against `target`, checking answers against `spec`. Errs only when
/// the server cannot be talked to; wrong answers are problems in the report.
pub async fn probe(spec: &Value, target: &Target) -> Result<Report> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| Error::new(format!("cannot build an HTTP client: {}", with_causes(&e))))?;
    let mut run = Run {
        spec,
        schemas: Schemas::new(spec),
        target,
        client,
        device_id: random_hex(),
        report: Report::default(),
    };
    let anonymous = run.sign_in(
        "anonymous sign-in",
        "/auth/v1/signin/anonymously",
        json!({}),
    );
    if let Some(token) = anonymous.await? {
        run.signed_in_steps(&token).await?;
    }
    if let Some((username, password)) = &target.credentials {
        let body = json!({ "username": username, "password": password });
        if let Some(token) = run
            .sign_in("password sign-in", "/auth/v1/signin", body)
            .await?
        {
            run.call(
                "current user",
                Method::GET,
                "/auth/v1/user/me",
                Some(&token),
                None,
            )
            .await?;
            run.call(
                "sign-out",
                Method::POST,
                "/auth/v1/user/signout",
                Some(&token),
                Some(json!({})),
            )
            .await?;
        }
    }
    Ok(run.report)
}

struct Run<'a> {
    spec: &'a Value,
    schemas: Schemas,
    target: &'a Target,
    client: reqwest::Client,
    /// One device for the whole run, as a real client has: the anonymous user hangs on it.
    device_id: String,
    report: Report,
}

impl Run<'_> {
    /// A sign-in step; the access token when the answer has one.
    async fn sign_in(
        &mut self,
        name: &'static str,
        path: &'static str,
        body: Value,
    ) -> Result<Option<String>> {
        let answer = self
            .call(name, Method::POST, path, None, Some(body))
            .await?;
        let token = answer
            .as_ref()
            .and_then(|a| a.get("access_token"))
            .and_then(Value::as_str)
            .map(String::from);
        if token.is_none() {
            self.note("no access_token in the answer: the steps that need one were skipped");
        }
        Ok(token)
    }

    async fn signed_in_steps(&mut self, token: &str) -> Result<()> {
        self.call(
            "current user",
            Method::GET,
            "/auth/v1/user/me",
            Some(token),
            None,
        )
        .await?;
        self.call(
            "introspection",
            Method::GET,
            "/auth/v1/token/introspect",
            Some(token),
            None,
        )
        .await?;
        self.call(
            "sign-out",
            Method::POST,
            "/auth/v1/user/signout",
            Some(token),
            Some(json!({})),
        )
        .await?;
        Ok(())
    }

    /// Sends one request, records the step, and returns the JSON body of a 2xx answer.
    async fn call(
        &mut self,
        name: &'static str,
        method: Method,
        path: &'static str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Result<Option<Value>> {
        let url = format!("{}{path}", self.target.base_url.trim_end_matches('/'));
        let mut request = self
            .client
            .request(method.clone(), &url)
            .header("x-device-id", &self.device_id)
            .header("x-request-id", random_hex());
        request = match bearer {
            Some(token) => request.bearer_auth(token),
            None => request.query(&[("client_id", &self.target.client_id)]),
        };
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::new(format!("{method} {url} failed: {}", with_causes(&e))))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| {
            Error::new(format!(
                "{method} {url}: cannot read the answer: {}",
                with_causes(&e)
            ))
        })?;
        let (answer, problems) = self.judge(method.as_str(), path, status, &text);
        self.report.steps.push(Step {
            name,
            method: method.to_string(),
            path,
            status,
            problems,
        });
        Ok(answer.filter(|_| (200..300).contains(&status)))
    }

    /// The answer as JSON, and how it breaks the spec.
    fn judge(
        &self,
        method: &str,
        path: &str,
        status: u16,
        text: &str,
    ) -> (Option<Value>, Vec<String>) {
        let mut problems = Vec::new();
        let body: Option<Value> = match serde_json::from_str(text) {
            Ok(body) => Some(body),
            Err(e) => {
                problems.push(format!("the body is not JSON ({e}): {}", clip(text)));
                None
            }
        };
        if !(200..300).contains(&status) {
            problems.push(format!(
                "expected a 2xx answer, got {status}: {}",
                clip(text)
            ));
        }
        if let Some(body) = &body {
            match self.response_schema(method, path, status) {
                Ok(schema) => match self.schemas.check(schema, body) {
                    Ok(mismatches) => problems.extend(mismatches),
                    Err(e) => problems.push(e.to_string()),
                },
                Err(e) => problems.push(e.to_string()),
            }
        }
        (body, problems)
    }

    /// The JSON schema the spec gives for this operation's answer with this status.
    fn response_schema(&self, method: &str, path: &str, status: u16) -> Result<&Value> {
        let op = openapi::find_operation(self.spec, method, path)
            .ok_or_else(|| Error::new(format!("the spec has no {method} {path}")))?;
        Ok(openapi::response_schema(self.spec, &op, status)?)
    }

    /// Adds a problem to the last step.
    fn note(&mut self, problem: &str) {
        if let Some(step) = self.report.steps.last_mut() {
            step.problems.push(problem.to_string());
        }
    }
}

/// 32 lowercase hex characters, the form CloudBase clients use for device and request ids.
fn random_hex() -> String {
    // `RandomState` is randomly keyed per instance: enough for ids, without a rand crate.
    let a = RandomState::new().hash_one(0u8);
    let b = RandomState::new().hash_one(1u8);
    format!("{a:016x}{b:016x}")
}

fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

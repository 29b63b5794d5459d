//! The emulator over raw HTTP, for the emulator's own tests: every answer read through
//! [`reply`] is checked against the spec.

use cloudbase_auth_emulator::{Control, Emulator, EmulatorConfig, RunningEmulator, SeedUser};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::{DEVICE_ID, PASSWORD, emulator_config};

pub struct Emu {
    pub running: RunningEmulator,
    pub control: Control,
    pub http: Client,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// A string field of the body ("" when absent).
    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_default().to_owned()
    }

    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.status, 200, "unexpected reply: {self:?}");
        self
    }

    /// An upstream error body with this status and `error`.
    pub fn assert_error(&self, status: u16, error: &str) -> &Self {
        assert_eq!(self.status, status, "unexpected reply: {self:?}");
        assert_eq!(self.body["error"], error, "unexpected reply: {self:?}");
        assert!(
            self.body["error_code"].is_i64(),
            "error_code must be an integer: {self:?}"
        );
        assert!(
            self.body["error_description"].is_string(),
            "missing error_description: {self:?}"
        );
        self
    }
}

/// Sends a request, reads the body as JSON (a JSON string of the raw text otherwise) and
/// checks it against the OpenAPI spec.
pub async fn reply(request: RequestBuilder) -> Reply {
    let (client, request) = request.build_split();
    let request = request.expect("a valid request");
    let (method, path) = (
        request.method().as_str().to_lowercase(),
        request.url().path().to_owned(),
    );
    let reply = reply_unchecked(client.execute(request).await.expect("request failed")).await;
    crate::contract::check(&method, &path, reply.status, &reply.body);
    reply
}

/// Reads a response without checking the contract (for injected faults that break it).
pub async fn reply_unchecked(response: Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body failed");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Reply {
        status,
        headers,
        body,
    }
}

impl Emu {
    /// With [`emulator_config`]: fast hashing, frozen clock.
    pub async fn start() -> Self {
        Self::start_with(emulator_config()).await
    }

    /// Exactly `config` (pass it through [`crate::emulator_config_from`] to keep the
    /// test settings).
    pub async fn start_with(config: EmulatorConfig) -> Self {
        let running = Emulator::start(config).await.expect("emulator start");
        let control = running.control();
        Self {
            running,
            control,
            http: Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    /// A request with the SDK's `x-device-id`.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("x-device-id", DEVICE_ID)
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        reply(self.request(Method::POST, path).json(&body)).await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Reply {
        let request = self.request(method, path).bearer_auth(token);
        reply(match body {
            Some(body) => request.json(&body),
            None => request,
        })
        .await
    }

    pub async fn me(&self, token: &str) -> Reply {
        self.call(Method::GET, "/auth/v1/user/me", token, None)
            .await
    }

    /// Seeds `username` with [`PASSWORD`]; returns the sub.
    pub fn seed(&self, username: &str) -> String {
        self.control.seed_user(SeedUser {
            username: Some(username.to_owned()),
            password: Some(PASSWORD.to_owned()),
            ..Default::default()
        })
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/auth/v1/signin",
            json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Seeds `username` and signs it in; returns the token response.
    pub async fn seeded_session(&self, username: &str) -> Reply {
        self.seed(username);
        let reply = self.sign_in(username, PASSWORD).await;
        reply.assert_ok();
        reply
    }

    pub async fn send_code(&self, target_kind: &str, contact: &str) -> Reply {
        let field = if contact.starts_with('+') {
            "phone_number"
        } else {
            "email"
        };
        self.post(
            "/auth/v1/verification",
            json!({ "target": target_kind, field: contact }),
        )
        .await
    }

    /// Sends a code to `contact`, reads it from the control API and exchanges it.
    pub async fn verification_token(&self, target_kind: &str, contact: &str) -> String {
        let sent = self.send_code(target_kind, contact).await;
        self.exchange_code(&sent, contact).await
    }

    /// Exchanges the code of a `verification` reply for a verification token.
    pub async fn exchange_code(&self, sent: &Reply, contact: &str) -> String {
        sent.assert_ok();
        let code = self.control.latest_code_for(contact).expect("code sent");
        let body =
            json!({ "verification_id": sent.str("verification_id"), "verification_code": code });
        let verified = self.post("/auth/v1/verification/verify", body).await;
        verified.assert_ok();
        verified.str("verification_token")
    }

    /// Signs a new user up with a verified phone number, username and password.
    pub async fn sign_up(&self, phone: &str, username: &str) -> Reply {
        let token = self.verification_token("NOT_USER", phone).await;
        let body = json!({ "phone_number": phone, "verification_token": token, "username": username, "password": PASSWORD });
        self.post("/auth/v1/signup", body).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post(
            "/auth/v1/token",
            json!({ "grant_type": "refresh_token", "refresh_token": refresh_token }),
        )
        .await
    }
}

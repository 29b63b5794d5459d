//! What goes to stdout: text for people, or with `--json` exactly one JSON document per
//! command, for `jq`.

use std::time::{SystemTime, UNIX_EPOCH};

use cloudbase_auth::types::ProvidersResponse;
use cloudbase_auth::{AccessToken, Clock, Session};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::CliError;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// An API response body: as the API sent it, or one `field: value` line per field.
    pub fn response<T: Serialize>(&self, body: &T) -> Result<(), CliError> {
        let value = serde_json::to_value(body)
            .map_err(|e| CliError::other(format!("encoding the answer: {e}")))?;
        if self.json {
            println!("{}", pretty(&value));
        } else {
            print!("{}", fields(&value));
        }
        Ok(())
    }

    /// An introspection: `active` first, then the API's fields (upstream answers an
    /// inactive token with `{}`, which alone would say nothing).
    pub fn introspection<T: Serialize>(&self, answer: &T, active: bool) -> Result<(), CliError> {
        let mut value = serde_json::to_value(answer)
            .map_err(|e| CliError::other(format!("encoding the answer: {e}")))?;
        if let Some(object) = value.as_object_mut() {
            object.insert("active".into(), active.into());
        }
        if self.json {
            println!("{}", pretty(&value));
        } else {
            println!("active: {active}");
            print!("{}", fields(&json!(answer)));
        }
        Ok(())
    }

    /// Linked providers: the API's JSON, or one aligned line per provider.
    pub fn providers(&self, providers: &ProvidersResponse) -> Result<(), CliError> {
        if self.json {
            return self.response(providers);
        }
        for provider in &providers.data {
            let state = match provider.bind {
                Some(true) => "bound",
                _ => "not bound",
            };
            println!(
                "{:<12} {:<12} {state}",
                provider.id.as_deref().unwrap_or("?"),
                provider.name.as_deref().unwrap_or("")
            );
        }
        Ok(())
    }

    /// A call whose API answer is empty: `{}`, or a sentence.
    pub fn done(&self, text: &str) {
        if self.json {
            println!("{{}}");
        } else {
            println!("{text}");
        }
    }

    /// A next step for people, on stderr so stdout holds only the answer.
    pub fn hint(&self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }

    /// A secret the user asked for with an explicit flag: alone on its line, for `$(…)`.
    pub fn secret(&self, value: &str) {
        println!("{value}");
    }

    /// The session's state after a sign-in or refresh. No token in it unless `token` is
    /// given (the user asked for it): the API's token response is never echoed whole.
    pub fn session(
        &self,
        headline: &str,
        session: &Session,
        clock: &dyn Clock,
        token: Option<&AccessToken>,
    ) {
        let expires_at = session.expires_at().unwrap_or(UNIX_EPOCH);
        let expires_in = expires_at
            .duration_since(clock.now())
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match (self.json, token) {
            (true, token) => {
                println!(
                    "{}",
                    pretty(&session_json(session, expires_at, expires_in, token))
                );
            }
            (false, Some(token)) => self.secret(token.expose_secret()),
            (false, None) => {
                let user = session.user_id().unwrap_or_else(|| "(unknown)".into());
                let kind = if session.is_anonymous() {
                    " (anonymous)"
                } else {
                    ""
                };
                let validity = match expires_in {
                    0 => "the access token has expired (the next call refreshes it)".into(),
                    secs => format!("the access token is valid for {}", human_duration(secs)),
                };
                println!("{headline}: user {user}{kind}; {validity}");
            }
        }
    }
}

fn session_json(
    session: &Session,
    expires_at: SystemTime,
    expires_in: u64,
    token: Option<&AccessToken>,
) -> Value {
    let mut value = json!({
        "sub": session.user_id(),
        "anonymous": session.is_anonymous(),
        "expires_at": unix_secs(expires_at),
        "expires_in": expires_in,
    });
    if let (Some(token), Some(object)) = (token, value.as_object_mut()) {
        object.insert("access_token".into(), token.expose_secret().into());
    }
    value
}

fn pretty(value: &Value) -> String {
    // A `Value` always serializes; the fallback only satisfies the type.
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// `field: value` lines; nested values as compact JSON.
fn fields(value: &Value) -> String {
    let Some(object) = value.as_object() else {
        return format!("{}\n", pretty(value));
    };
    object
        .iter()
        .map(|(key, value)| match value {
            Value::String(text) => format!("{key}: {text}\n"),
            other => format!("{key}: {other}\n"),
        })
        .collect()
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(61), "1m 1s");
        assert_eq!(human_duration(7199), "1h 59m");
    }

    #[test]
    fn fields_are_one_per_line_with_nested_values_as_json() {
        let value = json!({ "sub": "42", "email_verified": true, "groups": [{ "id": "a" }] });
        assert_eq!(
            fields(&value),
            "email_verified: true\ngroups: [{\"id\":\"a\"}]\nsub: 42\n"
        );
    }
}

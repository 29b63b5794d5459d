//! Property tests over every decoder of network or disk input: token bodies (serde and
//! the session's commit path), error bodies (serde and the hooks' normalisation), stored
//! session files and, with the `verifier` feature, JWT claims. None may panic, whatever
//! the bytes; each also keeps its contract (see the properties).
//!
//! CI runs 256 cases per property; `PROPTEST_CASES` sets another count. The long run
//! and its figures are in FUZZING.md.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudbase_auth::types::{ErrorBody, TokenResponse};
use cloudbase_auth::{__fuzz, Error, decode_session_file};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Secrets in generated bodies carry this marker, so a leak into an error is findable.
const MARK: &str = "S3CRET";

// ---------------------------------------------------------------- strategies

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A secret-looking string that shows if echoed.
fn secret() -> impl Strategy<Value = Value> {
    "[A-Za-z0-9._-]{0,40}".prop_map(|s| Value::String(format!("{MARK}{s}")))
}

/// Integers at and around every boundary the decoders care about.
fn edgy_int() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![
            0i64,
            -1,
            1,
            7200,
            i64::from(i32::MAX),
            i64::from(i32::MAX) + 1,
            i64::from(i32::MIN),
            i64::MAX,
            i64::MIN,
        ])
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
    ]
}

/// A value for a known field: usually the documented type, sometimes anything.
fn field(documented: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    prop_oneof![6 => documented, 1 => any_json()]
}

/// An object with any subset of `fields` (each from its strategy) plus unknown keys.
fn object_of(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> impl Strategy<Value = Value> {
    let parts: Vec<_> = fields
        .into_iter()
        .map(|(name, value)| prop::option::of(field(value)).prop_map(move |v| (name, v)))
        .collect();
    (
        parts,
        prop::collection::btree_map("[a-z_]{1,12}", any_json(), 0..3),
    )
        .prop_map(|(parts, extra)| {
            let mut object: Map<String, Value> = extra.into_iter().collect();
            for (name, value) in parts {
                if let Some(value) = value {
                    object.insert(name.to_string(), value);
                }
            }
            Value::Object(object)
        })
}

fn token_body() -> impl Strategy<Value = Value> {
    object_of(vec![
        ("access_token", secret().boxed()),
        ("refresh_token", secret().boxed()),
        ("expires_in", edgy_int().boxed()),
        (
            "token_type",
            "Bearer|bearer|.{0,8}".prop_map(Value::String).boxed(),
        ),
        (
            "scope",
            "(user|anonymous|user sso| ){0,3}"
                .prop_map(Value::String)
                .boxed(),
        ),
        ("sub", "[0-9]{0,22}".prop_map(Value::String).boxed()),
        (
            "groups",
            prop::collection::vec(".{0,6}".prop_map(Value::String), 0..3)
                .prop_map(Value::Array)
                .boxed(),
        ),
    ])
}

fn error_body() -> impl Strategy<Value = Value> {
    object_of(vec![
        ("error", "[a-z_]{0,24}".prop_map(Value::String).boxed()),
        ("error_code", edgy_int().boxed()),
        (
            "error_description",
            ".{0,40}".prop_map(Value::String).boxed(),
        ),
        ("code", "[A-Z_]{0,16}".prop_map(Value::String).boxed()),
        ("message", ".{0,40}".prop_map(Value::String).boxed()),
        (
            "requestId",
            "[0-9a-f-]{0,36}".prop_map(Value::String).boxed(),
        ),
    ])
}

fn session_file() -> impl Strategy<Value = Value> {
    object_of(vec![
        (
            "version",
            prop_oneof![Just(Value::from(1)), edgy_int()].boxed(),
        ),
        ("access_token", secret().boxed()),
        ("refresh_token", secret().boxed()),
        ("expires_at_unix", edgy_int().boxed()),
        ("scope", ".{0,12}".prop_map(Value::String).boxed()),
        ("sub", ".{0,22}".prop_map(Value::String).boxed()),
        ("token_type", ".{0,8}".prop_map(Value::String).boxed()),
    ])
}

/// Bytes that are mostly almost-valid: a serialised value, cut or with one byte
/// changed; or raw bytes.
fn mangled(values: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Vec<u8>> {
    let serialised = values
        .prop_map(|v| serde_json::to_vec(&v).unwrap_or_default())
        .boxed();
    prop_oneof![
        3 => serialised.clone(),
        2 => (serialised.clone(), any::<prop::sample::Index>())
            .prop_map(|(bytes, at)| bytes[..at.index(bytes.len() + 1)].to_vec()),
        2 => (serialised, any::<prop::sample::Index>(), any::<u8>()).prop_map(
            |(mut bytes, at, byte)| {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
                bytes
            }
        ),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn received() -> impl Strategy<Value = SystemTime> {
    prop_oneof![
        (0u64..1 << 40).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s)),
        // Near the end of what SystemTime holds on this platform.
        Just(UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 - 1)),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..100_000).prop_map(Duration::from_secs),
        any::<u64>().prop_map(Duration::from_secs),
        Just(Duration::MAX),
    ]
}

fn no_secret_in(error: &impl std::fmt::Display, debug: &impl std::fmt::Debug) -> bool {
    !format!("{error}").contains(MARK) && !format!("{debug:?}").contains(MARK)
}

// ---------------------------------------------------------------- token bodies

proptest! {
    #[test]
    fn token_response_serde_never_panics_and_round_trips(bytes in mangled(token_body())) {
        if let Ok(response) = serde_json::from_slice::<TokenResponse>(&bytes) {
            let again = serde_json::to_vec(&response).unwrap();
            prop_assert_eq!(serde_json::from_slice::<TokenResponse>(&again).unwrap(), response);
        }
    }

    #[test]
    fn the_commit_path_accepts_only_usable_tokens(
        bytes in mangled(token_body()),
        received in received(),
        margin in duration(),
        jitter in duration(),
    ) {
        match __fuzz::decode_token_response(&bytes, received, margin, jitter) {
            Ok((expires_at, refresh_at, _)) => {
                prop_assert!(expires_at > received, "a usable token expires after receipt");
                prop_assert!(refresh_at <= expires_at);
                // Never earlier than half the lifetime (no refresh loop on short tokens).
                let lifetime = expires_at.duration_since(received).unwrap();
                prop_assert!(refresh_at >= received + lifetime / 2);
                let parsed: TokenResponse = serde_json::from_slice(&bytes).unwrap();
                prop_assert!(parsed.access_token.is_some_and(|t| !t.is_empty()));
                prop_assert!(parsed.expires_in.is_some_and(|s| s > 0));
            }
            Err(error) => {
                prop_assert!(matches!(error, Error::Decode { .. }), "{:?}", error);
                prop_assert!(no_secret_in(&error, &error), "{}", error);
            }
        }
    }
}

// ---------------------------------------------------------------- error bodies

proptest! {
    #[test]
    fn error_body_serde_never_panics(bytes in mangled(error_body())) {
        if let Ok(body) = serde_json::from_slice::<ErrorBody>(&bytes) {
            let again = serde_json::to_vec(&body).unwrap();
            prop_assert_eq!(serde_json::from_slice::<ErrorBody>(&again).unwrap(), body);
        }
    }

    /// Whatever an error answer holds, the generated code gets an `ErrorBody`, so the
    /// status is never lost to a decode error.
    #[test]
    fn normalised_error_bodies_always_parse_and_keep_what_they_can(
        status in prop_oneof![400u16..600, any::<u16>()],
        bytes in mangled(error_body()),
    ) {
        let out = __fuzz::normalize_error_body(status, &bytes);
        let parsed = serde_json::from_slice::<ErrorBody>(&out);
        prop_assert!(parsed.is_ok(), "{}", String::from_utf8_lossy(&out));
        let parsed = parsed.unwrap();
        match serde_json::from_slice::<Value>(&bytes).ok() {
            _ if serde_json::from_slice::<ErrorBody>(&bytes).is_ok() => {
                prop_assert_eq!(out, bytes, "a valid body passes unchanged");
            }
            Some(Value::Object(o)) if o.get("error").is_some_and(Value::is_string) => {
                prop_assert_eq!(Some(parsed.error.as_str()), o["error"].as_str());
            }
            Some(Value::Object(o)) if o.get("code").is_some_and(|c| c.is_string() || c.is_number()) => {
                let code = match &o["code"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                prop_assert_eq!(parsed.error, code);
            }
            _ => prop_assert!(parsed.error.starts_with("http_"), "{}", parsed.error),
        }
    }
}

// ---------------------------------------------------------------- session files

proptest! {
    #[test]
    fn session_files_decode_or_say_why_without_echoing(bytes in mangled(session_file())) {
        match decode_session_file(&bytes) {
            Ok(session) => {
                let file: Value = serde_json::from_slice(&bytes).unwrap();
                prop_assert_eq!(file["version"].as_u64(), Some(1));
                prop_assert_eq!(
                    Some(session.access_token.expose_secret()),
                    file["access_token"].as_str()
                );
                prop_assert!(!format!("{session:?}").contains(MARK), "Debug redacts");
            }
            Err(reason) => prop_assert!(!reason.contains(MARK), "{}", reason),
        }
    }

    #[test]
    fn valid_session_files_round_trip(
        access in "[ -~]{1,64}",
        refresh in prop::option::of("[ -~]{1,64}"),
        expires in any::<u64>(),
        sub in prop::option::of(".{0,22}"),
    ) {
        let mut file = json!({"version": 1, "access_token": access, "expires_at_unix": expires});
        if let Some(refresh) = &refresh {
            file["refresh_token"] = json!(refresh);
        }
        if let Some(sub) = &sub {
            file["sub"] = json!(sub);
        }
        let session = decode_session_file(file.to_string().as_bytes());
        match UNIX_EPOCH.checked_add(Duration::from_secs(expires)) {
            Some(at) => {
                let session = session.unwrap();
                prop_assert_eq!(session.expires_at, at);
                prop_assert_eq!(session.access_token.expose_secret(), access.as_str());
                prop_assert_eq!(
                    session.refresh_token.as_ref().map(|t| t.expose_secret().to_string()),
                    refresh
                );
                prop_assert_eq!(session.sub, sub);
            }
            None => prop_assert!(session.is_err()),
        }
    }
}

// ---------------------------------------------------------------- JWT claims (verifier)

#[cfg(feature = "verifier")]
mod claims_properties {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use cloudbase_auth::__fuzz::{ClaimsProbe, probe_claims};
    use cloudbase_auth::verifier::Rejection;

    fn claims_body() -> impl Strategy<Value = Value> {
        object_of(vec![
            ("iss", "iss|.{0,8}".prop_map(Value::String).boxed()),
            ("sub", ".{0,12}".prop_map(Value::String).boxed()),
            (
                "aud",
                prop_oneof![
                    "demo-env|.{0,8}".prop_map(Value::String),
                    prop::collection::vec("demo-env|.{0,8}".prop_map(Value::String), 0..3)
                        .prop_map(Value::Array),
                ]
                .boxed(),
            ),
            ("exp", edgy_int().boxed()),
            ("iat", edgy_int().boxed()),
            ("nbf", edgy_int().boxed()),
            ("scope", ".{0,12}".prop_map(Value::String).boxed()),
            (
                "groups",
                prop::collection::vec(
                    prop_oneof![
                        ".{0,4}".prop_map(Value::String),
                        ".{0,4}".prop_map(|id| json!({"id": id})),
                    ],
                    0..3,
                )
                .prop_map(Value::Array)
                .boxed(),
            ),
            ("meta", any_json().boxed()),
        ])
    }

    /// `header.payload.signature`, the payload from `payload` bytes; or any string.
    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => mangled(claims_body()).prop_map(|p| format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(p))),
            1 => ".{0,64}",
            1 => "[A-Za-z0-9_.-]{0,64}",
        ]
    }

    proptest! {
        #[test]
        fn claims_decode_and_time_checks_never_panic(
            token in token(),
            now in any::<u64>(),
            leeway in prop_oneof![0u64..120, any::<u64>()],
        ) {
            let Some(ClaimsProbe { time: early, claims }) = probe_claims(&token, "demo-env", now, leeway) else {
                return Ok(());
            };
            prop_assert!(matches!(early, Ok(()) | Err(Rejection::Expired | Rejection::NotYetValid)));
            if let Ok((claims, time, exp)) = claims {
                prop_assert_eq!(time, early);
                prop_assert_eq!(claims.audience(), "demo-env");
                let _ = (claims.sub(), claims.scope(), claims.is_anonymous(), claims.groups());
                let _ = (claims.project_id(), claims.provider_type(), claims.user_type());
                let _ = (claims.meta(), format!("{claims:?}"));
                // `exp()` turns seconds into a SystemTime, clamped past year 9999 (see
                // `claims_time_accessors_do_not_panic_on_far_future_claims` in claims.rs).
                let exact = UNIX_EPOCH + Duration::from_secs(exp.min(253_402_300_799));
                prop_assert_eq!(claims.exp(), exact);
            }
        }
    }
}

//! Property test of the emulator's request handling, in process through
//! `Emulator::router` and `tower::ServiceExt::oneshot`: any method, any path under
//! `/auth/v1` (the real routes and made-up ones, with any query), any values of the
//! headers the emulator reads, any body (mangled request shapes or raw bytes). With no
//! fault injected, the answer is never a 5xx and never a panic; an error is always the
//! JSON error body `{error, error_code, error_description}`, and a success with a body
//! is JSON.
//!
//! CI runs 256 cases; `PROPTEST_CASES` sets another count (FUZZING.md has the long run).
//! One router serves every case, so state builds up between them as it would in a real
//! session; it is reset every 2,000 cases to keep memory flat on long runs.

use std::sync::Mutex;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cloudbase_auth_codegen::Spec;
use cloudbase_auth_emulator::{Emulator, EmulatorConfig, SeedUser};
use cloudbase_auth_testkit::{PASSWORD, emulator_config_from};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const MAX_BODY: usize = 2048;
const RESET_EVERY: u64 = 2000;

/// The emulator's routes (method, path under `/auth/v1/`), `{x}` standing for a
/// generated segment: the spec's operation table (the generator's), plus the JWKS.
fn routes() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../spec/cloudbase-auth-v1.yaml"
    );
    let spec = Spec::parse(&std::fs::read_to_string(path).unwrap()).expect("the spec");
    let operations = cloudbase_auth_codegen::operations(&spec).expect("the operation table");
    let templated = operations.into_iter().map(|op| {
        let path = op.path.trim_start_matches("/auth/v1/");
        let mut segments: Vec<String> = path.split('/').map(String::from).collect();
        for segment in &mut segments {
            if segment.starts_with('{') {
                *segment = "{x}".into();
            }
        }
        (op.method, segments.join("/"))
    });
    std::iter::once(("GET".to_string(), "certs".to_string()))
        .chain(templated)
        .collect()
}

/// How the `Authorization` header is made. `Valid` is replaced by a live access token.
#[derive(Debug, Clone)]
enum Auth {
    None,
    Valid,
    Bearer(String),
    Basic(Vec<u8>),
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Case {
    method: Method,
    path: String,
    query: String,
    content_type: Option<Vec<u8>>,
    auth: Auth,
    device_id: Option<Vec<u8>>,
    captcha: Option<Vec<u8>>,
    body: Vec<u8>,
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,16}".prop_map(Value::String),
        Just(json!(PASSWORD)),
        Just(json!("alice_01")),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A request body: a known field set with values of any type, then maybe mangled.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let fields = prop::sample::subsequence(
        vec![
            "username",
            "password",
            "verification_token",
            "grant_type",
            "refresh_token",
            "target",
            "phone_number",
            "email",
            "verification_id",
            "verification_code",
            "sudo_token",
            "new_password",
            "provider_id",
            "provider_token",
            "provider_code",
            "token",
            "key",
            "client_id",
            "client_secret",
            "name",
            "ticket",
        ],
        0..6,
    );
    let known = prop::sample::select(vec![
        json!("refresh_token"),
        json!("password"),
        json!("ANY"),
        json!("NOT_USER"),
        json!("+86 13800000000"),
        json!("a@b.c"),
        json!("github"),
    ]);
    let object = (
        fields,
        prop::collection::vec(prop_oneof![known, any_json()], 6),
    )
        .prop_map(|(names, values)| {
            let object: serde_json::Map<String, Value> = names
                .into_iter()
                .zip(values)
                .map(|(n, v)| (n.to_string(), v))
                .collect();
            serde_json::to_vec(&Value::Object(object)).unwrap()
        })
        .boxed();
    prop_oneof![
        4 => object.clone(),
        1 => (object, any::<prop::sample::Index>())
            .prop_map(|(bytes, at)| bytes[..at.index(bytes.len() + 1)].to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => (MAX_BODY - 8..MAX_BODY + 64).prop_map(|n| vec![b' '; n]),
    ]
}

/// Bytes a header value may hold (visible ASCII, space, tab, obs-text) or anything.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[ -~]{0,80}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..80),
        (60usize..90).prop_map(|n| vec![b'd'; n]),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let any_method = prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::HEAD,
        Method::from_bytes(b"PURGE").unwrap(),
    ]);
    let segment = "[A-Za-z0-9_.~-]{0,12}";
    // Mostly a real route with its own method, so requests reach the handlers.
    let route = prop_oneof![
        4 => (prop::sample::select(routes()), segment).prop_map(|((method, route), x)| {
            (Method::from_bytes(method.as_bytes()).unwrap(), route.replace("{x}", &x))
        }),
        1 => (any_method.clone(), prop::sample::select(routes()), segment)
            .prop_map(|(method, (_, route), x)| (method, route.replace("{x}", &x))),
        1 => (any_method, prop::collection::vec("[A-Za-z0-9_.~%-]{0,10}", 0..4))
            .prop_map(|(method, segments)| (method, segments.join("/"))),
    ];
    let query = prop::collection::vec(
        (
            prop_oneof![
                prop::sample::select(vec![
                    "client_id",
                    "client_secret",
                    "access_token",
                    "token",
                    "captcha_token",
                    "sudo_token",
                    "provider_id",
                    "username",
                    "redirect_uri",
                ])
                .prop_map(str::to_owned),
                "[a-z_]{1,8}",
            ],
            "[A-Za-z0-9%+._~-]{0,16}",
        ),
        0..3,
    )
    .prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    let content_type = prop::option::of(prop_oneof![
        prop::sample::select(vec![
            "application/json",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "application/problem+json",
            "multipart/form-data",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        header_bytes(),
    ]);
    let auth = prop_oneof![
        Just(Auth::None),
        Just(Auth::Valid),
        ".{0,40}".prop_map(Auth::Bearer),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Auth::Basic),
        header_bytes().prop_map(Auth::Raw),
    ];
    (
        route,
        query,
        content_type,
        auth,
        prop::option::of(prop_oneof![
            Just(b"0123456789abcdef0123456789abcdef".to_vec()),
            header_bytes()
        ]),
        prop::option::of(header_bytes()),
        body(),
    )
        .prop_map(
            |((method, path), query, content_type, auth, device_id, captcha, body)| Case {
                method,
                path,
                query,
                content_type,
                auth,
                device_id,
                captcha,
                body,
            },
        )
}

fn build(case: &Case, valid_token: &str) -> Option<Request<Body>> {
    let mut uri = format!("/auth/v1/{}", case.path);
    if !case.query.is_empty() {
        uri = format!("{uri}?{}", case.query);
    }
    let uri = Uri::try_from(uri).ok()?;
    let mut request = Request::builder()
        .method(case.method.clone())
        .uri(uri)
        .body(Body::from(case.body.clone()))
        .ok()?;
    let headers = request.headers_mut();
    let mut set = |name: &'static str, bytes: &[u8]| {
        // Bytes no header can carry are dropped, as a client library would refuse them.
        if let Ok(value) = HeaderValue::from_bytes(bytes) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    if let Some(content_type) = &case.content_type {
        set("content-type", content_type);
    }
    if let Some(device_id) = &case.device_id {
        set("x-device-id", device_id);
    }
    if let Some(captcha) = &case.captcha {
        set("x-captcha-token", captcha);
    }
    match &case.auth {
        Auth::None => {}
        Auth::Valid => set("authorization", format!("Bearer {valid_token}").as_bytes()),
        Auth::Bearer(token) => set("authorization", format!("Bearer {token}").as_bytes()),
        Auth::Basic(bytes) => set(
            "authorization",
            format!("Basic {}", STANDARD.encode(bytes)).as_bytes(),
        ),
        Auth::Raw(bytes) => set("authorization", bytes),
    }
    Some(request)
}

#[test]
fn any_request_gets_json_and_never_a_5xx() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = emulator_config_from(EmulatorConfig {
        max_body_bytes: MAX_BODY,
        ..EmulatorConfig::default()
    });
    let (router, control) = Emulator::router(config);
    let sign_in = || -> String {
        control.seed_user(SeedUser {
            username: Some("alice_01".into()),
            password: Some(PASSWORD.into()),
            ..SeedUser::default()
        });
        let request = Request::post("/auth/v1/signin")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"username": "alice_01", "password": PASSWORD}).to_string(),
            ))
            .unwrap();
        runtime.block_on(async {
            let response = router.clone().oneshot(request).await.unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            body["access_token"].as_str().unwrap().to_owned()
        })
    };
    let token = Mutex::new(sign_in());
    let cases = Mutex::new(0u64);
    let totals = Mutex::new(std::collections::BTreeMap::<String, u64>::new());

    let mut runner = TestRunner::new(Config::default());
    let result = runner.run(&case(), |case| {
        {
            let mut n = cases.lock().unwrap();
            *n += 1;
            if n.is_multiple_of(RESET_EVERY) {
                let mut totals = totals.lock().unwrap();
                for (operation, count) in control.request_counts() {
                    *totals.entry(operation).or_insert(0) += count;
                }
                control.reset();
                *token.lock().unwrap() = sign_in();
            }
        }
        let valid = token.lock().unwrap().clone();
        let Some(request) = build(&case, &valid) else {
            return Ok(());
        };
        let head = case.method == Method::HEAD;
        let (status, bytes) = runtime.block_on(async {
            let response = router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, bytes)
        });
        let text = String::from_utf8_lossy(&bytes);
        if status.is_server_error() {
            return Err(TestCaseError::fail(format!("{status} {text}")));
        }
        if head || bytes.is_empty() && status.is_success() {
            return Ok(());
        }
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|_| TestCaseError::fail(format!("{status}: not JSON: {text}")))?;
        if !status.is_success() {
            let well_formed = body["error"].is_string()
                && body["error_code"].is_i64()
                && body["error_description"].is_string();
            if !well_formed {
                return Err(TestCaseError::fail(format!(
                    "{status}: not an error body: {text}"
                )));
            }
        }
        Ok(())
    });
    let ran = *cases.lock().unwrap();
    let mut totals = totals.into_inner().unwrap();
    for (operation, count) in control.request_counts() {
        *totals.entry(operation).or_insert(0) += count;
    }
    println!(
        "{ran} requests, {} reached {} operations: {totals:?}",
        totals.values().sum::<u64>(),
        totals.len()
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

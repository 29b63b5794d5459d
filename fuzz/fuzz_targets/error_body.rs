//! The hooks' error-body normalisation (`__fuzz::normalize_error_body`) for any status and
//! body. The same contract as the property
//! `normalised_error_bodies_always_parse_and_keep_what_they_can` in
//! `tests/proptest_decoders.rs`: the output always parses as `ErrorBody`, a valid body
//! passes unchanged, `error` is kept, else the gateway's `code`, else `http_<status>`.
#![no_main]

use cloudbase_auth::__fuzz;
use cloudbase_auth::types::ErrorBody;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|input: (u16, &[u8])| {
    let (status, body) = input;
    let out = __fuzz::normalize_error_body(status, body);
    let parsed = match serde_json::from_slice::<ErrorBody>(&out) {
        Ok(parsed) => parsed,
        Err(e) => panic!("not an ErrorBody ({e}): {}", String::from_utf8_lossy(&out)),
    };
    if serde_json::from_slice::<ErrorBody>(body).is_ok() {
        assert_eq!(out, body, "a valid body passes unchanged");
        return;
    }
    match serde_json::from_slice::<Value>(body).ok() {
        Some(Value::Object(o)) if o.get("error").is_some_and(Value::is_string) => {
            assert_eq!(Some(parsed.error.as_str()), o["error"].as_str());
        }
        Some(Value::Object(o))
            if o.get("code")
                .is_some_and(|c| c.is_string() || c.is_number()) =>
        {
            let code = match &o["code"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(parsed.error, code);
        }
        _ => assert!(parsed.error.starts_with("http_"), "{}", parsed.error),
    }
});

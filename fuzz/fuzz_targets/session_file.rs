//! `decode_session_file`, the reader of `FileTokenStore`'s file. The same contract as the
//! property `session_files_decode_or_say_why_without_echoing` in
//! `tests/proptest_decoders.rs`: accepted ⇒ version 1 and the same access token, `Debug`
//! redacts; refused ⇒ the reason holds no token value.
//!
//! serde's derived `Deserialize` also takes a struct as a JSON array of its fields in
//! declaration order (`[version, access_token, refresh_token, expires_at_unix, …]`), and
//! the decoder accepts that form (found by this target, see FUZZING.md), so both forms
//! are checked.
#![no_main]

use cloudbase_auth::decode_session_file;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Secrets in the seeds carry this marker, so a leak into a reason is findable.
const MARK: &str = "S3CRET";

fuzz_target!(|data: &[u8]| {
    match decode_session_file(data) {
        Ok(session) => {
            let file: Value = serde_json::from_slice(data).unwrap();
            let (version, access_token) = match &file {
                Value::Array(fields) => (&fields[0], &fields[1]),
                _ => (&file["version"], &file["access_token"]),
            };
            assert_eq!(version.as_u64(), Some(1));
            assert_eq!(
                Some(session.access_token.expose_secret()),
                access_token.as_str()
            );
            assert!(!format!("{session:?}").contains(MARK), "Debug redacts");
        }
        Err(reason) => assert!(!reason.contains(MARK), "{reason}"),
    }
});

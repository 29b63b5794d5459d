//! Answers against `spec/cloudbase-auth-v1.yaml`: the schema the operation declares for
//! the status, validated by the generator crate's one OpenAPI 3.0 validator (`$ref`s and
//! `nullable` handled).

use std::sync::OnceLock;

use cloudbase_auth_codegen::openapi;
use cloudbase_auth_codegen::schema::Schemas;
use serde_json::Value;

/// The workspace's spec, parsed once.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../spec/cloudbase-auth-v1.yaml"
        );
        let text = std::fs::read_to_string(path).expect("the OpenAPI spec");
        openapi::parse(&text, path).expect("the spec parses")
    })
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| Schemas::new(spec()))
}

/// Where the body breaks the spec; empty for paths and methods outside the spec (the
/// emulator's control API, unknown paths).
pub fn violations(method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let Some(operation) = openapi::find_operation(spec(), method, path) else {
        return Vec::new();
    };
    let checked = openapi::response_schema(spec(), &operation, status)
        .and_then(|schema| schemas().check(schema, body));
    checked.unwrap_or_else(|e| vec![e.to_string()])
}

/// Panics when the body does not fit the spec.
pub fn check(method: &str, path: &str, status: u16, body: &Value) {
    let errors = violations(method, path, status, body);
    assert!(
        errors.is_empty(),
        "{method} {path} -> {status} violates the spec: {errors:?}\nbody: {body}"
    );
}

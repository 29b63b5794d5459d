//! Response bodies against `spec/cloudbase-auth-v1.yaml`: the schema of the operation's
//! `200`, `4XX` or `5XX` response, with `$ref`s inlined.

use std::sync::OnceLock;

use serde_json::{Map, Value};

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../spec/cloudbase-auth-v1.yaml"
        );
        let text = std::fs::read_to_string(path).expect("the OpenAPI spec");
        serde_norway::from_str(&text).expect("the spec is YAML")
    })
}

/// `/a/{id}/b` matches `/a/42/b`.
fn matches_template(template: &str, path: &str) -> bool {
    let (template, path): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| t.starts_with('{') || t == p)
}

/// Replaces `{"$ref": "#/components/schemas/X"}` with schema X, recursively.
fn inline(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => match object.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.trim_start_matches("#/components/schemas/");
                inline(&spec()["components"]["schemas"][name])
            }
            None => Value::Object(
                object
                    .iter()
                    .map(|(k, v)| (k.clone(), inline(v)))
                    .collect::<Map<_, _>>(),
            ),
        },
        Value::Array(items) => Value::Array(items.iter().map(inline).collect()),
        other => other.clone(),
    }
}

fn response_schema(method: &str, path: &str, status: u16) -> Option<Value> {
    let paths = spec()["paths"].as_object()?;
    let (_, operations) = paths
        .iter()
        .find(|(template, _)| matches_template(template, path))?;
    let key = match status {
        200..=299 => "200",
        400..=499 => "4XX",
        _ => "5XX",
    };
    let schema = operations
        .get(method)?
        .get("responses")?
        .get(key)?
        .pointer("/content/application~1json/schema")?;
    Some(inline(schema))
}

/// Where the body breaks the spec; empty for paths and methods outside the spec.
fn violations(method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let Some(schema) = response_schema(method, path, status) else {
        return Vec::new();
    };
    let validator = jsonschema::validator_for(&schema).expect("the spec schema compiles");
    validator.iter_errors(body).map(|e| e.to_string()).collect()
}

/// Panics when the body does not fit the spec.
pub fn check(method: &str, path: &str, status: u16, body: &Value) {
    let errors = violations(method, path, status, body);
    assert!(
        errors.is_empty(),
        "{method} {path} -> {status} violates the spec: {errors:?}\nbody: {body}"
    );
}

#[test]
fn the_spec_covers_the_planned_operations() {
    let paths = spec()["paths"].as_object().expect("paths");
    let operations = paths
        .values()
        .filter_map(Value::as_object)
        .flat_map(|ops| ops.values())
        .filter(|op| op.get("operationId").is_some());
    assert_eq!(operations.count(), 47);
    assert!(response_schema("post", "/auth/v1/token", 200).is_some());
    assert!(response_schema("delete", "/auth/v1/user/provider/github", 404).is_some());
    // The checker does catch a wrong type and a missing required field.
    let wrong = serde_json::json!({"total": "3", "data": []});
    assert!(!violations("get", "/auth/v1/user/provider", 200, &wrong).is_empty());
    assert!(
        !violations(
            "post",
            "/auth/v1/signin",
            400,
            &serde_json::json!({"code": "X"})
        )
        .is_empty()
    );
}

//! The lint on the real spec and on broken copies of it.

use std::process::Command;

use serde_json::{Value, json};
use xtask::lint::lint;

fn spec_text() -> String {
    std::fs::read_to_string(xtask::workspace_root().join(xtask::SPEC)).unwrap()
}

fn spec() -> Value {
    serde_norway::from_str(&spec_text()).unwrap()
}

fn pointers(doc: &Value) -> Vec<String> {
    let text = serde_norway::to_string(doc).unwrap();
    let mut found: Vec<String> = lint(&text)
        .unwrap()
        .into_iter()
        .map(|f| f.pointer)
        .collect();
    found.sort();
    found
}

const SIGN_IN: &str = "/paths/~1auth~1v1~1signin/post";

#[test]
fn the_real_spec_lints_clean() {
    assert_eq!(lint(&spec_text()).unwrap(), vec![]);
}

#[test]
fn a_default_response_a_bad_example_and_a_missing_security_are_each_found() {
    let mut doc = spec();
    let sign_in = doc.pointer_mut(SIGN_IN).unwrap();
    sign_in["responses"]["default"] = sign_in["responses"]["4XX"].clone();
    sign_in["responses"]["200"]["content"]["application/json"]["example"]["expires_in"] =
        json!("soon");
    let custom = doc
        .pointer_mut("/paths/~1auth~1v1~1signin~1custom/post")
        .unwrap();
    custom.as_object_mut().unwrap().remove("security");
    assert_eq!(
        pointers(&doc),
        vec![
            format!("{SIGN_IN}/responses/200/content/application~1json/example"),
            format!("{SIGN_IN}/responses/default"),
            "/paths/~1auth~1v1~1signin~1custom/post".to_string(),
        ]
    );
}

#[test]
fn parameter_and_schema_examples_and_undeclared_schemes_are_checked() {
    let mut doc = spec();
    let client_id = doc.pointer_mut("/components/parameters/ClientId").unwrap();
    client_id["example"] = json!(42);
    client_id["schema"]["example"] = json!(["not", "a", "string"]);
    let token = doc
        .pointer_mut("/components/schemas/TokenResponse/properties")
        .unwrap();
    token["expires_in"]["example"] = json!(7200);
    token["scope"]["example"] = json!(7200);
    doc.pointer_mut(SIGN_IN).unwrap()["security"] = json!([{ "nope": [] }, {}]);
    assert_eq!(
        pointers(&doc),
        vec![
            "/components/parameters/ClientId/example".to_string(),
            "/components/parameters/ClientId/schema/example".to_string(),
            "/components/schemas/TokenResponse/properties/scope/example".to_string(),
            format!("{SIGN_IN}/security/0"),
        ]
    );
}

#[test]
fn nullable_fields_accept_null_in_examples() {
    let mut doc = spec();
    let token = doc
        .pointer_mut("/components/schemas/TokenResponse/properties")
        .unwrap();
    token["refresh_token"]["nullable"] = json!(true);
    let example = format!("{SIGN_IN}/responses/200/content/application~1json/example");
    doc.pointer_mut(&example).unwrap()["refresh_token"] = Value::Null;
    assert_eq!(pointers(&doc), Vec::<String>::new());
    // Without `nullable`, the same example is wrong.
    let token = doc
        .pointer_mut("/components/schemas/TokenResponse/properties")
        .unwrap();
    token["refresh_token"]
        .as_object_mut()
        .unwrap()
        .remove("nullable");
    assert_eq!(pointers(&doc), vec![example]);
}

#[test]
fn the_cli_names_the_pointer_and_exits_1() {
    let mut doc = spec();
    doc["openapi"] = json!("3.1.0");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, serde_norway::to_string(&doc).unwrap()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["lint", "--spec", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("/openapi: version `3.1.0` is not 3.0.x"),
        "{stdout}"
    );
}

#[test]
fn a_file_that_is_not_openapi_is_an_error_not_a_panic() {
    let error = lint("openapi: [").unwrap_err().to_string();
    assert!(
        error.contains("not a valid OpenAPI 3.0 document"),
        "{error}"
    );
}

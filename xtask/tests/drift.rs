//! Drift against upstream-like documents.
//!
//! `fixtures/upstream-auth.v1.yaml` is our spec as upstream would publish it: only the
//! 25 operations of the HTTP API docs, `v1…` schema names, its own operation ids,
//! scheme names, path-parameter names and `allOf` wrappers, no descriptions or
//! examples. Each kind of change is then made to a copy in memory and must produce
//! exactly its one finding. When the spec changes, regenerate the fixtures with
//! `UPDATE_FIXTURES=1 cargo test -p xtask --test drift`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use xtask::allow::AllowList;
use xtask::drift::{Finding, Kind, Report, compare};

/// Upstream's documented operations (reference §10).
const DOCUMENTED: [(&str, &str); 25] = [
    ("post", "/auth/v1/signin"),
    ("post", "/auth/v1/signin/anonymously"),
    ("post", "/auth/v1/signup"),
    ("post", "/auth/v1/user/signout"),
    ("get", "/auth/v1/provider/uri"),
    ("post", "/auth/v1/provider/token"),
    ("post", "/auth/v1/signin/with/provider"),
    ("post", "/auth/v1/signin/custom"),
    ("post", "/auth/v1/token"),
    ("post", "/auth/v1/token/clientCredential"),
    ("get", "/auth/v1/token/introspect"),
    ("post", "/auth/v1/revoke"),
    ("post", "/auth/v1/reset"),
    ("post", "/auth/v1/captcha/data"),
    ("post", "/auth/v1/captcha/data/verify"),
    ("post", "/auth/v1/verification"),
    ("post", "/auth/v1/verification/verify"),
    ("get", "/auth/v1/user/me"),
    ("delete", "/auth/v1/user/me"),
    ("post", "/auth/v1/user/sudo"),
    ("patch", "/auth/v1/user/password"),
    ("post", "/auth/v1/user/basic/edit"),
    ("get", "/auth/v1/user/provider"),
    ("post", "/auth/v1/user/provider/bind"),
    ("delete", "/auth/v1/user/provider/{provider_id}"),
];

const BASE: &str = "upstream-auth.v1.yaml";
const SEVERAL: &str = "upstream-several-changes.yaml";

fn root() -> PathBuf {
    xtask::workspace_root()
}

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    xtask::openapi::parse(&text, &path.display().to_string()).unwrap()
}

fn spec() -> Value {
    read_yaml(&root().join(xtask::SPEC))
}

fn allow() -> AllowList {
    let text = std::fs::read_to_string(root().join(xtask::ALLOW)).unwrap();
    AllowList::parse(&text, xtask::ALLOW).unwrap()
}

fn base() -> Value {
    read_yaml(&fixture_path(BASE))
}

fn drift(upstream: &Value) -> Report {
    compare(&spec(), upstream, &allow()).unwrap()
}

/// The one finding a variant must produce.
fn finding(
    kind: Kind,
    method: &str,
    path: &str,
    field: Option<&str>,
    ours: Option<&str>,
    upstream: Option<&str>,
) -> Finding {
    Finding {
        kind,
        method: method.into(),
        path: path.into(),
        field: field.map(String::from),
        ours: ours.map(String::from),
        upstream: upstream.map(String::from),
    }
}

// ---- building the fixtures -------------------------------------------------------

/// Our spec as upstream would publish it (see the module comment).
fn upstream_like(spec: &Value) -> Value {
    let mut doc = spec.clone();
    doc["openapi"] = json!("3.0.0");
    doc["info"] = json!({ "title": "登录认证接口", "version": "1.0.0" });
    doc["servers"] = json!([{ "url": "https://{envId}.api.tcloudbasegateway.com" }]);
    keep_documented(&mut doc);
    rename_schemas(&mut doc);
    rename_schemes(&mut doc);
    let paths = doc["paths"].as_object_mut().unwrap();
    let (old, new) = (
        "/auth/v1/user/provider/{provider_id}",
        "/auth/v1/user/provider/{id}",
    );
    let item = paths.remove(old).unwrap();
    paths.insert(new.into(), item);
    for (path, item) in paths.iter_mut() {
        for (method, op) in item.as_object_mut().unwrap() {
            op["operationId"] = json!(format!(
                "AuthService_{method}{}",
                path.replace(['/', '{', '}'], "_")
            ));
            op["summary"] = json!("上游的摘要");
            wrap_request_in_all_of(op);
        }
    }
    strip(&mut doc, &["description", "example", "examples"]);
    doc
}

fn keep_documented(doc: &mut Value) {
    let paths = doc["paths"].as_object_mut().unwrap();
    for (path, item) in paths.iter_mut() {
        let item = item.as_object_mut().unwrap();
        item.retain(|method, _| DOCUMENTED.contains(&(method.as_str(), path.as_str())));
    }
    paths.retain(|_, item| !item.as_object().unwrap().is_empty());
}

/// `TokenResponse` → `v1TokenResponse`, references included.
fn rename_schemas(doc: &mut Value) {
    let schemas = doc["components"]["schemas"].as_object_mut().unwrap();
    let renamed = std::mem::take(schemas)
        .into_iter()
        .map(|(name, schema)| (format!("v1{name}"), schema))
        .collect();
    *schemas = renamed;
    rewrite_refs(doc);
}

fn rewrite_refs(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                *r = r.replace("#/components/schemas/", "#/components/schemas/v1");
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// Upstream's own scheme names, and bearer as the document default that bearer
/// operations inherit instead of declaring.
fn rename_schemes(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({
        "basicAuth": { "type": "http", "scheme": "basic" },
        "bearerAuth": { "type": "http", "scheme": "bearer" },
        "secretAuth": { "type": "http", "scheme": "Basic" },
    });
    doc["security"] = json!([{ "bearerAuth": [] }]);
    let names = [
        ("clientBasic", "basicAuth"),
        ("userBearer", "bearerAuth"),
        ("cloudSecret", "secretAuth"),
    ];
    for item in doc["paths"].as_object_mut().unwrap().values_mut() {
        for op in item.as_object_mut().unwrap().values_mut() {
            let mut security = op["security"].to_string();
            for (ours, theirs) in names {
                security = security.replace(&format!("\"{ours}\""), &format!("\"{theirs}\""));
            }
            if security == r#"[{"bearerAuth":[]}]"# {
                op.as_object_mut().unwrap().remove("security");
            } else {
                op["security"] = serde_json::from_str(&security).unwrap();
            }
        }
    }
}

fn wrap_request_in_all_of(op: &mut Value) {
    if let Some(schema) = op.pointer_mut("/requestBody/content/application~1json/schema") {
        *schema = json!({ "allOf": [schema.take()] });
    }
}

/// Removes the keys everywhere, except where they name a property.
fn strip(node: &mut Value, keys: &[&str]) {
    match node {
        Value::Object(map) => {
            map.retain(|k, _| !keys.contains(&k.as_str()));
            for (name, child) in map.iter_mut() {
                match (name.as_str(), child.as_object_mut()) {
                    ("properties", Some(properties)) => {
                        properties.values_mut().for_each(|p| strip(p, keys))
                    }
                    _ => strip(child, keys),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| strip(i, keys)),
        _ => {}
    }
}

// ---- changes upstream might make ---------------------------------------------------

fn op<'a>(doc: &'a mut Value, method: &str, path: &str) -> &'a mut Value {
    let op = &mut doc["paths"][path][method];
    assert!(op.is_object(), "the fixture has no {method} {path}");
    op
}

fn schema<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
    let schema = &mut doc["components"]["schemas"][name];
    assert!(schema.is_object(), "the fixture has no schema {name}");
    schema
}

fn move_op(doc: &mut Value, from: (&str, &str), to: (&str, &str)) {
    let moved = op(doc, from.0, from.1).take();
    let paths = doc["paths"].as_object_mut().unwrap();
    let item = paths[from.1].as_object_mut().unwrap();
    item.remove(from.0);
    if item.is_empty() {
        paths.remove(from.1);
    }
    doc["paths"][to.1][to.0] = moved;
}

fn add_operation(doc: &mut Value) {
    let copy = op(doc, "post", "/auth/v1/user/provider/bind").clone();
    doc["paths"]["/auth/v1/user/invented/op"]["post"] = copy;
}

fn remove_operation(doc: &mut Value) {
    move_op(doc, ("post", "/auth/v1/revoke"), ("post", "/dropped"));
    doc["paths"].as_object_mut().unwrap().remove("/dropped");
}

fn change_method(doc: &mut Value) {
    move_op(
        doc,
        ("post", "/auth/v1/user/sudo"),
        ("put", "/auth/v1/user/sudo"),
    );
}

fn add_request_field(doc: &mut Value) {
    schema(doc, "v1SignInRequest")["properties"]["captcha_token"] = json!({ "type": "string" });
}

fn retype_response_field(doc: &mut Value) {
    schema(doc, "v1ProvidersResponse")["properties"]["total"]["type"] = json!("string");
}

fn change_auth(doc: &mut Value) {
    op(doc, "get", "/auth/v1/token/introspect")["security"] = json!([{ "basicAuth": [] }]);
}

/// The committed several-changes fixture: six kinds of change at once.
fn several(mut doc: Value) -> Value {
    for change in [
        add_operation,
        remove_operation,
        change_method,
        add_request_field,
        retype_response_field,
        change_auth,
    ] {
        change(&mut doc);
    }
    doc
}

fn assert_only(change: impl FnOnce(&mut Value), expected: Finding) {
    let mut doc = base();
    change(&mut doc);
    let report = drift(&doc);
    assert_eq!(report.findings, vec![expected]);
    assert!(
        report.unused.is_empty(),
        "stale allow entries: {:?}",
        report.unused
    );
}

// ---- tests -------------------------------------------------------------------------

#[test]
fn fixtures_are_current() {
    let base = upstream_like(&spec());
    for (name, doc) in [(BASE, base.clone()), (SEVERAL, several(base))] {
        let text = format!(
            "# Generated by xtask/tests/drift.rs from spec/cloudbase-auth-v1.yaml: an upstream-like\n\
             # document for the drift tests. Regenerate: UPDATE_FIXTURES=1 cargo test -p xtask --test drift\n{}",
            serde_norway::to_string(&doc).unwrap()
        );
        let path = fixture_path(name);
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            std::fs::write(&path, &text).unwrap();
        } else {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "{name} is stale; run UPDATE_FIXTURES=1 cargo test -p xtask --test drift"
            );
        }
    }
}

#[test]
fn an_identical_upstream_gives_no_findings_and_uses_every_allow_entry() {
    let report = drift(&base());
    assert_eq!(report.findings, vec![]);
    assert_eq!(report.allowed.len(), 22);
    assert!(report.unused.is_empty(), "{:?}", report.unused);
}

#[test]
fn without_the_allow_file_the_sdk_only_operations_are_missing_upstream() {
    let report = compare(&spec(), &base(), &AllowList::default()).unwrap();
    assert_eq!(report.findings.len(), 22);
    let allow = allow();
    for finding in &report.findings {
        assert_eq!(finding.kind, Kind::MissingUpstream);
        assert!(allow.position(finding).is_some(), "{finding:?}");
    }
}

#[test]
fn an_operation_added_upstream() {
    let expected = finding(
        Kind::AddedUpstream,
        "POST",
        "/auth/v1/user/invented/op",
        None,
        None,
        None,
    );
    assert_only(add_operation, expected);
}

#[test]
fn an_operation_removed_upstream() {
    let expected = finding(
        Kind::MissingUpstream,
        "POST",
        "/auth/v1/revoke",
        None,
        None,
        None,
    );
    assert_only(remove_operation, expected);
}

#[test]
fn a_method_change() {
    let expected = finding(
        Kind::MethodChanged,
        "POST",
        "/auth/v1/user/sudo",
        None,
        Some("POST"),
        Some("PUT"),
    );
    assert_only(change_method, expected);
}

#[test]
fn a_method_change_on_a_path_shared_with_an_sdk_only_operation() {
    let change = |doc: &mut Value| {
        move_op(
            doc,
            ("delete", "/auth/v1/user/me"),
            ("post", "/auth/v1/user/me"),
        )
    };
    let expected = finding(
        Kind::MethodChanged,
        "DELETE",
        "/auth/v1/user/me",
        None,
        Some("DELETE"),
        Some("POST"),
    );
    assert_only(change, expected);
}

#[test]
fn a_path_change() {
    let change = |doc: &mut Value| {
        move_op(
            doc,
            ("get", "/auth/v1/user/provider"),
            ("get", "/auth/v1/user/providers"),
        )
    };
    let expected = finding(
        Kind::PathChanged,
        "GET",
        "/auth/v1/user/provider",
        None,
        Some("/auth/v1/user/provider"),
        Some("/auth/v1/user/providers"),
    );
    assert_only(change, expected);
}

#[test]
fn a_request_field_added() {
    let expected = finding(
        Kind::FieldAdded,
        "POST",
        "/auth/v1/signin",
        Some("/request/captcha_token"),
        None,
        Some("string"),
    );
    assert_only(add_request_field, expected);
}

#[test]
fn a_response_field_removed() {
    let change = |doc: &mut Value| {
        schema(doc, "v1SudoResponse")["properties"]
            .as_object_mut()
            .unwrap()
            .remove("expires_in");
    };
    let expected = finding(
        Kind::FieldRemoved,
        "POST",
        "/auth/v1/user/sudo",
        Some("/response/expires_in"),
        Some("integer"),
        None,
    );
    assert_only(change, expected);
}

#[test]
fn a_field_retyped() {
    let expected = finding(
        Kind::FieldRetyped,
        "GET",
        "/auth/v1/user/provider",
        Some("/response/total"),
        Some("integer"),
        Some("string"),
    );
    assert_only(retype_response_field, expected);
}

#[test]
fn a_field_retyped_inside_array_items() {
    let change = |doc: &mut Value| {
        schema(doc, "v1LinkedProvider")["properties"]["bind"]["type"] = json!("string")
    };
    let expected = finding(
        Kind::FieldRetyped,
        "GET",
        "/auth/v1/user/provider",
        Some("/response/data/*/bind"),
        Some("boolean"),
        Some("string"),
    );
    assert_only(change, expected);
}

#[test]
fn a_required_field_made_optional() {
    let change =
        |doc: &mut Value| schema(doc, "v1SignInCustomRequest")["required"] = json!(["provider_id"]);
    let expected = finding(
        Kind::RequiredChanged,
        "POST",
        "/auth/v1/signin/custom",
        Some("/request/ticket"),
        Some("required"),
        Some("optional"),
    );
    assert_only(change, expected);
}

#[test]
fn an_auth_change_compares_scheme_types_not_names() {
    let expected = finding(
        Kind::AuthChanged,
        "GET",
        "/auth/v1/token/introspect",
        None,
        Some("bearer"),
        Some("basic"),
    );
    assert_only(change_auth, expected);
}

#[test]
fn an_allowed_deviation_is_counted_not_reported() {
    let mut doc = base();
    retype_response_field(&mut doc);
    let mut allow = allow();
    let extra = "allow:\n  - kind: field_retyped\n    method: GET\n    path: /auth/v1/user/provider\n    field: /response/total\n    reason: upstream's gateway sends int64 as a string\n";
    allow
        .entries
        .extend(AllowList::parse(extra, "extra").unwrap().entries);
    let report = compare(&spec(), &doc, &allow).unwrap();
    assert_eq!(report.findings, vec![]);
    assert_eq!(report.allowed.len(), 23);
    assert!(report.unused.is_empty());
}

#[test]
fn an_allow_entry_for_another_field_does_not_hide_the_finding() {
    let mut doc = base();
    retype_response_field(&mut doc);
    let mut allow = allow();
    let extra = "allow:\n  - kind: field_retyped\n    method: GET\n    path: /auth/v1/user/provider\n    field: /response/data\n    reason: not this one\n";
    allow
        .entries
        .extend(AllowList::parse(extra, "extra").unwrap().entries);
    let report = compare(&spec(), &doc, &allow).unwrap();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(
        report.unused.len(),
        1,
        "the entry that matched nothing is reported stale"
    );
}

#[test]
fn allow_entries_need_a_reason_and_known_fields() {
    let no_reason =
        "allow:\n  - kind: missing_upstream\n    method: GET\n    path: /x\n    reason: ' '\n";
    let error = AllowList::parse(no_reason, "allow.yaml")
        .unwrap_err()
        .to_string();
    assert!(error.contains("empty `reason`"), "{error}");
    let typo =
        "allow:\n  - kind: missing_upstream\n    method: GET\n    path: /x\n    reasn: typo\n";
    let error = AllowList::parse(typo, "allow.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("allow.yaml is not a valid allow file"),
        "{error}"
    );
}

#[test]
fn the_several_changes_fixture_reports_each_change() {
    let report = drift(&read_yaml(&fixture_path(SEVERAL)));
    let kinds: Vec<(Kind, &str)> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.path.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Kind::MissingUpstream, "/auth/v1/revoke"),
            (Kind::FieldAdded, "/auth/v1/signin"),
            (Kind::AuthChanged, "/auth/v1/token/introspect"),
            (Kind::AddedUpstream, "/auth/v1/user/invented/op"),
            (Kind::FieldRetyped, "/auth/v1/user/provider"),
            (Kind::MethodChanged, "/auth/v1/user/sudo"),
        ]
    );
}

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_cli_prints_json_findings_and_exits_1_on_drift() {
    let fixture = fixture_path(SEVERAL);
    let output = xtask(&["drift", "--upstream", fixture.to_str().unwrap(), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let findings: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(findings.len(), 6);
    assert_eq!(
        findings[5],
        json!({ "kind": "method_changed", "method": "POST", "path": "/auth/v1/user/sudo", "field": null, "ours": "POST", "upstream": "PUT" })
    );
    let clean = xtask(&["drift", "--upstream", fixture_path(BASE).to_str().unwrap()]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
}

#[test]
fn the_cli_explains_an_unreachable_upstream() {
    // Port 9 (discard) refuses at once on a machine without the service: no DNS, no wait.
    let output = xtask(&[
        "drift",
        "--upstream",
        "http://127.0.0.1:9/auth.v1.openapi.yaml",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not fetch http://127.0.0.1:9/auth.v1.openapi.yaml"),
        "{stderr}"
    );
    assert!(stderr.contains("--upstream FILE"), "{stderr}");
}

#[test]
fn a_schema_that_contains_itself_is_walked_once() {
    let change = |doc: &mut Value| {
        let parent = json!({ "allOf": [{ "$ref": "#/components/schemas/v1UserProfile" }] });
        schema(doc, "v1UserProfile")["properties"]["parent"] = parent;
    };
    let expected = finding(
        Kind::FieldAdded,
        "GET",
        "/auth/v1/user/me",
        Some("/response/parent"),
        None,
        Some("object"),
    );
    assert_only(change, expected);
}

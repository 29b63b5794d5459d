//! The spec is the single source of truth: these tests pin it to upstream's documented
//! operations and keep the README's table and the compiled auth table in step with it.

use std::collections::HashSet;

use cloudbase_auth::AuthKind;
use cloudbase_auth_codegen::{AuthKind as SpecAuth, Spec, operations};

fn spec() -> Spec {
    Spec::parse(&std::fs::read_to_string("spec/cloudbase-auth-v1.yaml").unwrap())
        .expect("the spec parses")
}

/// The 25 operations of the official HTTP API docs (reference §10), with the auth kind
/// upstream documents. `basic?` operations are client-basic, optional.
const DOCUMENTED: [(&str, &str, SpecAuth); 25] = [
    ("POST", "/auth/v1/signin", SpecAuth::ClientBasic),
    ("POST", "/auth/v1/signin/anonymously", SpecAuth::ClientBasic),
    ("POST", "/auth/v1/signup", SpecAuth::ClientBasic),
    ("POST", "/auth/v1/user/signout", SpecAuth::UserBearer),
    ("GET", "/auth/v1/provider/uri", SpecAuth::ClientBasic),
    ("POST", "/auth/v1/provider/token", SpecAuth::ClientBasic),
    (
        "POST",
        "/auth/v1/signin/with/provider",
        SpecAuth::ClientBasic,
    ),
    ("POST", "/auth/v1/signin/custom", SpecAuth::None),
    ("POST", "/auth/v1/token", SpecAuth::ClientBasic),
    (
        "POST",
        "/auth/v1/token/clientCredential",
        SpecAuth::CloudSecret,
    ),
    ("GET", "/auth/v1/token/introspect", SpecAuth::UserBearer),
    ("POST", "/auth/v1/revoke", SpecAuth::UserBearer),
    ("POST", "/auth/v1/reset", SpecAuth::ClientBasic),
    ("POST", "/auth/v1/captcha/data", SpecAuth::ClientBasic),
    (
        "POST",
        "/auth/v1/captcha/data/verify",
        SpecAuth::ClientBasic,
    ),
    ("POST", "/auth/v1/verification", SpecAuth::ClientBasic),
    (
        "POST",
        "/auth/v1/verification/verify",
        SpecAuth::ClientBasic,
    ),
    ("GET", "/auth/v1/user/me", SpecAuth::UserBearer),
    ("DELETE", "/auth/v1/user/me", SpecAuth::UserBearer),
    ("POST", "/auth/v1/user/sudo", SpecAuth::UserBearer),
    ("PATCH", "/auth/v1/user/password", SpecAuth::UserBearer),
    ("POST", "/auth/v1/user/basic/edit", SpecAuth::UserBearer),
    ("GET", "/auth/v1/user/provider", SpecAuth::UserBearer),
    ("POST", "/auth/v1/user/provider/bind", SpecAuth::UserBearer),
    (
        "DELETE",
        "/auth/v1/user/provider/{provider_id}",
        SpecAuth::UserBearer,
    ),
];

#[test]
fn every_documented_upstream_operation_is_in_the_spec_with_its_auth_kind() {
    let ops = operations(&spec()).unwrap();
    for (method, path, auth) in DOCUMENTED {
        let op = ops.iter().find(|o| o.method == method && o.path == path);
        let op = op.unwrap_or_else(|| panic!("{method} {path} is missing from the spec"));
        assert_eq!(op.auth, auth, "{method} {path}");
    }
}

#[test]
fn operations_are_at_least_37_with_unique_ids_and_explicit_security() {
    let spec = spec();
    let ops = operations(&spec).expect("every operation declares `security`");
    assert!(ops.len() >= 37, "{} operations", ops.len());
    let ids: HashSet<_> = ops.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids.len(), ops.len(), "operation ids are unique");
    assert!(cloudbase_auth_codegen::lint_progenitor_support(&spec.raw).is_empty());
}

#[test]
fn the_seed_errors_are_fixed_in_the_spec() {
    let ops = operations(&spec()).unwrap();
    let has = |method: &str, path: &str| ops.iter().any(|o| o.method == method && o.path == path);
    assert!(
        has("POST", "/auth/v1/signin/anonymously") && !has("POST", "/auth/v1/signin-anonymously")
    );
    assert!(has("GET", "/auth/v1/user/provider") && !has("GET", "/auth/v1/user/providers"));
    let raw = spec().raw;
    let password = &raw["components"]["schemas"]["UpdatePasswordRequest"]["required"];
    assert!(
        password
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "sudo_token")
    );
    let delete = raw["paths"]["/auth/v1/user/me"]["delete"]["parameters"].to_string();
    assert!(delete.contains("sudo_token"));
}

#[test]
fn the_compiled_auth_table_matches_the_spec() {
    let ops = operations(&spec()).unwrap();
    let compiled = cloudbase_auth::operations();
    assert_eq!(compiled.len(), ops.len());
    for (op, table) in ops.iter().zip(compiled) {
        let kind = match op.auth {
            SpecAuth::None => AuthKind::None,
            SpecAuth::ClientBasic => AuthKind::ClientBasic,
            SpecAuth::UserBearer => AuthKind::UserBearer,
            SpecAuth::CloudSecret => AuthKind::CloudSecret,
        };
        assert_eq!(
            (table.operation_id, table.method, table.path, table.auth),
            (op.id.as_str(), op.method.as_str(), op.path.as_str(), kind)
        );
    }
}

#[test]
fn the_readme_table_lists_every_operation_with_method_path_and_auth() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme
        .find("<!-- operations:start -->")
        .expect("README has the operations table");
    let end = readme.find("<!-- operations:end -->").unwrap();
    let rows: HashSet<(String, String, String)> = readme[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(|c| c.trim().trim_matches('`')).collect();
            (
                cells[2].to_string(),
                cells[3].to_string(),
                cells[4].to_string(),
            )
        })
        .collect();
    let ops = operations(&spec()).unwrap();
    let expected: HashSet<_> = ops
        .iter()
        .map(|o| {
            let auth = if o.auth_optional {
                format!("{} (optional)", o.auth.name())
            } else {
                o.auth.name().to_string()
            };
            (o.method.clone(), o.path.clone(), auth)
        })
        .collect();
    assert_eq!(rows, expected);
}

/// The 43 `/auth/v1` operations `@cloudbase/oauth` 3.3.3 calls
/// (shared/reference/sdk-3.3.3-vs-spec.md §2), with the credential 3.3.3 sends first.
const SDK_3_3_3: [(&str, &str); 43] = [
    ("POST", "/auth/v1/signin"),
    ("POST", "/auth/v1/signin/anonymously"),
    ("POST", "/auth/v1/signup"),
    ("POST", "/auth/v1/user/signout"),
    ("POST", "/auth/v1/revoke"),
    ("DELETE", "/auth/v1/user/revoke/all"),
    ("DELETE", "/auth/v1/user/authorized/devices/{device_id}"),
    ("POST", "/auth/v1/verification"),
    ("POST", "/auth/v1/verification/verify"),
    ("GET", "/auth/v1/provider/uri"),
    ("POST", "/auth/v1/provider/token"),
    ("PATCH", "/auth/v1/provider/token"),
    ("POST", "/auth/v1/signin/with/provider"),
    ("POST", "/auth/v1/signin/custom"),
    ("POST", "/auth/v1/signin/wechat/noauth"),
    ("POST", "/auth/v1/user/provider/bind"),
    ("GET", "/auth/v1/user/me"),
    ("GET", "/auth/v1/plugin/weda/userinfo"),
    ("DELETE", "/auth/v1/user/me"),
    ("PATCH", "/auth/v1/user/trans/by/provider"),
    ("POST", "/auth/v1/token"),
    ("GET", "/auth/v1/user/provider"),
    ("DELETE", "/auth/v1/user/provider/{provider_id}"),
    ("POST", "/auth/v1/user/sudo"),
    ("PATCH", "/auth/v1/user/contact"),
    ("PATCH", "/auth/v1/user/password"),
    ("POST", "/auth/v1/user/provider/{provider_id}/trans"),
    ("PATCH", "/auth/v1/user/profile"),
    ("POST", "/auth/v1/user/basic/edit"),
    ("GET", "/auth/v1/user/query"),
    ("POST", "/auth/v1/reset"),
    ("POST", "/auth/v1/user/authorize"),
    ("POST", "/auth/v1/user/device/authorize"),
    ("POST", "/auth/v1/device/code"),
    ("GET", "/auth/v1/user/authorize/info"),
    ("GET", "/auth/v1/checkUsername"),
    ("GET", "/auth/v1/checkIfUserExist"),
    ("POST", "/auth/v1/mgr/provider/providerSubType"),
    ("POST", "/auth/v1/captcha/data/verify"),
    ("POST", "/auth/v1/captcha/data"),
    ("POST", "/auth/v1/qrcode/generate"),
    ("POST", "/auth/v1/qrcode/get/status"),
    ("GET", "/auth/v1/user/security/history"),
];

#[test]
fn every_operation_the_newest_official_client_calls_is_in_the_spec() {
    let ops = operations(&spec()).unwrap();
    for (method, path) in SDK_3_3_3 {
        assert!(
            ops.iter().any(|o| o.method == method && o.path == path),
            "{method} {path} (called by @cloudbase/oauth 3.3.3) is missing from the spec"
        );
    }
    let unique: HashSet<_> = SDK_3_3_3.iter().collect();
    assert_eq!(unique.len(), 43);
}

#[test]
fn every_operation_says_its_source() {
    let spec = spec();
    let paths = spec.raw["paths"].as_object().unwrap();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let description = op["description"].as_str().unwrap_or_default();
            assert!(
                description.contains("\nSource: "),
                "{method} {path} has no `Source:` line in its description"
            );
        }
    }
}

#[test]
fn the_device_code_request_takes_the_bearer_3_3_3_sends_or_client_identification() {
    let ops = operations(&spec()).unwrap();
    let op = ops.iter().find(|o| o.id == "request_device_code").unwrap();
    assert_eq!(op.auth, SpecAuth::UserBearer);
    assert!(op.auth_optional, "a device without a session can ask too");
}

#[test]
fn the_lint_refuses_two_properties_that_are_one_rust_field() {
    let doc = serde_json::json!({
        "openapi": "3.0.3",
        "paths": {},
        "components": {"schemas": {"UserProfile": {"type": "object", "properties": {
            "has_password": {"type": "boolean"},
            "hasPassword": {"type": "boolean"}
        }}}}
    });
    let findings = cloudbase_auth_codegen::lint_progenitor_support(&doc);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0]
            .pointer
            .starts_with("/components/schemas/UserProfile/properties/")
    );
}

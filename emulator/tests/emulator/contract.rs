//! The emulator against the spec: every operation of the codegen operation table is
//! routed at its method and path under its operation id, and answers are checked against
//! the spec (the check itself is the test kit's, `cloudbase_auth_testkit::contract`).

use std::collections::BTreeMap;

use cloudbase_auth_codegen::{Spec, operations};
use cloudbase_auth_testkit::contract::violations;
use reqwest::Method;
use serde_json::json;

use crate::common::{Emu, reply_unchecked};

/// One source for the operation table: the emulator's ids, methods and paths are the
/// generator's. Each operation is called once (with an empty body, which most refuse) and
/// must be counted under its own id and no other; a missing or misplaced route fails.
#[tokio::test]
async fn every_spec_operation_is_routed_at_its_method_and_path_under_its_id() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../spec/cloudbase-auth-v1.yaml"
    );
    let spec = Spec::parse(&std::fs::read_to_string(path).unwrap()).expect("the spec");
    let table = operations(&spec).expect("the operation table");
    let emu = Emu::start().await;
    for op in &table {
        let before = emu.control.request_counts();
        let path = op.path.replace('{', "x").replace('}', "");
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let request = emu.request(method, &path).json(&json!({}));
        let reply = reply_unchecked(request.send().await.expect("an answer")).await;
        let after = emu.control.request_counts();
        let count = |counts: &BTreeMap<String, u64>, id: &str| counts.get(id).copied().unwrap_or(0);
        let total = |counts: &BTreeMap<String, u64>| counts.values().sum::<u64>();
        assert_eq!(
            (
                count(&after, &op.id) - count(&before, &op.id),
                total(&after) - total(&before)
            ),
            (1, 1),
            "{} {} should be the emulator's `{}` and only that: {reply:?}",
            op.method,
            op.path,
            op.id
        );
    }
}

#[test]
fn the_contract_check_catches_wrong_types_missing_fields_and_templated_paths() {
    let wrong = json!({"total": "3", "data": []});
    assert!(!violations("get", "/auth/v1/user/provider", 200, &wrong).is_empty());
    let incomplete = json!({"code": "X"});
    assert!(!violations("post", "/auth/v1/signin", 400, &incomplete).is_empty());
    // A path template matches a concrete path, and its 4XX schema applies to a 404.
    let not_found = json!({"error": "not_found", "error_code": 5, "error_description": "x"});
    assert!(violations("delete", "/auth/v1/user/provider/github", 404, &not_found).is_empty());
    assert!(!violations("delete", "/auth/v1/user/provider/github", 404, &json!({})).is_empty());
    // Outside the spec (the control API) nothing is checked.
    assert!(violations("get", "/emulator/v1/codes", 200, &json!(42)).is_empty());
}

//! `generate` and `generate --check` on temporary copies of the repository layout.

use std::fs;
use std::path::Path;

use xtask::generate::{check, write};

fn copy_of_the_spec() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("spec")).unwrap();
    let spec = xtask::workspace_root().join(xtask::SPEC);
    fs::copy(spec, dir.path().join(xtask::SPEC)).unwrap();
    dir
}

fn paths(root: &Path) -> Vec<&'static str> {
    check(root).unwrap().into_iter().map(|s| s.path).collect()
}

const ALL: [&str; 4] = [
    "spec/generated/client.rs",
    "spec/generated/auth_table.rs",
    "spec/generated/rustfmt.toml",
    "spec/operations.md",
];

#[test]
fn the_committed_snapshot_is_current() {
    let stale = paths(&xtask::workspace_root());
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; run `cargo xtask generate`"
    );
}

#[test]
fn write_then_check_is_clean_and_idempotent() {
    let dir = copy_of_the_spec();
    assert_eq!(paths(dir.path()), ALL, "nothing written yet: all missing");
    assert_eq!(write(dir.path()).unwrap(), ALL);
    assert_eq!(paths(dir.path()), Vec::<&str>::new());
    assert_eq!(write(dir.path()).unwrap(), Vec::<&str>::new());
}

#[test]
fn a_stale_snapshot_fails_the_check_with_a_unified_diff() {
    let dir = copy_of_the_spec();
    write(dir.path()).unwrap();
    let table = dir.path().join("spec/operations.md");
    let edited = fs::read_to_string(&table)
        .unwrap()
        .replace("| Sign in anonymously |", "| hand-edited |");
    fs::write(&table, edited).unwrap();
    let stale = check(dir.path()).unwrap();
    assert_eq!(stale.len(), 1);
    let diff = &stale[0].diff;
    assert!(
        diff.starts_with("--- a/spec/operations.md\n+++ b/spec/operations.md\n@@ "),
        "{diff}"
    );
    assert!(diff.contains("\n-| `sign_in_anonymously` | POST | `/auth/v1/signin/anonymously` | ClientBasic (optional) | hand-edited |\n"), "{diff}");
    assert!(diff.contains("\n+| `sign_in_anonymously` | POST | `/auth/v1/signin/anonymously` | ClientBasic (optional) | Sign in anonymously |\n"), "{diff}");
}

#[test]
fn a_spec_change_makes_the_client_stale() {
    let dir = copy_of_the_spec();
    write(dir.path()).unwrap();
    let spec = dir.path().join(xtask::SPEC);
    let text = fs::read_to_string(&spec).unwrap().replace(
        "operationId: sign_in_anonymously",
        "operationId: sign_in_as_guest",
    );
    fs::write(&spec, text).unwrap();
    assert_eq!(
        paths(dir.path()),
        [
            "spec/generated/client.rs",
            "spec/generated/auth_table.rs",
            "spec/operations.md"
        ]
    );
}

#[test]
fn a_spec_progenitor_cannot_generate_is_an_error_naming_the_pointer() {
    let dir = copy_of_the_spec();
    let spec = dir.path().join(xtask::SPEC);
    let text = fs::read_to_string(&spec)
        .unwrap()
        .replacen("'4XX':", "default:", 1);
    fs::write(&spec, text).unwrap();
    let error = check(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("/paths/~1auth~1v1~1signin/post/responses/default"),
        "{error}"
    );
}

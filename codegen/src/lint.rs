use std::collections::{BTreeSet, HashSet};
use std::fmt;

use serde_json::Value;

use crate::openapi::{METHODS, escape};

/// One construct progenitor 0.15.1 cannot generate, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A JSON pointer into the spec, e.g. `/paths/~1auth~1v1~1signin/post/responses/default`.
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

/// Reports every construct that makes progenitor 0.15.1 panic or refuse (anchors §1.7),
/// before build.rs would hit it.
pub fn lint_progenitor_support(raw: &Value) -> Vec<Finding> {
    let mut findings = Vec::new();
    let version = raw
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !version.starts_with("3.0.") {
        push(
            &mut findings,
            "/openapi",
            format!("version `{version}` is not 3.0.x (progenitor rejects 3.1)"),
        );
    }
    let mut ids = HashSet::new();
    let paths = raw.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let item_ptr = format!("/paths/{}", escape(path));
        if item.get("$ref").is_some() {
            push(
                &mut findings,
                &item_ptr,
                "path item `$ref` is unsupported".into(),
            );
        }
        for method in METHODS {
            if let Some(op) = item.get(method) {
                lint_operation(
                    raw,
                    op,
                    &format!("{item_ptr}/{method}"),
                    &mut ids,
                    &mut findings,
                );
            }
        }
    }
    lint_field_names(raw, &mut findings);
    findings
}

/// Two properties of one schema that become the same Rust field (`has_password` and
/// `hasPassword`) make typify emit a struct that does not compile.
fn lint_field_names(raw: &Value, out: &mut Vec<Finding>) {
    let schemas = raw
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    for (name, schema) in schemas.into_iter().flatten() {
        let properties = schema.get("properties").and_then(Value::as_object);
        let mut seen = std::collections::HashMap::new();
        for key in properties.into_iter().flat_map(|p| p.keys()) {
            let field = heck::AsSnakeCase(key).to_string();
            if let Some(first) = seen.insert(field.clone(), key) {
                push(
                    out,
                    &format!(
                        "/components/schemas/{}/properties/{}",
                        escape(name),
                        escape(key)
                    ),
                    format!(
                        "`{key}` and `{first}` are both the Rust field `{field}`; keep one (the other can arrive through `additionalProperties`)"
                    ),
                );
            }
        }
    }
}

fn lint_operation(
    raw: &Value,
    op: &Value,
    ptr: &str,
    ids: &mut HashSet<String>,
    out: &mut Vec<Finding>,
) {
    match op.get("operationId").and_then(Value::as_str) {
        None => push(out, ptr, "missing `operationId`".into()),
        Some(id) if !ids.insert(id.to_string()) => push(
            out,
            &format!("{ptr}/operationId"),
            format!("duplicate operation id `{id}`"),
        ),
        Some(_) => {}
    }
    if op.get("security").is_none() {
        push(
            out,
            ptr,
            "no explicit `security` requirement (write `security: []` when none)".into(),
        );
    }
    lint_parameters(raw, op, ptr, out);
    lint_request_body(raw, op, ptr, out);
    lint_responses(raw, op, ptr, out);
}

fn lint_parameters(raw: &Value, op: &Value, ptr: &str, out: &mut Vec<Finding>) {
    let params = op.get("parameters").and_then(Value::as_array);
    for (i, param) in params.into_iter().flatten().enumerate() {
        let param = resolve(raw, param);
        let here = format!("{ptr}/parameters/{i}");
        let location = param.get("in").and_then(Value::as_str).unwrap_or_default();
        let style = param.get("style").and_then(Value::as_str);
        match (location, style) {
            ("cookie", _) => push(out, &here, "cookie parameters are not supported".into()),
            ("query", Some(s)) if s != "form" => {
                push(out, &here, format!("query style `{s}` (only `form`)"))
            }
            ("path", Some(s)) if s != "simple" => {
                push(out, &here, format!("path style `{s}` (only `simple`)"))
            }
            _ => {}
        }
    }
}

fn lint_request_body(raw: &Value, op: &Value, ptr: &str, out: &mut Vec<Finding>) {
    let Some(body) = op.get("requestBody").map(|b| resolve(raw, b)) else {
        return;
    };
    let content = body.get("content").and_then(Value::as_object);
    let media: Vec<&String> = content.into_iter().flat_map(|c| c.keys()).collect();
    let here = format!("{ptr}/requestBody/content");
    if media.len() > 1 {
        push(
            out,
            &here,
            format!("{} request media types (progenitor takes one)", media.len()),
        );
    }
    for (name, mt) in content.into_iter().flatten() {
        let mt_ptr = format!("{here}/{}", escape(name));
        if name.starts_with("multipart/") {
            push(out, &mt_ptr, "multipart bodies are not supported".into());
        }
        if mt
            .get("encoding")
            .and_then(Value::as_object)
            .is_some_and(|e| !e.is_empty())
        {
            push(
                out,
                &format!("{mt_ptr}/encoding"),
                "a non-empty `encoding` map panics the generator".into(),
            );
        }
    }
}

fn lint_responses(raw: &Value, op: &Value, ptr: &str, out: &mut Vec<Finding>) {
    let responses = op.get("responses").and_then(Value::as_object);
    let mut success = BTreeSet::new();
    let mut errors = BTreeSet::new();
    for (code, response) in responses.into_iter().flatten() {
        let here = format!("{ptr}/responses/{}", escape(code));
        if code == "default" {
            push(
                out,
                &here,
                "`default` responses panic the generator; use `4XX`/`5XX`".into(),
            );
            continue;
        }
        let schema = response_schema(raw, response);
        if code.starts_with('2') {
            success.insert(schema);
        } else if code.starts_with('4') || code.starts_with('5') {
            errors.insert(schema);
        }
    }
    if success.len() > 1 {
        push(
            out,
            &format!("{ptr}/responses"),
            format!("{} different success schemas (one allowed)", success.len()),
        );
    }
    if errors.len() > 1 {
        push(
            out,
            &format!("{ptr}/responses"),
            format!("{} different error schemas (share one)", errors.len()),
        );
    }
}

/// A response's JSON schema as text, so equal schemas (e.g. one `$ref`) compare equal.
fn response_schema(raw: &Value, response: &Value) -> String {
    let response = resolve(raw, response);
    response
        .get("content")
        .and_then(|c| c.get("application/json"))
        .and_then(|mt| mt.get("schema"))
        .map(Value::to_string)
        .unwrap_or_default()
}

/// The node a local `$ref` names; the node itself when it is not a reference or the
/// reference is broken (the typed parse reports those).
fn resolve<'a>(raw: &'a Value, node: &'a Value) -> &'a Value {
    crate::openapi::resolve(raw, node).map_or(node, |(target, _)| target)
}

fn push(out: &mut Vec<Finding>, pointer: &str, message: String) {
    out.push(Finding {
        pointer: pointer.to_string(),
        message,
    });
}

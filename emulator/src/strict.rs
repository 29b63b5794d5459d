//! Strict mode: every `/auth/v1` request must be one the OpenAPI spec describes - a known
//! method and path, declared query parameters of the declared types, and a body that
//! validates against the operation's request schema with every object closed (a field the
//! schema does not name is a violation). Used while the official JS client runs against the
//! emulator, so the spec is checked against what the client really sends.
//!
//! Off unless `CLOUDBASE_EMULATOR_STRICT_SPEC` names the spec file. A violating request is
//! answered 400 `invalid_argument` naming the operation and the JSON pointer, and recorded;
//! `GET /emulator/v1/strict/violations` lists the records (at most [`MAX_RECORDED`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::errors::ApiError;

/// The environment variable naming the spec file that turns strict mode on.
pub const STRICT_SPEC_ENV: &str = "CLOUDBASE_EMULATOR_STRICT_SPEC";
/// Violations kept for the control API.
pub(crate) const MAX_RECORDED: usize = 1000;
/// Query parameters every operation may carry: the captcha retry of the official client
/// (documented in the spec's info section, not per operation).
const CROSS_CUTTING_QUERY: [&str; 1] = ["captcha_token"];

/// One request the spec does not describe.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    /// The operation id, or `METHOD path` when no operation matched.
    pub operation: String,
    pub method: String,
    pub path: String,
    /// Where in the request: `/body/...` (JSON pointer into the body), `/query/<name>`,
    /// or `/` for the method and path.
    pub pointer: String,
    pub problem: String,
}

/// A compiled operation: its id, query parameters and body validator.
struct Operation {
    id: String,
    template: Vec<String>,
    method: Method,
    query: HashMap<String, Param>,
    body: Option<jsonschema::Validator>,
}

struct Param {
    required: bool,
    array: bool,
    validator: jsonschema::Validator,
    integer: bool,
}

/// Strict mode's state: the compiled spec (or why it could not be loaded) and the record.
pub(crate) struct Strict {
    operations: Result<Vec<Operation>, String>,
    max_body_bytes: usize,
    recorded: Mutex<Vec<Violation>>,
}

impl Strict {
    /// Strict mode as the environment asks for it; `None` when off.
    pub(crate) fn from_env(max_body_bytes: usize) -> Option<Arc<Strict>> {
        let path = std::env::var_os(STRICT_SPEC_ENV)?;
        let operations = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.to_string_lossy()))
            .and_then(|text| compile(&text));
        if let Err(problem) = &operations {
            tracing::error!("strict mode: {problem}");
        }
        Some(Arc::new(Strict {
            operations,
            max_body_bytes,
            recorded: Mutex::new(Vec::new()),
        }))
    }

    fn record(&self, violation: Violation) {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        if recorded.len() < MAX_RECORDED {
            recorded.push(violation);
        }
    }
}

fn compile(text: &str) -> Result<Vec<Operation>, String> {
    let doc: Value = serde_norway::from_str(text).map_err(|e| format!("the spec: {e}"))?;
    let components = closed(doc.get("components").cloned().unwrap_or(json!({})));
    let validator = |schema: &Value| {
        let root = json!({ "allOf": [closed(schema.clone())], "components": components });
        jsonschema::draft4::options()
            .build(&root)
            .map_err(|e| format!("a schema does not compile: {e}"))
    };
    let mut out = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let mut query = HashMap::new();
            for param in op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let param = resolve(&doc, param);
                if param["in"] != "query" {
                    continue;
                }
                let schema = &param["schema"];
                query.insert(
                    param["name"].as_str().unwrap_or_default().to_owned(),
                    Param {
                        required: param["required"] == true,
                        array: schema["type"] == "array",
                        integer: schema["type"] == "integer",
                        validator: validator(schema)?,
                    },
                );
            }
            let body = op
                .pointer("/requestBody/content/application~1json/schema")
                .map(validator)
                .transpose()?;
            out.push(Operation {
                id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                template: path.split('/').map(str::to_owned).collect(),
                method,
                query,
                body,
            });
        }
    }
    Ok(out)
}

fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(node),
        None => node,
    }
}

/// Closes every object schema that does not say otherwise (`additionalProperties: false`),
/// so a request field the spec does not name is reported.
fn closed(mut schema: Value) -> Value {
    close(&mut schema);
    schema
}

fn close(node: &mut Value) {
    match node {
        Value::Object(object) => {
            if object.contains_key("properties") && !object.contains_key("additionalProperties") {
                object.insert("additionalProperties".into(), Value::Bool(false));
            }
            object.values_mut().for_each(close);
        }
        Value::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

/// The middleware: checks `/auth/v1` requests, passes everything else through.
pub(crate) async fn check(
    State(strict): State<Arc<Strict>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if !path.starts_with("/auth/v1/") || request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let operations = match &strict.operations {
        Ok(operations) => operations,
        Err(problem) => {
            return ApiError::internal(format!("strict mode is on but {problem}")).into_response();
        }
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, strict.max_body_bytes).await else {
        return ApiError::payload_too_large(strict.max_body_bytes).into_response();
    };
    let method = parts.method.clone();
    let found = find(operations, &method, &path);
    let problems = match &found {
        Ok(op) => problems(op, parts.uri.query(), &bytes),
        Err(problem) => vec![("/".to_owned(), problem.clone())],
    };
    if let Some((pointer, problem)) = problems.into_iter().next() {
        let operation = found.map_or_else(|_| format!("{method} {path}"), |op| op.id.clone());
        let description = format!(
            "strict mode: the spec does not describe this request: {operation} {pointer}: {problem}"
        );
        strict.record(Violation {
            operation,
            method: method.to_string(),
            path,
            pointer,
            problem,
        });
        return ApiError::invalid_argument(description).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn find<'a>(
    operations: &'a [Operation],
    method: &Method,
    path: &str,
) -> Result<&'a Operation, String> {
    let segments: Vec<&str> = path.split('/').collect();
    let on_path: Vec<&Operation> = operations
        .iter()
        .filter(|op| {
            op.template.len() == segments.len()
                && op
                    .template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
        })
        .collect();
    if on_path.is_empty() {
        return Err("no operation of the spec has this path".into());
    }
    on_path
        .into_iter()
        .find(|op| op.method == *method)
        .ok_or_else(|| format!("the spec has no {method} operation on this path"))
}

/// Every way the query and body break the operation's description, as (pointer, problem).
fn problems(op: &Operation, query: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    for (name, param) in &op.query {
        let count = pairs.iter().filter(|(k, _)| k == name).count();
        if param.required && count == 0 {
            out.push((
                format!("/query/{name}"),
                "required parameter missing".into(),
            ));
        }
        if count > 1 && !param.array {
            out.push((
                format!("/query/{name}"),
                "repeated, but not an array".into(),
            ));
        }
    }
    for (name, value) in &pairs {
        let pointer = format!("/query/{name}");
        match op.query.get(name) {
            None if CROSS_CUTTING_QUERY.contains(&name.as_str()) => {}
            None => out.push((pointer, "parameter not declared".into())),
            Some(param) => {
                let instance = match (param.array, param.integer) {
                    (true, _) => json!([value]),
                    (false, true) => match value.parse::<i64>() {
                        Ok(n) => json!(n),
                        Err(_) => Value::String(value.clone()),
                    },
                    (false, false) => Value::String(value.clone()),
                };
                if let Some(error) = param.validator.iter_errors(&instance).next() {
                    out.push((pointer, error.to_string()));
                }
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let body: Option<Value> = if text.trim().is_empty() {
        None
    } else {
        match serde_json::from_str(&text) {
            Ok(value) => Some(value),
            Err(e) => {
                out.push(("/body".into(), format!("not JSON: {e}")));
                return out;
            }
        }
    };
    match (&op.body, body) {
        (Some(validator), body) => {
            let body = body.unwrap_or_else(|| json!({}));
            for error in validator.iter_errors(&body) {
                out.push((format!("/body{}", error.instance_path()), error.to_string()));
            }
        }
        (None, Some(body)) if body != json!({}) => {
            out.push(("/body".into(), "the operation has no request body".into()));
        }
        (None, _) => {}
    }
    out
}

/// `GET /emulator/v1/strict/violations`.
pub(crate) async fn violations(State(strict): State<Option<Arc<Strict>>>) -> Json<Value> {
    let recorded = strict.as_ref().map(|s| {
        s.recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    });
    Json(json!({
        "enabled": strict.is_some(),
        "violations": recorded.unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
paths:
  /auth/v1/things/{id}:
    post:
      operationId: make_thing
      parameters:
        - name: limit
          in: query
          schema: {type: integer, minimum: 1}
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Thing'}
components:
  schemas:
    Thing:
      type: object
      required: [name]
      properties:
        name: {type: string}
"#;

    fn run(method: &str, path: &str, query: Option<&str>, body: &str) -> Vec<(String, String)> {
        let ops = compile(SPEC).unwrap();
        match find(&ops, &method.parse().unwrap(), path) {
            Ok(op) => problems(op, query, body.as_bytes()),
            Err(problem) => vec![("/".into(), problem)],
        }
    }

    #[test]
    fn a_described_request_passes() {
        assert!(
            run(
                "POST",
                "/auth/v1/things/7",
                Some("limit=2"),
                r#"{"name":"a"}"#
            )
            .is_empty()
        );
    }

    #[test]
    fn undeclared_fields_parameters_paths_and_methods_are_named() {
        let extra = run("POST", "/auth/v1/things/7", None, r#"{"name":"a","x":1}"#);
        assert_eq!(extra[0].0, "/body");
        let wrong_type = run("POST", "/auth/v1/things/7", None, r#"{"name":1}"#);
        assert_eq!(wrong_type[0].0, "/body/name");
        let query = run(
            "POST",
            "/auth/v1/things/7",
            Some("limit=0&y=1"),
            r#"{"name":"a"}"#,
        );
        let pointers: Vec<&str> = query.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(pointers, ["/query/limit", "/query/y"]);
        assert_eq!(run("GET", "/auth/v1/things/7", None, "")[0].0, "/");
        assert_eq!(run("POST", "/auth/v1/nothing", None, "")[0].0, "/");
    }
}

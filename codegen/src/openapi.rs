//! Small helpers over an OpenAPI document held as raw JSON, shared by the generator, the
//! xtask (lint, drift, probe) and the tests that check answers against the spec. Raw JSON
//! (not typed `openapiv3`) so every finding can carry a JSON pointer and so upstream
//! documents that the typed parser would reject can still be compared.

use std::fmt;

use serde_json::Value;

/// The HTTP methods an OpenAPI path item may hold, in the order the spec lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A document, a reference or a lookup that is not what it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiError(String);

impl OpenApiError {
    pub(crate) fn new(message: impl Into<String>) -> OpenApiError {
        OpenApiError(message.into())
    }
}

impl fmt::Display for OpenApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OpenApiError {}

/// Parses YAML or JSON (YAML is a superset), naming `source` in the error.
pub fn parse(text: &str, source: &str) -> Result<Value, OpenApiError> {
    let doc: Value = serde_norway::from_str(text)
        .map_err(|e| OpenApiError::new(format!("{source} is not valid YAML or JSON: {e}")))?;
    if !doc.is_object() {
        return Err(OpenApiError::new(format!(
            "{source} is not an OpenAPI document"
        )));
    }
    Ok(doc)
}

/// One operation of a document, with where it is.
#[derive(Debug, Clone)]
pub struct OperationRef<'a> {
    /// Upper case, as written in reports: `POST`.
    pub method: String,
    /// The path template, e.g. `/auth/v1/user/provider/{provider_id}`.
    pub path: String,
    /// JSON pointer to the operation object.
    pub pointer: String,
    pub op: &'a Value,
}

/// Every operation, in document order.
pub fn operations(doc: &Value) -> Vec<OperationRef<'_>> {
    let mut out = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push(OperationRef {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    pointer: format!("/paths/{}/{method}", escape(path)),
                    op,
                });
            }
        }
    }
    out
}

/// The operation a request hits: `method` in any case, `path` concrete
/// (`/auth/v1/user/provider/github` finds `/auth/v1/user/provider/{provider_id}`).
/// A literal path wins over a template that also matches.
pub fn find_operation<'a>(doc: &'a Value, method: &str, path: &str) -> Option<OperationRef<'a>> {
    let method = method.to_uppercase();
    let candidates = operations(doc).into_iter().filter(|o| o.method == method);
    let (literal, templated): (Vec<_>, Vec<_>) = candidates.partition(|o| !o.path.contains('{'));
    literal.into_iter().find(|o| o.path == path).or_else(|| {
        templated
            .into_iter()
            .find(|o| matches_template(&o.path, path))
    })
}

/// `/a/{id}/b` matches `/a/42/b`.
fn matches_template(template: &str, path: &str) -> bool {
    let template: Vec<&str> = template.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// The JSON schema an operation gives for its answer with `status`: the exact code, else
/// its range (`4XX`), else `default`; its `$ref`s are left for the validator.
pub fn response_schema<'a>(
    doc: &'a Value,
    op: &OperationRef<'a>,
    status: u16,
) -> Result<&'a Value, OpenApiError> {
    let (method, path) = (&op.method, &op.path);
    let responses = op.op.get("responses");
    let code = status.to_string();
    let range = format!("{}XX", status / 100);
    let response = [code.as_str(), &range, "default"]
        .iter()
        .find_map(|key| responses.and_then(|r| r.get(*key)))
        .ok_or_else(|| {
            OpenApiError::new(format!(
                "the spec declares no response {status} for {method} {path}"
            ))
        })?;
    let (response, _) = resolve(doc, response)?;
    response
        .pointer("/content/application~1json/schema")
        .ok_or_else(|| {
            OpenApiError::new(format!(
                "the spec gives no JSON body for {status} of {method} {path}"
            ))
        })
}

/// Follows a chain of local `$ref`s to the node they name, returning it with its pointer
/// (`None` when `node` itself is not a reference). External refs are errors: neither
/// our spec nor upstream's uses them, and following them would mean fetching.
pub fn resolve<'a>(
    doc: &'a Value,
    node: &'a Value,
) -> Result<(&'a Value, Option<String>), OpenApiError> {
    let mut current = node;
    let mut pointer = None;
    // A bound instead of a visited set: a chain longer than this is a cycle.
    for _ in 0..32 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return Ok((current, pointer));
        };
        let target = reference.strip_prefix('#').ok_or_else(|| {
            OpenApiError::new(format!("`$ref: {reference}` is not a local reference"))
        })?;
        current = doc
            .pointer(target)
            .ok_or_else(|| OpenApiError::new(format!("`$ref: {reference}` points at nothing")))?;
        pointer = Some(target.to_string());
    }
    Err(OpenApiError::new("a `$ref` chain loops"))
}

/// RFC 6901 escaping of one reference token.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"paths": {
            "/p/{id}": {"delete": {"responses": {"4XX": {"$ref": "#/components/responses/E"}}}},
            "/p/me": {"delete": {"responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}}},
        }, "components": {"responses": {"E": {"content": {"application/json": {"schema": {"$ref": "#/x"}}}}}}})
    }

    #[test]
    fn a_literal_path_wins_over_a_template_and_templates_match_one_segment() {
        let doc = doc();
        assert_eq!(
            find_operation(&doc, "delete", "/p/me").unwrap().path,
            "/p/me"
        );
        assert_eq!(
            find_operation(&doc, "DELETE", "/p/42").unwrap().path,
            "/p/{id}"
        );
        assert!(find_operation(&doc, "delete", "/p/").is_none());
        assert!(find_operation(&doc, "delete", "/p/1/2").is_none());
        assert!(find_operation(&doc, "get", "/p/me").is_none());
    }

    #[test]
    fn response_schemas_fall_back_to_the_range_through_refs() {
        let doc = doc();
        let op = find_operation(&doc, "delete", "/p/42").unwrap();
        assert_eq!(
            response_schema(&doc, &op, 404).unwrap(),
            &json!({"$ref": "#/x"})
        );
        let error = response_schema(&doc, &op, 200).unwrap_err();
        assert!(error.to_string().contains("no response 200"), "{error}");
    }

    #[test]
    fn ref_loops_and_dangling_refs_are_errors() {
        let doc = json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}});
        assert!(resolve(&doc, &doc["a"]).is_err());
        assert!(resolve(&doc, &json!({"$ref": "#/nowhere"})).is_err());
        assert!(resolve(&doc, &json!({"$ref": "other.yaml#/a"})).is_err());
    }
}

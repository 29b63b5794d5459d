//! Small helpers over an OpenAPI document held as raw JSON, shared by lint, drift and
//! probe. Raw JSON (not typed `openapiv3`) so every finding can carry a JSON pointer and
//! so upstream documents that the typed parser would reject can still be compared.

use serde_json::Value;

use crate::{Error, Result};

/// The HTTP methods an OpenAPI path item may hold, in the order the spec lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Parses YAML or JSON (YAML is a superset), naming `source` in the error.
pub fn parse(text: &str, source: &str) -> Result<Value> {
    let doc: Value = serde_norway::from_str(text)
        .map_err(|e| Error::new(format!("{source} is not valid YAML or JSON: {e}")))?;
    if !doc.is_object() {
        return Err(Error::new(format!("{source} is not an OpenAPI document")));
    }
    Ok(doc)
}

/// One operation of a document, with where it is.
#[derive(Debug, Clone)]
pub struct OperationRef<'a> {
    /// Upper case, as written in reports: `POST`.
    pub method: String,
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

/// Follows a chain of local `$ref`s to the node they name, returning it with its pointer
/// (`None` when `node` itself is not a reference). External refs are errors: neither
/// our spec nor upstream's uses them, and following them would mean fetching.
pub fn resolve<'a>(doc: &'a Value, node: &'a Value) -> Result<(&'a Value, Option<String>)> {
    let mut current = node;
    let mut pointer = None;
    // A bound instead of a visited set: a chain longer than this is a cycle.
    for _ in 0..32 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return Ok((current, pointer));
        };
        let target = reference
            .strip_prefix('#')
            .ok_or_else(|| Error::new(format!("`$ref: {reference}` is not a local reference")))?;
        current = doc
            .pointer(target)
            .ok_or_else(|| Error::new(format!("`$ref: {reference}` points at nothing")))?;
        pointer = Some(target.to_string());
    }
    Err(Error::new("a `$ref` chain loops".to_string()))
}

/// RFC 6901 escaping of one reference token.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

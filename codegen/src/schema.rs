//! Validation of JSON values against the schemas of an OpenAPI 3.0 document: the one
//! validator behind the xtask's lint (examples) and probe (live answers) and the tests
//! that check the emulator's answers. Feature `validate`, so the library's build script
//! never compiles a JSON Schema engine.
//!
//! OpenAPI 3.0 schemas are a dialect of JSON Schema draft 4 (boolean
//! `exclusiveMinimum`, `$ref` siblings ignored), plus `nullable`. So each schema is
//! converted (only `nullable` needs it) and validated as draft 4, inside a root document
//! that carries the document's converted `components`, which makes every
//! `#/components/...` reference resolve exactly as it does in the spec.

use serde_json::{Value, json};

use crate::openapi::OpenApiError;

/// The longest error text kept: a mismatch can quote a whole response body.
const MAX_MESSAGE: usize = 240;

/// The schemas of one document, ready to validate against.
#[derive(Debug, Clone)]
pub struct Schemas {
    components: Value,
}

impl Schemas {
    /// Prepares the `components` of `doc`; schemas elsewhere are converted per check.
    pub fn new(doc: &Value) -> Schemas {
        let mut components = doc.get("components").cloned().unwrap_or_else(|| json!({}));
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            schemas.values_mut().for_each(to_json_schema);
        }
        Schemas { components }
    }

    /// Every way `instance` breaks `schema` (a schema object of the same document), as
    /// `<instance pointer>: <problem>`; empty when it conforms. Errs when the schema
    /// itself cannot be compiled (e.g. a bad `pattern` or a dangling `$ref`).
    pub fn check(&self, schema: &Value, instance: &Value) -> Result<Vec<String>, OpenApiError> {
        let mut target = schema.clone();
        to_json_schema(&mut target);
        // `allOf` keeps the target's own `$ref` working: draft 4 would ignore every
        // sibling of a `$ref` at the root, `components` included.
        let root = json!({ "allOf": [target], "components": self.components });
        let validator = jsonschema::draft4::options()
            .build(&root)
            .map_err(|e| OpenApiError::new(format!("the schema cannot be compiled: {e}")))?;
        Ok(validator
            .iter_errors(instance)
            .map(|e| describe(&e))
            .collect())
    }
}

fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    let location = error.instance_path().to_string();
    let location = if location.is_empty() {
        "(root)"
    } else {
        &location
    };
    let mut text = format!("{location}: {error}");
    if text.len() > MAX_MESSAGE {
        let cut = (0..=MAX_MESSAGE)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Rewrites an OpenAPI 3.0 schema into draft 4 in place: `nullable: true` becomes a
/// `null` in `type` (and in `enum`). Walks only schema positions, so a property that
/// happens to be called `nullable` or `type` is left alone.
pub fn to_json_schema(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.remove("nullable") == Some(Value::Bool(true)) {
        if let Some(Value::String(ty)) = object.get("type").cloned() {
            object.insert("type".into(), json!([ty, "null"]));
        }
        if let Some(Value::Array(values)) = object.get_mut("enum") {
            values.push(Value::Null);
        }
    }
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        properties.values_mut().for_each(to_json_schema);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = object.get_mut(key) {
            to_json_schema(child);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = object.get_mut(key) {
            children.iter_mut().for_each(to_json_schema);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schemas() -> Schemas {
        Schemas::new(&json!({"components": {"schemas": {
            "Name": {"type": "string", "nullable": true},
            "User": {"type": "object", "required": ["name"], "properties": {"name": {"$ref": "#/components/schemas/Name"}}},
        }}}))
    }

    #[test]
    fn refs_resolve_and_nullable_admits_null_only_where_declared() {
        let user = json!({"$ref": "#/components/schemas/User"});
        assert!(
            schemas()
                .check(&user, &json!({"name": null}))
                .unwrap()
                .is_empty()
        );
        assert!(
            schemas()
                .check(&user, &json!({"name": "a"}))
                .unwrap()
                .is_empty()
        );
        let wrong = schemas().check(&user, &json!({"name": 3})).unwrap();
        assert!(wrong[0].starts_with("/name:"), "{wrong:?}");
        let missing = schemas().check(&user, &json!({})).unwrap();
        assert_eq!(missing.len(), 1, "{missing:?}");
        let plain = json!({"type": "string"});
        assert!(!schemas().check(&plain, &Value::Null).unwrap().is_empty());
    }

    #[test]
    fn a_dangling_ref_is_an_error_not_a_pass() {
        let dangling = json!({"$ref": "#/components/schemas/Nope"});
        assert!(schemas().check(&dangling, &json!({})).is_err());
    }
}

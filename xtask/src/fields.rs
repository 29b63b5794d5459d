//! The shape of an operation for drift: its request body and its success (200) response
//! body flattened into `field pointer → (type, required)`.
//!
//! Flattening through `$ref`s is what makes the comparison ignore schema names: our
//! `TokenResponse` and upstream's `v1Token` compare equal when their fields do.
//! Pointers start with `/request` or `/response`; array items are `*`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::openapi::{escape, resolve};
use crate::{Error, Result};

/// Deeper than any real body; a bound so a self-referencing schema cannot run away.
const MAX_DEPTH: usize = 24;

/// What drift compares about one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `string`, `integer`, `object`, `array`, `string|null`, `any`, …
    pub ty: String,
    /// Whether the parent object lists the field as required; `None` for the body
    /// itself and for array items, where required-ness does not apply.
    pub required: Option<bool>,
}

/// Field pointer → field, sorted so parents come right before their children.
pub type Shape = BTreeMap<String, Field>;

/// The flattened request and success-response bodies of operation `op` of `doc`.
pub fn shape(doc: &Value, op: &Value) -> Result<Shape> {
    let mut out = Shape::new();
    let mut walker = Walker {
        doc,
        out: &mut out,
        refs: Vec::new(),
    };
    if let Some(schema) = request_schema(doc, op)? {
        walker.walk(schema, "/request".into(), None, 0)?;
    }
    if let Some(schema) = response_schema(doc, op)? {
        walker.walk(schema, "/response".into(), None, 0)?;
    }
    Ok(out)
}

fn request_schema<'a>(doc: &'a Value, op: &'a Value) -> Result<Option<&'a Value>> {
    match op.get("requestBody") {
        Some(body) => Ok(body_schema(resolve(doc, body)?.0)),
        None => Ok(None),
    }
}

/// The schema of the success response: `200`, else the first other 2xx code or range.
fn response_schema<'a>(doc: &'a Value, op: &'a Value) -> Result<Option<&'a Value>> {
    let responses = op.get("responses").and_then(Value::as_object);
    let success = responses.and_then(|r| {
        r.get("200").or_else(|| {
            r.iter()
                .find(|(code, _)| code.starts_with('2'))
                .map(|(_, v)| v)
        })
    });
    match success {
        Some(response) => Ok(body_schema(resolve(doc, response)?.0)),
        None => Ok(None),
    }
}

/// The JSON schema of a body or response: `application/json`, else its first media type.
fn body_schema(node: &Value) -> Option<&Value> {
    let content = node.get("content")?.as_object()?;
    let media = content
        .get("application/json")
        .or_else(|| content.values().next())?;
    media.get("schema")
}

struct Walker<'a, 'o> {
    doc: &'a Value,
    out: &'o mut Shape,
    /// The `$ref` targets on the way down, to stop at a schema that contains itself.
    refs: Vec<String>,
}

impl<'a> Walker<'a, '_> {
    fn walk(
        &mut self,
        schema: &'a Value,
        pointer: String,
        required: Option<bool>,
        depth: usize,
    ) -> Result<()> {
        let merged = Merged::of(self.doc, schema, 0)?;
        self.out.insert(
            pointer.clone(),
            Field {
                ty: merged.type_name(),
                required,
            },
        );
        let recursive = merged.targets.iter().any(|t| self.refs.contains(t));
        if recursive || depth >= MAX_DEPTH {
            return Ok(());
        }
        let entered = merged.targets.len();
        self.refs.extend(merged.targets.iter().cloned());
        for (name, child) in &merged.properties {
            let child_pointer = format!("{pointer}/{}", escape(name));
            let child_required = Some(merged.required.contains(name.as_str()));
            self.walk(child, child_pointer, child_required, depth + 1)?;
        }
        if let Some(items) = merged.items {
            self.walk(items, format!("{pointer}/*"), None, depth + 1)?;
        }
        self.refs.truncate(self.refs.len() - entered);
        Ok(())
    }
}

/// A schema with `allOf` / `oneOf` / `anyOf` folded in: upstream generators wrap
/// references in `allOf`, and the fields are what matters, not the wrapping.
struct Merged<'a> {
    /// Every `$ref` target folded in, to recognise the schema when it recurs.
    targets: Vec<String>,
    types: BTreeSet<String>,
    nullable: bool,
    properties: BTreeMap<String, &'a Value>,
    required: BTreeSet<String>,
    items: Option<&'a Value>,
}

impl<'a> Merged<'a> {
    /// `schema` (a reference or not) with its compositions folded in.
    fn of(doc: &'a Value, schema: &'a Value, depth: usize) -> Result<Merged<'a>> {
        if depth >= MAX_DEPTH {
            return Err(Error::new("schemas nest `allOf`/`oneOf`/`anyOf` in a loop"));
        }
        let (schema, target) = resolve(doc, schema)?;
        let mut merged = Merged::own(schema);
        merged.targets.extend(target);
        for member in members(schema, "allOf") {
            let part = Merged::of(doc, member, depth + 1)?;
            merged.absorb(part, true);
        }
        for key in ["oneOf", "anyOf"] {
            let branches = members(schema, key)
                .map(|m| Merged::of(doc, m, depth + 1))
                .collect::<Result<Vec<_>>>()?;
            merged.absorb_alternatives(branches);
        }
        Ok(merged)
    }

    /// The keywords written on the schema itself.
    fn own(schema: &'a Value) -> Merged<'a> {
        let types = match schema.get("type") {
            Some(Value::String(t)) => BTreeSet::from([t.clone()]),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => BTreeSet::new(),
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        let required = schema.get("required").and_then(Value::as_array);
        Merged {
            targets: Vec::new(),
            types,
            nullable: schema.get("nullable") == Some(&Value::Bool(true)),
            properties: properties
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v))
                .collect(),
            required: required
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            items: schema.get("items"),
        }
    }

    /// `allOf`: every member applies, so required fields add up.
    fn absorb(&mut self, part: Merged<'a>, keep_required: bool) {
        self.targets.extend(part.targets);
        self.types.extend(part.types);
        self.nullable |= part.nullable;
        for (name, schema) in part.properties {
            self.properties.entry(name).or_insert(schema);
        }
        if keep_required {
            self.required.extend(part.required);
        }
        self.items = self.items.or(part.items);
    }

    /// `oneOf`/`anyOf`: a field is required only if every branch requires it.
    fn absorb_alternatives(&mut self, branches: Vec<Merged<'a>>) {
        let common = branches
            .iter()
            .map(|b| b.required.clone())
            .reduce(|a, b| a.intersection(&b).cloned().collect());
        for branch in branches {
            self.absorb(branch, false);
        }
        self.required.extend(common.unwrap_or_default());
    }

    fn type_name(&self) -> String {
        let mut names: Vec<&str> = self.types.iter().map(String::as_str).collect();
        if names.is_empty() {
            names.push(if !self.properties.is_empty() {
                "object"
            } else if self.items.is_some() {
                "array"
            } else {
                "any"
            });
        }
        if self.nullable && !names.contains(&"null") {
            names.push("null");
        }
        names.join("|")
    }
}

fn members<'a>(schema: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    schema
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

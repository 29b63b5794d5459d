//! `cargo xtask lint`: everything about the spec that is wrong before any code runs.
//!
//! - what progenitor 0.15.1 cannot generate, including a non-3.0.x version, duplicate
//!   operation ids and a missing `security` (the codegen crate's own check, so the lint
//!   and build.rs can never disagree);
//! - security requirements naming undeclared schemes;
//! - every example (media type, parameter and schema `example`, and `examples` values)
//!   that does not validate against its schema.
//!
//! Each finding carries the JSON pointer of the offending node.

use cloudbase_auth_codegen::{Finding, Spec, lint_progenitor_support};
use serde_json::Value;

use crate::openapi::{self, escape};
use crate::schema::Schemas;
use crate::{Error, Result};

/// Every finding for the spec text, grouped by check.
pub fn lint(spec_text: &str) -> Result<Vec<Finding>> {
    let spec = Spec::parse(spec_text).map_err(|e| Error::new(e.to_string()))?;
    let mut findings = lint_progenitor_support(&spec.raw);
    findings.extend(undeclared_schemes(&spec.raw));
    findings.extend(bad_examples(&spec.raw));
    Ok(findings)
}

fn finding(pointer: String, message: String) -> Finding {
    Finding { pointer, message }
}

/// Requirements naming a scheme that `components.securitySchemes` lacks: progenitor
/// ignores `security`, so nothing else would notice a typo.
fn undeclared_schemes(doc: &Value) -> Vec<Finding> {
    let declared = doc.pointer("/components/securitySchemes");
    let mut sites = vec![("/security".to_string(), doc.get("security"))];
    for op in openapi::operations(doc) {
        sites.push((format!("{}/security", op.pointer), op.op.get("security")));
    }
    let mut out = Vec::new();
    for (pointer, requirements) in sites {
        let requirements = requirements.and_then(Value::as_array);
        for (i, requirement) in requirements.into_iter().flatten().enumerate() {
            let names = requirement.as_object().into_iter().flat_map(|o| o.keys());
            for name in names.filter(|n| declared.and_then(|d| d.get(n)).is_none()) {
                out.push(finding(
                    format!("{pointer}/{i}"),
                    format!(
                        "security scheme `{name}` is not declared in components.securitySchemes"
                    ),
                ));
            }
        }
    }
    out
}

/// An example and the schema it must satisfy.
struct Site<'a> {
    pointer: String,
    example: &'a Value,
    schema: &'a Value,
}

fn bad_examples(doc: &Value) -> Vec<Finding> {
    let mut sites = Vec::new();
    collect_sites(doc, &mut sites);
    let schemas = Schemas::new(doc);
    let mut out = Vec::new();
    for site in sites {
        match schemas.check(site.schema, site.example) {
            Ok(problems) => out.extend(problems.into_iter().map(|p| {
                finding(
                    site.pointer.clone(),
                    format!("example does not match its schema: {p}"),
                )
            })),
            Err(e) => out.push(finding(site.pointer, e.to_string())),
        }
    }
    out
}

/// Walks every place an example can sit. Nodes reached through a `$ref` are skipped
/// here and checked once, where they are defined (under `components`).
fn collect_sites<'a>(doc: &'a Value, out: &mut Vec<Site<'a>>) {
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        parameters(item, &format!("/paths/{}", escape(path)), out);
    }
    for op in openapi::operations(doc) {
        parameters(op.op, &op.pointer, out);
        if let Some(body) = op.op.get("requestBody") {
            content(body, &format!("{}/requestBody", op.pointer), out);
        }
        let responses = op.op.get("responses").and_then(Value::as_object);
        for (code, response) in responses.into_iter().flatten() {
            let pointer = format!("{}/responses/{}", op.pointer, escape(code));
            content(response, &pointer, out);
        }
    }
    for (section, walk) in COMPONENTS {
        let entries = doc
            .pointer(&format!("/components/{section}"))
            .and_then(Value::as_object);
        for (name, node) in entries.into_iter().flatten() {
            walk(
                node,
                &format!("/components/{section}/{}", escape(name)),
                out,
            );
        }
    }
}

type Walk = for<'a> fn(&'a Value, &str, &mut Vec<Site<'a>>);

const COMPONENTS: [(&str, Walk); 4] = [
    ("schemas", schema_examples),
    ("parameters", parameter),
    ("requestBodies", content),
    ("responses", content),
];

/// The `parameters` list of an operation or path item.
fn parameters<'a>(holder: &'a Value, pointer: &str, out: &mut Vec<Site<'a>>) {
    let list = holder.get("parameters").and_then(Value::as_array);
    for (i, param) in list.into_iter().flatten().enumerate() {
        parameter(param, &format!("{pointer}/parameters/{i}"), out);
    }
}

/// A parameter: schema + example, or a `content` map like a body's.
fn parameter<'a>(param: &'a Value, pointer: &str, out: &mut Vec<Site<'a>>) {
    if param.get("$ref").is_some() {
        return;
    }
    media_type(param, pointer, out);
    content(param, pointer, out);
}

/// The media types under `<node>/content` (request bodies, responses, parameters).
fn content<'a>(node: &'a Value, pointer: &str, out: &mut Vec<Site<'a>>) {
    if node.get("$ref").is_some() {
        return;
    }
    let media = node.get("content").and_then(Value::as_object);
    for (name, mt) in media.into_iter().flatten() {
        media_type(mt, &format!("{pointer}/content/{}", escape(name)), out);
    }
}

/// A node with `schema` and `example`/`examples` (media type object or parameter).
fn media_type<'a>(node: &'a Value, pointer: &str, out: &mut Vec<Site<'a>>) {
    let Some(schema) = node.get("schema") else {
        return;
    };
    schema_examples(schema, &format!("{pointer}/schema"), out);
    if let Some(example) = node.get("example") {
        out.push(Site {
            pointer: format!("{pointer}/example"),
            example,
            schema,
        });
    }
    let named = node.get("examples").and_then(Value::as_object);
    for (name, entry) in named.into_iter().flatten() {
        if let Some(example) = entry.get("value") {
            out.push(Site {
                pointer: format!("{pointer}/examples/{}/value", escape(name)),
                example,
                schema,
            });
        }
    }
}

/// `example`s inside a schema and its inline subschemas.
fn schema_examples<'a>(schema: &'a Value, pointer: &str, out: &mut Vec<Site<'a>>) {
    if schema.get("$ref").is_some() {
        return;
    }
    if let Some(example) = schema.get("example") {
        out.push(Site {
            pointer: format!("{pointer}/example"),
            example,
            schema,
        });
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    for (name, child) in properties.into_iter().flatten() {
        schema_examples(
            child,
            &format!("{pointer}/properties/{}", escape(name)),
            out,
        );
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = schema.get(key).filter(|c| c.is_object()) {
            schema_examples(child, &format!("{pointer}/{key}"), out);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        let children = schema.get(key).and_then(Value::as_array);
        for (i, child) in children.into_iter().flatten().enumerate() {
            schema_examples(child, &format!("{pointer}/{key}/{i}"), out);
        }
    }
}

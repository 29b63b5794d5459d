//! progenitor 0.15.1 adds `api-version: <info.version>` to every request it generates and
//! has no setting to leave it out; CloudBase defines no such header. It is taken out of
//! the generated code here, once, so no request carries it and no hook has to remove it
//! on every call.

use quote::ToTokens;
use syn::visit_mut::{self, VisitMut};

/// Removes every `header_map.append("api-version", …)` progenitor wrote and shrinks the
/// `HeaderMap::with_capacity(n)` before it to match.
pub(crate) fn remove_api_version(file: &mut syn::File) {
    Remover.visit_file_mut(file);
}

struct Remover;

impl VisitMut for Remover {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        let before = block.stmts.len();
        block.stmts.retain(|stmt| !is_api_version_append(stmt));
        let removed = before - block.stmts.len();
        if removed > 0 {
            block
                .stmts
                .iter_mut()
                .for_each(|stmt| shrink_header_map(stmt, removed));
        }
        visit_mut::visit_block_mut(self, block);
    }
}

/// `header_map.append(HeaderName::from_static("api-version"), …);`
fn is_api_version_append(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), _) = stmt else {
        return false;
    };
    call.method == "append"
        && call.receiver.to_token_stream().to_string() == "header_map"
        && call.args.first().is_some_and(|name| {
            name.to_token_stream()
                .to_string()
                .contains("\"api-version\"")
        })
}

/// `let mut header_map = HeaderMap::with_capacity(Nusize);` → `N - removed`, so a call
/// with no other header allocates nothing.
fn shrink_header_map(stmt: &mut syn::Stmt, removed: usize) {
    let syn::Stmt::Local(local) = stmt else {
        return;
    };
    if local.pat.to_token_stream().to_string() != "mut header_map" {
        return;
    }
    let Some(syn::Expr::Call(call)) = local.init.as_mut().map(|init| &mut *init.expr) else {
        return;
    };
    let Some(syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Int(capacity),
        ..
    })) = call.args.first_mut()
    else {
        return;
    };
    if let Ok(n) = capacity.base10_parse::<usize>() {
        *capacity = syn::LitInt::new(
            &format!("{}usize", n.saturating_sub(removed)),
            capacity.span(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(source: &str) -> String {
        let mut file: syn::File = syn::parse_str(source).unwrap();
        remove_api_version(&mut file);
        file.to_token_stream().to_string()
    }

    #[test]
    fn the_api_version_header_goes_and_the_map_shrinks_to_the_headers_left() {
        let source = r#"
            async fn send(client: &Client, token: &str) {
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
                header_map.append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(Client::api_version()),
                );
                header_map.append("x-other", token.to_string().try_into()?);
            }
        "#;
        let out = cleaned(source);
        assert!(!out.contains("api-version"), "{out}");
        assert!(out.contains("with_capacity (1usize)"), "{out}");
        assert!(out.contains("\"x-other\""), "{out}");
    }

    #[test]
    fn other_appends_and_maps_are_left_alone() {
        let source = r#"
            fn f(map: &mut HeaderMap) {
                let mut header_map = HeaderMap::with_capacity(3usize);
                header_map.append("x-a", v());
                map.append(HeaderName::from_static("api-version"), v());
            }
        "#;
        let out = cleaned(source);
        assert!(out.contains("with_capacity (3usize)"), "{out}");
        assert!(
            out.contains("api-version"),
            "not progenitor's map: kept. {out}"
        );
    }
}

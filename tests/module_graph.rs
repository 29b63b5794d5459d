//! The modules of `src/` import each other without cycles (issue #13: the core once was an
//! eight-file cycle, and later merges brought cycles back unnoticed).
//!
//! A module is a file. It depends on another when its code names a path into it: a
//! `crate::…` or `super::…` path (comments and the `#[cfg(test)] mod tests` at the end of a
//! file left out), or a `pub use child::…` re-export in a `mod.rs` or `lib.rs`. A path is
//! resolved to the deepest module file it names, so importing through a parent's re-export
//! counts as depending on the parent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn src_has_no_import_cycle() {
    let cycles = cycles(&graph());
    assert!(
        cycles.is_empty(),
        "import cycles in src/: {cycles:?}. Import the item from the module that defines it \
         (not through a parent's re-export), or move what both sides need into a module of \
         its own."
    );
}

#[test]
fn the_graph_sees_the_core_edges() {
    // Guards the test above against passing because it sees nothing.
    let graph = graph();
    let deps = |m: &str| graph.get(m).cloned().unwrap_or_default();
    assert!(deps("hooks").contains("transport"), "{:?}", deps("hooks"));
    assert!(deps("hooks").contains("session"), "{:?}", deps("hooks"));
    assert!(
        deps("session").contains("transport"),
        "{:?}",
        deps("session")
    );
    assert!(deps("verifier::online").contains("verifier::answer"));
    assert!(deps("server").contains("server::service_session"));
}

#[test]
fn a_cycle_is_found() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    graph.entry("d".into()).or_default().insert("a".into());
    assert_eq!(
        cycles(&graph),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
}

/// Every module of `src/` with the modules it depends on.
fn graph() -> Graph {
    let modules = modules();
    let mut graph = Graph::new();
    for (module, source) in &modules {
        let code = code_of(&source.text);
        let mut targets: Vec<String> = paths_after(&code, "crate::");
        let parent = parent_of(module);
        targets.extend(
            paths_after(&code, "super::")
                .into_iter()
                .map(|p| join(&parent, &p)),
        );
        if source.is_parent {
            targets.extend(reexported_children(&code).map(|child| join(module, &child)));
        }
        let deps = graph.entry(module.clone()).or_default();
        for target in targets {
            if let Some(dep) = resolve(&modules, &target)
                && dep != *module
                && !dep.is_empty()
            {
                deps.insert(dep);
            }
        }
    }
    graph
}

struct Source {
    text: String,
    /// A `mod.rs` or `lib.rs`, whose `pub use child::…` re-exports are edges.
    is_parent: bool,
}

/// Module path (`session::cache`; `""` for the crate root) → its source.
fn modules() -> BTreeMap<String, Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&root).expect("under src/");
            let mut parts: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let is_parent = matches!(parts.last().map(String::as_str), Some("mod" | "lib"));
            if is_parent {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            out.insert(parts.join("::"), Source { text, is_parent });
        }
    }
    out
}

/// The code of a file without its comments and its trailing unit tests.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths that follow each `prefix`, with a following `{a, b::c}` group expanded.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let is_path = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let preceded_by_path = code[..at].chars().next_back().is_some_and(is_path);
        if preceded_by_path {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        let end = rest.find(|c: char| !is_path(c)).unwrap_or(rest.len());
        let path = rest[..end].trim_end_matches(':');
        if rest[end..].starts_with('{') && rest[..end].ends_with("::") {
            let group = &rest[end + 1..rest[end..].find('}').map_or(rest.len(), |i| end + i)];
            for item in group.split(',') {
                let item = item.split_whitespace().next().unwrap_or("");
                if !item.is_empty() && item != "self" {
                    out.push(format!("{path}::{item}"));
                }
            }
        }
        out.push(path.to_string());
    }
    out
}

/// `pub use child::…` and `pub(crate) use child::…` in a parent module.
fn reexported_children(code: &str) -> impl Iterator<Item = String> + '_ {
    code.lines().filter_map(|line| {
        let line = line.trim_start();
        let rest = line
            .strip_prefix("pub use ")
            .or_else(|| line.strip_prefix("pub(crate) use "))?;
        let child = rest.split("::").next()?;
        (child != "crate" && child != "super" && child != "std").then(|| child.to_string())
    })
}

/// What `super` means in `module`: the module one level up (the crate root for a
/// top-level module, whether a file or a directory's `mod.rs`).
fn parent_of(module: &str) -> String {
    let mut parts: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
    parts.pop();
    parts.join("::")
}

fn join(base: &str, path: &str) -> String {
    if base.is_empty() {
        path.to_string()
    } else {
        format!("{base}::{path}")
    }
}

/// The deepest module a path names, if it names one.
fn resolve(modules: &BTreeMap<String, Source>, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|candidate| modules.contains_key(candidate))
}

/// The strongly connected components of more than one module (Tarjan), each sorted.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.stack.contains(&next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    component.push(top.to_string());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

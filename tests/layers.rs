//! The layer rule of ARCHITECTURE.md inside the engine crate
//! (crates/runlog), checked on the source: a module imports only modules of
//! its own layer or below, and the modules form no cycle. Fails naming the
//! file and the import that breaks the rule. Above the engine, the crates
//! keep the rule: the server (crates/server) and the command line (src/)
//! reach the engine only through its public API.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The library's top-level modules by layer, lowest first (ARCHITECTURE.md).
const LAYERS: &[&[&str]] = &[
    &[
        "error",
        "fs_util",
        "held_lock",
        "layout",
        "calendar",
        "clock",
    ],
    &["format", "curves"],
    &["log"],
    &["options", "foreground", "writer", "replay"],
    &["compact", "index", "verify"],
    &["store", "engine", "read_view"],
    &["identity", "validation", "context", "uri", "tracking"],
    &[
        "api",
        "remote",
        "import",
        "connect",
        "fluent",
        "system_metrics",
    ],
];

/// Inside `tracking`, the filter language reads the entities and nothing
/// else of the layer: (directory, tracking submodules it may import).
const TRACKING_FILTER: (&str, &[&str]) = ("src/tracking/filter", &["filter", "model"]);

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line comments, doc comments
/// included; block comments are not used in this crate).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| {
            // Cut at the first `//` outside a string (`"http://..."` stays).
            let bytes = line.as_bytes();
            let mut in_string = false;
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if in_string => i += 1,
                    b'"' => in_string = !in_string,
                    b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
                    _ => {}
                }
                i += 1;
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path a file reaches through `crate::`, as its segments: `use
/// crate::{a::b, c}` gives `[a, b]` and `[c]`; an inline `crate::x::f()`
/// gives `[x, f]`.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        // `$crate::` in macros is the same crate: fine to read too.
        expand(tail, Vec::new(), &mut paths);
        rest = tail;
    }
    paths
}

/// Reads one path (or a `{...}` group of them) at the start of `text`.
fn expand(text: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&group[start..i], prefix.clone(), out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&group[start..i], prefix.clone(), out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        if !prefix.is_empty() {
            out.push(prefix);
        }
        return;
    }
    let mut path = prefix;
    path.push(ident.clone());
    match text[ident.len()..].strip_prefix("::") {
        Some(more) => expand(more, path, out),
        None => out.push(path),
    }
}

/// (file, its top-level module, the paths it imports) for every library file.
fn imports() -> Vec<(PathBuf, String, Vec<Vec<String>>)> {
    let root = &Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/runlog");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(root).expect("under the crate").to_owned();
            let first = rel.components().nth(1)?.as_os_str().to_str()?.to_owned();
            let module = first.trim_end_matches(".rs").to_owned();
            if module == "lib" {
                return None; // the crate root re-exports every layer
            }
            let text = fs::read_to_string(&path).expect("read source");
            Some((rel, module, crate_paths(&code(&text))))
        })
        .collect()
}

#[test]
fn paths_are_read_from_use_groups_and_inline_calls() {
    let paths = crate_paths("use crate::{a::{b, c::D}, e};\nlet x = crate::f::g();");
    let got: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(got, ["a::b", "a::c::D", "e", "f::g"]);
    assert_eq!(
        code("let s = \"http://x\"; // note"),
        "let s = \"http://x\"; "
    );
}

#[test]
fn every_module_has_a_layer() {
    let mut missing = BTreeSet::new();
    for (_, module, _) in imports() {
        if layer_of(&module).is_none() {
            missing.insert(module);
        }
    }
    assert!(
        missing.is_empty(),
        "add these modules to LAYERS (and ARCHITECTURE.md): {missing:?}"
    );
}

#[test]
fn layers_import_only_downward() {
    let mut edges = 0;
    let mut broken = Vec::new();
    for (file, module, paths) in imports() {
        let Some(own) = layer_of(&module) else {
            continue;
        };
        for path in paths {
            let target = &path[0];
            if *target == module {
                continue;
            }
            edges += 1;
            if let Some(layer) = layer_of(target) {
                if layer > own {
                    broken.push(format!(
                        "{}: {module} (layer {own}) imports crate::{} (layer {layer})",
                        file.display(),
                        path.join("::")
                    ));
                }
            }
        }
    }
    // The scan must have read the imports it checks.
    assert!(edges > 100, "only {edges} cross-module imports found");
    assert!(broken.is_empty(), "upward imports:\n{}", broken.join("\n"));
}

#[test]
fn modules_form_no_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, module, paths) in imports() {
        let targets = graph.entry(module.clone()).or_default();
        for path in paths {
            if path[0] != module && layer_of(&path[0]).is_some() {
                targets.insert(path[0].clone());
            }
        }
    }
    // Depth-first search; a module met again on the current path is a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        let cycle = visit(node, &graph, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap_or_default().join(" -> ")
        );
    }
}

#[test]
fn the_filter_language_imports_only_the_entities() {
    let (dir, allowed) = TRACKING_FILTER;
    let mut checked = 0;
    for (file, _, paths) in imports() {
        if !file.starts_with(dir) {
            continue;
        }
        checked += 1;
        for path in paths {
            if path[0] == "tracking" {
                let sub = path.get(1).map(String::as_str).unwrap_or("");
                assert!(
                    allowed.contains(&sub),
                    "{}: the filter language imports crate::{}",
                    file.display(),
                    path.join("::")
                );
            }
        }
    }
    assert!(checked >= 3, "no filter files found under {dir}");
}

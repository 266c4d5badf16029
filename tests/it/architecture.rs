//! The layers written at the top of `src/lib.rs` hold: every `crate::` and
//! `super::` path in `src/` points to the module's own layer or below, and
//! no files or top-level modules import each other in a circle. Code under
//! `#[cfg(test)] mod tests` may import anything and is not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path inside the crate: `["web", "api", "posts"]`; `[]` is lib.rs.
type ModPath = Vec<String>;

/// The crate's source: module path → (file name for messages, text).
type Tree = BTreeMap<ModPath, (String, String)>;

/// Layers from the top: the modules of each, as `src/lib.rs` lists them.
fn layers(lib: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.trim();
        let numbered = doc
            .split_once(". ")
            .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if let Some((_, rest)) = numbered
            && let Some((name, modules)) = rest.split_once(':')
        {
            if let Some(layer) = current.take() {
                out.push(layer);
            }
            // The modules are the backticked names before the dash.
            let modules = modules.split(" — ").next().unwrap_or_default();
            let names = modules
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            current = Some((name.trim().to_string(), names));
        } else if (doc.is_empty() || !line.starts_with("//!    "))
            && let Some(layer) = current.take()
        {
            out.push(layer);
        }
    }
    out.extend(current);
    out
}

fn read_tree(src: &Path) -> Tree {
    let mut tree = Tree::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src/");
            let mut segs: ModPath = rel
                .with_extension("")
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if segs.last().is_some_and(|s| s == "mod") {
                segs.pop();
            }
            if segs == ["main"] {
                // The binary: it uses the library as `fedblog::`, from outside.
                continue;
            }
            if segs == ["lib"] {
                segs.clear();
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            tree.insert(segs, (format!("src/{}", rel.display()), text));
        }
    }
    tree
}

/// The text without comments and without the unit tests at the end.
fn code_of(text: &str) -> String {
    let mut code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(i) = code.find("#[cfg(test)]\nmod tests") {
        code.truncate(i);
    }
    code
}

/// Every path of a `use` tree: `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or_default().trim();
        return vec![path.trim_end_matches("::self").to_string()];
    };
    let prefix = tree[..open].trim();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            expand(p).into_iter().map(|rest| {
                if rest == "self" {
                    prefix.trim_end_matches("::").to_string()
                } else {
                    format!("{prefix}{rest}")
                }
            })
        })
        .collect()
}

/// The `crate::`/`super::` paths a file uses, as written: each path of its
/// `use` declarations, and paths written inline in the code.
fn paths_in(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let declaration = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p));
        if let Some(rest) = declaration
            && (rest.starts_with("crate::") || rest.starts_with("super::"))
        {
            let at = offset + (line.len() - rest.len());
            let end = code[at..].find(';').map_or(code.len(), |e| at + e);
            out.extend(expand(&code[at..end]));
        }
        offset += line.len();
    }
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            let before = at.checked_sub(1).map(|b| bytes[b]);
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| at + e);
            if code[end..].starts_with('{') {
                // The prefix of a `use` group, read whole above.
                continue;
            }
            out.push(code[at..end].trim_end_matches(':').to_string());
        }
    }
    out
}

/// The deepest module with a file that `path`, written in `module`, names.
fn resolve(tree: &Tree, module: &ModPath, path: &str) -> Option<ModPath> {
    let mut segs = path.split("::").filter(|s| !s.is_empty()).peekable();
    let mut full: ModPath = match segs.peek() {
        Some(&"crate") => {
            segs.next();
            Vec::new()
        }
        Some(&"super") => {
            let mut here = module.clone();
            while segs.next_if_eq(&"super").is_some() {
                here.pop();
            }
            here
        }
        _ => return None,
    };
    full.extend(segs.map(str::to_string));
    (0..=full.len())
        .rev()
        .map(|k| full[..k].to_vec())
        .find(|m| tree.contains_key(m))
}

/// Imports between files: (importer, imported) → the paths as written.
fn imports(tree: &Tree) -> BTreeMap<(ModPath, ModPath), Vec<String>> {
    let mut edges: BTreeMap<(ModPath, ModPath), Vec<String>> = BTreeMap::new();
    for (module, (_, text)) in tree {
        for path in paths_in(&code_of(text)) {
            let Some(target) = resolve(tree, module, &path) else {
                continue;
            };
            if &target != module && !target.is_empty() {
                edges
                    .entry((module.clone(), target))
                    .or_default()
                    .push(path);
            }
        }
    }
    edges
}

/// Strongly connected components with more than one member.
fn circles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    let nodes: BTreeSet<N> = edges
        .iter()
        .flat_map(|(a, bs)| std::iter::once(a.clone()).chain(bs.iter().cloned()))
        .collect();
    let reach = |from: &N| -> BTreeSet<N> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for next in edges.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<N, BTreeSet<N>> = nodes.iter().map(|n| (n.clone(), reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(n) {
            continue;
        }
        let component: Vec<N> = nodes
            .iter()
            .filter(|m| *m == n || (reachable[n].contains(m) && reachable[*m].contains(n)))
            .cloned()
            .collect();
        done.extend(component.iter().cloned());
        if component.len() > 1 {
            out.push(component);
        }
    }
    out
}

/// Everything wrong with `tree` against `layers`, one line each.
fn violations(tree: &Tree, layers: &[(String, Vec<String>)]) -> Vec<String> {
    let mut problems = Vec::new();
    let layer_of: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, (_, modules))| modules.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let top_level: BTreeSet<&str> = tree
        .keys()
        .filter_map(|m| m.first().map(String::as_str))
        .collect();
    for m in &top_level {
        if !layer_of.contains_key(m) {
            problems.push(format!(
                "src/{m}: a top-level module in no layer; add it to the list in src/lib.rs"
            ));
        }
    }
    for m in layer_of.keys() {
        if !top_level.contains(m) {
            problems.push(format!("src/lib.rs lists `{m}`, which is not in src/"));
        }
    }
    let edges = imports(tree);
    let name = |m: &ModPath| tree.get(m).map_or_else(|| m.join("::"), |(f, _)| f.clone());
    let mut files: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ((from, to), paths) in &edges {
        files.entry(from.clone()).or_default().insert(to.clone());
        let (Some(a), Some(b)) = (from.first(), to.first()) else {
            continue;
        };
        if a == b {
            continue;
        }
        modules.entry(a.clone()).or_default().insert(b.clone());
        if let (Some(&la), Some(&lb)) = (layer_of.get(a.as_str()), layer_of.get(b.as_str()))
            && lb < la
        {
            problems.push(format!(
                "{} ({} layer) imports {} from the {} layer above it",
                name(from),
                layers[la].0,
                paths[0],
                layers[lb].0,
            ));
        }
    }
    for circle in circles(&files) {
        let names: Vec<String> = circle.iter().map(name).collect();
        problems.push(format!("files in a circle: {}", names.join(" <-> ")));
    }
    for circle in circles(&modules) {
        problems.push(format!("modules in a circle: {}", circle.join(" <-> ")));
    }
    problems
}

#[test]
fn imports_point_down_the_layers_and_never_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let layers = layers(&lib);
    assert!(
        layers.len() >= 5 && layers.iter().all(|(_, m)| !m.is_empty()),
        "src/lib.rs should list the layers as `N. name: `module`, ...`: {layers:?}"
    );
    let tree = read_tree(&src);
    assert!(tree.len() > 50, "read {} files of src/", tree.len());
    let problems = violations(&tree, &layers);
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_check_finds_an_upward_import_and_a_circle() {
    let layers = layers(
        "//! 1. top: `web` — pages\n//! 2. bottom: `models`, `render` — rows,\n//!    and more\n",
    );
    assert_eq!(
        layers,
        vec![
            ("top".to_string(), vec!["web".to_string()]),
            (
                "bottom".to_string(),
                vec!["models".to_string(), "render".to_string()]
            ),
        ]
    );
    let file = |path: &[&str], name: &str, text: &str| {
        (
            path.iter().map(|s| s.to_string()).collect::<ModPath>(),
            (name.to_string(), text.to_string()),
        )
    };
    let tree: Tree = [
        file(&[], "src/lib.rs", "pub mod web;\npub mod models;\npub mod render;"),
        file(&["web"], "src/web/mod.rs", "pub mod pages;\nuse crate::models::Post;"),
        file(
            &["web", "pages"],
            "src/web/pages.rs",
            "use super::{a, b::{c}};\nfn f() { crate::render::go(); }",
        ),
        file(&["models"], "src/models.rs", "use crate::render::{self, x};"),
        file(
            &["render"],
            "src/render.rs",
            "// crate::web::ignored\nfn g() { crate::models::h(); }\n#[cfg(test)]\nmod tests {\n    use crate::web::fine;\n}",
        ),
    ]
    .into_iter()
    .collect();
    let edges = imports(&tree);
    let pairs: BTreeSet<(String, String)> = edges
        .keys()
        .map(|(a, b)| (a.join("::"), b.join("::")))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("web", "models"),
        ("web::pages", "web"),
        ("web::pages", "render"),
        ("models", "render"),
        ("render", "models"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(pairs, expected);
    let problems = violations(&tree, &layers);
    assert!(
        problems
            .iter()
            .any(|p| p == "files in a circle: src/models.rs <-> src/render.rs"),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p == "modules in a circle: models <-> render"),
        "{problems:?}"
    );
    // Same layer, so no layer complaint; an upward import is one:
    let mut upward = tree.clone();
    upward.insert(
        vec!["models".to_string()],
        (
            "src/models.rs".to_string(),
            "use crate::web::Page;".to_string(),
        ),
    );
    let problems = violations(&upward, &layers);
    assert!(
        problems.iter().any(|p| p
            == "src/models.rs (bottom layer) imports crate::web::Page from the top layer above it"),
        "{problems:?}"
    );
}

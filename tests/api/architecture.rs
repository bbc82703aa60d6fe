//! The shape of the code, checked: no module imports one that imports it back.
//!
//! Read from the source as text (`crate::` and `super::` paths), because the tool that reads it
//! as Rust (`cargo modules dependencies --acyclic`) builds rust-analyzer, minutes of CI for one
//! check. A child may use its parent's items (that is how Rust modules are built); any other
//! circle fails here, with the files that form it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every `.rs` file under `dir`, as (module path, source without its test modules).
fn modules(dir: &Path, root: &Path, found: &mut BTreeMap<Module, String>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            modules(&path, root, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let text = match text.find("#[cfg(test)]") {
                Some(start) => text[..start].to_string(),
                None => text,
            };
            found.insert(module_of(&path, root), text);
        }
    }
}

fn module_of(path: &Path, root: &Path) -> Module {
    let relative: PathBuf = path
        .strip_prefix(root)
        .expect("under src/")
        .with_extension("");
    let mut parts: Module = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The modules that `module`'s source names, resolved to the files that exist.
fn imports(module: &Module, text: &str, all: &BTreeMap<Module, String>) -> BTreeSet<Module> {
    let mut paths: Vec<Module> = Vec::new();
    let words = |s: &str| -> Module {
        s.split("::")
            .map(|w| w.trim().to_string())
            .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .collect()
    };
    for (index, _) in text.match_indices("crate::") {
        let rest = &text[index + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            paths.extend(group[..end].split(',').map(words));
        } else {
            paths.push(words(rest));
        }
    }
    for (index, _) in text.match_indices("super::") {
        let mut path: Module = module[..module.len().saturating_sub(1)].to_vec();
        path.extend(words(&text[index + 7..]));
        paths.push(path);
    }
    paths
        .into_iter()
        .filter_map(|path| {
            (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|prefix| all.contains_key(prefix))
        })
        // Using one's own ancestors (a parent module's items) is not a circle.
        .filter(|target| target != module && !module.starts_with(target))
        .collect()
}

/// A circle through `start`, if there is one.
fn circle_from(start: &Module, graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    let mut stack = vec![(start.clone(), vec![start.clone()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    // Arrange
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = BTreeMap::new();
    modules(&root, &root, &mut all);

    // Act
    let graph: BTreeMap<Module, BTreeSet<Module>> = all
        .iter()
        .map(|(module, text)| (module.clone(), imports(module, text, &all)))
        .collect();
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|module| circle_from(module, &graph))
        .map(|circle| {
            circle
                .iter()
                .map(|module| module.join("::"))
                .collect::<Vec<_>>()
                .join(" → ")
        })
        .collect();

    // Assert
    assert!(all.len() > 30, "the source was read: {} modules", all.len());
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

/// Every `.rs` file under `dir`, with its text.
fn rust_files(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            found.push((path, text));
        }
    }
}

#[test]
fn no_test_is_ignored() {
    // Arrange: a test that never runs proves nothing.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "examples"] {
        rust_files(&root.join(dir), &mut files);
    }
    let attribute = concat!("#[", "ignore");

    // Act
    let ignored: Vec<String> = files
        .iter()
        .filter(|(_, text)| text.contains(attribute))
        .map(|(path, _)| path.display().to_string())
        .collect();

    // Assert
    assert!(files.len() > 50, "the sources were read");
    assert!(ignored.is_empty(), "ignored tests in: {ignored:?}");
}

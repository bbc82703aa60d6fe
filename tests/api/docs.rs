//! The README and the chapters in `docs/` stay true: every file they name exists, and every
//! function, type or constant named beside a file (`src/web/csrf.rs` `is_exempt`) is in it.
//!
//! The names are read from the Markdown's code spans, outside fenced code blocks. A span is a
//! file of this project when it starts with one of the project's folders (or, written the short
//! way, with a folder of `src/` or `templates/`) or ends in `.rs`; runtime paths (`logs/…`,
//! `/etc/…`, `LOG_DIR/…`) and placeholders (`<date>`) are not checked.

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Folders and files at the project's root that the docs may name.
const ROOTS: [&str; 14] = [
    "src",
    "tests",
    "templates",
    "static",
    "migrations",
    "deploy",
    "scripts",
    "examples",
    "docs",
    ".ci",
    ".cargo",
    "Cargo.toml",
    "LICENSE",
    ".env.example",
];

/// The code spans of `markdown`, outside fenced blocks, each with the text before it on its line
/// (`None` for the first span of a line: a name there never belongs to a file on the line above).
fn code_spans(markdown: &str) -> Vec<(Option<String>, String)> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let parts: Vec<&str> = line.split('`').collect();
        for index in (1..parts.len()).step_by(2) {
            if index + 1 < parts.len() {
                let before = (index > 1).then(|| parts[index - 1].to_string());
                spans.push((before, parts[index].to_string()));
            }
        }
    }
    spans
}

/// Where a span names a file or folder of this project, every place it could be.
fn candidates(span: &str) -> Option<Vec<PathBuf>> {
    let plain = !span.is_empty()
        && span
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'));
    if !plain || span.starts_with('/') || span.starts_with("..") {
        return None;
    }
    let first = span.split('/').next().unwrap_or("");
    let short = |folder: &str| Path::new(ROOT).join(folder).join(first).is_dir();
    let is_file_name = span.ends_with(".rs") || (span.contains('/') || span.contains('.'));
    let known =
        ROOTS.contains(&first) || span.ends_with(".rs") || short("src") || short("templates");
    if !(known && is_file_name) || first == span && !span.contains('.') {
        return None;
    }
    Some(
        ["", "src", "templates"]
            .iter()
            .map(|base| Path::new(ROOT).join(base).join(span.trim_end_matches('/')))
            .collect(),
    )
}

/// The name a span gives beside a file: its last `::` part, without arguments.
fn item_name(span: &str) -> Option<&str> {
    let name = span.split('(').next()?.rsplit("::").next()?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then_some(name)
}

/// What is wrong with the names in `markdown`.
fn problems_in(markdown: &str) -> Vec<String> {
    let spans = code_spans(markdown);
    let mut problems = Vec::new();
    let mut current: Option<PathBuf> = None;
    for (before, span) in spans {
        if let Some(places) = candidates(&span) {
            current = places.into_iter().find(|place| place.exists());
            if current.is_none() {
                problems.push(format!("`{span}` does not exist"));
            }
            continue;
        }
        // A name right after a file (`file.rs` `name`, or `file.rs` (`name`)) belongs to it.
        let joined = before.is_some_and(|before| {
            before
                .replace(" and ", " ")
                .chars()
                .all(|c| c.is_whitespace() || matches!(c, ',' | '('))
        });
        let Some(file) = current.as_ref().filter(|file| joined && file.is_file()) else {
            current = None;
            continue;
        };
        let Some(name) = item_name(&span) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let found = text.match_indices(name).any(|(at, _)| {
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            !word(text[..at].chars().next_back()) && !word(text[at + name.len()..].chars().next())
        });
        if !found {
            problems.push(format!("`{name}` is not in {}", file.display()));
        }
    }
    problems
}

#[test]
fn every_file_and_function_the_docs_name_exists() {
    // Arrange
    let mut documents = vec![Path::new(ROOT).join("README.md")];
    for entry in std::fs::read_dir(Path::new(ROOT).join("docs")).expect("docs/") {
        documents.push(entry.expect("an entry").path());
    }

    // Act
    let problems: Vec<String> = documents
        .iter()
        .flat_map(|document| {
            let text = std::fs::read_to_string(document).expect("a document");
            problems_in(&text)
                .into_iter()
                .map(move |problem| format!("{}: {problem}", document.display()))
        })
        .collect();

    // Assert
    assert!(documents.len() > 10, "the chapters were read");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_stale_name_is_caught() {
    let problems = problems_in(
        "`src/web/csrf.rs` `is_exempt`, `src/web/csrf.rs` `no_such_function`, `src/no_such.rs`",
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn the_docs_speak_of_the_project_alone() {
    let mut documents = vec![Path::new(ROOT).join("README.md")];
    for entry in std::fs::read_dir(Path::new(ROOT).join("docs")).expect("docs/") {
        documents.push(entry.expect("an entry").path());
    }
    for document in documents {
        let text = std::fs::read_to_string(&document)
            .expect("a document")
            .to_lowercase();
        for word in ["issue ", "issue's", "design card", "this session"] {
            assert!(
                !text.contains(word),
                "{} mentions {word:?}",
                document.display()
            );
        }
    }
}

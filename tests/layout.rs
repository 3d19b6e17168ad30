//! The layout, checked. The server: axum only in `http/`, `domain/` never
//! importing `http`, no import cycle between `domain` modules. The web app:
//! a page with steps is a folder, so no page file is over 500 lines. Both:
//! no source file over 500 lines (tests apart), a `//!` line in each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn server_src() -> PathBuf {
    root().join("crates/server/src")
}

/// Every `.rs` file under `dir`, with its path relative to `dir` (`domain/`
/// files keep their folder when `dir` is `src`).
fn sources(dir: &Path) -> Vec<(String, String)> {
    let base = if dir.ends_with("domain") {
        dir.parent().unwrap().to_path_buf()
    } else {
        dir.to_path_buf()
    };
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&base).unwrap().display().to_string();
                files.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// Files over `MAX_LINES` (tests apart) or without a `//!` line; `limit`
/// says which files the size limit applies to.
fn oversized_or_undocumented(dir: &Path, limit: impl Fn(&str) -> bool) -> Vec<String> {
    let mut wrong = Vec::new();
    for (file, source) in sources(dir) {
        let lines = source
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .count();
        if limit(&file) && lines > MAX_LINES {
            wrong.push(format!("{file}: {lines} lines"));
        }
        if file != "main.rs" && !source.starts_with("//!") {
            wrong.push(format!("{file}: no //! line"));
        }
    }
    wrong
}

#[test]
fn web_pages_are_small_and_every_file_says_what_it_holds() {
    let src = root().join("src");
    assert!(sources(&src).len() > 20, "the sources were found");
    let wrong = oversized_or_undocumented(&src, |file| file.starts_with("pages"));
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn server_files_are_small_and_say_what_they_hold() {
    let wrong = oversized_or_undocumented(&server_src(), |_| true);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The code of a file without its `#[cfg(test)]` module and comments.
fn code(source: &str) -> String {
    let without_tests = source.split("#[cfg(test)]").next().unwrap_or_default();
    without_tests
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !line.starts_with("//")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `domain` modules a piece of code names: `crate::domain::x…` and
/// `crate::domain::{x, y::…}`.
fn domain_modules_named(code: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::domain::") {
        rest = &rest[at + "crate::domain::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            for item in top_level_items(group) {
                if let Some(name) = identifier(item.trim()) {
                    named.insert(name);
                }
            }
        } else if let Some(name) = identifier(rest) {
            named.insert(name);
        }
    }
    named
}

/// The comma-separated items of a `{…}` group (`group` starts after its
/// `{`), nested groups kept whole.
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

fn identifier(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && name != "self").then_some(name)
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
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
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn axum_lives_in_http_only_and_domain_never_imports_http() {
    let mut wrong = Vec::new();
    for (file, source) in sources(&server_src()) {
        let code = code(&source);
        let in_http = file.starts_with("http/") || file == "http.rs";
        let uses_axum = ["axum::", "utoipa_axum::", "tower_http::"]
            .iter()
            .any(|name| code.contains(name));
        if uses_axum && !in_http {
            wrong.push(format!("{file} uses axum outside http/"));
        }
        if file.starts_with("domain/") && code.contains("crate::http") {
            wrong.push(format!("{file} imports http"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn domain_modules_import_each_other_without_cycles() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, source) in sources(&server_src().join("domain")) {
        let module = file
            .trim_start_matches("domain/")
            .trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .to_owned();
        let mut named = domain_modules_named(&code(&source));
        named.remove(&module);
        graph.insert(module, named);
    }
    assert!(graph.len() > 10, "the domain modules were found");
    assert!(
        graph["order_view"].contains("quotes"),
        "imports are read: {:?}",
        graph["order_view"]
    );
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        domain_modules_named(
            "use crate::domain::{self, ha, instance::{x, y}};\ncrate::domain::ledger::accrue()"
        ),
        ["ha", "instance", "ledger"].map(String::from).into()
    );
}

//! The web app's layout, checked: every file under `src/` says what it
//! holds in a `//!` line, and no page file is over 500 lines (tests apart):
//! a page with steps is a folder with a file per step.

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn pages_are_small_and_every_file_says_what_it_holds() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    assert!(files.len() > 20, "the sources were found");
    let mut wrong = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(&src).unwrap().display().to_string();
        let lines = source
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .count();
        if name.starts_with("pages") && lines > MAX_LINES {
            wrong.push(format!("{name}: {lines} lines"));
        }
        if name != "main.rs" && !source.starts_with("//!") {
            wrong.push(format!("{name}: no //! line"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

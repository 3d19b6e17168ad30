//! Writes the scoped CSS of every `style!` block to target/stylers.css (Trunk
//! copies it into dist/ after the build) and fails the build when two blocks
//! would get the same class name.
//!
//! stylers names a block's class after nothing but the count of its
//! non-whitespace characters, so two different blocks of equal length share a
//! class and silently style each other's elements. It also only extracts CSS
//! from `let x = style! {..}` statements directly in a top-level fn, so a
//! `style!` anywhere else would compile but ship no CSS: also an error here.
//! The blocks are found exactly as `stylers::build` finds them and scoped
//! with the same `stylers_core`, minus that function's debug output.

use std::path::{Path, PathBuf};

include!("build/stylers_scan.rs");

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=build/stylers_scan.rs");
    let mut files = Vec::new();
    collect_rust_files(Path::new("src"), &mut files);

    let mut blocks = Vec::new();
    let mut errors = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("read a source file");
        match scan_source(&file.display().to_string(), &source) {
            Ok(found) => blocks.extend(found),
            Err(problems) => errors.extend(problems),
        }
    }
    errors.extend(collisions(&blocks));
    if !errors.is_empty() {
        panic!("\n\n{}\n", errors.join("\n\n"));
    }
    let css: String = blocks.iter().map(|b| b.css.as_str()).collect();
    std::fs::create_dir_all("target").expect("create target/");
    std::fs::write(Path::new("target").join("stylers.css"), css).expect("write target/stylers.css");
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src/")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

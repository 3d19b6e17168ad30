//! Writes the scoped CSS of every `style!` block to target/stylers.css (Trunk
//! copies it into dist/ after the build) and fails the build when two blocks
//! would get the same class name. It finds the blocks exactly as
//! `stylers::build` does and scopes them with the same `stylers_core`, minus
//! that function's debug output.
//!
//! stylers names a block's class after nothing but the count of its
//! non-whitespace characters, so two different blocks of equal length share a
//! class and silently style each other's elements. It also only extracts CSS
//! from `let x = style! {..}` statements directly in a top-level fn, so a
//! `style!` anywhere else would compile but ship no CSS: also an error here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stylers_core::Class;
use syn::visit::Visit;

fn main() {
    println!("cargo:rerun-if-changed=src");
    let mut files = Vec::new();
    collect_rust_files(Path::new("src"), &mut files);

    let mut classes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut css = String::new();
    let mut errors = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("read a source file");
        let Ok(ast) = syn::parse_file(&source) else {
            // rustc reports the syntax error itself, with a better message.
            continue;
        };
        let extracted = extracted_blocks(&ast);
        for (fn_name, tokens) in &extracted {
            let class = Class::rand_class_from_seed(tokens.to_string());
            css += &stylers_core::from_ts(tokens.clone().into_iter(), &class, false).0;
            classes
                .entry(class.as_name().to_owned())
                .or_default()
                .push(format!("{}: fn {fn_name}", file.display()));
        }
        let mut all = StyleMacroCounter::default();
        all.visit_file(&ast);
        if all.count != extracted.len() {
            errors.push(format!(
                "{}: {} `style!` block(s) are not of the form `let x = style! {{ .. }};` directly in a top-level fn; \
                 stylers would ship no CSS for them",
                file.display(),
                all.count - extracted.len()
            ));
        }
    }
    for (class, places) in &classes {
        if places.len() > 1 {
            errors.push(format!(
                "stylers class name collision: these `style!` blocks all get class `{class}` \
                 (stylers derives it from the block's character count only), so they would style \
                 each other's elements. Change one block's length (add or remove a declaration):\n    {}",
                places.join("\n    ")
            ));
        }
    }
    if !errors.is_empty() {
        panic!("\n\n{}\n", errors.join("\n\n"));
    }

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

/// The `style!` blocks stylers::build extracts, exactly as it finds them:
/// `let x = style! {..}` statements at the top of a top-level fn's body.
/// Returns (fn name, the macro's tokens).
fn extracted_blocks(ast: &syn::File) -> Vec<(String, proc_macro2::TokenStream)> {
    let mut blocks = Vec::new();
    for item in &ast.items {
        let syn::Item::Fn(function) = item else {
            continue;
        };
        for stmt in &function.block.stmts {
            let syn::Stmt::Local(local) = stmt else {
                continue;
            };
            let Some(init) = &local.init else { continue };
            let syn::Expr::Macro(mac) = init.expr.as_ref() else {
                continue;
            };
            if is_style_macro(&mac.mac) {
                blocks.push((function.sig.ident.to_string(), mac.mac.tokens.clone()));
            }
        }
    }
    blocks
}

fn is_style_macro(mac: &syn::Macro) -> bool {
    mac.path.segments.last().is_some_and(|s| s.ident == "style")
}

/// Counts every `style!` invocation in a file, wherever it stands.
#[derive(Default)]
struct StyleMacroCounter {
    count: usize,
}

impl<'ast> Visit<'ast> for StyleMacroCounter {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if is_style_macro(mac) {
            self.count += 1;
        }
        syn::visit::visit_macro(self, mac);
    }
}

// Shared by build.rs (`include!`) and tests/stylers_scan.rs: finds the
// `style!` blocks of a source file the way stylers does, and the problems
// that would ship wrong or missing CSS.

use std::collections::BTreeMap;

use stylers_core::Class;
use syn::visit::Visit;

/// One scoped block: where it is, its class and its CSS.
pub struct StyleBlock {
    pub place: String,
    pub class: String,
    pub css: String,
}

/// Scans one file's source. Returns its blocks, or the problems found.
pub fn scan_source(file: &str, source: &str) -> Result<Vec<StyleBlock>, Vec<String>> {
    let Ok(ast) = syn::parse_file(source) else {
        // rustc reports the syntax error itself, with a better message.
        return Ok(Vec::new());
    };
    let extracted = extracted_blocks(&ast);
    let mut all = StyleMacroCounter::default();
    all.visit_file(&ast);
    if all.count != extracted.len() {
        return Err(vec![format!(
            "{file}: {} `style!` block(s) are not of the form `let x = style! {{ .. }};` directly in a top-level fn; \
             stylers would ship no CSS for them",
            all.count - extracted.len()
        )]);
    }
    Ok(extracted
        .into_iter()
        .map(|(fn_name, tokens)| {
            let class = Class::rand_class_from_seed(tokens.to_string());
            let css = stylers_core::from_ts(tokens.into_iter(), &class, false).0;
            StyleBlock { place: format!("{file}: fn {fn_name}"), class: class.as_name().to_owned(), css }
        })
        .collect())
}

/// The collisions among blocks: every class that more than one block gets.
pub fn collisions(blocks: &[StyleBlock]) -> Vec<String> {
    let mut classes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for block in blocks {
        classes.entry(&block.class).or_default().push(&block.place);
    }
    classes
        .into_iter()
        .filter(|(_, places)| places.len() > 1)
        .map(|(class, places)| {
            format!(
                "stylers class name collision: these `style!` blocks all get class `{class}` \
                 (stylers derives it from the block's character count only), so they would style \
                 each other's elements. Change one block's length (add or remove a declaration):\n    {}",
                places.join("\n    ")
            )
        })
        .collect()
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

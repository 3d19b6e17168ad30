//! The build's stylers check, on made-up sources: equal-length blocks must
//! be reported as a collision, and blocks stylers would not extract as errors.

include!("../build/stylers_scan.rs");

fn blocks(source: &str) -> Vec<StyleBlock> {
    scan_source("test.rs", source).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn blocks_of_equal_length_collide() {
    let source = r#"
        fn Red() { let class = style! { p { color: red; } }; }
        fn Tan() { let class = style! { p { color: tan; } }; }
        fn Blue() { let class = style! { p { color: blue; } }; }
    "#;
    let found = blocks(source);
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].class, found[1].class, "same length, same class");
    assert_ne!(found[0].class, found[2].class);
    let problems = collisions(&found);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("fn Red") && problems[0].contains("fn Tan"),
        "{}",
        problems[0]
    );
    assert!(!problems[0].contains("fn Blue"));
    assert!(
        found[2].css.contains(&format!("p.{}", found[2].class)),
        "{}",
        found[2].css
    );
}

#[test]
fn distinct_lengths_pass() {
    let found = blocks(
        "fn A() { let c = style! { p { color: red; } }; } fn B() { let c = style! { a { color: blue; } }; }",
    );
    assert!(collisions(&found).is_empty());
}

#[test]
fn blocks_stylers_would_skip_are_errors() {
    let nested = "fn A() { if true { let c = style! { p { color: red; } }; } }";
    let problems = scan_source("nested.rs", nested)
        .err()
        .expect("a nested block is an error");
    assert!(problems[0].contains("nested.rs"), "{problems:?}");
    let in_impl = "struct S; impl S { fn f() { let c = style! { p { color: red; } }; } }";
    assert!(scan_source("impl.rs", in_impl).is_err());
}

#[test]
fn the_apps_own_sources_have_no_collisions() {
    let mut found = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                found.extend(scan_source(&path.display().to_string(), &source).unwrap());
            }
        }
    }
    assert!(found.len() >= 3, "the app has scoped styles");
    assert_eq!(collisions(&found), Vec::<String>::new());
}

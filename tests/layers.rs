//! The layering of docs/ARCHITECTURE.md, checked on the source: the core never names a
//! front-end or the loop (so nothing it does can call back into a front-end), front-ends
//! never reach past the core's command API into the lifecycle, and the loop's structs
//! stay small. A `use` or a path in code counts; comments do not.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir).expect("read source dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    assert!(!found.is_empty(), "no sources under {}", dir.display());
    found.sort();
    found
}

/// The file's code lines (comments dropped), with their numbers.
fn code(path: &Path) -> Vec<(usize, String)> {
    fs::read_to_string(path)
        .expect("read source")
        .lines()
        .enumerate()
        .filter_map(|(n, line)| {
            let code = line.split("//").next().unwrap_or("").trim().to_string();
            (!code.is_empty()).then_some((n + 1, code))
        })
        .collect()
}

/// Whether `line` names `what`: a path fragment (`rpc::`) anywhere, an identifier
/// (`Control`) only as a whole word.
fn names(line: &str, what: &str) -> bool {
    if what.contains("::") {
        return line.contains(what);
    }
    line.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == what)
}

/// Lines under `dir` that name any of `forbidden`.
fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for path in sources(&root().join(dir)) {
        for (n, line) in code(&path) {
            if forbidden.iter().any(|f| names(&line, f)) {
                found.push(format!("{}:{n}: {line}", path.display()));
            }
        }
    }
    found
}

#[test]
fn the_core_never_names_a_front_end_or_the_loop() {
    let found = offenders(
        "src/core",
        &[
            "frontend",
            "supervisor::",
            "Supervisor",
            "rpc::",
            "Control",
            "Frontend",
        ],
    );
    assert!(found.is_empty(), "the core reaches up a layer: {found:#?}");
}

#[test]
fn front_ends_use_only_the_command_api() {
    let found = offenders(
        "src/frontend",
        &[
            "lifecycle",
            "Lifecycle",
            "Event::",
            "Action::",
            "supervisor::",
        ],
    );
    assert!(
        found.is_empty(),
        "a front-end reaches past the core: {found:#?}"
    );
}

/// Fields of each `struct NAME {` block in `dir`, by name.
fn struct_sizes(dir: &str) -> Vec<(String, usize)> {
    let mut sizes = Vec::new();
    for path in sources(&root().join(dir)) {
        let lines = code(&path);
        let mut i = 0;
        while i < lines.len() {
            let line = &lines[i].1;
            let is_struct = line.contains("struct ") && line.ends_with('{');
            if !is_struct {
                i += 1;
                continue;
            }
            let name = line
                .split("struct ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_alphanumeric()).next())
                .unwrap_or("?")
                .to_string();
            let mut fields = 0;
            i += 1;
            while i < lines.len() && lines[i].1 != "}" {
                let field = &lines[i].1;
                if !field.starts_with('#') && field.ends_with(',') && field.contains(':') {
                    fields += 1;
                }
                i += 1;
            }
            sizes.push((format!("{}: {name}", path.display()), fields));
        }
    }
    sizes
}

#[test]
fn no_struct_of_the_core_or_the_loop_has_more_than_twelve_fields() {
    let sizes: Vec<(String, usize)> = ["src/core", "src/supervisor", "src/frontend"]
        .iter()
        .flat_map(|dir| struct_sizes(dir))
        .collect();
    assert!(
        sizes.iter().any(|(name, _)| name.ends_with(": Core")),
        "the struct scan found no Core: {sizes:?}"
    );
    let big: Vec<&(String, usize)> = sizes.iter().filter(|(_, n)| *n > 12).collect();
    assert!(big.is_empty(), "structs over 12 fields: {big:?}");
}

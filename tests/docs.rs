//! The manual pages in `man/` stay in step with the code: every key the config loader
//! knows is in supervice.conf(5), every command and option of supervicectl in
//! supervicectl(1), every option of supervice in supervice(8); every option a page
//! lists is one the binary's `--help` knows, and the other way round; and, when mandoc
//! is installed (`.ci/run` installs it), `mandoc -T lint -W warning` has nothing to say
//! about the pages. docs/ARCHITECTURE.md names only files that exist, so it cannot go
//! stale silently when code moves.

mod common;
use common::skip_or_fail;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use supervice::config::{GROUP_KEYS, PROGRAM_KEYS, SUPERVICE_KEYS};
use supervice::lifecycle::State;

const PAGES: [&str; 3] = ["supervice.8", "supervicectl.1", "supervice.conf.5"];

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

fn read_page(name: &str) -> String {
    let path = man_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The roff source as a reader sees the words: `\-` is `-`, font changes and the
/// zero-width `\&` disappear, so `\fB\-\-socket\fR` reads `--socket`.
fn normalise(roff: &str) -> String {
    let mut text = roff.replace("\\-", "-").replace("\\&", "");
    for font in ["\\fB", "\\fI", "\\fR", "\\fP"] {
        text = text.replace(font, "");
    }
    text
}

fn page_text(name: &str) -> String {
    normalise(&read_page(name))
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Whether `word` occurs in `text` with no word character (letter, digit, `_`, `-`)
/// right before or after it.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// Option-like tokens (`-s`, `--socket`) in a line of text.
fn options_in(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "[](){}|,\"'=".contains(c))
        .filter(|token| {
            let name = token.trim_start_matches('-');
            let dashes = token.len() - name.len();
            (1..=2).contains(&dashes)
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
        .collect()
}

/// The options a page lists: those in its SYNOPSIS and in the tags of its `.TP`
/// paragraphs (the OPTIONS and COMMANDS lists).
fn page_options(name: &str) -> BTreeSet<String> {
    let source = read_page(name);
    let lines: Vec<&str> = source.lines().collect();
    let mut options = BTreeSet::new();
    let mut in_synopsis = false;
    for (i, line) in lines.iter().enumerate() {
        if let Some(heading) = line.strip_prefix(".SH ") {
            in_synopsis = heading.trim() == "SYNOPSIS";
            continue;
        }
        let is_tag = i > 0 && lines[i - 1].trim() == ".TP";
        if in_synopsis || is_tag {
            options.extend(options_in(&normalise(line)));
        }
    }
    options
}

fn help_text(binary: &str) -> String {
    let output = Command::new(binary)
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {binary} --help: {e}"));
    assert!(output.status.success(), "{binary} --help: {output:?}");
    String::from_utf8(output.stdout).expect("--help is UTF-8")
}

/// The options `--help` lists: the tokens starting with `-` at the start of a line of
/// its option lists, and in its usage line.
fn help_options(help: &str) -> BTreeSet<String> {
    help.lines()
        .filter(|line| line.trim_start().starts_with('-') || line.starts_with("usage:"))
        .flat_map(options_in)
        .collect()
}

fn missing<'a>(text: &str, words: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    words
        .into_iter()
        .filter(|word| !contains_word(text, word))
        .collect()
}

#[test]
fn every_config_key_is_in_supervice_conf_5() {
    let page = page_text("supervice.conf.5");
    for (section, keys) in [
        ("[supervice]", SUPERVICE_KEYS),
        ("[program:NAME]", PROGRAM_KEYS),
        ("[group:NAME]", GROUP_KEYS),
    ] {
        assert!(!keys.is_empty());
        let absent = missing(&page, keys.iter().copied());
        assert!(
            absent.is_empty(),
            "supervice.conf.5 does not mention these {section} keys: {absent:?}"
        );
    }
    let absent = missing(
        &page,
        ["[DEFAULT]", "%(process_num)s", "env_file", "environment"],
    );
    assert!(absent.is_empty(), "supervice.conf.5 lacks {absent:?}");
}

#[test]
fn every_supervicectl_command_and_option_is_in_supervicectl_1() {
    let page = page_text("supervicectl.1");
    let commands = [
        "status",
        "start",
        "stop",
        "restart",
        "startgroup",
        "stopgroup",
        "reload",
    ];
    let absent = missing(&page, commands);
    assert!(
        absent.is_empty(),
        "supervicectl.1 lacks commands {absent:?}"
    );
    let options = [
        "--socket",
        "--timeout",
        "--force",
        "--json",
        "--version",
        "--help",
    ];
    let absent = missing(&page, options);
    assert!(absent.is_empty(), "supervicectl.1 lacks options {absent:?}");

    let listed = page_options("supervicectl.1");
    for option in options.iter().chain(&["-s", "-h"]) {
        assert!(
            listed.contains(*option),
            "{option} is not in the synopsis or an option list of supervicectl.1 \
             (found {listed:?})"
        );
    }
}

#[test]
fn every_supervice_option_is_in_supervice_8() {
    let page = page_text("supervice.8");
    let options = [
        "--configuration",
        "--nodaemon",
        "--logfile",
        "--loglevel",
        "--version",
        "--help",
    ];
    let absent = missing(&page, options);
    assert!(absent.is_empty(), "supervice.8 lacks options {absent:?}");

    let listed = page_options("supervice.8");
    for option in options.iter().chain(&["-c", "-n", "-l", "-e", "-h"]) {
        assert!(
            listed.contains(*option),
            "{option} is not in the synopsis or option list of supervice.8 (found {listed:?})"
        );
    }
}

#[test]
fn every_state_is_described_in_supervice_8() {
    let page = page_text("supervice.8");
    let states = [
        State::Stopped,
        State::Starting,
        State::Running,
        State::Backoff,
        State::Stopping,
        State::Exited,
        State::Fatal,
        State::Unhealthy,
    ];
    let absent = missing(&page, states.iter().map(|s| s.name()));
    assert!(absent.is_empty(), "supervice.8 lacks states {absent:?}");
}

#[test]
fn help_and_man_pages_list_the_same_options() {
    for (binary, page) in [
        (env!("CARGO_BIN_EXE_supervice"), "supervice.8"),
        (env!("CARGO_BIN_EXE_supervicectl"), "supervicectl.1"),
    ] {
        let help = help_text(binary);
        let in_help = help_options(&help);
        let in_page = page_options(page);
        assert!(
            in_page.len() >= 4,
            "too few options found in {page}: {in_page:?}"
        );
        let undocumented_in_help: Vec<&String> = in_page
            .iter()
            .filter(|option| !contains_word(&help, option))
            .collect();
        assert!(
            undocumented_in_help.is_empty(),
            "{page} lists options that `{binary} --help` does not mention: \
             {undocumented_in_help:?}\n--- help ---\n{help}"
        );
        let text = page_text(page);
        let undocumented_in_page: Vec<&String> = in_help
            .iter()
            .filter(|option| !contains_word(&text, option))
            .collect();
        assert!(
            undocumented_in_page.is_empty(),
            "`{binary} --help` lists options that {page} does not mention: \
             {undocumented_in_page:?}"
        );
    }
}

#[test]
fn pages_cross_reference_each_other() {
    for (page, others) in [
        ("supervice.8", ["supervicectl", "supervice.conf"]),
        ("supervicectl.1", ["supervice", "supervice.conf"]),
        ("supervice.conf.5", ["supervice", "supervicectl"]),
    ] {
        let source = read_page(page);
        let see_also = source
            .split(".SH SEE ALSO")
            .nth(1)
            .unwrap_or_else(|| panic!("{page} has no SEE ALSO section"));
        for other in others {
            assert!(
                see_also.contains(&format!(".BR {other} (")),
                "the SEE ALSO of {page} does not refer to {other}"
            );
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

#[test]
fn pages_pass_mandoc_lint() {
    if !on_path("mandoc") {
        skip_or_fail("pages_pass_mandoc_lint", "mandoc is not installed");
        return;
    }
    let files: Vec<PathBuf> = PAGES.iter().map(|page| man_dir().join(page)).collect();
    let output = Command::new("mandoc")
        .args(["-T", "lint", "-W", "warning"])
        .args(&files)
        .output()
        .expect("run mandoc");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.is_empty() && stderr.is_empty(),
        "mandoc -T lint -W warning: {}\n{stdout}{stderr}",
        output.status
    );
}

#[test]
fn word_matching_respects_boundaries() {
    assert!(contains_word("a --socket b", "--socket"));
    assert!(!contains_word("a --sockets b", "--socket"));
    assert!(contains_word("restart start", "start"));
    assert!(!contains_word("restart startgroup", "start"));
    assert!(contains_word(&normalise(".B \\-\\-json"), "--json"));
    assert!(contains_word(
        &normalise("\\fBlog_backups\\fR,"),
        "log_backups"
    ));
    assert_eq!(
        options_in(&normalise(
            ".BR \\-c \", \" \\-\\-configuration \" \\fIfile\\fR\""
        )),
        ["-c", "--configuration"]
    );
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The repository paths a text names: words starting with one of `roots` (`src/`...)
/// where no path character comes before, up to the first character that cannot be in a
/// path (a backtick, a space, `*`), without a trailing `.` or `,` of the sentence.
fn named_paths(text: &str, roots: &[&str]) -> BTreeSet<String> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
    let mut paths = BTreeSet::new();
    for root in roots {
        for (at, _) in text.match_indices(root) {
            if text[..at].chars().next_back().is_some_and(is_path_char) {
                continue;
            }
            let rest = &text[at..];
            let end = rest.find(|c: char| !is_path_char(c)).unwrap_or(rest.len());
            paths.insert(rest[..end].trim_end_matches(['.', ',']).to_string());
        }
    }
    paths
}

const ARCHITECTURE: &str = "docs/ARCHITECTURE.md";

#[test]
fn every_path_in_the_architecture_document_exists() {
    let path = repo_root().join(ARCHITECTURE);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let named = named_paths(&text, &["src/", "tests/", "fuzz/", "contrib/"]);
    let in_src = named.iter().filter(|p| p.starts_with("src/")).count();
    assert!(
        in_src >= 30,
        "{ARCHITECTURE} names only {in_src} paths under src/; is the path matcher broken? \
         {named:?}"
    );
    let gone: Vec<&String> = named
        .iter()
        .filter(|p| !repo_root().join(p).exists())
        .collect();
    assert!(
        gone.is_empty(),
        "{ARCHITECTURE} names paths that do not exist (update it when files move): {gone:?}"
    );
}

#[test]
fn the_architecture_document_is_linked_from_the_crate_docs_and_readme() {
    for file in ["src/lib.rs", "README.md"] {
        let path = repo_root().join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        assert!(
            text.contains(ARCHITECTURE),
            "{file} does not point to {ARCHITECTURE}"
        );
        assert!(
            !text.contains("DESIGN.md"),
            "{file} points to DESIGN.md, which is not in the tree"
        );
    }
}

#[test]
fn named_paths_are_cut_at_path_boundaries() {
    let text = "See `src/timer.rs`, src/supervisor/ops.rs. Tests in `tests/*.rs` and \
                src/config/tests/ (not `tests/` twice); mysrc/x is no path.";
    let paths: Vec<String> = named_paths(text, &["src/", "tests/"]).into_iter().collect();
    assert_eq!(
        paths,
        [
            "src/config/tests/",
            "src/supervisor/ops.rs",
            "src/timer.rs",
            "tests/"
        ]
    );
}

//! env_file (SPEC 1.3).

use super::*;

// ---------------------------------------------------------------------------------------
// env_file (SPEC 1.3)
// ---------------------------------------------------------------------------------------

#[test]
fn env_file_comments_blanks_quotes_and_odd_lines() {
    let tmp = TempDir::new("envfile-rules");
    let env_file = tmp.write(
        "app.env",
        "# a comment\n\n   \n  # indented comment\nA=1\n  B = ' two '  \nC=\"\"x\"\"\nD='\n\
         E=it's\nexport F=5\nG=a=b\nH=\nI=\"mixed'\n",
    );
    let config = ok(&web(&format!("env_file = {env_file}")));
    assert_eq!(
        only_program(&config).environment,
        pairs(&[
            ("A", "1"),
            ("B", " two "),
            ("C", "\"x\""),
            ("D", "'"),
            ("E", "it's"),
            ("export F", "5"),
            ("G", "a=b"),
            ("H", ""),
            ("I", "\"mixed'"),
        ])
    );
}

#[test]
fn later_env_file_wins_and_environment_wins_over_env_file() {
    let tmp = TempDir::new("envfile-order");
    let first = tmp.write("1.env", "A=first\nB=first\nC=first\n");
    let second = tmp.write("2.env", "A=second\nC=second\n");
    let config = ok(&web(&format!(
        "env_file = {first}, {second}\nenvironment = C=environment,D=environment"
    )));
    let env = effective_env(&instances(&config)[0].environment);
    let expected: BTreeMap<String, String> = pairs(&[
        ("A", "second"),
        ("B", "first"),
        ("C", "environment"),
        ("D", "environment"),
    ])
    .into_iter()
    .collect();
    assert_eq!(env, expected);
}

#[test]
fn env_file_list_is_trimmed_and_empty_items_dropped() {
    let tmp = TempDir::new("envfile-list");
    let a = tmp.write("a.env", "A=1\n");
    let b = tmp.write("b.env", "B=2\n");
    let config = ok(&web(&format!("env_file = ,  {a} ,, {b},  ")));
    assert_eq!(
        only_program(&config).environment,
        pairs(&[("A", "1"), ("B", "2")])
    );
    let config = ok(&web("env_file = , ,"));
    assert!(only_program(&config).environment.is_empty());
}

#[test]
fn missing_env_file_is_an_error() {
    let tmp = TempDir::new("envfile-missing");
    let missing = tmp.p("nope.env");
    let msg = err_has(
        &web(&format!("env_file = {missing}")),
        &[
            &format!("Program 'web': env_file '{missing}' does not exist"),
            "([program:web] env_file, line 3)",
        ],
    );
    assert!(!msg.contains("malformed"), "{msg}");
}

#[test]
fn second_env_file_missing_is_reported_by_its_own_path() {
    let tmp = TempDir::new("envfile-missing2");
    let good = tmp.write("good.env", "A=1\n");
    let missing = tmp.p("missing.env");
    err_has(
        &web(&format!("env_file = {good},{missing}")),
        &[&format!("env_file '{missing}' does not exist")],
    );
}

#[test]
fn env_file_that_is_a_directory_is_not_readable() {
    let tmp = TempDir::new("envfile-dir");
    let dir = tmp.mkdir("envdir");
    err_has(
        &web(&format!("env_file = {dir}")),
        &[
            &format!("env_file '{dir}' is not readable"),
            "[program:web] env_file",
        ],
    );
}

#[test]
fn malformed_env_line_is_an_error_with_file_and_line_number() {
    let tmp = TempDir::new("envfile-malformed");
    let bad = tmp.write("bad.env", "# comment\n\nA=1\nnot a pair\nB=2\n");
    err_has(
        &web(&format!("env_file = {bad}")),
        &[
            &format!("{bad}:4: malformed env line (expected KEY=VALUE)"),
            "[program:web] env_file",
        ],
    );
    let empty_key = tmp.write("empty-key.env", "A=1\n = 2\n");
    err_has(
        &web(&format!("env_file = {empty_key}")),
        &[&format!(
            "{empty_key}:2: malformed env line (expected KEY=VALUE)"
        )],
    );
}

#[test]
fn env_file_is_read_at_every_parse() {
    let tmp = TempDir::new("envfile-reread");
    let file = tmp.write("app.env", "A=1\n");
    let text = web(&format!("env_file = {file}"));
    let before = instances(&ok(&text));
    tmp.write("app.env", "A=2\n");
    let after = instances(&ok(&text));
    assert_eq!(before[0].environment, pairs(&[("A", "1")]));
    assert_eq!(after[0].environment, pairs(&[("A", "2")]));
    assert_ne!(
        before, after,
        "an edited env_file makes the instance changed"
    );
}

#[test]
fn env_file_must_be_a_regular_file() {
    let message = err(&web("env_file = /dev/zero"));
    assert!(
        message.contains("env_file '/dev/zero' is not a regular file")
            && message.contains("[program:web] env_file"),
        "{message}"
    );
}

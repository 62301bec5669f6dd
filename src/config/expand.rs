//! Step two of loading a config: the small languages inside values.
//!
//! `%(process_num)s` substitution, the `environment` list, `env_file` contents and the
//! shell-word splitting of `command`. All of them follow Supervice 0.4 exactly, including
//! its leniencies (an unclosed quote in `environment` runs to the end of the value).

/// The only substitution Supervice knows. Other `%(...)s` forms stay literal.
pub const PROCESS_NUM: &str = "%(process_num)s";

/// `%02d` of the instance index, as Python formats it.
pub fn process_num(index: u32) -> String {
    format!("{index:02}")
}

pub fn expand_process_num(template: &str, index: u32) -> String {
    if template.contains(PROCESS_NUM) {
        template.replace(PROCESS_NUM, &process_num(index))
    } else {
        template.to_string()
    }
}

/// Parses `KEY=VAL,KEY2="val, with comma"`. Never fails: text without `=` is dropped.
pub fn parse_environment(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut pairs = Vec::new();
    let mut i = 0;
    let is_blank = |c: char| c == ' ' || c == '\t';
    loop {
        while i < chars.len() && is_blank(chars[i]) {
            i += 1;
        }
        let Some(eq) = chars[i..].iter().position(|&c| c == '=').map(|p| p + i) else {
            break;
        };
        let key: String = chars[i..eq].iter().collect::<String>().trim().to_string();
        i = eq + 1;
        while i < chars.len() && is_blank(chars[i]) {
            i += 1;
        }
        let value;
        if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
            let quote = chars[i];
            let start = i + 1;
            let end = chars[start..]
                .iter()
                .position(|&c| c == quote)
                .map_or(chars.len(), |p| p + start);
            value = chars[start..end].iter().collect::<String>();
            i = (end + 1).min(chars.len());
            while i < chars.len() && (chars[i] == ',' || is_blank(chars[i])) {
                i += 1;
            }
        } else {
            let end = chars[i..]
                .iter()
                .position(|&c| c == ',')
                .map_or(chars.len(), |p| p + i);
            value = chars[i..end].iter().collect::<String>().trim().to_string();
            i = (end + 1).min(chars.len());
        }
        pairs.push((key, value));
    }
    pairs
}

/// A malformed `env_file` line: (1-based line number).
#[derive(Debug, PartialEq, Eq)]
pub struct EnvFileError {
    pub line: usize,
}

/// Parses the contents of one `env_file`.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
    let mut pairs = Vec::new();
    // Read as Python's open() does: a lone CR ends a line too.
    for (index, raw) in super::ini::universal_lines(text).enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(EnvFileError { line: index + 1 });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(EnvFileError { line: index + 1 });
        }
        let mut value = value.trim();
        let bytes = value.as_bytes();
        if bytes.len() >= 2
            && (bytes[0] == b'"' || bytes[0] == b'\'')
            && bytes[bytes.len() - 1] == bytes[0]
        {
            value = &value[1..value.len() - 1];
        }
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok(pairs)
}

/// Splits a command line with POSIX shell-word rules, as Python's `shlex.split`.
/// No shell is involved: no variables, globs or pipes.
pub fn split_command(text: &str) -> Result<Vec<String>, String> {
    enum State {
        Between,
        Word,
        Single,
        Double,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Between | State::Word => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if matches!(state, State::Word) {
                        words.push(std::mem::take(&mut word));
                    }
                    state = State::Between;
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => {
                    let next = chars.next().ok_or("No escaped character")?;
                    word.push(next);
                    state = State::Word;
                }
                c => {
                    word.push(c);
                    state = State::Word;
                }
            },
            State::Single => match c {
                '\'' => state = State::Word,
                c => word.push(c),
            },
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => {
                    let next = chars.next().ok_or("No escaped character")?;
                    if next != '"' && next != '\\' {
                        word.push('\\');
                    }
                    word.push(next);
                }
                c => word.push(c),
            },
        }
    }
    match state {
        State::Single | State::Double => Err("No closing quotation".to_string()),
        State::Word => {
            words.push(word);
            Ok(words)
        }
        State::Between => Ok(words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_file_lines_end_at_a_lone_cr_too() {
        let parsed = parse_env_file("A=1\rB=2\r\n# c\rC=3");
        assert_eq!(parsed, Ok(pairs(&[("A", "1"), ("B", "2"), ("C", "3")])));
        assert_eq!(parse_env_file("A=1\rbad"), Err(EnvFileError { line: 2 }));
    }

    #[test]
    fn process_num_is_two_digit_and_grows() {
        assert_eq!(expand_process_num("w_%(process_num)s.log", 3), "w_03.log");
        assert_eq!(expand_process_num("%(process_num)s", 100), "100");
        assert_eq!(
            expand_process_num("%(program_name)s", 1),
            "%(program_name)s"
        );
    }

    #[test]
    fn environment_grammar_matches_supervice() {
        let env = parse_environment("A=1,B=\"x,y\", C = 'q' ,D\n  E=multi");
        assert_eq!(
            env,
            pairs(&[("A", "1"), ("B", "x,y"), ("C", "q"), ("D\n  E", "multi")])
        );
    }

    #[test]
    fn environment_unclosed_quote_runs_to_end_and_trailing_text_dropped() {
        assert_eq!(parse_environment("A='abc"), pairs(&[("A", "abc")]));
        assert_eq!(parse_environment("A=1,junk"), pairs(&[("A", "1")]));
        assert_eq!(parse_environment(""), pairs(&[]));
        assert_eq!(parse_environment("A=,B=2"), pairs(&[("A", ""), ("B", "2")]));
    }

    #[test]
    fn env_file_rules() {
        let text = "# comment\n\nA=1\n B = ' two ' \nC=\"x\"\nD='\nexport E=5\nF=a=b\n";
        assert_eq!(
            parse_env_file(text),
            Ok(pairs(&[
                ("A", "1"),
                ("B", " two "),
                ("C", "x"),
                ("D", "'"),
                ("export E", "5"),
                ("F", "a=b"),
            ]))
        );
        assert_eq!(parse_env_file("A=1\nnope\n"), Err(EnvFileError { line: 2 }));
        assert_eq!(parse_env_file("=1\n"), Err(EnvFileError { line: 1 }));
    }

    #[test]
    fn split_like_shlex() {
        let ok = |s: &str| split_command(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        assert_eq!(ok("sleep 10 ; note"), ["sleep", "10", ";", "note"]);
        assert_eq!(
            ok("sh -c 'echo $HOME; exit 3'"),
            ["sh", "-c", "echo $HOME; exit 3"]
        );
        assert_eq!(ok(r#"a "b \"c\" \d" e\ f"#), ["a", r#"b "c" \d"#, "e f"]);
        assert_eq!(ok("a''b \"\""), ["ab", ""]);
        assert_eq!(ok("  "), Vec::<String>::new());
        assert_eq!(ok("x # not a comment"), ["x", "#", "not", "a", "comment"]);
        assert_eq!(ok("a\nb"), ["a", "b"]);
        assert_eq!(
            ok("a\u{a0}b c"),
            ["a\u{a0}b", "c"],
            "only shlex's whitespace splits"
        );
        assert_eq!(split_command("a 'b").unwrap_err(), "No closing quotation");
        assert_eq!(split_command("a \"b").unwrap_err(), "No closing quotation");
        assert_eq!(split_command("a \\").unwrap_err(), "No escaped character");
    }
}

//! Step one of loading a config: INI text into sections of raw string values.
//!
//! The reader copies Python's `configparser.ConfigParser(interpolation=None)`, which is
//! what Supervice 0.4 uses, line for line: `=` or `:` delimiters, case-insensitive keys,
//! whole-line `#`/`;` comments only, indented continuation lines joined with `\n`,
//! `[DEFAULT]` keys inherited by every section, and duplicate sections or keys as errors.
//! Every value keeps the line it came from, so later steps can point at it.
//!
//! The `inline_comments` switch is the seam for supervisord's dialect, where ` ;` starts a
//! comment anywhere on a line.

use std::fmt;

/// One `key = value` as read, with the 1-based line the key was on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// One `[name]` section, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub line: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    /// The section's own value for `key`, else the `[DEFAULT]` one.
    pub fn get<'a>(&'a self, defaults: &'a [Entry], key: &str) -> Option<&'a Entry> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .or_else(|| defaults.iter().find(|e| e.key == key))
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ini {
    pub defaults: Vec<Entry>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for IniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// supervisord dialect: `;` or `#` after whitespace starts a comment.
    pub inline_comments: bool,
    /// supervisord dialect (configparser's `strict=False`): a repeated section continues
    /// the first one and a repeated key replaces the earlier value (at the later line).
    pub merge_duplicates: bool,
}

/// Where the parser is currently putting keys.
enum Target {
    None,
    Defaults,
    Section(usize),
}

/// Lines as Python's `open()` reads them (universal newlines): `\n`, `\r\n` and a lone
/// `\r` each end a line, so a file saved with old Mac line endings reads as it does there.
pub(crate) fn universal_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\n', '\r']) {
            None => {
                rest = None;
                (!current.is_empty()).then_some(current)
            }
            Some(at) => {
                let width = if current[at..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[at + width..]).filter(|r| !r.is_empty());
                Some(&current[..at])
            }
        }
    })
}

pub fn parse(text: &str, options: Options) -> Result<Ini, IniError> {
    let mut ini = Ini::default();
    // Section names seen, to their index: a lookup per header stays O(1) in big files.
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut target = Target::None;
    // The value being built: (target entry index, collected lines).
    let mut open_value: Option<(usize, Vec<String>)> = None;
    let mut indent_level = usize::MAX;

    for (index, raw) in universal_lines(text).enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let content = if options.inline_comments {
            strip_inline_comment(raw).trim()
        } else {
            trimmed
        };
        if content.is_empty() {
            // configparser keeps blank lines inside a value (they vanish if trailing).
            if let Some((_, lines)) = open_value.as_mut() {
                lines.push(String::new());
            }
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if open_value.is_some() && indent > indent_level {
            if let Some((_, lines)) = open_value.as_mut() {
                lines.push(content.to_string());
            }
            continue;
        }
        close_value(&mut ini, &target, &mut open_value);
        indent_level = indent;

        if let Some(name) = section_header(content) {
            if name == "DEFAULT" {
                target = Target::Defaults;
                continue;
            }
            if let Some(&i) = seen.get(name) {
                if options.merge_duplicates {
                    target = Target::Section(i);
                    continue;
                }
                return Err(IniError {
                    line: line_no,
                    message: format!("section '{name}' already exists"),
                });
            }
            seen.insert(name.to_string(), ini.sections.len());
            ini.sections.push(Section {
                name: name.to_string(),
                line: line_no,
                entries: Vec::new(),
            });
            target = Target::Section(ini.sections.len() - 1);
            continue;
        }

        let entries = match target {
            Target::None => {
                return Err(IniError {
                    line: line_no,
                    message: format!("file contains no section headers: '{content}'"),
                })
            }
            Target::Defaults => &mut ini.defaults,
            Target::Section(i) => &mut ini.sections[i].entries,
        };
        let Some((key, value)) = split_option(content) else {
            return Err(IniError {
                line: line_no,
                message: format!("expected 'key = value' but found '{content}'"),
            });
        };
        // Python folds keys with Unicode case rules; every key either dialect knows is
        // ASCII, and folding ASCII only keeps the daemon 34 KB smaller (the Unicode case
        // tables). Only a key no reader knows can come out differently.
        let key = key.to_ascii_lowercase();
        if let Some(i) = entries.iter().position(|e| e.key == key) {
            if options.merge_duplicates {
                entries[i].line = line_no;
                open_value = Some((i, vec![value.to_string()]));
                continue;
            }
            let section = match target {
                Target::Section(i) => ini.sections[i].name.as_str(),
                _ => "DEFAULT",
            };
            return Err(IniError {
                line: line_no,
                message: format!("option '{key}' in section '{section}' already exists"),
            });
        }
        entries.push(Entry {
            key,
            value: String::new(),
            line: line_no,
        });
        open_value = Some((entries.len() - 1, vec![value.to_string()]));
    }
    close_value(&mut ini, &target, &mut open_value);
    Ok(ini)
}

/// Joins the collected lines of the value being built into its entry.
fn close_value(ini: &mut Ini, target: &Target, open_value: &mut Option<(usize, Vec<String>)>) {
    let Some((index, lines)) = open_value.take() else {
        return;
    };
    let joined = lines.join("\n");
    let value = joined.trim_end().to_string();
    match target {
        Target::Defaults => ini.defaults[index].value = value,
        Target::Section(i) => ini.sections[*i].entries[index].value = value,
        Target::None => {}
    }
}

/// `[name]` at the start of a line; like configparser, the name runs to the last `]`.
fn section_header(content: &str) -> Option<&str> {
    let rest = content.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    let name = &rest[..end];
    (!name.is_empty()).then_some(name)
}

/// Splits at the first `=` or `:`; the key must not be empty.
fn split_option(content: &str) -> Option<(&str, &str)> {
    let at = content.find(['=', ':'])?;
    let key = content[..at].trim();
    if key.is_empty() {
        return None;
    }
    Some((key, content[at + 1..].trim()))
}

/// supervisord's rule: `;` (or `#`) preceded by whitespace starts a comment.
fn strip_inline_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b';' || bytes[i] == b'#') && bytes[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Ini {
        match parse(text, Options::default()) {
            Ok(ini) => ini,
            Err(e) => panic!("{text:?} does not parse: {e}"),
        }
    }

    fn value<'a>(ini: &'a Ini, section: &str, key: &str) -> Option<&'a str> {
        let s = ini.sections.iter().find(|s| s.name == section)?;
        s.get(&ini.defaults, key).map(|e| e.value.as_str())
    }

    #[test]
    fn equals_and_colon_delimiters_and_lowercased_keys() {
        let ini = parse_ok("[a]\nCommand: /bin/x --a=b\nk = v:w\n");
        assert_eq!(value(&ini, "a", "command"), Some("/bin/x --a=b"));
        assert_eq!(value(&ini, "a", "k"), Some("v:w"));
    }

    #[test]
    fn inline_semicolon_is_part_of_the_value() {
        let ini = parse_ok("[a]\ncommand = sleep 10 ; note\n");
        assert_eq!(value(&ini, "a", "command"), Some("sleep 10 ; note"));
    }

    #[test]
    fn supervisord_dialect_strips_inline_comments() {
        let options = Options {
            inline_comments: true,
            ..Options::default()
        };
        let Ok(ini) = parse("[a]\ncommand = sleep 10 ; note\n", options) else {
            panic!("does not parse");
        };
        assert_eq!(value(&ini, "a", "command"), Some("sleep 10"));
    }

    #[test]
    fn whole_line_comments_even_indented_are_skipped() {
        let ini = parse_ok("# top\n[a]\n  # indented\n; semi\nk = 1\n    ; inside\n  more\n");
        assert_eq!(value(&ini, "a", "k"), Some("1\nmore"));
    }

    #[test]
    fn continuation_lines_join_with_newline_and_keep_inner_blank_lines() {
        let ini = parse_ok("[a]\nk = one\n  two\n\n  three\n\nz=1\n");
        assert_eq!(value(&ini, "a", "k"), Some("one\ntwo\n\nthree"));
        assert_eq!(value(&ini, "a", "z"), Some("1"));
    }

    #[test]
    fn empty_first_line_then_continuation() {
        let ini = parse_ok("[a]\nk =\n  cont\n");
        assert_eq!(value(&ini, "a", "k"), Some("\ncont"));
    }

    #[test]
    fn quotes_are_kept() {
        let ini = parse_ok("[a]\nlogfile = \"x.log\"\n");
        assert_eq!(value(&ini, "a", "logfile"), Some("\"x.log\""));
    }

    #[test]
    fn defaults_are_inherited_and_overridden() {
        let ini = parse_ok("[DEFAULT]\nautostart=false\nx=1\n[a]\nx=2\n[b]\n");
        assert_eq!(value(&ini, "a", "autostart"), Some("false"));
        assert_eq!(value(&ini, "a", "x"), Some("2"));
        assert_eq!(value(&ini, "b", "x"), Some("1"));
        assert_eq!(ini.sections.len(), 2);
    }

    #[test]
    fn section_names_are_case_sensitive_and_run_to_the_last_bracket() {
        let ini = parse_ok("[Program:x]\n[a] trailing]\n");
        assert_eq!(ini.sections[0].name, "Program:x");
        assert_eq!(ini.sections[1].name, "a] trailing");
    }

    #[test]
    fn duplicate_section_is_an_error_with_its_line() {
        let err = parse("[a]\nk=1\n[a]\n", Options::default()).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("section 'a' already exists"));
    }

    #[test]
    fn duplicate_key_is_an_error_even_with_other_case() {
        let err = parse("[a]\nk=1\nK=2\n", Options::default()).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err
            .message
            .contains("option 'k' in section 'a' already exists"));
    }

    #[test]
    fn key_without_delimiter_is_an_error() {
        let err = parse("[a]\nfoo\nk=v\n", Options::default()).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("foo"));
    }

    #[test]
    fn empty_key_is_an_error() {
        assert!(parse("[a]\n= v\n", Options::default()).is_err());
    }

    #[test]
    fn text_before_any_section_is_an_error() {
        let err = parse("x=1\n[a]\n", Options::default()).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("no section headers"));
    }

    #[test]
    fn indented_key_after_section_is_a_key_not_a_continuation() {
        let ini = parse_ok("[a]\n  k = 1\n  j = 2\n");
        assert_eq!(value(&ini, "a", "k"), Some("1"));
        assert_eq!(value(&ini, "a", "j"), Some("2"));
    }

    #[test]
    fn crlf_line_endings() {
        let ini = parse_ok("[a]\r\nk = 1\r\n");
        assert_eq!(value(&ini, "a", "k"), Some("1"));
    }

    #[test]
    fn lone_cr_ends_a_line_as_in_python() {
        // What configparser reads from a file opened with universal newlines:
        // {'a': {'k': '1\nmore', 'j': '2'}, 'b': {'x': '3'}}.
        let ini = parse_ok("[a]\rk = 1\r  more\r\r\nj = 2\r\n[b]\rx=3");
        assert_eq!(value(&ini, "a", "k"), Some("1\nmore"));
        assert_eq!(value(&ini, "a", "j"), Some("2"));
        assert_eq!(value(&ini, "b", "x"), Some("3"));
        let lines: Vec<usize> = ini.sections.iter().map(|s| s.line).collect();
        assert_eq!(
            lines,
            vec![1, 6],
            "a lone CR counts as a line for error messages"
        );
        let lines: Vec<&str> = universal_lines("a\r\rb\r\nc\n\nd\n").collect();
        assert_eq!(lines, vec!["a", "", "b", "c", "", "d"]);
    }

    #[test]
    fn supervisord_options_merge_duplicates_and_strip_inline_comments() {
        // configparser.RawConfigParser(inline_comment_prefixes=(';', '#'), strict=False)
        // reads this as {'a': {'k': '2\nmore', 'j': 'x;y', 'm': 'a#b'}, 'b': {'q': '1'}}.
        let text = "[a]\nk = 1 ; c\nj = x;y #z\n[b]\nq=1\n[a]\nk = 2\n  more ; tail\nm=a#b\n";
        let options = Options {
            inline_comments: true,
            merge_duplicates: true,
        };
        let ini = parse(text, options).expect("parses");
        assert_eq!(value(&ini, "a", "k"), Some("2\nmore"));
        assert_eq!(value(&ini, "a", "j"), Some("x;y"));
        assert_eq!(value(&ini, "a", "m"), Some("a#b"));
        assert_eq!(value(&ini, "b", "q"), Some("1"));
        let names: Vec<&str> = ini.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b"]);
        let k = ini.sections[0].entries.iter().find(|e| e.key == "k");
        assert_eq!(
            k.map(|e| e.line),
            Some(7),
            "the value's line is the later one"
        );
        // Supervice's own reading still refuses both.
        assert!(parse(text, Options::default()).is_err());
    }

    #[test]
    fn percent_is_literal() {
        let ini = parse_ok("[a]\ncommand = /bin/date +%s %(x)s\n");
        assert_eq!(value(&ini, "a", "command"), Some("/bin/date +%s %(x)s"));
    }
}

//! Config loading: the INI reader (both dialects), the value languages (`command`
//! splitting, `environment`, `env_file` contents, `%(process_num)s`) and the whole
//! `config::parse`, which also stats the paths the text names (directories, log
//! directories, env files) and looks users up, exactly as the daemon does.
//!
//! Properties checked beyond "no panic":
//! - `ini::parse` and `config::parse` are deterministic: the same text gives an equal
//!   result (or the same error) twice;
//! - `split_command` of text without quotes or backslashes is `split_whitespace`;
//! - the words of a successful `split_command`, re-quoted shell-style, split back to the
//!   same words;
//! - every program of a config that loaded expands into instances whose argv is
//!   non-empty (the loader checked the template splits; expansion only inserts digits).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use supervice::config::{self, expand, ini};

/// POSIX single-quoting of one word: `'...'`, with `'` written as `'\''`.
fn quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

fn check_split(text: &str) {
    let split = expand::split_command(text);
    if !text.contains(['\'', '"', '\\']) {
        let plain: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        assert_eq!(
            split.as_ref(),
            Ok(&plain),
            "plain text splits on whitespace"
        );
    }
    if let Ok(words) = split {
        let requoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
        let again = expand::split_command(&requoted.join(" "));
        assert_eq!(again.as_ref(), Ok(&words), "re-quoted words split back");
    }
}

fn check_value(value: &str) {
    check_split(value);
    let _ = expand::parse_environment(value);
    let _ = expand::parse_env_file(value);
    let _ = expand::expand_process_num(value, 7);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    // The value languages on the whole text.
    check_split(text);
    let env = expand::parse_environment(text);
    assert_eq!(env, expand::parse_environment(text));
    let env_file = expand::parse_env_file(text);
    assert_eq!(env_file, expand::parse_env_file(text));

    // The INI reader, both dialects, and the value languages on every value it found.
    // Supervice's reader (neither), and supervisord's (both: inline comments, merged
    // duplicates).
    for dialect in [false, true] {
        let options = ini::Options {
            inline_comments: dialect,
            merge_duplicates: dialect,
        };
        let first = ini::parse(text, options);
        assert_eq!(
            first,
            ini::parse(text, options),
            "ini::parse is deterministic"
        );
        if let Ok(ini) = &first {
            let sections = ini.sections.iter().flat_map(|s| &s.entries);
            for entry in ini.defaults.iter().chain(sections) {
                check_value(&entry.value);
            }
        }
    }

    // The whole loader. It stats what the text names and must never panic.
    let path = Path::new("fuzz/supervice.conf");
    let first = config::parse(path, text);
    let second = config::parse(path, text);
    assert_eq!(first, second, "config::parse is deterministic");
    if let Ok(config) = first {
        for program in &config.programs {
            // At most a few instances: numprocs can be huge.
            for index in 0..program.numprocs.min(3) {
                let instance = program.instance(index);
                assert!(!instance.argv.is_empty(), "an instance has an argv");
            }
        }
    }
});

//! supervisord's value types (its `datatypes.py`), with its error texts: what a value
//! of `[supervisord]`, `[program:x]` and the other sections means once `%` expansion is
//! done. Each function takes the expanded text and returns the typed value or the message
//! supervisord gives for it.

use crate::config::pyformat::repr;
use crate::config::value::{parse_int, IntError};

/// Python's `int()` of a config value.
pub fn integer(text: &str) -> Result<i64, String> {
    parse_int(text).map_err(|e| match e {
        IntError::Invalid => format!("invalid literal for int() with base 10: {}", repr(text)),
        IntError::TooLarge => format!("{} is too large (at most {})", text.trim(), i64::MAX),
    })
}

/// `yes true on 1` / `no false off 0`, in any case. (Keywords here are folded as
/// ASCII, where supervisord uses Python's Unicode `lower()`: the same for every value
/// it accepts, short of a Unicode letter whose case folds to ASCII, such as U+212A
/// KELVIN SIGN.)
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("not a valid boolean value: {}", repr(text))),
    }
}

/// A byte count: an integer, optionally followed by `KB`, `MB` or `GB` (powers of 1024,
/// any case). `50 MB` works (the integer part may have blanks); `1.5MB` and `50M` do not.
pub fn byte_size(text: &str) -> Result<u64, String> {
    let lower = text.to_ascii_lowercase();
    let (number, multiplier) = match lower.len().checked_sub(2).map(|at| lower.split_at(at)) {
        Some((number, "kb")) => (number, 1u64 << 10),
        Some((number, "mb")) => (number, 1 << 20),
        Some((number, "gb")) => (number, 1 << 30),
        _ => (lower.as_str(), 1),
    };
    let value = integer(number)?;
    // supervisord takes a negative size and never rotates then; so does 0 here.
    let value = u64::try_from(value).unwrap_or(0);
    value
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{} is too large", text.trim()))
}

/// Python's `int(text, 8)`: `022`, `0o22`, `755`.
pub fn octal(text: &str) -> Result<u32, String> {
    let bad = || format!("{text} can not be converted to an octal type");
    let trimmed = text.trim();
    let (negative, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let digits = rest
        .strip_prefix("0o")
        .or_else(|| rest.strip_prefix("0O"))
        .map_or(rest, |d| d.strip_prefix('_').unwrap_or(d));
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits
            .bytes()
            .all(|b| (b'0'..=b'7').contains(&b) || b == b'_')
    {
        return Err(bad());
    }
    let value = digits
        .bytes()
        .filter(|&b| b != b'_')
        .try_fold(0u32, |v, b| {
            v.checked_mul(8)?.checked_add(u32::from(b - b'0'))
        })
        .ok_or_else(bad)?;
    if negative && value != 0 {
        return Err(bad());
    }
    Ok(value)
}

/// The names Python's `signal` module has on Linux, with their numbers. supervisord
/// accepts any of them (`SIG_DFL` and `SIG_IGN` included, which are 0 and 1), with or
/// without `SIG`, and any number among their values.
const SIGNALS: &[(&str, i32)] = &[
    ("ABRT", 6),
    ("ALRM", 14),
    ("BUS", 7),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("FPE", 8),
    ("HUP", 1),
    ("ILL", 4),
    ("INT", 2),
    ("IO", 29),
    ("IOT", 6),
    ("KILL", 9),
    ("PIPE", 13),
    ("POLL", 29),
    ("PROF", 27),
    ("PWR", 30),
    ("QUIT", 3),
    ("RTMAX", 64),
    ("RTMIN", 34),
    ("SEGV", 11),
    ("STKFLT", 16),
    ("STOP", 19),
    ("SYS", 31),
    ("TERM", 15),
    ("TRAP", 5),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("USR1", 10),
    ("USR2", 12),
    ("VTALRM", 26),
    ("WINCH", 28),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("_BLOCK", 0),
    ("_DFL", 0),
    ("_IGN", 1),
    ("_SETMASK", 2),
    ("_UNBLOCK", 1),
];

/// A signal by number or by name. 0 is a valid answer: supervisord then "stops" with
/// signal 0, which delivers nothing, until stopwaitsecs brings the SIGKILL.
pub fn signal_number(text: &str) -> Result<i32, String> {
    let number = match parse_int(text) {
        Ok(n) => n,
        Err(_) => {
            let upper = text.trim().to_ascii_uppercase();
            let name = upper.strip_prefix("SIG").unwrap_or(&upper);
            match SIGNALS.iter().find(|(n, _)| *n == name) {
                Some((_, number)) => return Ok(*number),
                None => return Err(format!("value {} is not a valid signal name", repr(text))),
            }
        }
    };
    SIGNALS
        .iter()
        .map(|(_, n)| i64::from(*n))
        .find(|n| *n == number)
        .map(|n| n as i32)
        .ok_or_else(|| format!("value {} is not a valid signal number", repr(text)))
}

/// The canonical name of a signal number, without `SIG` (for `--check --json`).
pub fn signal_name(number: i32) -> &'static str {
    // supervisord's signame(): of two names for a number, the one its table keeps (ABRT
    // over IOT, CHLD over CLD, POLL over IO); 0 has no SIG name: "signal 0".
    match number {
        0 => "signal 0",
        6 => "ABRT",
        17 => "CHLD",
        29 => "POLL",
        n => SIGNALS
            .iter()
            .find(|(_, v)| *v == n)
            .map_or("", |(name, _)| name),
    }
}

/// `exitcodes`: comma-separated integers in 0..=255; empty is no code at all.
pub fn exit_codes(text: &str) -> Result<Vec<u8>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|item| {
            parse_int(item)
                .ok()
                .and_then(|n| u8::try_from(n).ok())
                .ok_or(())
        })
        .collect::<Result<Vec<u8>, ()>>()
        .map_err(|()| format!("not a valid list of exit codes: {}", repr(text)))
}

pub use crate::lifecycle::AutoRestart;

pub fn auto_restart(text: &str) -> Result<AutoRestart, String> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "yes" | "true" | "on" | "1" => Ok(AutoRestart::Always),
        "no" | "false" | "off" | "0" => Ok(AutoRestart::Never),
        "unexpected" => Ok(AutoRestart::Unexpected),
        _ => Err(format!("invalid 'autorestart' value {}", repr(&lower))),
    }
}

/// supervisord's log levels, lowest first, with their numbers.
pub const LOG_LEVELS: &[(&str, u8)] = &[
    ("blather", 3),
    ("trace", 5),
    ("debug", 10),
    ("info", 20),
    ("warn", 30),
    ("error", 40),
    ("critical", 50),
];

/// A log level by supervisord's name, any case; returns the lowercase name.
pub fn logging_level(text: &str) -> Result<&'static str, String> {
    let lower = text.to_ascii_lowercase();
    LOG_LEVELS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(name, _)| *name)
        .ok_or_else(|| format!("bad logging level name {}", repr(text)))
}

/// A program, group or listener name: stripped, and without space, `:` or `/`.
pub fn process_or_group_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    for bad in [' ', ':', '/'] {
        if name.contains(bad) {
            return Err(format!(
                "Invalid name: {} because of character: {}",
                repr(text),
                repr(&bad.to_string())
            ));
        }
    }
    Ok(name.to_string())
}

/// A comma list, each item stripped (empty items kept, as supervisord keeps them).
pub fn list_of_strings(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(',').map(|s| s.trim().to_string()).collect()
}

/// `KEY=VAL,KEY2="val, 2"`, read as supervisord reads it: with Python's non-POSIX `shlex`
/// (word characters plus `/.+-():`), in groups of key, `=`, value and one separator token
/// that is not checked; quotes around the value are stripped. So `A=x , B=y z` gives A and
/// B and drops `z`, as supervisord does. Later keys replace earlier ones; order is kept.
pub fn key_value_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let tokens = shlex_tokens(text)?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if i + 2 >= tokens.len() || tokens[i + 1] != "=" {
            return Err(format!(
                "Unexpected end of key/value pairs in value '{text}'"
            ));
        }
        let key = tokens[i].clone();
        let value = tokens[i + 2].trim_matches(['\'', '"']).to_string();
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => pairs.push((key, value)),
        }
        i += 4;
    }
    Ok(pairs)
}

/// Python's `list(shlex.shlex(text))` (non-POSIX) with `/.+-():` added to the word
/// characters.
fn shlex_tokens(text: &str) -> Result<Vec<String>, String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || "_/.+-():".contains(c);
    let is_blank = |c: char| " \t\r\n".contains(c);
    let is_quote = |c: char| c == '\'' || c == '"';
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    // Skips a comment: the rest of the line, newline included.
    let skip_line = |i: &mut usize| {
        while *i < chars.len() && chars[*i] != '\n' {
            *i += 1;
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        if is_blank(c) {
            i += 1;
        } else if c == '#' {
            skip_line(&mut i);
        } else if is_quote(c) {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            if i >= chars.len() {
                return Err("No closing quotation".into());
            }
            i += 1;
            tokens.push(chars[start..i].iter().collect());
        } else if is_word(c) {
            let mut token = String::new();
            while i < chars.len() {
                let c = chars[i];
                if is_word(c) || is_quote(c) {
                    token.push(c);
                    i += 1;
                } else if c == '#' {
                    // A comment inside a word is skipped and the word goes on.
                    skip_line(&mut i);
                } else {
                    break;
                }
            }
            tokens.push(token);
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests;

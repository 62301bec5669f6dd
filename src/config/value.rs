//! Typed access to one section's raw values, with errors that say where they are.

use std::fmt::Display;
use std::path::Path;
use std::time::Duration;

use super::ini::{Entry, Section};
use super::ConfigError;

/// One section being typed: its values, the `[DEFAULT]` ones, and the message prefix
/// Supervice uses for it (`Program 'web': `).
pub struct Ctx<'a> {
    section: &'a Section,
    defaults: &'a [Entry],
    prefix: &'a str,
}

impl<'a> Ctx<'a> {
    pub fn new(section: &'a Section, defaults: &'a [Entry], prefix: &'a str) -> Self {
        Ctx {
            section,
            defaults,
            prefix,
        }
    }

    pub fn entry(&self, key: &str) -> Option<&'a Entry> {
        self.section.get(self.defaults, key)
    }

    /// `Program 'web': <message> ([program:web] startsecs, line 12)`.
    pub fn error(&self, key: &str, message: impl Display) -> ConfigError {
        let location = match self.entry(key) {
            Some(e) => format!("[{}] {key}, line {}", self.section.name, e.line),
            None => format!("[{}] {key}", self.section.name),
        };
        ConfigError(format!("{}{message} ({location})", self.prefix))
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.entry(key).map(|e| e.value.clone())
    }

    /// A comma-separated list: items trimmed, empty ones dropped; absent is empty.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.entry(key).map_or_else(Vec::new, |e| {
            e.value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    /// An integer as Python's `int()` reads it; absent means `default`.
    pub fn int(&self, key: &str, default: i64) -> Result<i64, ConfigError> {
        let Some(e) = self.entry(key) else {
            return Ok(default);
        };
        parse_int(&e.value).map_err(|kind| {
            let msg = match kind {
                IntError::Invalid => format!("{key} must be an integer, got '{}'", e.value),
                IntError::TooLarge => format!(
                    "{key} is too large, got '{}' (at most {})",
                    e.value.trim(),
                    i64::MAX
                ),
            };
            self.error(key, msg)
        })
    }

    /// A count of seconds that must fit every deadline computed from it.
    pub fn seconds(&self, key: &str, value: u64) -> Result<Duration, ConfigError> {
        if value > MAX_SECONDS {
            let msg = format!("{key} must be at most {MAX_SECONDS} (100 years), got {value}");
            return Err(self.error(key, msg));
        }
        Ok(Duration::from_secs(value))
    }

    /// An optional integer: absent or empty means `None`.
    pub fn opt_int(&self, key: &str) -> Result<Option<i64>, ConfigError> {
        match self.entry(key) {
            Some(e) if !e.value.trim().is_empty() => self.int(key, 0).map(Some),
            _ => Ok(None),
        }
    }

    /// true/false, yes/no, on/off, 1/0 in any case. Anything else is an error.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        let Some(e) = self.entry(key) else {
            return Ok(default);
        };
        match e.value.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(self.error(
                key,
                format!(
                    "{key} must be a boolean (true/false, yes/no, on/off, 1/0), got '{}'",
                    e.value
                ),
            )),
        }
    }

    /// `value` must be ≥ 0. `got` adds Supervice's `, got <n>` to the message.
    pub fn non_negative(&self, key: &str, value: i64, got: bool) -> Result<u64, ConfigError> {
        u64::try_from(value).map_err(|_| {
            let suffix = if got {
                format!(", got {value}")
            } else {
                String::new()
            };
            self.error(key, format!("{key} must be non-negative{suffix}"))
        })
    }
}

/// The longest duration a key may give, in seconds: 100 years. Every deadline computed
/// from it fits the daemon's millisecond clock with room to spare.
pub const MAX_SECONDS: u64 = 3_153_600_000;

/// Why a value is not an integer we can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntError {
    /// Not an integer at all.
    Invalid,
    /// An integer, but beyond 64 bits.
    TooLarge,
}

/// Python's `int()`: blanks around, an optional sign, digits with single `_` between them.
pub fn parse_int(text: &str) -> Result<i64, IntError> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first() {
        None => return Err(IntError::Invalid),
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        Some(_) => (false, text),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return Err(IntError::Invalid);
    }
    if digits.contains("__") || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return Err(IntError::Invalid);
    }
    let mut value: i64 = 0;
    for d in digits
        .bytes()
        .filter(|&b| b != b'_')
        .map(|b| i64::from(b - b'0'))
    {
        value = value
            .checked_mul(10)
            .and_then(|v| {
                if negative {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            })
            .ok_or(IntError::TooLarge)?;
    }
    Ok(value)
}

/// Whether the daemon may create files in `dir` (`access(W_OK)`).
pub fn writable(dir: &Path) -> bool {
    nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

pub fn readable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::R_OK).is_ok()
}

pub fn searchable(dir: &Path) -> bool {
    nix::unistd::access(dir, nix::unistd::AccessFlags::X_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::{parse_int, IntError};

    #[test]
    fn ints_like_python() {
        assert_eq!(parse_int("10"), Ok(10));
        assert_eq!(parse_int(" -3 "), Ok(-3));
        assert_eq!(parse_int("+7"), Ok(7));
        assert_eq!(parse_int("1_0"), Ok(10));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int("9223372036854775807"), Ok(i64::MAX));
        for bad in ["1__0", "_1", "", "-", "abc", "1.5", "1a", "٣"] {
            assert_eq!(parse_int(bad), Err(IntError::Invalid), "{bad:?}");
        }
        for big in [
            "99999999999999999999",
            "9223372036854775808",
            "-9_223_372_036_854_775_809",
        ] {
            assert_eq!(parse_int(big), Err(IntError::TooLarge), "{big:?}");
        }
        // A big value with a bad character further on is not an integer at all.
        assert_eq!(parse_int("99999999999999999999x"), Err(IntError::Invalid));
    }
}

//! Python's `%` operator with a mapping (`template % names`), which is how supervisord
//! expands `%(name)s` in its config values, with its error texts.
//!
//! Every printf form Python accepts after a `%(name)` is formatted as Python does: flags
//! `-+ #0`, width, precision, the `h l L` length modifiers (ignored) and the conversions
//! `s r a d i u o x X e E f F g G c`, plus `%%`. One deliberate difference: a conversion
//! without a name (`date +%s`) formats the whole mapping in Python, a text nobody wants in a
//! command line (supervisord issues #980, #986); here it is an error that says how to
//! write a literal percent sign.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One name's value: supervisord's names are strings except `process_num` and
/// `numprocs`, which are integers (so `%(process_num)02d` works).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
}

/// The names a value may use. Sorted, as supervisord lists them in its error message.
pub type Names = BTreeMap<String, Value>;

/// Where `%(name)s` looks names up: a `Names`, or `Layers` of them.
pub trait Lookup {
    fn value(&self, name: &str) -> Option<&Value>;
    /// Every name, sorted (for the error that lists them).
    fn available(&self) -> Vec<&str>;
}

impl Lookup for Names {
    fn value(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }

    fn available(&self) -> Vec<&str> {
        self.keys().map(String::as_str).collect()
    }
}

/// A small mapping in front of a large shared one (a section's own names over the
/// environment's), so that the large one is not copied for every section.
pub struct Layers<'a> {
    pub top: &'a Names,
    pub base: &'a dyn Lookup,
}

impl Lookup for Layers<'_> {
    fn value(&self, name: &str) -> Option<&Value> {
        self.top.get(name).or_else(|| self.base.value(name))
    }

    fn available(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.top.available();
        all.extend(self.base.available());
        all.sort_unstable();
        all.dedup();
        all
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// `%(name)s` with a name not in the mapping (Python's KeyError).
    Missing(String),
    /// Any other error, with Python's message.
    Bad(String),
    /// A conversion without a name, at this character index.
    Unnamed(usize),
}

/// `template % names`.
pub fn format(template: &str, names: &dyn Lookup) -> Result<String, FormatError> {
    let chars: Vec<char> = template.chars().collect();
    let mut out = String::with_capacity(template.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let mut key = None;
        if chars.get(i) == Some(&'(') {
            let mut depth = 1;
            let open = i + 1;
            i += 1;
            while i < chars.len() && depth > 0 {
                match chars[i] {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            if depth > 0 {
                return Err(FormatError::Bad("incomplete format key".into()));
            }
            let name: String = chars[open..i - 1].iter().collect();
            key = Some(name);
        }
        let mut spec = Spec::default();
        while let Some(&c) = chars.get(i) {
            match c {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alternate = true,
                '0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if chars.get(i) == Some(&'*') {
            return Err(FormatError::Bad(
                "not enough arguments for format string".into(),
            ));
        }
        spec.width = digits(&chars, &mut i);
        if chars.get(i) == Some(&'.') {
            i += 1;
            if chars.get(i) == Some(&'*') {
                return Err(FormatError::Bad(
                    "not enough arguments for format string".into(),
                ));
            }
            spec.precision = Some(digits(&chars, &mut i).unwrap_or(0));
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let Some(&conversion) = chars.get(i) else {
            return Err(FormatError::Bad("incomplete format".into()));
        };
        let at = i;
        i += 1;
        if conversion == '%' && key.is_none() {
            out.push('%');
            continue;
        }
        let Some(key) = key else {
            return Err(FormatError::Unnamed(start));
        };
        let value = names
            .value(&key)
            .ok_or_else(|| FormatError::Missing(key.clone()))?;
        if conversion == '%' {
            out.push('%');
            continue;
        }
        spec.conversion = conversion;
        let text = convert(value, &spec, at)?;
        out.push_str(&text);
    }
    Ok(out)
}

/// supervisord's `expand()`: `template % names`, its errors worded as supervisord words
/// them, `what` naming the value (`program:web.command`, or just `environment`).
pub fn expand(template: &str, names: &dyn Lookup, what: &str) -> Result<String, String> {
    if !template.contains('%') {
        return Ok(template.to_string());
    }
    format(template, names).map_err(|e| match e {
        FormatError::Missing(name) => {
            let available: Vec<&str> = names.available();
            format!(
                "Format string {} for {} contains names ({}) which cannot be expanded. \
                 Available names: {}",
                repr(template),
                repr(what),
                repr(&name),
                available.join(", ")
            )
        }
        FormatError::Bad(message) => format!(
            "Format string {} for {} is badly formatted: {message}",
            repr(template),
            repr(what)
        ),
        FormatError::Unnamed(index) => format!(
            "Format string {} for {} has a conversion without a name at index {index} \
             (supervisord would insert every name's value there); write %% for a \
             literal percent sign",
            repr(template),
            repr(what)
        ),
    })
}

#[derive(Debug, Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alternate: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
    conversion: char,
}

fn digits(chars: &[char], i: &mut usize) -> Option<usize> {
    let start = *i;
    let mut value: usize = 0;
    while let Some(d) = chars.get(*i).and_then(|c| c.to_digit(10)) {
        value = value.saturating_mul(10).saturating_add(d as usize);
        *i += 1;
    }
    (*i > start).then_some(value)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Str(_) => "str",
        Value::Int(_) => "int",
    }
}

fn convert(value: &Value, spec: &Spec, at: usize) -> Result<String, FormatError> {
    let c = spec.conversion;
    let body = match c {
        's' | 'r' | 'a' => {
            let text = match (value, c) {
                (Value::Str(s), 's') => s.clone(),
                (Value::Str(s), _) => repr(s),
                (Value::Int(n), _) => n.to_string(),
            };
            let text = match spec.precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            };
            return Ok(pad(&text, spec));
        }
        'd' | 'i' | 'u' | 'o' | 'x' | 'X' => {
            let Value::Int(n) = value else {
                let need = if matches!(c, 'd' | 'i' | 'u') {
                    "a real number"
                } else {
                    "an integer"
                };
                return Err(FormatError::Bad(format!(
                    "%{c} format: {need} is required, not {}",
                    type_name(value)
                )));
            };
            let magnitude = n.unsigned_abs();
            let mut digits = match c {
                'o' => format!("{magnitude:o}"),
                'x' => format!("{magnitude:x}"),
                'X' => format!("{magnitude:X}"),
                _ => magnitude.to_string(),
            };
            if let Some(p) = spec.precision {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            let prefix = match (spec.alternate, c) {
                (true, 'o') => "0o",
                (true, 'x') => "0x",
                (true, 'X') => "0X",
                _ => "",
            };
            signed(*n < 0, prefix, &digits, spec)
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let Value::Int(n) = value else {
                return Err(FormatError::Bad(format!(
                    "must be real number, not {}",
                    type_name(value)
                )));
            };
            let x = *n as f64;
            let p = spec.precision.unwrap_or(6);
            let digits = match c {
                'f' | 'F' => format!("{:.*}", p, x.abs()),
                'e' | 'E' => exponent(x.abs(), p, c == 'E'),
                _ => general(x.abs(), p, spec.alternate, c == 'G'),
            };
            signed(x < 0.0, "", &digits, spec)
        }
        'c' => {
            let ch = match value {
                Value::Int(n) => u32::try_from(*n)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| FormatError::Bad("%c arg not in range(0x110000)".into()))?,
                Value::Str(s) if s.chars().count() == 1 => s.chars().next().unwrap_or(' '),
                Value::Str(_) => return Err(FormatError::Bad("%c requires int or char".into())),
            };
            return Ok(pad(&ch.to_string(), spec));
        }
        other => {
            return Err(FormatError::Bad(format!(
                "unsupported format character {} (0x{:x}) at index {at}",
                repr(&other.to_string()),
                other as u32
            )))
        }
    };
    Ok(body)
}

/// A number's sign, prefix and digits, padded to the width (zeros after the sign with `0`).
fn signed(negative: bool, prefix: &str, digits: &str, spec: &Spec) -> String {
    let sign = if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let len = sign.len() + prefix.len() + digits.chars().count();
    let width = spec.width.unwrap_or(0);
    if spec.zero && !spec.left && len < width {
        let zeros = "0".repeat(width - len);
        return format!("{sign}{prefix}{zeros}{digits}");
    }
    pad(&format!("{sign}{prefix}{digits}"), spec)
}

fn pad(text: &str, spec: &Spec) -> String {
    let width = spec.width.unwrap_or(0);
    let len = text.chars().count();
    if len >= width {
        return text.to_string();
    }
    let fill = " ".repeat(width - len);
    if spec.left {
        format!("{text}{fill}")
    } else {
        format!("{fill}{text}")
    }
}

/// `%e`: one digit, the fraction, and an exponent of at least two digits.
fn exponent(x: f64, precision: usize, upper: bool) -> String {
    let text = format!("{:.*e}", precision, x);
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{sign}{:02}", exp.abs())
}

/// `%g`: `%e` or `%f` by the exponent, trailing zeros dropped unless `#`.
fn general(x: f64, precision: usize, alternate: bool, upper: bool) -> String {
    let p = precision.max(1);
    // Python takes the exponent of the value rounded to `p` digits (9.99 at %.2g is
    // 1e+01), which is what `{:e}` prints; no log10, so neither binary needs libm.
    let exp = if x == 0.0 {
        0
    } else {
        let rounded = format!("{:.*e}", p - 1, x);
        rounded
            .rsplit_once('e')
            .and_then(|(_, e)| e.parse().ok())
            .unwrap_or(0)
    };
    let mut text = if exp < -4 || exp >= p as i32 {
        exponent(x, p - 1, upper)
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        format!("{:.*}", decimals, x)
    };
    if !alternate {
        let (number, suffix) = match text.find(['e', 'E']) {
            Some(at) => (text[..at].to_string(), text[at..].to_string()),
            None => (text.clone(), String::new()),
        };
        let number = if number.contains('.') {
            number
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            number
        };
        text = number + &suffix;
    }
    text
}

/// Python's `repr()` of a str: single quotes unless the text has one and no double quote.
pub fn repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (0x80..0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(pairs: &[(&str, Value)]) -> Names {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn sample() -> Names {
        names(&[
            ("program_name", Value::Str("web".into())),
            ("process_num", Value::Int(3)),
            ("numprocs", Value::Int(12)),
            ("ENV_HOME", Value::Str("/root".into())),
            ("neg", Value::Int(-42)),
        ])
    }

    fn f(template: &str) -> Result<String, FormatError> {
        format(template, &sample())
    }

    /// The formatted text of a template that must format.
    fn ok(template: &str) -> String {
        match f(template) {
            Ok(text) => text,
            Err(e) => panic!("{template:?} did not format: {e:?}"),
        }
    }

    // Expected values below are what CPython 3.11 prints for the same `template % names`.
    #[test]
    fn names_and_printf_forms_as_python() {
        assert_eq!(ok("%(program_name)s_%(process_num)02d"), "web_03");
        assert_eq!(
            ok("%(process_num)s|%(process_num)d|%(process_num)5d|"),
            "3|3|    3|"
        );
        assert_eq!(
            ok("%(process_num)-4d|%(process_num)+d|%(process_num) d"),
            "3   |+3| 3"
        );
        assert_eq!(
            ok("%(neg)05d|%(neg)x|%(numprocs)#x|%(numprocs)#o|%(numprocs)X"),
            "-0042|-2a|0xc|0o14|C"
        );
        assert_eq!(
            ok("%(process_num).3d|%(program_name).2s|%(program_name)6s|%(program_name)-6s|"),
            "003|we|   web|web   |"
        );
        assert_eq!(
            ok("%(program_name)r|%(numprocs)r|%(process_num)ld"),
            "'web'|12|3"
        );
        assert_eq!(
            ok("%(numprocs)f|%(numprocs).2e|%(numprocs)g|%(numprocs)c"),
            "12.000000|1.20e+01|12|\u{c}"
        );
        assert_eq!(
            ok("%(numprocs).1g|%(neg).1g|%(process_num)#.3g"),
            "1e+01|-4e+01|3.00"
        );
        assert_eq!(ok("100%% %(ENV_HOME)s%%"), "100% /root%");
        assert_eq!(ok("no expansion at all"), "no expansion at all");
        assert_eq!(ok("%(program_name)05s"), "  web", "0 does not pad strings");
    }

    #[test]
    fn errors_as_python() {
        assert_eq!(f("%(nope)s"), Err(FormatError::Missing("nope".into())));
        assert_eq!(
            f("%(program_name)d"),
            Err(FormatError::Bad(
                "%d format: a real number is required, not str".into()
            ))
        );
        assert_eq!(
            f("%(program_name)x"),
            Err(FormatError::Bad(
                "%x format: an integer is required, not str".into()
            ))
        );
        assert_eq!(
            f("date %(process_num)Y"),
            Err(FormatError::Bad(
                "unsupported format character 'Y' (0x59) at index 19".into()
            ))
        );
        assert_eq!(f("50%"), Err(FormatError::Bad("incomplete format".into())));
        assert_eq!(
            f("%(program_name"),
            Err(FormatError::Bad("incomplete format key".into()))
        );
        assert_eq!(f("date +%s"), Err(FormatError::Unnamed(6)));
    }

    #[test]
    fn supervisord_messages() {
        let n = names(&[("b", Value::Str("x".into())), ("a", Value::Int(1))]);
        assert_eq!(
            expand("x %(z)s", &n, "program:web.command").unwrap_err(),
            "Format string 'x %(z)s' for 'program:web.command' contains names ('z') which \
             cannot be expanded. Available names: a, b"
        );
        assert_eq!(
            expand("%(b)d", &n, "environment").unwrap_err(),
            "Format string '%(b)d' for 'environment' is badly formatted: %d format: a real \
             number is required, not str"
        );
    }

    #[test]
    fn repr_as_python() {
        assert_eq!(repr("plain"), "'plain'");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("both ' and \""), "'both \\' and \"'");
        assert_eq!(repr("tab\tnl\n\\"), "'tab\\tnl\\n\\\\'");
        assert_eq!(repr("é"), "'é'");
    }
}

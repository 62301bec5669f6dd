//! Reading a supervisord file as supervisor 4.3 does: configparser with inline `;`/`#`
//! comments and `strict=False` (duplicates merge, last wins), `[include] files` globbed
//! relative to the main file and read in sorted order into the same sections, and the
//! literal `%(here)s` of each file replaced by that file's directory.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};

use crate::config::ini::{self, Options};

/// One value as read, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
    /// Index into `Parsed::files`.
    pub file: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The file that first defined the section (supervisord's `section_to_file`).
    pub file: usize,
    pub line: usize,
    pub entries: Vec<Entry>,
}

/// Every section of the main file and its includes, merged.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The main file first, then each included file as read.
    pub files: Vec<PathBuf>,
    pub defaults: Vec<Entry>,
    pub sections: Vec<Section>,
    /// "No file matches via include ..."
    pub warnings: Vec<String>,
    /// "Included extra file ... during parsing"
    pub infos: Vec<String>,
    /// Section name to its index in `sections`.
    index: HashMap<String, usize>,
}

/// Where a refusal points: file, section, key, line (whatever of them is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub message: String,
    pub file: PathBuf,
    pub section: Option<String>,
    pub key: Option<String>,
    pub line: Option<usize>,
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (", self.message)?;
        if let Some(section) = &self.section {
            write!(f, "[{section}] ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "{key}, ")?;
        }
        if let Some(line) = self.line {
            write!(f, "line {line} of ")?;
        }
        write!(f, "{})", self.file.display())
    }
}

const HERE: &str = "%(here)s";
const PARSER: Options = Options {
    inline_comments: true,
    merge_duplicates: true,
};

impl Parsed {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.index.get(name).map(|&i| &self.sections[i])
    }

    /// A section's value for `key`, else the `[DEFAULT]` one.
    pub fn get<'a>(&'a self, section: &'a Section, key: &str) -> Option<&'a Entry> {
        section
            .entries
            .iter()
            .find(|e| e.key == key)
            .or_else(|| self.defaults.iter().find(|e| e.key == key))
    }

    /// A refusal located at a section's key (or the section itself when the key is unset).
    pub fn error(&self, section: &Section, key: Option<&str>, message: String) -> Located {
        let entry = key.and_then(|k| self.get(section, k));
        Located {
            message,
            file: self.files[entry.map_or(section.file, |e| e.file)].clone(),
            section: Some(section.name.clone()),
            key: key.map(str::to_string),
            line: Some(entry.map_or(section.line, |e| e.line)),
        }
    }

    /// Reads one file's text into the sections read so far.
    fn merge(&mut self, file: usize, text: &str) -> Result<(), Located> {
        let ini = ini::parse(text, PARSER).map_err(|e| Located {
            message: e.message,
            file: self.files[file].clone(),
            section: None,
            key: None,
            line: Some(e.line),
        })?;
        let tag = |entries: Vec<ini::Entry>| -> Vec<Entry> {
            entries
                .into_iter()
                .map(|e| Entry {
                    key: e.key,
                    value: e.value,
                    line: e.line,
                    file,
                })
                .collect()
        };
        for entry in tag(ini.defaults) {
            set(&mut self.defaults, entry);
        }
        for section in ini.sections {
            let entries = tag(section.entries);
            match self.index.get(&section.name) {
                Some(&i) => {
                    for entry in entries {
                        set(&mut self.sections[i].entries, entry);
                    }
                }
                None => {
                    self.index.insert(section.name.clone(), self.sections.len());
                    self.sections.push(Section {
                        name: section.name,
                        file,
                        line: section.line,
                        entries,
                    });
                }
            }
        }
        Ok(())
    }

    /// supervisord's `expand_here`: the literal `%(here)s` in every value read so far
    /// (a `[DEFAULT]` value lands in each section that inherits it) becomes `dir`.
    fn expand_here(&mut self, dir: &Path) {
        let dir = dir.display().to_string();
        let defaults = self.defaults.clone();
        for section in &mut self.sections {
            for entry in &mut section.entries {
                if entry.value.contains(HERE) {
                    entry.value = entry.value.replace(HERE, &dir);
                }
            }
            for default in defaults.iter().filter(|d| d.value.contains(HERE)) {
                if !section.entries.iter().any(|e| e.key == default.key) {
                    let mut entry = default.clone();
                    entry.value = entry.value.replace(HERE, &dir);
                    section.entries.push(entry);
                }
            }
        }
    }
}

/// Replaces the entry with the same key (at its new line), or appends.
fn set(entries: &mut Vec<Entry>, entry: Entry) {
    match entries.iter_mut().find(|e| e.key == entry.key) {
        Some(existing) => *existing = entry,
        None => entries.push(entry),
    }
}

/// Reads the main file and its includes. `expand_files` expands `[include] files` (with
/// `here`, `host_node_name` and the `ENV_` names); its error is a message.
pub fn read(
    path: &Path,
    expand_files: impl Fn(&str) -> Result<String, String>,
) -> Result<Parsed, Located> {
    let refusal = |message: String| Located {
        message,
        file: path.to_path_buf(),
        section: None,
        key: None,
        line: None,
    };
    if !path.exists() {
        return Err(refusal(format!(
            "could not find config file {}",
            path.display()
        )));
    }
    let text = std::fs::read(path)
        .map_err(|_| refusal(format!("could not read config file {}", path.display())))?;
    let text = String::from_utf8(text).map_err(|e| {
        refusal(format!(
            "not UTF-8 text (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let mut parsed = Parsed {
        files: vec![path.to_path_buf()],
        ..Parsed::default()
    };
    parsed.merge(0, &text)?;
    let Some(include) = parsed.section("include").cloned() else {
        return Ok(parsed);
    };
    let main_dir = absolute_dir(path);
    parsed.expand_here(&main_dir);
    let include = parsed.section("include").cloned().unwrap_or(include);
    let Some(files) = parsed.get(&include, "files").cloned() else {
        return Err(parsed.error(
            &include,
            None,
            ".ini file has [include] section, but no files setting".into(),
        ));
    };
    let patterns =
        expand_files(&files.value).map_err(|m| parsed.error(&include, Some("files"), m))?;
    for pattern in patterns.split_whitespace() {
        let pattern = main_dir.join(pattern).display().to_string();
        let matches = glob(&pattern);
        if matches.is_empty() {
            parsed
                .warnings
                .push(format!("No file matches via include \"{pattern}\""));
            continue;
        }
        // glob(3) sorts with strcoll, which in the C locale the daemon runs in (Rust
        // never calls setlocale) is byte order: Python's `sorted` of the names. Sorting
        // the `PathBuf`s again would compare them component by component and put
        // `conf/x.conf` before `conf.d/x.conf`, which supervisord reads the other way.
        for file in matches {
            parsed.infos.push(format!(
                "Included extra file \"{}\" during parsing",
                file.display()
            ));
            // configparser's read() skips a file it cannot open.
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            let index = parsed.files.len();
            parsed.files.push(file.clone());
            let text = String::from_utf8(bytes).map_err(|e| Located {
                message: format!("not UTF-8 text (at byte {})", e.utf8_error().valid_up_to()),
                file: file.clone(),
                section: None,
                key: None,
                line: None,
            })?;
            parsed.merge(index, &text)?;
            parsed.expand_here(&absolute_dir(&file));
        }
    }
    Ok(parsed)
}

/// The absolute directory of a file (supervisord's `here`).
pub fn absolute_dir(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    normalize(absolute.parent().unwrap_or(Path::new("/")))
}

/// Python's `os.path.normpath` of an absolute path: `.` and `..` resolved textually.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// `glob.glob(pattern)` through libc's glob(3): `*`, `?` and `[...]`, no match for a
/// leading dot unless the pattern has one, results sorted.
fn glob(pattern: &str) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_pattern) = CString::new(pattern) else {
        return Vec::new();
    };
    // SAFETY: glob_t is plain data; zeroed is its documented initial state.
    let mut found: libc::glob_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated pattern, no error callback, and `found` is freed
    // below with globfree on every path.
    let status = unsafe { libc::glob(c_pattern.as_ptr(), 0, None, &mut found) };
    let mut paths = Vec::new();
    if status == 0 {
        for i in 0..found.gl_pathc {
            // SAFETY: glob returned gl_pathc valid NUL-terminated strings in gl_pathv.
            let path = unsafe { CStr::from_ptr(*found.gl_pathv.add(i)) };
            paths.push(PathBuf::from(std::ffi::OsStr::from_bytes(path.to_bytes())));
        }
    }
    // SAFETY: `found` was filled by glob (or is zeroed, which globfree accepts).
    unsafe { libc::globfree(&mut found) };
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(e: std::io::Error) -> Located {
        missing(&e.to_string())
    }

    fn missing(what: &str) -> Located {
        Located {
            message: format!("test: {what}"),
            file: PathBuf::new(),
            section: None,
            key: None,
            line: None,
        }
    }

    fn value(parsed: &Parsed, section: &Section, key: &str) -> String {
        parsed
            .get(section, key)
            .map(|e| e.value.clone())
            .unwrap_or_default()
    }

    #[test]
    fn includes_merge_in_sorted_order_and_here_is_each_files_directory() -> Result<(), Located> {
        let dir = std::env::temp_dir().join(format!("sv-read-{}", std::process::id()));
        let conf = dir.join("conf.d");
        std::fs::create_dir_all(&conf).map_err(io)?;
        std::fs::write(
            dir.join("main.conf"),
            "[supervisord]\nlogfile = %(here)s/main.log ; comment\n\
             [include]\nfiles = conf.d/*.conf nothing/*.conf\n",
        )
        .map_err(io)?;
        std::fs::write(conf.join("b.conf"), "[program:x]\ncommand = b\n").map_err(io)?;
        std::fs::write(
            conf.join("a.conf"),
            "[program:x]\ncommand = a\ndirectory = %(here)s\n",
        )
        .map_err(io)?;
        std::fs::write(conf.join(".hidden.conf"), "[program:h]\ncommand = h\n").map_err(io)?;
        let parsed = read(&dir.join("main.conf"), |s| Ok(s.to_string()))?;
        let x = parsed
            .section("program:x")
            .ok_or_else(|| missing("program:x"))?;
        assert_eq!(value(&parsed, x, "command"), "b", "b.conf is read last");
        assert_eq!(value(&parsed, x, "directory"), conf.display().to_string());
        assert_eq!(parsed.files[x.file], conf.join("a.conf"), "first definer");
        assert!(
            parsed.section("program:h").is_none(),
            "no leading-dot match"
        );
        let sd = parsed
            .section("supervisord")
            .ok_or_else(|| missing("supervisord"))?;
        assert_eq!(
            value(&parsed, sd, "logfile"),
            format!("{}/main.log", dir.display())
        );
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        std::fs::remove_dir_all(&dir).map_err(io)?;
        Ok(())
    }

    #[test]
    fn included_paths_are_read_in_byte_order_as_pythons_sorted() -> Result<(), Located> {
        let dir = std::env::temp_dir().join(format!("sv-read-order-{}", std::process::id()));
        for sub in ["conf", "conf.d"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(io)?;
            let text = format!("[program:x]\ncommand = {sub}\n");
            std::fs::write(dir.join(sub).join("x.conf"), text).map_err(io)?;
        }
        std::fs::write(
            dir.join("main.conf"),
            "[supervisord]\n[include]\nfiles = conf*/x.conf\n",
        )
        .map_err(io)?;
        let parsed = read(&dir.join("main.conf"), |s| Ok(s.to_string()))?;
        // "conf.d/x.conf" < "conf/x.conf" byte for byte ('.' is 0x2e, '/' 0x2f).
        assert_eq!(
            &parsed.files[1..],
            &[dir.join("conf.d/x.conf"), dir.join("conf/x.conf")]
        );
        let x = parsed
            .section("program:x")
            .ok_or_else(|| missing("program:x"))?;
        assert_eq!(value(&parsed, x, "command"), "conf", "the last read wins");
        std::fs::remove_dir_all(&dir).map_err(io)?;
        Ok(())
    }

    #[test]
    fn an_include_without_files_is_refused_where_it_is() -> Result<(), Located> {
        let dir = std::env::temp_dir().join(format!("sv-read-nofiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(dir.join("main.conf"), "[supervisord]\n\n[include]\n").map_err(io)?;
        let Err(error) = read(&dir.join("main.conf"), |s| Ok(s.to_string())) else {
            return Err(missing("the refusal"));
        };
        assert_eq!(error.line, Some(3));
        assert!(error.message.contains("no files setting"));
        std::fs::remove_dir_all(&dir).map_err(io)?;
        Ok(())
    }
}

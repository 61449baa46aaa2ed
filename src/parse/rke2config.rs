//! RKE2's `config.yaml` and its drop-ins (`config.yaml.d/*.yaml|yml`) merged as rke2 merges
//! them (k3s `configfilearg`): `config.yaml` first, then the drop-ins in lexical order of their
//! file names; a later file's key replaces the earlier value, and a key written with a `+`
//! suffix (`kube-apiserver-arg+:`) appends to it. Every merged key keeps the file and line it
//! came from (each appended item too). A value the support-bundle collector masked (`***`) or
//! wrote as the string `"null"` is absent: the key is listed in [`Merged::masked`] instead.
//!
//! [`merge_order`] is the crate's one statement of that order; the token scan
//! ([`crate::pki::token::scan_rke2_config`]) walks the files through it too.
//!
//! Pure functions over bytes, never a panic: a file that does not parse is an error naming the
//! file and line, and the other files are still merged.

use std::collections::BTreeMap;

use serde_json::Value;

/// Where a value was written: the file (host path as given) and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A merged value: a scalar (strings, numbers and booleans as written), a list of scalars, or
/// anything else (maps, nested lists), kept as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    Scalar(String),
    List(Vec<String>),
    Other(String),
}

/// One merged key: its value, where it was (last) set, and for a list each item's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: ConfigValue,
    pub place: Place,
    /// For a list, the place of each item (the same place for the items of one file).
    pub item_places: Vec<Place>,
}

impl Entry {
    /// The scalar value, if it is one.
    pub fn scalar(&self) -> Option<&str> {
        match &self.value {
            ConfigValue::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a list of strings: the items of a list, a scalar split at commas (rke2
    /// accepts `tls-san: a,b` as well as a list).
    pub fn items(&self) -> Vec<String> {
        match &self.value {
            ConfigValue::List(v) => v.clone(),
            ConfigValue::Scalar(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            ConfigValue::Other(_) => Vec::new(),
        }
    }

    /// True for a boolean flag set true (`true`, `"true"`).
    pub fn is_true(&self) -> bool {
        self.scalar()
            .is_some_and(|s| s.eq_ignore_ascii_case("true"))
    }
}

/// A file that did not parse: its path and, when known, the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The merged configuration of one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// Merged keys (without a `+` suffix), sorted.
    pub keys: BTreeMap<String, Entry>,
    /// Keys whose last value was masked or `"null"`: present, value unknown.
    pub masked: BTreeMap<String, Place>,
    /// The files merged, in merge order.
    pub files: Vec<String>,
    /// Files that did not parse (skipped).
    pub errors: Vec<ConfigError>,
}

impl Merged {
    /// The entry of `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.keys.get(key)
    }
}

fn file_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// rke2's merge order: `config` first, then `dropins` sorted by file name (ties by full path).
pub fn merge_order<'a, T: Copy>(
    config: Option<(&'a str, T)>,
    dropins: &[(&'a str, T)],
) -> Vec<(&'a str, T)> {
    let mut ordered = dropins.to_vec();
    ordered.sort_by(|a, b| file_name(a.0).cmp(file_name(b.0)).then(a.0.cmp(b.0)));
    config.into_iter().chain(ordered).collect()
}

/// True for a value that stands for no value: the collector's mask or the string `"null"`.
fn is_absent(s: &str) -> bool {
    s == "***" || s == "null"
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The 1-based line of top-level `key` in `text`: a line starting with the key (bare or
/// quoted) and a colon, else the first line naming it quoted (flow-style JSON), else 1.
fn key_line(text: &str, key: &str) -> usize {
    let quoted = [format!("\"{key}\""), format!("'{key}'")];
    let starts = |l: &str| {
        [key, quoted[0].as_str(), quoted[1].as_str()]
            .iter()
            .any(|k| {
                l.strip_prefix(k)
                    .is_some_and(|r| r.trim_start().starts_with(':'))
            })
    };
    let lines = || text.lines().enumerate();
    lines()
        .find(|(_, l)| starts(l))
        .or_else(|| lines().find(|(_, l)| quoted.iter().any(|q| l.contains(q.as_str()))))
        .map_or(1, |(i, _)| i + 1)
}

/// Merge the files given in merge order (see [`merge_order`]): `(path, bytes)`.
pub fn merge(files: &[(&str, &[u8])]) -> Merged {
    let mut m = Merged::default();
    for (path, data) in files {
        m.files.push(path.to_string());
        let text = String::from_utf8_lossy(data);
        let map = match serde_saphyr::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => continue,
            Ok(_) => {
                m.errors.push(ConfigError {
                    file: path.to_string(),
                    line: Some(1),
                    message: "not a map of keys".into(),
                });
                continue;
            }
            Err(e) => {
                m.errors.push(ConfigError {
                    file: path.to_string(),
                    line: e.location().map(|l| l.line() as usize),
                    message: "not valid YAML".into(),
                });
                continue;
            }
        };
        for (raw_key, v) in map {
            let (key, append) = match raw_key.strip_suffix('+') {
                Some(k) => (k.to_string(), true),
                None => (raw_key.clone(), false),
            };
            let place = Place {
                file: path.to_string(),
                line: key_line(&text, &raw_key),
            };
            let value = match &v {
                Value::Array(items) => match items.iter().map(scalar_text).collect() {
                    Some(list) => ConfigValue::List(list),
                    None => ConfigValue::Other(v.to_string()),
                },
                Value::Null => ConfigValue::Scalar(String::new()),
                other => match scalar_text(other) {
                    Some(s) if is_absent(&s) => {
                        m.keys.remove(&key);
                        m.masked.insert(key, place);
                        continue;
                    }
                    Some(s) => ConfigValue::Scalar(s),
                    None => ConfigValue::Other(other.to_string()),
                },
            };
            m.masked.remove(&key);
            let new_items = match &value {
                ConfigValue::List(l) => vec![place.clone(); l.len()],
                _ => Vec::new(),
            };
            match (append, m.keys.get_mut(&key)) {
                (true, Some(old)) => {
                    let mut items = old.items();
                    let mut places = match &old.value {
                        ConfigValue::List(_) => old.item_places.clone(),
                        _ => vec![old.place.clone(); items.len()],
                    };
                    let add = Entry {
                        value,
                        place: place.clone(),
                        item_places: Vec::new(),
                    };
                    let added = add.items();
                    places.extend(std::iter::repeat_n(place.clone(), added.len()));
                    items.extend(added);
                    *old = Entry {
                        value: ConfigValue::List(items),
                        place,
                        item_places: places,
                    };
                }
                _ => {
                    m.keys.insert(
                        key,
                        Entry {
                            value,
                            place,
                            item_places: new_items,
                        },
                    );
                }
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "etc/rancher/rke2/config.yaml.d/";

    #[test]
    fn config_first_then_drop_ins_by_file_name() {
        let order = merge_order(
            Some(("etc/rancher/rke2/config.yaml", 0)),
            &[
                ("etc/rancher/rke2/config.yaml.d/90-b.yaml", 1),
                ("etc/rancher/rke2/config.yaml.d/10-a.yml", 2),
                ("etc/rancher/rke2/config.yaml.d/50-c.yaml", 3),
            ],
        );
        let ids: Vec<i32> = order.iter().map(|(_, i)| *i).collect();
        assert_eq!(ids, vec![0, 2, 3, 1]);
    }

    #[test]
    fn later_files_win_and_plus_keys_append() {
        let a = b"profile: cis\ntls-san:\n  - a.example\nkube-apiserver-arg:\n  - x=1\n";
        let b = b"profile: cis-1.23\ntls-san+:\n  - 10.0.0.1\nkube-apiserver-arg:\n  - y=2\n";
        let m = merge(&[("c.yaml", a), (&format!("{D}50.yaml"), b)]);
        let p = m.get("profile").unwrap();
        assert_eq!(p.scalar(), Some("cis-1.23"));
        assert_eq!(p.place.line, 1);
        assert!(p.place.file.ends_with("50.yaml"));
        let san = m.get("tls-san").unwrap();
        assert_eq!(san.items(), vec!["a.example", "10.0.0.1"]);
        assert_eq!(san.item_places[0].file, "c.yaml");
        assert_eq!(san.item_places[0].line, 2);
        assert_eq!(san.item_places[1].line, 2);
        assert!(san.item_places[1].file.ends_with("50.yaml"));
        assert_eq!(m.get("kube-apiserver-arg").unwrap().items(), vec!["y=2"]);
    }

    #[test]
    fn masked_and_null_values_are_absent() {
        let a = b"token: K10abc::server:secret\nserver: https://x:9345\n";
        let b = b"token: '***'\nserver: \"null\"\n";
        let m = merge(&[("a.yaml", a), ("b.yaml", b)]);
        assert!(m.get("token").is_none());
        assert!(m.get("server").is_none());
        assert_eq!(m.masked["token"].file, "b.yaml");
    }

    #[test]
    fn flow_style_json_and_errors_with_file_and_line() {
        let j = br#"{"node-label":["a=b"],"protect-kernel-defaults":false}"#;
        let bad = b"a: 1\nb: [unclosed\n";
        let m = merge(&[("j.yaml", j), ("bad.yaml", bad)]);
        assert_eq!(m.get("node-label").unwrap().items(), vec!["a=b"]);
        assert_eq!(
            m.get("protect-kernel-defaults").unwrap().scalar(),
            Some("false")
        );
        assert_eq!(m.errors.len(), 1);
        assert_eq!(m.errors[0].file, "bad.yaml");
        assert!(m.errors[0].line.is_some());
        assert!(m.errors[0].to_string().starts_with("bad.yaml:"));
    }

    #[test]
    fn scalar_lists_and_booleans() {
        let m = merge(&[(
            "c.yaml",
            b"tls-san: a,b\nsecrets-encryption: \"true\"\nx:\n  y: 1\n" as &[u8],
        )]);
        assert_eq!(m.get("tls-san").unwrap().items(), vec!["a", "b"]);
        assert!(m.get("secrets-encryption").unwrap().is_true());
        assert!(matches!(m.get("x").unwrap().value, ConfigValue::Other(_)));
    }
}

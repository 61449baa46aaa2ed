//! Harvester settings, read once: the bundle's `Setting` objects (`harvesterhci.io`), whose
//! values are JSON inside strings (`auto-rotate-rke2-certs`, `http-proxy`), and the proxy
//! variables the nodes' `/oem` cloud-configs set on their own, outside the setting.
//!
//! A setting's effective value is its `value`, else its `default` (reference
//! harvester-bundle.md §5); the string `"null"`, an empty string and a masked `***` are absent
//! (the snapshot's accessors), integers may be printed as floats. Proxy URLs may carry
//! credentials: they are kept as [`Secret`]s, compared in memory and never shown.

use serde_json::Value;

use crate::layout;
use crate::pki::secret::Secret;
use crate::snapshot::value::{as_bool, as_i64, get, str_at};
use crate::snapshot::{KubeObject, Snapshot};
use crate::vocab::Origin;

/// The auto-rotate setting's name.
pub const AUTO_ROTATE: &str = "auto-rotate-rke2-certs";
/// The proxy setting's name.
pub const HTTP_PROXY: &str = "http-proxy";

/// The Harvester settings the rules read, and the `/oem` proxy variables of every node.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// How many Harvester `Setting` objects the inputs hold: 0 when no bundle is given or the
    /// bundle does not collect them (2022 bundles).
    pub count: usize,
    /// `auto-rotate-rke2-certs` (Harvester v1.3.0+).
    pub auto_rotate: Option<Setting<AutoRotate>>,
    /// `http-proxy`.
    pub http_proxy: Option<Setting<HttpProxy>>,
    /// Proxy variables set in the nodes' `/oem` cloud-configs, in node and file order.
    pub oem_proxies: Vec<OemProxy>,
    /// The nodes with at least one `/oem` cloud-config in the inputs, sorted.
    pub oem_nodes: Vec<String>,
}

/// Which field of a setting gave its effective value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `value`: set by an administrator.
    Value,
    /// `default`: the value is empty.
    Default,
    /// Neither field: Harvester's built-in default applies.
    BuiltIn,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Value => "value",
            Source::Default => "default (value empty)",
            Source::BuiltIn => "Harvester's built-in default (value and default empty)",
        }
    }
}

/// One setting: where it is, which field gave its effective value, and that value parsed (or
/// why it could not be).
#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub origin: Origin,
    pub source: Source,
    pub parsed: Result<T, String>,
}

/// `auto-rotate-rke2-certs`: `{"enable":bool,"expiringInHours":int}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoRotate {
    pub enable: bool,
    pub expiring_in_hours: Option<i64>,
}

/// Harvester's built-in default of `auto-rotate-rke2-certs`.
pub const AUTO_ROTATE_DEFAULT: AutoRotate = AutoRotate {
    enable: false,
    expiring_in_hours: Some(240),
};

/// `http-proxy`: `{"httpProxy","httpsProxy","noProxy"}`, each absent when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpProxy {
    pub http_proxy: Option<Secret>,
    pub https_proxy: Option<Secret>,
    pub no_proxy: Option<String>,
}

impl HttpProxy {
    /// True when the setting sets a proxy (HTTP or HTTPS).
    pub fn is_set(&self) -> bool {
        self.http_proxy.is_some() || self.https_proxy.is_some()
    }
}

/// A proxy variable (`HTTP_PROXY`, `https_proxy`, …) set with a value in a node's `/oem`
/// cloud-config.
#[derive(Debug, Clone)]
pub struct OemProxy {
    /// The file, with the node, its host path and the line.
    pub origin: Origin,
    /// The variable as written.
    pub variable: String,
    /// True for `https_proxy`, false for `http_proxy`.
    pub https: bool,
    pub value: Secret,
}

/// Read the settings and the `/oem` proxy variables of `snap`.
pub fn read(snap: &Snapshot) -> Settings {
    let mut s = Settings::default();
    for o in snap
        .objects_of("Setting")
        .filter(|o| o.api_version.starts_with("harvesterhci.io/"))
    {
        s.count += 1;
        match o.name.as_str() {
            AUTO_ROTATE if s.auto_rotate.is_none() => {
                s.auto_rotate = Some(setting(snap, o, |t| match t {
                    Some(t) => auto_rotate(t),
                    None => Ok(AUTO_ROTATE_DEFAULT),
                }));
            }
            HTTP_PROXY if s.http_proxy.is_none() => {
                s.http_proxy = Some(setting(snap, o, |t| match t {
                    Some(t) => http_proxy(t),
                    None => Ok(HttpProxy::default()),
                }));
            }
            _ => {}
        }
    }
    for node in snap.nodes.values() {
        let mut any = false;
        for (host, copies) in node.files.range::<str, _>((
            std::ops::Bound::Included(layout::OEM_DIR),
            std::ops::Bound::Unbounded,
        )) {
            if !host.starts_with(layout::OEM_DIR) {
                break;
            }
            if !layout::is_oem_config(host) {
                continue;
            }
            let Some((data, input, logical)) = snap.first_copy(copies) else {
                continue;
            };
            any = true;
            let base = Origin::new(input, logical).on(node.name.as_str(), &**host);
            for (line, variable, value) in proxy_lines(&String::from_utf8_lossy(data)) {
                s.oem_proxies.push(OemProxy {
                    origin: base.clone().at(Some(format!("line {line}"))),
                    https: variable.eq_ignore_ascii_case("https_proxy"),
                    variable,
                    value: Secret::new(value),
                });
            }
        }
        if any {
            s.oem_nodes.push(node.name.clone());
        }
    }
    s
}

/// A setting from its object: the effective text (`value`, else `default`, else none) parsed
/// with `parse`.
fn setting<T>(
    snap: &Snapshot,
    o: &KubeObject,
    parse: impl Fn(Option<&str>) -> Result<T, String>,
) -> Setting<T> {
    let input = snap.trees.get(o.input).map_or("", |t| t.name.as_str());
    let (source, text) = match (str_at(&o.value, &["value"]), str_at(&o.value, &["default"])) {
        (Some(v), _) => (Source::Value, Some(v)),
        (None, Some(d)) => (Source::Default, Some(d)),
        (None, None) => (Source::BuiltIn, None),
    };
    let field = match source {
        Source::Value => ".value",
        Source::Default => ".default",
        Source::BuiltIn => "",
    };
    Setting {
        origin: Origin::new(input, o.path.as_str()).at(Some(format!("items[{}]{field}", o.index))),
        source,
        parsed: parse(text),
    }
}

/// The JSON object inside a setting's string.
fn json_object(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not JSON ({e})")),
    }
}

/// `{"enable":true,"expiringInHours":240}`; a missing `enable` is false (Go's zero value).
fn auto_rotate(text: &str) -> Result<AutoRotate, String> {
    let v = json_object(text)?;
    let enable = match get(&v, &["enable"]) {
        None | Some(Value::Null) => false,
        Some(e) => as_bool(e).ok_or("`enable` is not a boolean")?,
    };
    Ok(AutoRotate {
        enable,
        expiring_in_hours: get(&v, &["expiringInHours"]).and_then(as_i64),
    })
}

/// `{"httpProxy":…,"httpsProxy":…,"noProxy":…}`.
fn http_proxy(text: &str) -> Result<HttpProxy, String> {
    let v = json_object(text)?;
    Ok(HttpProxy {
        http_proxy: str_at(&v, &["httpProxy"]).map(Secret::new),
        https_proxy: str_at(&v, &["httpsProxy"]).map(Secret::new),
        no_proxy: str_at(&v, &["noProxy"]).map(str::to_string),
    })
}

/// The lines of a cloud-config that set `http_proxy` or `https_proxy` (any case) to a value:
/// YAML keys (`HTTP_PROXY: http://…` in an `environment:` map or `os.environment`), shell and
/// sysconfig assignments inside written files or commands (`export HTTPS_PROXY=…`,
/// `HTTP_PROXY="…"`). `(line number, variable, value)`; empty, `null` and masked values are
/// not settings.
pub fn proxy_lines(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut l = line.trim_start();
        if l.starts_with('#') {
            continue;
        }
        l = l.strip_prefix("- ").unwrap_or(l).trim_start();
        l = l.strip_prefix("export ").unwrap_or(l).trim_start();
        let Some(at) = l.find([':', '=']) else {
            continue;
        };
        let key = l[..at].trim().trim_matches(['"', '\'']);
        if !(key.eq_ignore_ascii_case("http_proxy") || key.eq_ignore_ascii_case("https_proxy")) {
            continue;
        }
        let value = l[at + 1..].trim().trim_matches(['"', '\'']).trim();
        if crate::pki::secret::is_placeholder(value) {
            continue;
        }
        out.push((i + 1, key.to_string(), value.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_rotate_reads_json_in_a_string() {
        assert_eq!(
            auto_rotate(r#"{"enable":true,"expiringInHours":2.4e+02}"#),
            Ok(AutoRotate {
                enable: true,
                expiring_in_hours: Some(240)
            })
        );
        assert_eq!(
            auto_rotate(r#"{"expiringInHours":240}"#).map(|a| a.enable),
            Ok(false)
        );
        assert_eq!(
            auto_rotate(r#"{"enable":"true"}"#).map(|a| a.enable),
            Ok(true)
        );
        assert!(auto_rotate("on").is_err());
        assert!(auto_rotate(r#"{"enable":3}"#).is_err());
        assert!(auto_rotate("[]").is_err());
    }

    #[test]
    fn http_proxy_fields_are_absent_when_empty() {
        let p = http_proxy("{}").unwrap_or_default();
        assert!(!p.is_set());
        let p = http_proxy(r#"{"httpProxy":"http://p:3128","noProxy":""}"#).unwrap_or_default();
        assert!(p.is_set());
        assert_eq!(p.no_proxy, None);
        assert_eq!(p.http_proxy, Some(Secret::new("http://p:3128")));
    }

    #[test]
    fn proxy_lines_find_yaml_keys_and_assignments_only() {
        let text = "\
stages:
  initramfs:
    - environment:
        HTTP_PROXY: http://proxy:3128
        https_proxy: \"http://proxy:3128\"
        NO_PROXY: localhost
      commands:
        - export HTTPS_PROXY=http://other:8080
      files:
        - content: |
            HTTP_PROXY=\"http://p:1\"
            PROXY_ENABLED=\"yes\"
# HTTP_PROXY: http://commented
proxy-body-size: \"0\"
http_proxy: \"\"
https_proxy: \"***\"
";
        let got: Vec<(usize, String)> = proxy_lines(text)
            .into_iter()
            .map(|(n, k, _)| (n, k))
            .collect();
        assert_eq!(
            got,
            vec![
                (4, "HTTP_PROXY".to_string()),
                (5, "https_proxy".to_string()),
                (8, "HTTPS_PROXY".to_string()),
                (11, "HTTP_PROXY".to_string()),
            ]
        );
    }
}

//! Kernel parameters: the live values of `sysctl -a` (`commands/sysctl-a.txt` of a node
//! snapshot, the `sysctl -a | grep ^vm` section of supportconfig's `memory.txt`) and the
//! configured ones of `sysctl.conf` / `sysctl.d/*.conf` (`#` and `;` comments, blank lines, a
//! `-` prefix that tells systemd-sysctl to ignore a failure, whitespace around `=`, `/` as the
//! separator), merged in systemd's order ([`conf_order`]: the `sysctl.d` files of every
//! directory sorted by file name, a name in `/etc` hiding the same name elsewhere, then
//! `/etc/sysctl.conf`; a later file wins).
//!
//! Values are kept with their whitespace collapsed to single spaces (`sysctl -a` separates the
//! parts of a multi-valued parameter with tabs). Pure functions over bytes: a line that is not
//! `key = value` is an error naming its line, and the rest is still read.

use std::collections::BTreeMap;

/// One parameter's value and where it was written (1-based line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub value: String,
    pub line: usize,
    /// The `-` prefix of a configured key: a failure to set it is ignored.
    pub ignore_failure: bool,
}

/// The parameters of one file, by key (dotted form), and the lines that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub values: BTreeMap<String, Value>,
    /// 1-based lines that are not `key = value`.
    pub bad_lines: Vec<usize>,
}

/// A configured value with the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    pub file: String,
    pub value: Value,
}

/// `a/b/c` → `a.b.c` when `/` is the key's separator (its first separator), as sysctl.d(5) says.
fn normalize_key(k: &str) -> String {
    let first = k.find(['.', '/']);
    match first.map(|i| &k[i..i + 1]) {
        Some("/") => k.replace('/', "."),
        _ => k.to_string(),
    }
}

fn collapse(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_lines(data: &[u8], config: bool) -> Params {
    let text = String::from_utf8_lossy(data);
    let mut p = Params::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let (ignore_failure, line) = match line.strip_prefix('-') {
            Some(rest) if config => (true, rest.trim_start()),
            _ => (false, line),
        };
        let Some((k, v)) = line.split_once('=') else {
            p.bad_lines.push(i + 1);
            continue;
        };
        let k = k.trim();
        if k.is_empty() || k.contains(char::is_whitespace) {
            p.bad_lines.push(i + 1);
            continue;
        }
        p.values.insert(
            normalize_key(k),
            Value {
                value: collapse(v),
                line: i + 1,
                ignore_failure,
            },
        );
    }
    p
}

/// `sysctl -a` output (`key = value` per line).
pub fn parse_live(data: &[u8]) -> Params {
    parse_lines(data, false)
}

/// One `sysctl.conf` / `sysctl.d/*.conf` file.
pub fn parse_conf(data: &[u8]) -> Params {
    parse_lines(data, true)
}

/// The directories systemd-sysctl reads, highest priority first (host paths).
pub const CONF_DIRS: [&str; 5] = [
    "etc/sysctl.d/",
    "run/sysctl.d/",
    "usr/local/lib/sysctl.d/",
    "usr/lib/sysctl.d/",
    "lib/sysctl.d/",
];

/// The classic file, read last.
pub const SYSCTL_CONF: &str = "etc/sysctl.conf";

/// True for a configuration file [`conf_order`] takes.
pub fn is_conf(host: &str) -> bool {
    host == SYSCTL_CONF
        || CONF_DIRS.iter().any(|d| {
            host.strip_prefix(d)
                .is_some_and(|n| n.ends_with(".conf") && !n.contains('/'))
        })
}

/// systemd's order of the configuration files among `files` (host paths): `sysctl.d` files
/// by file name (a name in a higher-priority directory hides the same name in the others), then
/// `etc/sysctl.conf`. Paths that are not configuration files are left out.
pub fn conf_order<'a, T: Copy>(files: &[(&'a str, T)]) -> Vec<(&'a str, T)> {
    let mut by_name: BTreeMap<&str, (usize, (&'a str, T))> = BTreeMap::new();
    let mut classic = None;
    for &(path, t) in files {
        if path == SYSCTL_CONF {
            classic = Some((path, t));
            continue;
        }
        let Some((prio, name)) = CONF_DIRS
            .iter()
            .enumerate()
            .find_map(|(i, d)| path.strip_prefix(d).map(|n| (i, n)))
        else {
            continue;
        };
        if !is_conf(path) {
            continue;
        }
        let slot = by_name.entry(name).or_insert((prio, (path, t)));
        if prio < slot.0 {
            *slot = (prio, (path, t));
        }
    }
    by_name
        .into_values()
        .map(|(_, f)| f)
        .chain(classic)
        .collect()
}

/// Merge configuration files given in order (see [`conf_order`]): a later file wins.
pub fn merge_conf(files: &[(&str, &[u8])]) -> BTreeMap<String, Configured> {
    let mut out = BTreeMap::new();
    for (file, data) in files {
        for (k, value) in parse_conf(data).values {
            out.insert(
                k,
                Configured {
                    file: file.to_string(),
                    value,
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_output_with_tabs_and_bad_lines() {
        let p = parse_live(
            b"kernel.panic = 10\nnet.ipv4.ip_local_port_range = 32768\t60999\nsysctl: permission denied on key 'x'\nvm.overcommit_memory = 1\n",
        );
        assert_eq!(p.values["kernel.panic"].value, "10");
        assert_eq!(
            p.values["net.ipv4.ip_local_port_range"].value,
            "32768 60999"
        );
        assert_eq!(p.values["vm.overcommit_memory"].line, 4);
        assert_eq!(p.bad_lines, vec![3]);
    }

    #[test]
    fn conf_comments_dash_prefix_and_slash_keys() {
        let p = parse_conf(
            b"# comment\n; other\n\n  vm.panic_on_oom=0 \n-kernel.panic = 10\nnet/ipv4/conf/all/forwarding = 1\n",
        );
        assert_eq!(p.values["vm.panic_on_oom"].value, "0");
        assert!(p.values["kernel.panic"].ignore_failure);
        assert_eq!(p.values["kernel.panic"].line, 5);
        assert!(p.values.contains_key("net.ipv4.conf.all.forwarding"));
        assert!(p.bad_lines.is_empty());
    }

    #[test]
    fn systemd_order_etc_hides_same_name_and_sysctl_conf_last() {
        let files = [
            ("etc/sysctl.conf", 0),
            ("usr/lib/sysctl.d/50-default.conf", 1),
            ("etc/sysctl.d/90-rke2.conf", 2),
            ("usr/lib/sysctl.d/90-rke2.conf", 3),
            ("etc/sysctl.d/10-a.conf", 4),
            ("etc/sysctl.d/README", 5),
        ];
        let ids: Vec<i32> = conf_order(&files).iter().map(|(_, i)| *i).collect();
        assert_eq!(ids, vec![4, 1, 2, 0]);
    }

    #[test]
    fn later_file_wins() {
        let m = merge_conf(&[
            ("a.conf", b"kernel.panic=0\nvm.swappiness=10\n" as &[u8]),
            ("b.conf", b"kernel.panic = 10\n"),
        ]);
        assert_eq!(m["kernel.panic"].value.value, "10");
        assert_eq!(m["kernel.panic"].file, "b.conf");
        assert_eq!(m["vm.swappiness"].file, "a.conf");
    }
}

//! `iptables-save` output (also `iptables-legacy-save`, `ip6tables-save`): tables, chains with
//! their policies, and each rule's matches and target, in order, with its line. What the
//! firewall rules judge: a chain's structure and position (`-A INPUT -i mgmt-br -j
//! HARVESTER_INPUT` as the last INPUT rule), the ports a chain accepts (`--dport`, `--dports` of
//! `-m multiport`, ranges `a:b`), `-m conntrack --ctstate`, `-m comment --comment "…"`,
//! `-m limit --limit`, `-i`/`-s` with their negations, and the target with `--log-prefix`.
//!
//! Pure function over bytes, never a panic: a line it cannot read is an error naming the line,
//! and the rest of the file is still read.

use std::collections::BTreeMap;

/// A port or a range of ports (`22`, `30000:32767`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    /// True when `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }
}

/// A match value with its negation (`! -i eth0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negatable {
    pub negated: bool,
    pub value: String,
}

/// One rule (`-A CHAIN …`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// 1-based line in the file.
    pub line: usize,
    pub protocol: Option<Negatable>,
    pub in_interface: Option<Negatable>,
    pub out_interface: Option<Negatable>,
    pub source: Option<Negatable>,
    pub destination: Option<Negatable>,
    /// Destination ports (`--dport`, `--dports`), each a port or a range.
    pub dports: Vec<PortRange>,
    /// Source ports (`--sport`, `--sports`).
    pub sports: Vec<PortRange>,
    /// The match modules named with `-m`, in order.
    pub modules: Vec<String>,
    /// `--ctstate` / `--state` values, upper case.
    pub states: Vec<String>,
    pub comment: Option<String>,
    /// `-m limit --limit` (`10/min`).
    pub limit: Option<String>,
    /// The target of `-j` (`ACCEPT`, `DROP`, `LOG`, a chain).
    pub jump: Option<String>,
    /// The chain of `-g`.
    pub goto: Option<String>,
    /// `--log-prefix` of a `LOG` target.
    pub log_prefix: Option<String>,
    /// Options this parser does not interpret, as written (`--icmp-type 8`).
    pub other: Vec<String>,
}

/// A chain: its policy (`ACCEPT`/`DROP` for built-in chains, `None` for user chains) and rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    pub policy: Option<String>,
    pub rules: Vec<Rule>,
}

/// A table (`filter`, `nat`, `mangle`, `raw`, `security`) with its chains in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub chains: Vec<Chain>,
    /// True once its `COMMIT` line was read.
    pub committed: bool,
}

impl Table {
    /// The chain named `name`.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// What `iptables-save` printed: tables by name, and the lines that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ruleset {
    pub tables: BTreeMap<String, Table>,
    pub errors: Vec<LineError>,
}

impl Ruleset {
    /// The `filter` table, where host firewalls live.
    pub fn filter(&self) -> Option<&Table> {
        self.tables.get("filter")
    }
}

/// Split a rule line into words as the shell that wrote it would: double and single quotes group,
/// a backslash escapes the next character inside double quotes and outside quotes.
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => cur.push(e),
                            None => return Err("backslash at the end of the line".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(e) => cur.push(e),
                    None => return Err("backslash at the end of the line".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Ports of `--dport 22`, `--dport 30000:32767`, `--dports 2379,2380,10250:10252`.
fn ports(v: &str) -> Result<Vec<PortRange>, String> {
    v.split(',')
        .map(|p| {
            let (lo, hi) = p.split_once(':').unwrap_or((p, p));
            let num = |s: &str| -> Result<u16, String> {
                if s.is_empty() {
                    return Ok(0);
                }
                s.parse::<u16>().map_err(|_| format!("not a port: {p:?}"))
            };
            let lo = num(lo)?;
            let hi = if hi.is_empty() { u16::MAX } else { num(hi)? };
            if lo > hi {
                return Err(format!("empty port range {p:?}"));
            }
            Ok(PortRange { lo, hi })
        })
        .collect()
}

/// Read one `-A CHAIN …` rule (the words after `-A CHAIN`).
pub fn rule(line: usize, w: &[String]) -> Result<Rule, String> {
    let mut r = Rule {
        line,
        ..Rule::default()
    };
    let mut i = 0;
    let mut negate = false;
    let value = |i: usize| -> Result<String, String> {
        w.get(i + 1)
            .cloned()
            .ok_or_else(|| format!("{} needs a value", w.get(i).map_or("", String::as_str)))
    };
    while i < w.len() {
        let opt = w[i].as_str();
        if opt == "!" {
            negate = true;
            i += 1;
            continue;
        }
        let neg = |v: String| Negatable {
            negated: negate,
            value: v,
        };
        let mut takes_value = true;
        match opt {
            "-p" | "--protocol" => r.protocol = Some(neg(value(i)?)),
            "-i" | "--in-interface" => r.in_interface = Some(neg(value(i)?)),
            "-o" | "--out-interface" => r.out_interface = Some(neg(value(i)?)),
            "-s" | "--source" | "--src" => r.source = Some(neg(value(i)?)),
            "-d" | "--destination" | "--dst" => r.destination = Some(neg(value(i)?)),
            "--dport" | "--dports" | "--destination-port" | "--destination-ports" => {
                r.dports.extend(ports(&value(i)?)?)
            }
            "--sport" | "--sports" | "--source-port" | "--source-ports" => {
                r.sports.extend(ports(&value(i)?)?)
            }
            "-m" | "--match" => r.modules.push(value(i)?),
            "--ctstate" | "--state" => r
                .states
                .extend(value(i)?.split(',').map(|s| s.trim().to_ascii_uppercase())),
            "--comment" => r.comment = Some(value(i)?),
            "--limit" => r.limit = Some(value(i)?),
            "-j" | "--jump" => r.jump = Some(value(i)?),
            "-g" | "--goto" => r.goto = Some(value(i)?),
            "--log-prefix" => r.log_prefix = Some(value(i)?),
            _ => {
                takes_value = false;
                r.other.push(w[i].clone());
            }
        }
        negate = false;
        i += if takes_value { 2 } else { 1 };
    }
    Ok(r)
}

/// Parse `iptables-save` output.
pub fn parse(data: &[u8]) -> Ruleset {
    let text = String::from_utf8_lossy(data);
    let mut rs = Ruleset::default();
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        let mut err = |message: String| rs.errors.push(LineError { line: n, message });
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            let name = name.trim().to_string();
            rs.tables.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let Some(table_name) = current.clone() else {
            err(format!(
                "{line:?} outside a table (no `*filter` line before it)"
            ));
            continue;
        };
        if line == "COMMIT" {
            if let Some(t) = rs.tables.get_mut(&table_name) {
                t.committed = true;
            }
            current = None;
            continue;
        }
        let Some(table) = rs.tables.get_mut(&table_name) else {
            continue;
        };
        if let Some(decl) = line.strip_prefix(':') {
            let mut parts = decl.split_whitespace();
            let (Some(name), Some(policy)) = (parts.next(), parts.next()) else {
                err(format!("chain declaration {line:?} has no policy"));
                continue;
            };
            if table.chain(name).is_none() {
                table.chains.push(Chain {
                    name: name.to_string(),
                    policy: (policy != "-").then(|| policy.to_string()),
                    rules: Vec::new(),
                });
            }
            continue;
        }
        let w = match words(line) {
            Ok(w) => w,
            Err(e) => {
                err(e);
                continue;
            }
        };
        let (Some(op), Some(chain)) = (w.first(), w.get(1)) else {
            err(format!("unreadable line {line:?}"));
            continue;
        };
        if op != "-A" && op != "--append" {
            err(format!(
                "unexpected {op:?} (iptables-save writes only -A rules)"
            ));
            continue;
        }
        let r = match rule(n, &w[2..]) {
            Ok(r) => r,
            Err(e) => {
                err(e);
                continue;
            }
        };
        match table.chains.iter_mut().find(|c| &c.name == chain) {
            Some(c) => c.rules.push(r),
            None => {
                // A rule for a chain never declared: keep it, as a user chain.
                table.chains.push(Chain {
                    name: chain.clone(),
                    policy: None,
                    rules: vec![r],
                });
            }
        }
    }
    if let Some(t) = current {
        rs.errors.push(LineError {
            line: text.lines().count(),
            message: format!("table {t} has no COMMIT: the output was cut short"),
        });
    }
    rs
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"# Generated by iptables-save v1.8.7 on Thu Apr 23 10:00:00 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:HARVESTER_INPUT - [0:0]
-A INPUT -j KUBE-FIREWALL
-A INPUT -i mgmt-br -j HARVESTER_INPUT
-A HARVESTER_INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "Accept return traffic from established connections" -j ACCEPT
-A HARVESTER_INPUT -p icmp -m comment --comment ICMP -j ACCEPT
-A HARVESTER_INPUT -s 10.52.0.0/16 -m comment --comment "Allow pod network return traffic" -j ACCEPT
-A HARVESTER_INPUT -p tcp -m multiport --dports 2379,2380,10250:10252 -m comment --comment "etcd \"and\" kubelet" -j ACCEPT
-A HARVESTER_INPUT -p tcp -m tcp --dport 30000:32767 -j ACCEPT
-A HARVESTER_INPUT ! -i lo -p udp -m udp --dport 8472 -j ACCEPT
-A HARVESTER_INPUT -m limit --limit 10/min -m comment --comment "Rate-limit logging of dropped packets" -j LOG --log-prefix HARVESTER_DROP_ --log-level 4
-A HARVESTER_INPUT -m comment --comment "Drop all other traffic" -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
COMMIT
"#;

    #[test]
    fn the_seed_ruleset_reads_with_structure_ports_and_comments() {
        let rs = parse(SEED.as_bytes());
        assert!(rs.errors.is_empty(), "{:?}", rs.errors);
        let f = rs.filter().expect("filter");
        assert!(f.committed);
        assert_eq!(
            f.chain("FORWARD").and_then(|c| c.policy.as_deref()),
            Some("DROP")
        );
        let input = f.chain("INPUT").expect("INPUT");
        let last = input.rules.last().expect("rules");
        assert_eq!(last.jump.as_deref(), Some("HARVESTER_INPUT"));
        assert_eq!(
            last.in_interface,
            Some(Negatable {
                negated: false,
                value: "mgmt-br".into()
            })
        );
        let h = f.chain("HARVESTER_INPUT").expect("chain");
        assert_eq!(h.policy, None);
        assert_eq!(h.rules.len(), 8);
        assert_eq!(h.rules[0].states, vec!["RELATED", "ESTABLISHED"]);
        assert_eq!(
            h.rules[0].comment.as_deref(),
            Some("Accept return traffic from established connections")
        );
        let etcd = &h.rules[3];
        assert_eq!(etcd.modules, vec!["multiport", "comment"]);
        assert_eq!(etcd.comment.as_deref(), Some("etcd \"and\" kubelet"));
        assert!(etcd.dports.iter().any(|p| p.contains(2380)));
        assert!(etcd.dports.iter().any(|p| p.contains(10251)));
        assert!(!etcd.dports.iter().any(|p| p.contains(10253)));
        assert_eq!(
            h.rules[4].dports,
            vec![PortRange {
                lo: 30000,
                hi: 32767
            }]
        );
        let vxlan = &h.rules[5];
        assert_eq!(
            vxlan.in_interface,
            Some(Negatable {
                negated: true,
                value: "lo".into()
            })
        );
        assert!(!vxlan.protocol.as_ref().is_some_and(|p| p.negated));
        let log = &h.rules[6];
        assert_eq!(log.limit.as_deref(), Some("10/min"));
        assert_eq!(log.log_prefix.as_deref(), Some("HARVESTER_DROP_"));
        assert_eq!(log.other, vec!["--log-level", "4"]);
        assert_eq!(h.rules[7].jump.as_deref(), Some("DROP"));
        assert_eq!(h.rules[7].line, 16);
        assert!(rs.tables.get("nat").is_some_and(|t| t.committed));
    }

    #[test]
    fn bad_lines_are_named_and_the_rest_still_reads() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 99999 -j ACCEPT\n-A INPUT -m comment --comment \"open\n-I INPUT -j DROP\n-A INPUT -j ACCEPT\n";
        let rs = parse(text.as_bytes());
        let lines: Vec<usize> = rs.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6], "{:?}", rs.errors);
        assert!(rs.errors[3].message.contains("no COMMIT"));
        let input = rs.filter().and_then(|t| t.chain("INPUT")).expect("INPUT");
        assert_eq!(input.rules.len(), 1);
        assert_eq!(input.rules[0].line, 6);
    }

    #[test]
    fn rules_outside_a_table_are_errors() {
        let rs = parse(b"-A INPUT -j ACCEPT\n");
        assert_eq!(rs.errors.len(), 1);
        assert!(rs.tables.is_empty());
    }

    #[test]
    fn open_ended_port_ranges_read_as_iptables_does() {
        assert_eq!(ports(":1024").unwrap(), vec![PortRange { lo: 0, hi: 1024 }]);
        assert_eq!(
            ports("1024:").unwrap(),
            vec![PortRange {
                lo: 1024,
                hi: u16::MAX
            }]
        );
        assert!(ports("200:100").is_err());
        assert!(ports("http").is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic generator over the characters that matter to the parser.
        let alphabet = b"*:-A !\"'\\\n#COMMITfilterINPUT -j -p tcp --dport 1:2,3 -m comment";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..400 {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let _ = parse(&buf);
        }
        let _ = parse(&[0xff, 0xfe, b'\n', b'*']);
    }
}

//! Elemental/yip cloud-config stage files, as Harvester writes them under `/oem` and as the
//! `spec.contents` of a `CloudInit` object (`node.harvesterhci.io/v1beta1`) carries them:
//! `stages:` → a stage (`boot`, `initramfs`, `network`, `boot.after`, …) → a list of steps, each
//! with a `name:`, `commands:` (shell lines) and `files:`; and the iptables commands those lines
//! run (`iptables -N HARVESTER_INPUT`, `iptables -D INPUT -i mgmt-br -j HARVESTER_INPUT 2>/dev/null
//! || true`), each read with [`super::iptables`]'s rule reader.
//!
//! The YAML itself is parsed by the caller (the model, within the snapshot's budgets), which
//! hands over the document and its text: this module reads the shape and finds each command's
//! line in the text. Pure functions, never a panic; a document of the wrong shape is an error
//! saying where.

use serde_json::Value;

use super::iptables::{self, Rule};

/// One shell line of a step's `commands:` (a multi-line entry stays one command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// 1-based line of the command's first line in the document's text, when found there.
    pub line: Option<usize>,
    pub text: String,
}

/// One step of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The stage it runs in (`boot`, `initramfs`, `network`, `boot.after`, …).
    pub stage: String,
    /// The step's `name:`.
    pub name: Option<String>,
    pub commands: Vec<Command>,
    /// The paths of its `files:`.
    pub files: Vec<String>,
}

/// The stages of one document, steps in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stages {
    pub steps: Vec<Step>,
}

/// What an iptables command does to a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// `-A` / `--append`.
    Append,
    /// `-I` / `--insert`.
    Insert,
    /// `-D` / `--delete`.
    Delete,
    /// `-F` / `--flush`.
    Flush,
    /// `-X` / `--delete-chain`.
    DeleteChain,
    /// `-N` / `--new-chain`.
    NewChain,
    /// `-P` / `--policy`.
    Policy,
    /// Anything else (`-L`, `-S`, `-Z`, `iptables-restore`).
    Other,
}

/// One iptables invocation of a stage file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IptCommand {
    /// The stage it runs in.
    pub stage: String,
    /// The step's name.
    pub step: Option<String>,
    /// 1-based line in the document, when found.
    pub line: Option<usize>,
    /// `iptables`, `ip6tables` (a path and `-legacy`/`-nft` suffixes dropped).
    pub tool: String,
    /// `-t`, `filter` when not given.
    pub table: String,
    pub op: Op,
    /// The chain named after the operation (none for `-F`/`-X` of every chain).
    pub chain: Option<String>,
    /// The rule of `-A`/`-I`/`-D` (matches and target), when it reads.
    pub rule: Option<Rule>,
}

impl IptCommand {
    /// The target of the command's rule (`-j`, else `-g`).
    pub fn target(&self) -> Option<&str> {
        let r = self.rule.as_ref()?;
        r.jump.as_deref().or(r.goto.as_deref())
    }
}

impl Stages {
    /// Every iptables and ip6tables command of every step, in document order.
    pub fn iptables(&self) -> Vec<IptCommand> {
        let mut out = Vec::new();
        for step in &self.steps {
            for c in &step.commands {
                for seg in segments(&c.text) {
                    if let Some(cmd) = iptables_command(&seg, c.line) {
                        out.push(IptCommand {
                            stage: step.stage.clone(),
                            step: step.name.clone(),
                            ..cmd
                        });
                    }
                }
            }
        }
        out
    }
}

/// The shell commands of one command entry: continuation lines joined, then split at newlines,
/// `;`, `&&`, `||` and pipes (outside quotes).
fn segments(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = joined.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '\n' | ';') => out.push(std::mem::take(&mut cur)),
            (None, '&') if chars.peek() == Some(&'&') => {
                chars.next();
                out.push(std::mem::take(&mut cur));
            }
            (None, '|') => {
                if chars.peek() == Some(&'|') {
                    chars.next();
                }
                out.push(std::mem::take(&mut cur));
            }
            (None, c) => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The iptables command of one shell command, or `None` when it runs something else.
fn iptables_command(seg: &str, line: Option<usize>) -> Option<IptCommand> {
    let words = iptables::words(seg).ok()?;
    let mut it = words.iter().map(String::as_str).peekable();
    while it.peek().is_some_and(|w| *w == "sudo" || w.contains('=')) {
        it.next();
    }
    let prog = it.next()?;
    let base = prog.rsplit('/').next().unwrap_or(prog);
    let tool = base
        .strip_suffix("-legacy")
        .or_else(|| base.strip_suffix("-nft"))
        .unwrap_or(base);
    if tool != "iptables" && tool != "ip6tables" {
        return None;
    }
    // Redirections (`2>/dev/null`, `> /dev/null 2>&1`) are the shell's, not iptables'.
    let mut rest: Vec<String> = Vec::new();
    let mut skip_next = false;
    for w in it {
        if skip_next {
            skip_next = false;
            continue;
        }
        let redirect = w.trim_start_matches(|c: char| c.is_ascii_digit() || c == '&');
        if redirect.starts_with('>') || redirect.starts_with('<') {
            skip_next = redirect.trim_start_matches(['>', '<', '&']).is_empty();
            continue;
        }
        rest.push(w.to_string());
    }
    let mut table = "filter".to_string();
    let mut op = Op::Other;
    let mut chain = None;
    let mut spec = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let w = rest[i].as_str();
        let this = match w {
            "-A" | "--append" => Some(Op::Append),
            "-I" | "--insert" => Some(Op::Insert),
            "-D" | "--delete" => Some(Op::Delete),
            "-F" | "--flush" => Some(Op::Flush),
            "-X" | "--delete-chain" => Some(Op::DeleteChain),
            "-N" | "--new-chain" => Some(Op::NewChain),
            "-P" | "--policy" => Some(Op::Policy),
            _ => None,
        };
        if w == "-t" || w == "--table" {
            table = rest.get(i + 1).cloned().unwrap_or_default();
            i += 2;
            continue;
        }
        match this {
            Some(o) if op == Op::Other => {
                op = o;
                if let Some(c) = rest.get(i + 1).filter(|c| !c.starts_with('-')) {
                    chain = Some(c.clone());
                    i += 1;
                    // `-I CHAIN 1`: the position is not part of the rule.
                    if o == Op::Insert && rest.get(i + 1).is_some_and(|n| n.parse::<u32>().is_ok())
                    {
                        i += 1;
                    }
                }
            }
            _ => spec.push(rest[i].clone()),
        }
        i += 1;
    }
    let rule = matches!(op, Op::Append | Op::Insert | Op::Delete)
        .then(|| iptables::rule(line.unwrap_or(0), &spec).ok())
        .flatten();
    Some(IptCommand {
        stage: String::new(),
        step: None,
        line,
        tool: tool.to_string(),
        table,
        op,
        chain,
        rule,
    })
}

/// The stages of a parsed cloud-config `doc` whose text is `text` (for the lines of commands).
/// A document without `stages:` has none; one whose `stages` is not a map of lists of steps is
/// an error naming the place.
pub fn stages(doc: &Value, text: &str) -> Result<Stages, String> {
    let mut out = Stages::default();
    let map = match doc {
        Value::Null => return Ok(out),
        Value::Object(m) => m,
        _ => return Err("the document is not a map".into()),
    };
    let st = match map.get("stages") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Object(s)) => s,
        Some(_) => return Err("`stages` is not a map of stage names".into()),
    };
    let mut finder = LineFinder::new(text);
    for (stage, steps) in st {
        let list: Vec<&Value> = match steps {
            Value::Array(a) => a.iter().collect(),
            Value::Object(_) => vec![steps],
            Value::Null => Vec::new(),
            _ => return Err(format!("stages.{stage} is not a list of steps")),
        };
        for (i, step) in list.into_iter().enumerate() {
            let Value::Object(s) = step else {
                return Err(format!("stages.{stage}[{i}] is not a step (a map)"));
            };
            let mut commands = Vec::new();
            match s.get("commands") {
                None | Some(Value::Null) => {}
                Some(Value::Array(cs)) => {
                    for c in cs {
                        let Some(t) = c.as_str() else {
                            return Err(format!("stages.{stage}[{i}].commands holds a non-string"));
                        };
                        commands.push(Command {
                            line: finder.find(t),
                            text: t.to_string(),
                        });
                    }
                }
                Some(_) => return Err(format!("stages.{stage}[{i}].commands is not a list")),
            }
            let files = match s.get("files") {
                Some(Value::Array(fs)) => fs
                    .iter()
                    .filter_map(|f| f.get("path").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            };
            out.steps.push(Step {
                stage: stage.clone(),
                name: s.get("name").and_then(Value::as_str).map(str::to_string),
                commands,
                files,
            });
        }
    }
    Ok(out)
}

/// Finds each command's line in the text, in order (a command repeated later is found later).
struct LineFinder<'a> {
    lines: Vec<&'a str>,
    next: usize,
}

impl<'a> LineFinder<'a> {
    fn new(text: &'a str) -> Self {
        LineFinder {
            lines: text.lines().collect(),
            next: 0,
        }
    }

    fn find(&mut self, command: &str) -> Option<usize> {
        let first = command.lines().map(str::trim).find(|l| !l.is_empty())?;
        let hit = |from: usize, to: usize| (from..to).find(|&i| self.lines[i].contains(first));
        let at = hit(self.next, self.lines.len()).or_else(|| hit(0, self.next))?;
        self.next = at + 1;
        Some(at + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Limits;
    use crate::snapshot::yaml;

    const GUIDE: &str = r#"stages:
  boot:
    - name: "Apply iptables rules for control-plane node"
      commands:
        # Clean up any existing chain from a previous boot
        - iptables -D INPUT -i mgmt-br -j HARVESTER_INPUT 2>/dev/null || true
        - iptables -F HARVESTER_INPUT 2>/dev/null || true
        - iptables -X HARVESTER_INPUT 2>/dev/null || true
        - iptables -N HARVESTER_INPUT
        - iptables -A INPUT -i mgmt-br -j HARVESTER_INPUT
        - iptables -A HARVESTER_INPUT -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment "Accept return traffic" -j ACCEPT
        - iptables -A HARVESTER_INPUT -p tcp --dport 2379:2380 -j ACCEPT
        - iptables -I HARVESTER_INPUT 1 -p icmp -j ACCEPT
  initramfs:
    - commands:
        - modprobe kvm
      files:
        - path: /etc/x.conf
"#;

    fn read(text: &str) -> Result<Stages, String> {
        let doc = yaml::parse(text.as_bytes(), &Limits::default()).map_err(|e| e.to_string())?;
        stages(&doc, text)
    }

    #[test]
    fn the_guides_boot_stage_gives_its_iptables_commands_with_lines() {
        let s = read(GUIDE).unwrap_or_default();
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[1].files, vec!["/etc/x.conf".to_string()]);
        let ipt = s.iptables();
        assert_eq!(ipt.len(), 8);
        assert!(ipt.iter().all(|c| c.stage == "boot" && c.table == "filter"));
        let ops: Vec<Op> = ipt.iter().map(|c| c.op).collect();
        assert_eq!(
            ops[..5],
            [
                Op::Delete,
                Op::Flush,
                Op::DeleteChain,
                Op::NewChain,
                Op::Append
            ]
        );
        assert_eq!(ipt[0].line, Some(6));
        assert_eq!(ipt[0].chain.as_deref(), Some("INPUT"));
        assert_eq!(ipt[0].target(), Some("HARVESTER_INPUT"));
        let iface = ipt[0].rule.as_ref().and_then(|r| r.in_interface.as_ref());
        assert_eq!(iface.map(|n| n.value.as_str()), Some("mgmt-br"));
        assert_eq!(ipt[6].rule.as_ref().map(|r| r.dports.len()), Some(1));
        // `-I CHAIN 1`: the position is not a match.
        assert_eq!(ipt[7].op, Op::Insert);
        assert_eq!(ipt[7].rule.as_ref().map(|r| r.other.len()), Some(0));
        assert_eq!(ipt[7].line, Some(13));
    }

    #[test]
    fn shell_segments_redirections_and_paths() {
        let cmd = |s: &str| {
            segments(s)
                .iter()
                .filter_map(|x| iptables_command(x, None))
                .collect::<Vec<_>>()
        };
        let v = cmd(
            "/usr/sbin/iptables-legacy -t nat -F FOO > /dev/null 2>&1; echo ok && ip6tables -N BAR",
        );
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].tool.as_str(), v[0].table.as_str()),
            ("iptables", "nat")
        );
        assert_eq!((v[0].op, v[0].chain.as_deref()), (Op::Flush, Some("FOO")));
        assert_eq!((v[1].tool.as_str(), v[1].op), ("ip6tables", Op::NewChain));
        assert!(cmd("echo iptables -F").is_empty());
        assert_eq!(cmd("iptables -F")[0].chain, None);
        let multi = cmd("iptables -N A \\\n  || true\niptables -A INPUT -j A");
        assert_eq!(multi.len(), 2);
        assert_eq!(cmd("echo 'a;iptables -F' ").len(), 0);
    }

    #[test]
    fn documents_without_stages_and_of_the_wrong_shape() {
        assert_eq!(read("name: x\n"), Ok(Stages::default()));
        assert_eq!(read(""), Ok(Stages::default()));
        assert!(read("stages: 3\n").is_err());
        assert!(read("stages:\n  boot: 3\n").is_err());
        assert!(read("stages:\n  boot:\n    - commands: x\n").is_err());
        assert!(read("- a\n").is_err());
        // A single step instead of a list is read as one step.
        let one = read("stages:\n  boot:\n    commands: [\"iptables -N X\"]\n").unwrap_or_default();
        assert_eq!(one.iptables().len(), 1);
    }
}

//! The text files of a supportconfig archive (`scc_supportconfig_<node>/*.txt` inside a node
//! zip's `scc/*.txz`): sections that open with `#==[ Kind ]====…#` and a `# what` line (the
//! command run, or the configuration file's path followed by its package verification), then
//! the output or the file's content up to the next section.
//!
//! What the host rules read from them: `memory.txt`'s `sysctl -a | grep ^vm` section (live `vm.*`
//! parameters) and `etc.txt`'s configuration files (`/etc/sysctl.conf`, `/etc/sysctl.d/*.conf`,
//! `/etc/passwd`, `/etc/group` when present). Pure functions over bytes; every section keeps the
//! line its body starts on, so a finding can name the line of the text file.

/// One section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `Command`, `Configuration File`, `Summary`, …
    pub kind: String,
    /// The `# …` line after the header, without `# `.
    pub what: String,
    /// 1-based line of the body's first line in the text file.
    pub body_line: usize,
    pub body: String,
}

impl Section {
    /// For a `Configuration File` section, the file's path (the first word of `what`).
    pub fn config_path(&self) -> Option<&str> {
        if self.kind != "Configuration File" {
            return None;
        }
        self.what
            .split_whitespace()
            .next()
            .filter(|p| p.starts_with('/'))
    }

    /// For a `Command` section, the command line.
    pub fn command(&self) -> Option<&str> {
        (self.kind == "Command").then_some(self.what.as_str())
    }
}

/// `#==[ Kind ]===#` → `Kind`.
fn header(line: &str) -> Option<&str> {
    let rest = line.trim_end().strip_prefix("#==[")?;
    let (kind, _) = rest.split_once(']')?;
    Some(kind.trim())
}

/// The sections of a supportconfig text file, in order. Text before the first header is not a
/// section.
pub fn sections(data: &[u8]) -> Vec<Section> {
    let text = String::from_utf8_lossy(data);
    let mut out: Vec<Section> = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let Some(kind) = header(line) else {
            if let Some(s) = out.last_mut() {
                s.body.push_str(line);
                s.body.push('\n');
            }
            continue;
        };
        let mut what = String::new();
        let mut body_line = i + 2;
        if let Some((_, w)) = lines.peek()
            && header(w).is_none()
            && let Some(w) = w.strip_prefix('#')
        {
            what = w.trim().to_string();
            body_line = i + 3;
            lines.next();
        }
        out.push(Section {
            kind: kind.to_string(),
            what,
            body_line,
            body: String::new(),
        });
    }
    out
}

/// The `sysctl -a` section of `memory.txt` (any command section running `sysctl -a`).
pub fn sysctl_section(sections: &[Section]) -> Option<&Section> {
    sections
        .iter()
        .find(|s| s.command().is_some_and(|c| c.contains("sysctl -a")))
}

/// The configuration files of `etc.txt`: (host path without the leading `/`, section).
pub fn config_files(sections: &[Section]) -> Vec<(String, &Section)> {
    sections
        .iter()
        .filter_map(|s| Some((s.config_path()?.trim_start_matches('/').to_string(), s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETC: &str = "#==[ Configuration File ]=======================================#\n# /etc/sysctl.d/90-rke2.conf - File not owned by any package\nvm.panic_on_oom=0\nkernel.panic=10\n\n#==[ Configuration File ]=======================================#\n# /etc/passwd - shadow-4.8.1: Verification Status: Differs\nroot:x:0:0:root:/root:/bin/bash\n";

    #[test]
    fn sections_with_paths_and_body_lines() {
        let s = sections(ETC.as_bytes());
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].config_path(), Some("/etc/sysctl.d/90-rke2.conf"));
        assert_eq!(s[0].body_line, 3);
        assert!(
            s[0].body
                .starts_with("vm.panic_on_oom=0\nkernel.panic=10\n")
        );
        let files = config_files(&s);
        assert_eq!(files[1].0, "etc/passwd");
        assert_eq!(files[1].1.body_line, 8);
    }

    #[test]
    fn memory_txt_sysctl_section() {
        let m = b"#==[ Command ]=======================================#\n# /bin/free -k\n   total\n#==[ Command ]=======================================#\n# /sbin/sysctl -a | grep ^vm\nvm.overcommit_memory = 1\n";
        let s = sections(m);
        let sys = sysctl_section(&s).unwrap();
        assert_eq!(sys.body_line, 6);
        assert_eq!(sys.body, "vm.overcommit_memory = 1\n");
        assert!(sysctl_section(&sections(b"nothing\n")).is_none());
    }
}

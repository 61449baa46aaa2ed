//! `/etc/passwd` and `/etc/group`: the accounts of a host (name, id, primary group, shell) and
//! its groups (name, id, members). The password field is never kept: on a host without shadow
//! passwords it holds a hash.
//!
//! Pure functions over bytes: a line with too few fields or a non-numeric id is an error naming
//! its line, and the rest is still read. `#` comments and blank lines are skipped, as are NIS
//! `+`/`-` entries.

/// One user of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
    /// 1-based line.
    pub line: usize,
}

/// One group of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
    /// 1-based line.
    pub line: usize,
}

/// The records of one file and the lines that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    pub records: Vec<T>,
    /// 1-based lines that are not records.
    pub bad_lines: Vec<usize>,
}

/// The record lines of a colon-separated file with at least `fields` fields: (line, fields).
fn records(data: &[u8], fields: usize) -> (Vec<(usize, Vec<String>)>, Vec<usize>) {
    let text = String::from_utf8_lossy(data);
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with('+') || t.starts_with('-') {
            continue;
        }
        let f: Vec<String> = t.split(':').map(str::to_string).collect();
        if f.len() < fields || f[0].is_empty() {
            bad.push(i + 1);
        } else {
            ok.push((i + 1, f));
        }
    }
    (ok, bad)
}

/// `/etc/passwd`: `name:password:uid:gid:gecos:home:shell`.
pub fn parse_passwd(data: &[u8]) -> Parsed<User> {
    let (recs, mut bad_lines) = records(data, 7);
    let mut users = Vec::new();
    for (line, f) in recs {
        match (f[2].parse(), f[3].parse()) {
            (Ok(uid), Ok(gid)) => users.push(User {
                name: f[0].clone(),
                uid,
                gid,
                home: f[5].clone(),
                shell: f[6].clone(),
                line,
            }),
            _ => bad_lines.push(line),
        }
    }
    bad_lines.sort_unstable();
    Parsed {
        records: users,
        bad_lines,
    }
}

/// `/etc/group`: `name:password:gid:member,member`.
pub fn parse_group(data: &[u8]) -> Parsed<Group> {
    let (recs, mut bad_lines) = records(data, 4);
    let mut groups = Vec::new();
    for (line, f) in recs {
        match f[2].parse() {
            Ok(gid) => groups.push(Group {
                name: f[0].clone(),
                gid,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
                line,
            }),
            Err(_) => bad_lines.push(line),
        }
    }
    bad_lines.sort_unstable();
    Parsed {
        records: groups,
        bad_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_without_their_password_field() {
        let p = parse_passwd(
            b"root:$6$hash:0:0:root:/root:/bin/bash\n# c\netcd:x:52034:52034:etcd service account:/home/etcd:/usr/sbin/nologin\nbroken:x:1\n+nis\nbad:x:a:0::/:/bin/sh\n",
        );
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[1].name, "etcd");
        assert_eq!(p.records[1].uid, 52034);
        assert_eq!(p.records[1].line, 3);
        assert_eq!(p.records[1].shell, "/usr/sbin/nologin");
        assert_eq!(p.bad_lines, vec![4, 6]);
        assert!(!format!("{:?}", p).contains("$6$"));
    }

    #[test]
    fn groups_with_members() {
        let p = parse_group(b"root:x:0:\nwheel:x:497:rancher,admin\netcd:x:52034:\nx:y\n");
        assert_eq!(p.records[1].members, vec!["rancher", "admin"]);
        assert_eq!(p.records[2].gid, 52034);
        assert_eq!(p.bad_lines, vec![4]);
    }
}

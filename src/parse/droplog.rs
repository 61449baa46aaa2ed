//! Netfilter `LOG` lines in a kernel log (`kernel.log`, `journalctl -k`), as the host firewall
//! guide's `LOG --log-prefix HARVESTER_DROP_` writes them:
//!
//! ```text
//! Apr 22 10:00:01 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=... SRC=192.168.122.61
//!   DST=192.168.122.63 LEN=52 PROTO=TCP SPT=9345 DPT=46002 WINDOW=521 RES=0x00 ACK FIN URGP=0
//! ```
//!
//! The prefix is glued to the first field (`HARVESTER_DROP_IN=`) or followed by a word of its
//! own (`HARVESTER_DROP_INPUT: IN=`); fields are `KEY=value` words, TCP flags bare upper-case
//! words. Pure function over one line, never a panic: a line without the prefix is `None`.

/// One logged packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Drop {
    /// The line's time stamp as written (`Apr 22 10:00:01`), empty when it has none.
    pub time: String,
    /// `IN=`: the interface the packet arrived on.
    pub interface: String,
    pub src: String,
    pub dst: String,
    /// `PROTO=`, upper case (`TCP`, `UDP`, `ICMP`).
    pub proto: String,
    pub spt: Option<u16>,
    pub dpt: Option<u16>,
    /// TCP flags in line order (`SYN`, `ACK`, `FIN`, `RST`, `PSH`, `URG`, `ECE`, `CWR`).
    pub flags: Vec<String>,
}

impl Drop {
    /// True for a TCP packet that opens a connection (SYN without ACK).
    pub fn is_syn(&self) -> bool {
        self.has("SYN") && !self.has("ACK")
    }

    /// True for a TCP packet of an existing connection (ACK, ACK PSH, ACK FIN, ACK RST).
    pub fn is_ack(&self) -> bool {
        self.has("ACK") && !self.has("SYN")
    }

    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// The TCP flags as logged (`ACK FIN`), `-` when none.
    pub fn flags_text(&self) -> String {
        if self.flags.is_empty() {
            "-".into()
        } else {
            self.flags.join(" ")
        }
    }
}

const TCP_FLAGS: [&str; 8] = ["SYN", "ACK", "FIN", "RST", "PSH", "URG", "ECE", "CWR"];

/// Read one kernel log line logged with `prefix` (`HARVESTER_DROP_`).
pub fn parse(line: &str, prefix: &str) -> Option<Drop> {
    let at = line.find(prefix)?;
    let (head, rest) = (&line[..at], &line[at + prefix.len()..]);
    let mut d = Drop {
        time: time_of(head),
        ..Drop::default()
    };
    for w in rest.split_whitespace() {
        if let Some((k, v)) = w.split_once('=') {
            match k {
                "IN" => d.interface = v.into(),
                "SRC" => d.src = v.into(),
                "DST" => d.dst = v.into(),
                "PROTO" => d.proto = v.to_ascii_uppercase(),
                "SPT" => d.spt = v.parse().ok(),
                "DPT" => d.dpt = v.parse().ok(),
                _ => {}
            }
        } else if TCP_FLAGS.contains(&w) {
            d.flags.push(w.into());
        }
    }
    Some(d)
}

/// The time stamp of a syslog line's head (`Apr 22 10:00:01 harvester3 kernel: `): what comes
/// before the host name, or the head's first word (an ISO time stamp).
fn time_of(head: &str) -> String {
    let head = head.trim();
    let before = head.strip_suffix("kernel:").unwrap_or(head);
    let words: Vec<&str> = before.split_whitespace().collect();
    match words.len() {
        0 => String::new(),
        // `Mon DD HH:MM:SS host`
        n if n >= 4 => words[..3].join(" "),
        // `2026-04-22T10:00:01+00:00 host`
        _ => words[0].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_false_positive_reads() {
        let l = "Apr 22 10:00:01 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54 SRC=192.168.122.61 DST=192.168.122.63 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=9345 DPT=46002 WINDOW=521 RES=0x00 ACK FIN URGP=0";
        let d = parse(l, "HARVESTER_DROP_").expect("drop");
        assert_eq!(d.time, "Apr 22 10:00:01");
        assert_eq!(d.interface, "mgmt-br");
        assert_eq!(d.src, "192.168.122.61");
        assert_eq!((d.spt, d.dpt), (Some(9345), Some(46002)));
        assert_eq!(d.proto, "TCP");
        assert_eq!(d.flags, ["ACK", "FIN"]);
        assert!(d.is_ack() && !d.is_syn());
        assert_eq!(d.flags_text(), "ACK FIN");
    }

    #[test]
    fn a_prefix_with_a_word_of_its_own_and_a_syn_read() {
        let l = "2026-11-20T09:00:00+00:00 n1 kernel: HARVESTER_DROP_INPUT: IN=mgmt-br OUT= SRC=10.0.0.9 DST=10.0.0.11 PROTO=TCP SPT=51000 DPT=6443 WINDOW=64240 RES=0x00 SYN URGP=0";
        let d = parse(l, "HARVESTER_DROP_").expect("drop");
        assert_eq!(d.time, "2026-11-20T09:00:00+00:00");
        assert_eq!(d.dpt, Some(6443));
        assert!(d.is_syn());
    }

    #[test]
    fn udp_lines_have_no_flags_and_other_lines_are_none() {
        let d = parse(
            "kernel: HARVESTER_DROP_IN=mgmt-br SRC=a DST=b PROTO=UDP SPT=5 DPT=8472",
            "HARVESTER_DROP_",
        )
        .expect("drop");
        assert_eq!(d.proto, "UDP");
        assert!(d.flags.is_empty() && !d.is_syn() && !d.is_ack());
        assert_eq!(d.time, "");
        assert!(parse("Apr 22 10:00:01 h kernel: eth0: link up", "HARVESTER_DROP_").is_none());
    }
}

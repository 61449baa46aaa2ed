//! `ip addr` output (`commands/ip-addr.txt` of a node snapshot): each interface with its line,
//! its master (a bridge or bond port), whether it is up, and its IPv4/IPv6 addresses. What the
//! host firewall rules need to know which interfaces a node receives traffic on.
//!
//! Pure function over bytes, never a panic: lines it does not know are skipped.

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    /// 1-based line of its header (`3: mgmt-br: <…>`).
    pub line: usize,
    /// The name, without an `@parent` suffix.
    pub name: String,
    /// `master <dev>`: the bridge or bond it is a port of.
    pub master: Option<String>,
    /// `UP` among its flags.
    pub up: bool,
    /// `inet`/`inet6` addresses with their prefix length.
    pub addresses: Vec<String>,
}

/// Parse `ip addr` output.
pub fn parse(data: &[u8]) -> Vec<Interface> {
    let text = String::from_utf8_lossy(data);
    let mut out: Vec<Interface> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let indented = line.starts_with(char::is_whitespace);
        let words: Vec<&str> = line.split_whitespace().collect();
        if !indented {
            // `3: mgmt-br: <BROADCAST,UP> mtu 1500 … master mgmt-bo state UP …`
            let (Some(idx), Some(name)) = (words.first(), words.get(1)) else {
                continue;
            };
            if !idx.ends_with(':') || idx.trim_end_matches(':').parse::<u32>().is_err() {
                continue;
            }
            let name = name.trim_end_matches(':');
            let name = name.split('@').next().unwrap_or(name).to_string();
            let flags = words.get(2).copied().unwrap_or("");
            let master = words
                .windows(2)
                .find(|w| w[0] == "master")
                .map(|w| w[1].to_string());
            out.push(Interface {
                line: i + 1,
                name,
                master,
                up: flags.trim_matches(['<', '>']).split(',').any(|f| f == "UP"),
                addresses: Vec::new(),
            });
        } else if let (Some(kind), Some(addr), Some(iface)) =
            (words.first(), words.get(1), out.last_mut())
            && (*kind == "inet" || *kind == "inet6")
        {
            iface.addresses.push(addr.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_with_masters_flags_and_addresses() {
        let text = "\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    inet 127.0.0.1/8 scope host lo
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel master mgmt-bo state UP
3: mgmt-br: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP
    link/ether 52:54:00:00:00:01 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.11/24 brd 10.0.0.255 scope global mgmt-br
    inet6 fe80::1/64 scope link
4: storage-br.100@storage-br: <BROADCAST,MULTICAST> mtu 1500
garbage line
";
        let v = parse(text.as_bytes());
        assert_eq!(v.len(), 4);
        assert_eq!(v[1].master.as_deref(), Some("mgmt-bo"));
        assert_eq!(v[2].name, "mgmt-br");
        assert_eq!(v[2].line, 4);
        assert_eq!(v[2].addresses, vec!["10.0.0.11/24", "fe80::1/64"]);
        assert_eq!(v[3].name, "storage-br.100");
        assert!(!v[3].up && v[2].up);
    }
}

//! IP addresses and CIDR blocks (`10.52.0.0/16`, `fd00::/8`, a bare address as a /32 or /128):
//! parsing and containment, for the rules that compare networks (a firewall's pod-network
//! accept with `cluster-cidr`, a proxy's `noProxy` with node addresses and cluster CIDRs).
//! Pure functions, never a panic.

use std::net::IpAddr;

/// A network: its address with the host bits cleared, and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

fn bits(a: IpAddr) -> (u128, u8) {
    match a {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

fn mask(width: u8, prefix: u8) -> u128 {
    let all = if width == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    let host = u32::from(width.saturating_sub(prefix));
    let host_bits = if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    all & !host_bits
}

impl Cidr {
    /// `a.b.c.d/n`, `x::/n`, or a bare address (a single host). `None` for anything else.
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let (v, width) = bits(addr);
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= width)?,
            None => width,
        };
        let net = v & mask(width, prefix);
        let addr = match addr {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from(u32::try_from(net).ok()?)),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(net)),
        };
        Some(Cidr { addr, prefix })
    }

    /// True when every address of `other` is in this network.
    pub fn covers(&self, other: &Cidr) -> bool {
        let ((a, wa), (b, wb)) = (bits(self.addr), bits(other.addr));
        wa == wb && self.prefix <= other.prefix && (b & mask(wa, self.prefix)) == a
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_normalizes_and_covers() {
        let ten = Cidr::parse("10.0.0.0/8").unwrap();
        let pods = Cidr::parse("10.52.3.4/16").unwrap();
        assert_eq!(pods.to_string(), "10.52.0.0/16");
        assert!(ten.covers(&pods));
        assert!(!pods.covers(&ten));
        assert!(ten.covers(&Cidr::parse("10.9.0.11").unwrap()));
        assert!(!ten.covers(&Cidr::parse("192.168.1.1").unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().covers(&pods));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.covers(&Cidr::parse("fd12::1").unwrap()));
        assert!(!v6.covers(&pods));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("example.com").is_none());
        assert_eq!(Cidr::parse("::/0").unwrap().prefix, 0);
    }
}

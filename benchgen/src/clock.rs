//! Timestamps for generated logs: a nanosecond clock that moves forward in small random steps, and
//! the formats Harvester bundles use (RFC3339Nano pod-log prefixes, logrus, klog, journald
//! `short-precise`).

use std::fmt::Write as _;

/// Seconds since the Unix epoch of 2026-11-19T22:00:00Z, the synthetic bundle's creation time.
pub const BUNDLE_CREATED: i64 = 1_795_125_600;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A broken-down UTC time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
}

/// Convert Unix seconds to a UTC civil time (Howard Hinnant's days-to-civil algorithm).
pub fn civil(unix: i64) -> Civil {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: secs / 3600,
        min: secs / 60 % 60,
        sec: secs % 60,
    }
}

/// A clock in nanoseconds since the epoch, with cached per-second prefixes.
pub struct Clock {
    nanos: i64,
    cached_sec: i64,
    rfc_prefix: String,
    klog_prefix: String,
    journal_prefix: String,
}

impl Clock {
    /// A clock starting at `unix` seconds.
    pub fn at(unix: i64) -> Self {
        let mut c = Clock {
            nanos: unix * 1_000_000_000,
            cached_sec: i64::MIN,
            rfc_prefix: String::new(),
            klog_prefix: String::new(),
            journal_prefix: String::new(),
        };
        c.refresh();
        c
    }

    /// Move forward by `delta` nanoseconds.
    pub fn advance(&mut self, delta: i64) {
        self.nanos += delta;
        self.refresh();
    }

    fn refresh(&mut self) {
        let sec = self.nanos.div_euclid(1_000_000_000);
        if sec == self.cached_sec {
            return;
        }
        self.cached_sec = sec;
        let c = civil(sec);
        self.rfc_prefix.clear();
        let _ = write!(
            self.rfc_prefix,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.min, c.sec
        );
        self.klog_prefix.clear();
        let _ = write!(
            self.klog_prefix,
            "{:02}{:02} {:02}:{:02}:{:02}",
            c.month, c.day, c.hour, c.min, c.sec
        );
        self.journal_prefix.clear();
        let _ = write!(
            self.journal_prefix,
            "{} {:02} {:02}:{:02}:{:02}",
            MONTHS[(c.month - 1) as usize],
            c.day,
            c.hour,
            c.min,
            c.sec
        );
    }

    fn frac(&self) -> u32 {
        self.nanos.rem_euclid(1_000_000_000) as u32
    }

    /// `2026-11-19T08:12:31.123456789Z` (the kubelet's `Timestamps: true` prefix).
    pub fn rfc3339_nano(&self, out: &mut String) {
        let _ = write!(out, "{}.{:09}Z", self.rfc_prefix, self.frac());
    }

    /// `2026-11-19T08:12:31Z` (logrus `time=` field).
    pub fn rfc3339(&self, out: &mut String) {
        out.push_str(&self.rfc_prefix);
        out.push('Z');
    }

    /// `1119 08:12:31.123456` (klog header after the severity letter).
    pub fn klog(&self, out: &mut String) {
        let _ = write!(out, "{}.{:06}", self.klog_prefix, self.frac() / 1000);
    }

    /// `Nov 19 08:12:31.123456` (journalctl `-o short-precise`).
    pub fn journal(&self, out: &mut String) {
        let _ = write!(out, "{}.{:06}", self.journal_prefix, self.frac() / 1000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_matches_known_dates() {
        assert_eq!(
            civil(BUNDLE_CREATED),
            Civil {
                year: 2026,
                month: 11,
                day: 19,
                hour: 22,
                min: 0,
                sec: 0
            }
        );
        assert_eq!(
            civil(951_782_400),
            Civil {
                year: 2000,
                month: 2,
                day: 29,
                hour: 0,
                min: 0,
                sec: 0
            }
        );
    }

    #[test]
    fn formats() {
        let mut c = Clock::at(BUNDLE_CREATED);
        c.advance(1_234_567);
        let mut s = String::new();
        c.rfc3339_nano(&mut s);
        s.push('|');
        c.klog(&mut s);
        s.push('|');
        c.journal(&mut s);
        assert_eq!(
            s,
            "2026-11-19T22:00:00.001234567Z|1119 22:00:00.001234|Nov 19 22:00:00.001234"
        );
    }
}

//! Certificate inventory renderers: the JSON `certificates` array (shared with `analyze -o
//! json`), and the table / csv of `harrow certs`, one row per occurrence, extending
//! `rke2 certificate check -o table` across nodes.

use serde_json::{Value, json};

use crate::graph::certs::{CertEntry, Inventory};
use crate::timefmt::rfc3339;

/// One certificate as the JSON contract names its fields.
pub fn cert_json(e: &CertEntry) -> Value {
    let c = &e.cert;
    let mut usages: Vec<&str> = c.usages.iter().map(|u| u.as_str()).collect();
    usages.sort();
    let mut sans = c.sans();
    sans.sort();
    let locations: Vec<Value> = e
        .locations
        .iter()
        .map(|l| {
            json!({
                "node": l.node,
                "source": l.source,
                "path": l.path,
                "host_path": l.host_path,
                "index": l.index,
                "in_use": l.in_use.as_str(),
            })
        })
        .collect();
    json!({
        "fingerprint_sha256": c.fingerprint_sha256,
        "subject": c.subject,
        "issuer": c.issuer,
        "serial": c.serial,
        "not_before": rfc3339(c.not_before),
        "not_after": rfc3339(c.not_after),
        "is_ca": c.is_ca,
        "key_algorithm": c.key_algorithm.as_str(),
        "key_bits": c.key_bits,
        "signature_algorithm": c.signature_algorithm,
        "usages": usages,
        "sans": sans,
        "issuer_fingerprint": e.issuers.first(),
        "issuer_fingerprints": e.issuers,
        "chain_status": e.chain.as_str(),
        "status": e.status.as_str(),
        "residual_seconds": e.residual_seconds,
        "in_use": e.in_use.as_str(),
        "owner": e.owner.as_str(),
        "component_self_signed": e.component_self_signed,
        "locations": locations,
    })
}

/// The `certificates` array serialised lazily, one certificate at a time, so that a large
/// inventory is never held as one JSON tree.
pub struct CertificatesJson<'a>(pub &'a Inventory);

impl serde::Serialize for CertificatesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.certs.len()))?;
        for e in self.0.certs.values() {
            seq.serialize_element(&cert_json(e))?;
        }
        seq.end()
    }
}

/// Write the `certificates` array, pretty-printed and newline-terminated, to `w` (the same bytes
/// as `serde_json::to_string_pretty` of [`certificates_json`]).
pub fn write_certificates_json(inv: &Inventory, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &CertificatesJson(inv)).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

/// The `certificates` array, sorted by fingerprint.
pub fn certificates_json(inv: &Inventory) -> Value {
    Value::Array(inv.certs.values().map(cert_json).collect())
}

/// A residual time the way a person reads it: `8y 11m`, `335d`, `5h`, `-3d` when past.
pub fn residual(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let day = 86_400;
    if s >= 365 * day {
        let y = s / (365 * day);
        let m = (s % (365 * day)) / (30 * day);
        format!("{sign}{y}y {m}m")
    } else if s >= day {
        format!("{sign}{}d", s / day)
    } else if s >= 3600 {
        format!("{sign}{}h", s / 3600)
    } else {
        format!("{sign}{}m", s / 60)
    }
}

/// A bundle object location (`…/v1/configmaps.yaml#ns/name/key`) as `configmaps:ns/name/key`.
fn object_label(path: &str) -> String {
    match path.split_once('#') {
        Some((file, obj)) => {
            let plural = file
                .rsplit('/')
                .next()
                .unwrap_or(file)
                .trim_end_matches(".yaml");
            format!("{plural}:{obj}")
        }
        None => path.to_string(),
    }
}

/// One row per occurrence.
pub fn rows(inv: &Inventory) -> Vec<[String; 10]> {
    let mut rows = Vec::new();
    for e in inv.certs.values() {
        let c = &e.cert;
        let issuer = if e.chain == crate::pki::ChainStatus::SelfSigned {
            "(self)".to_string()
        } else {
            c.issuer_cn.clone().unwrap_or_else(|| c.issuer.clone())
        };
        for l in &e.locations {
            let file = l.host_path.clone().unwrap_or_else(|| object_label(&l.path));
            let file = file
                .strip_prefix("var/lib/rancher/rke2/server/tls/")
                .or_else(|| file.strip_prefix("var/lib/rancher/rke2/"))
                .map(str::to_string)
                .unwrap_or(file.clone());
            let file = if l.index > 0 {
                format!("{file}[{}]", l.index)
            } else {
                file
            };
            rows.push([
                l.node.clone().unwrap_or_else(|| "-".into()),
                file,
                c.subject_cn.clone().unwrap_or_else(|| c.subject.clone()),
                issuer.clone(),
                c.usage_strings().join(","),
                c.not_after
                    .format(time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]"
                    ))
                    .unwrap_or_default(),
                residual(e.residual_seconds),
                e.status.as_str().to_string(),
                e.chain.as_str().to_string(),
                c.fingerprint_sha256.get(..16).unwrap_or("").to_string(),
            ]);
        }
    }
    rows.sort();
    rows
}

const HEADER: [&str; 10] = [
    "NODE",
    "FILE",
    "SUBJECT",
    "ISSUER",
    "USAGES",
    "EXPIRES",
    "RESIDUAL",
    "STATUS",
    "CHAIN",
    "FINGERPRINT",
];

/// Aligned table.
pub fn table(inv: &Inventory) -> String {
    let rows = rows(inv);
    let mut width = HEADER.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(width[i] - c.chars().count() + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(HEADER.to_vec(), &mut out);
    for r in &rows {
        line(r.iter().map(|s| s.as_str()).collect(), &mut out);
    }
    out
}

/// RFC 4180 csv.
pub fn csv(inv: &Inventory) -> String {
    let esc = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = HEADER.map(|h| h.to_ascii_lowercase()).join(",");
    out.push('\n');
    for r in rows(inv) {
        out.push_str(&r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::residual;

    #[test]
    fn residual_reads_like_a_person_would_say_it() {
        assert_eq!(residual(30 * 86_400), "30d");
        assert_eq!(residual(-3 * 86_400), "-3d");
        assert_eq!(residual(5 * 3600 + 12), "5h");
        assert_eq!(residual(9 * 365 * 86_400 - 30 * 86_400), "8y 11m");
        assert_eq!(residual(59), "0m");
    }
}

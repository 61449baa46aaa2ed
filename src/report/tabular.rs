//! The format-neutral writers every command shares: RFC 4180 CSV rows, and YAML made from a
//! command's JSON document (transcoded event by event, so the YAML keeps the JSON's key order
//! and holds exactly what the JSON holds).

use std::io::Write;

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// Appends one CSV record (fields joined by commas, `\n`-terminated) to `out`.
pub fn csv_row<S: AsRef<str>>(fields: &[S], out: &mut String) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(f.as_ref()));
    }
    out.push('\n');
}

/// A CSV document: a header then the rows.
pub fn csv<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> String {
    let mut out = String::new();
    csv_row(header, &mut out);
    for r in rows {
        csv_row(r, &mut out);
    }
    out
}

/// Writes `json` (one JSON document, as the command's `-o json` writes it) to `w` as YAML.
pub fn yaml_from_json(json: &[u8], w: &mut dyn Write) -> std::io::Result<()> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let t = serde_transcode::Transcoder::new(&mut de);
    let mut out = String::new();
    serde_saphyr::to_fmt_writer(&mut out, &t).map_err(std::io::Error::other)?;
    w.write_all(out.as_bytes())
}

/// Runs `produce` (a JSON writer) into memory, then writes its document to `w` as YAML.
pub fn yaml_via_json(
    w: &mut dyn Write,
    produce: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    produce(&mut buf)?;
    yaml_from_json(&buf, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_rfc4180_requires() {
        let mut s = String::new();
        csv_row(&["a", "b,c", "say \"hi\"", "x\ny"], &mut s);
        assert_eq!(s, "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\"\n");
    }

    #[test]
    fn yaml_keeps_the_json_key_order_and_values() {
        let json = br#"{"zeta":1,"alpha":[true,null,"a: b"],"mid":{"k":"v"}}"#;
        let mut out = Vec::new();
        yaml_from_json(json, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let z = text.find("zeta").unwrap();
        let a = text.find("alpha").unwrap();
        assert!(z < a, "{text}");
        // It reads back as the same document.
        let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let orig: serde_json::Value = serde_json::from_slice(json).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn yaml_of_broken_json_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert!(yaml_from_json(b"{\"a\":", &mut out).is_err());
    }
}

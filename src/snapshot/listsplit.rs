//! Splits a `kubectl get -o yaml` list file into its items without parsing it, so that the
//! index parses only the items some rule reads (a bundle's `configmaps.yaml` is megabytes of
//! dashboards, and one PEM-carrying item in a namespace is what the analysis needs).
//!
//! The shape relied on is what Kubernetes' YAML printer writes: a top-level `items:` key whose
//! entries start with `- ` in column 0, every line of an entry indented by at least two spaces
//! (block scalars and continuation lines included), and the list ending at the next line in
//! column 0. A file of any other shape is not split ([`split`] returns `None`) and the caller
//! parses it whole, so the split can only narrow what is parsed, never change how.

/// One item of a list file: its position in `items`, its text re-indented as a mapping
/// document, and its `metadata.name` when the text shows it plainly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub index: usize,
    pub text: String,
    pub name: Option<String>,
}

/// The items of `text`, or `None` when the file is not of the shape described above.
pub fn split(text: &str) -> Option<Vec<Item>> {
    let mut lines = text.split_inclusive('\n');
    // Top-level keys before `items:` (`apiVersion: v1`).
    loop {
        let line = lines.next()?;
        let bare = line.trim_end();
        if bare == "items:" {
            break;
        }
        if bare == "items: []" {
            return Some(Vec::new());
        }
        if bare.starts_with(' ') || bare.starts_with('-') || bare.starts_with('\t') {
            return None;
        }
    }
    let mut items: Vec<Item> = Vec::new();
    let mut cur: Option<String> = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("- ") {
            if let Some(t) = cur.take() {
                items.push(item(items.len(), t));
            }
            let mut t = String::with_capacity(256);
            t.push_str("  ");
            t.push_str(rest);
            cur = Some(t);
        } else if line.starts_with("  ") || line.trim().is_empty() {
            match cur.as_mut() {
                Some(t) => t.push_str(line),
                // Blank lines between `items:` and the first entry.
                None if line.trim().is_empty() => {}
                None => return None,
            }
        } else if line.starts_with('-') || line.starts_with(' ') || line.starts_with('\t') {
            return None;
        } else {
            // The next top-level key (`kind: List`, `metadata:`): the list is over.
            break;
        }
    }
    if let Some(t) = cur.take() {
        items.push(item(items.len(), t));
    }
    Some(items)
}

fn item(index: usize, text: String) -> Item {
    let name = plain_name(&text);
    Item { index, text, name }
}

/// `metadata.name` of an item's text: the `    name:` line right under `  metadata:`, when
/// its value is a plain or simply quoted scalar on that line.
fn plain_name(text: &str) -> Option<String> {
    let mut in_meta = false;
    for line in text.lines() {
        if line.starts_with("  metadata:") {
            in_meta = true;
            continue;
        }
        if in_meta {
            if !line.starts_with("    ") {
                if line.starts_with("  ") && !line.starts_with("   ") {
                    // The next key of the item: metadata had no plain name.
                    return None;
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("    name:") {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(v);
                return (!v.is_empty()).then(|| v.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    ca.crt: |\n      -----BEGIN CERTIFICATE-----\n      MIIB\n\n      -----END CERTIFICATE-----\n  kind: ConfigMap\n  metadata:\n    annotations:\n      x: y\n    name: kube-root-ca.crt\n    namespace: default\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: \"dash\"\nkind: List\nmetadata:\n  resourceVersion: \"\"\n";

    #[test]
    fn each_item_parses_as_the_whole_files_item() {
        let items = split(LIST).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].name.as_deref(), Some("kube-root-ca.crt"));
        assert_eq!(items[1].name.as_deref(), Some("dash"));
        let whole: serde_json::Value = serde_saphyr::from_str(LIST).unwrap();
        for it in &items {
            let v: serde_json::Value = serde_saphyr::from_str(&it.text).unwrap();
            assert_eq!(v, whole["items"][it.index], "{}", it.text);
        }
    }

    #[test]
    fn other_shapes_are_not_split() {
        for text in [
            "{\"items\": []}",
            "apiVersion: v1\n  items:\n",
            "apiVersion: v1\nitems:\n  - a: 1\n",
            "apiVersion: v1\nitems:\n- a: 1\n\tb: 2\n",
            "",
        ] {
            assert_eq!(split(text), None, "{text:?}");
        }
        assert_eq!(split("apiVersion: v1\nitems:\nkind: List\n"), Some(vec![]));
        assert_eq!(
            split("apiVersion: v1\nitems: []\nkind: List\n"),
            Some(vec![])
        );
    }

    #[test]
    fn a_name_written_elsewhere_is_unknown_not_guessed() {
        let items = split("items:\n- metadata:\n    labels:\n      name: x\n  kind: A\n").unwrap();
        assert_eq!(items[0].name, None);
    }
}

//! The YAML text of a runbook as `plan` emits it: a comment header saying what planned it and
//! from which inputs, then the document. What is written loads back to the same runbook (a
//! test), so `simulate` and `run` read exactly what `plan` meant.

use super::model::Runbook;
use crate::error::{Error, Result};

/// `runbook` as YAML, after `header` lines written as `#` comments.
pub fn to_yaml(runbook: &Runbook, header: &[String]) -> Result<String> {
    let body = serde_saphyr::to_string(runbook)
        .map_err(|e| Error::Internal(format!("runbook serialization failed: {e}")))?;
    let mut out = String::new();
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::load_str;

    #[test]
    fn what_is_written_loads_back_the_same() {
        let text = "apiVersion: harrow/v1
kind: Runbook
metadata: {name: t, source: 'CM, \"Rotating\"'}
params:
  dir: {type: path, default: /opt/rke2/server}
steps:
  - id: stage
    target: first-server
    run: |
      mkdir -p {{ params.dir }}/tls
      echo done
    effect: {stage_service_key: {dir: '{{ params.dir }}', keep_old: true}}
  - id: restart
    target: servers
    order: batch:1
    run: systemctl restart rke2-server
    effect: [{stop: {}}, {start: {}}]
";
        let a = load_str("a.yaml", text, &[]).unwrap();
        let written = to_yaml(&a.runbook, &["planned by a test".to_string()]).unwrap();
        assert!(written.starts_with("# planned by a test\n"), "{written}");
        let b = load_str("b.yaml", &written, &[]).unwrap();
        assert_eq!(a.runbook, b.runbook, "{written}");
    }
}
